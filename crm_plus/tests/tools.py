# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A small sales organisation to test the CRM against.

    director
      └─ manager
           ├─ sales1
           │    └─ junior
           └─ sales2
"""

import base64
import datetime as dt
import http.client
import json
import threading
import time
from contextlib import contextmanager
from decimal import Decimal
from itertools import count
from types import SimpleNamespace
from unittest import skipIf
from unittest.mock import patch

from trytond import backend
from trytond.exceptions import UserError
from trytond.modules.company.tests import create_company, create_employee
from trytond.pool import Pool
from trytond.tests.test_tryton import (
    DB_NAME, TestCase, activate_module, drop_db)
from trytond.transaction import Transaction, TransactionError

PASSWORD = 'Crm-Plus-2026!'
# Long enough for a concurrent transaction to reach the same rows
CHECK_DELAY = 0.3
NUMBERS = count(1)
HIERARCHY = [
    ('director', None),
    ('manager', 'director'),
    ('sales1', 'manager'),
    ('sales2', 'manager'),
    ('junior', 'sales1'),
    ]


def create_world(
        quota=None, daily_claim_cap=None, cooldown_days=0, passwords=False):
    """Create the company, the employees with their users and two pools.

    Passwords are set only on demand because hashing them is slow."""
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    Configuration = pool.get('crm.configuration')
    CustomerPool = pool.get('crm.pool')
    ReleaseRule = pool.get('crm.pool.release_rule')

    company = create_company()
    crm_user = ModelData.get_id('crm_plus', 'group_crm_user')
    world = SimpleNamespace(company=company, employees={}, users={})
    for name, supervisor in HIERARCHY:
        employee = create_employee(company, name.title())
        if supervisor:
            employee.supervisor = world.employees[supervisor]
            employee.save()
        user = User(
            login=name, name=name.title(), groups=[crm_user],
            companies=[company], company=company,
            employees=[employee], employee=employee)
        if passwords:
            user.password = PASSWORD
        user.save()
        world.employees[name] = employee
        world.users[name] = user

    world.east = CustomerPool(name="East", company=company, warning_days=3)
    world.south = CustomerPool(name="South", company=company)
    CustomerPool.save([world.east, world.south])
    ReleaseRule(pool=world.east, no_follow_up_days=30).save()
    # the administrator works in the company, as in the setup wizard
    admin = User(ModelData.get_id('res', 'user_admin'))
    admin.companies += (company,)
    admin.company = company
    if passwords:
        admin.password = PASSWORD
    admin.save()
    Configuration(1).save()
    Configuration.write([Configuration(1)], {
            'default_pool': world.east.id,
            'quota': quota,
            'daily_claim_cap': daily_claim_cap,
            'cooldown_days': cooldown_days,
            })
    return world


def create_customer(name, pool=None, owner=None, **values):
    "Create a company customer, in a pool or owned"
    Party = Pool().get('party.party')
    party = Party(name=name, customer_nature='company', pool=pool, **values)
    party.save()
    if owner:
        with Transaction().set_user(0):
            Party.write([party], {'owner': owner.id})
    return party


def create_foreign_currency(world, code='FRN', digits=2):
    """Create a currency worth an eighth of the company's today (a quarter
    yesterday); the company's currency has a rate of 1 since ever"""
    pool = Pool()
    Currency = pool.get('currency.currency')
    Rate = pool.get('currency.currency.rate')
    today = pool.get('ir.date').today()
    yesterday = today - dt.timedelta(days=1)
    foreign = Currency(name=code, code=code,
        rounding=Decimal(1).scaleb(-digits), digits=digits)
    foreign.save()
    Rate.save([
            Rate(currency=foreign, date=yesterday, rate=Decimal(4)),
            Rate(currency=foreign, date=today, rate=Decimal(8)),
            ])
    return foreign


def create_night_customer(world):
    """Create a customer of sales1 at 3 a.m. on 2026-11-01 in Shanghai, the
    timezone the company is moved to: still October in UTC"""
    Party = Pool().get('party.party')
    world.company.timezone = 'Asia/Shanghai'
    world.company.save()
    customer = create_customer("Night owl", owner=world.employees['sales1'])
    party = Party.__table__()
    Transaction().connection.cursor().execute(*party.update(
            [party.create_date], [dt.datetime(2026, 10, 31, 19)],
            where=party.id == customer.id))
    return customer


def create_opportunity(world, salesperson='sales1', **values):
    "Create an opportunity of the salesperson on a new customer they own"
    Opportunity = Pool().get('crm.opportunity')
    employee = world.employees[salesperson]
    if 'party' not in values:
        values['party'] = create_customer(
            "Customer %s of %s" % (next(NUMBERS), salesperson),
            owner=employee)
    with acting_as(world.users[salesperson]):
        opportunity = Opportunity(name="ERP project", **values)
        opportunity.save()
    return Opportunity(opportunity.id)


def approve(records):
    """Submit the documents and approve their flow, as the CRM manager;
    return them read again"""
    pool = Pool()
    Request = pool.get('crm.approval.request')
    Document = type(records[0])
    Document.submit(records)
    records = Document.browse(records)
    Request.approve([r.approval for r in records
            if r.approval and r.approval.state == 'pending'])
    return Document.browse(records)


def move_in_progress(opportunity):
    "Submit the opportunity and approve its filing"
    opportunity, = approve([opportunity])
    return opportunity


@contextmanager
def acting_as(user):
    "Run as the user with the context the client would send"
    User = Pool().get('res.user')
    transaction = Transaction()
    with transaction.set_user(user.id), \
            transaction.set_context(User.get_preferences(context_only=True)):
        with transaction.set_context(_check_access=True):
            yield


def run_in_transaction(database, user, func, context=None, retry=10):
    """Run func in its own committed transaction, restarting it with the
    row locks it asks for or after a conflict, as the RPC dispatcher does"""
    extras = {}
    while True:
        try:
            with Transaction().start(
                    database, user, context=context, **extras) as transaction:
                try:
                    return func()
                except TransactionError as error:
                    transaction.rollback()
                    error.fix(extras)
        except backend.DatabaseOperationalError:
            if not retry:
                raise
            retry -= 1


def slowed(Model, method):
    "Patch the classmethod of Model to wait CHECK_DELAY once it has run"
    function = getattr(Model, method).__func__

    def slow(cls, *args, **kwargs):
        result = function(cls, *args, **kwargs)
        time.sleep(CHECK_DELAY)
        return result
    return patch.object(Model, method, classmethod(slow))


def run_at_once(*calls):
    """Run each (user id, func, context) in its own thread and committed
    transaction, all started together; return for each 'done' or the
    message and description of its UserError, None where it crashed"""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, user, func, context):
        barrier.wait()
        try:
            run_in_transaction(DB_NAME, user, func, context)
            results[index] = 'done'
        except UserError as error:
            results[index] = ' '.join(
                filter(None, [error.message, error.description]))
    threads = [threading.Thread(target=run, args=(i, *c))
        for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def create_expense(world, login, amount, **values):
    "Create a draft travel expense request of the employee login"
    pool = Pool()
    Expense = pool.get('crm.expense')
    ExpenseType = pool.get('crm.expense.type')
    travel, = ExpenseType.search([('code', '=', 'TRAVEL')])
    expense = Expense(
        company=world.company, employee=world.employees[login],
        name="Trip of %s" % login, type=travel,
        currency=world.company.currency, amount=Decimal(amount), **values)
    expense.save()
    return expense


def rpc(test, login, method, *params):
    """Call method over the JSON-RPC route of the RouteTestCase test as
    login, with the context of the user, and return its result"""
    client = test.client()
    url = f'/{test.db_name}/rpc/'
    response = client.post(url, json={
            'id': 0, 'method': 'common.db.login',
            'params': [login, {'password': PASSWORD}, 'en']})
    user_id, session = response.json['result'][:2]
    token = base64.b64encode(
        f'{login}:{user_id}:{session}'.encode()).decode()
    headers = {'Authorization': f'Session {token}'}
    context = client.post(url, headers=headers, json={
            'id': 1, 'method': 'model.res.user.get_preferences',
            'params': [True, {}]}).json['result']
    response = client.post(url, headers=headers, json={
            'id': 2, 'method': method, 'params': [*params, context]})
    payload = json.loads(response.get_data())
    if 'error' in payload:
        raise RPCError(payload['error'])
    return payload['result']


class RPCError(Exception):
    pass


class CrmTestCase(TestCase):
    """Tests in a database with the module activated, without the generic
    checks of ModuleTestCase that test_module.py already runs"""
    module = 'crm_plus'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        drop_db()
        activate_module([cls.module])

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        drop_db()


class CommittedDataMixin:
    """Commit the data of create_data once for the tests of the class: they
    run their own transactions, as concurrent users or a server do"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run_in_transaction(DB_NAME, 0, cls.create_data)

    @classmethod
    def create_data(cls):
        raise NotImplementedError


# Concurrency needs two transactions at once
postgresql_only = skipIf(backend.name != 'postgresql',
    "SQLite serializes every transaction")


def create_opportunity_of(world, party, employee, **values):
    "Create an opportunity of the customer followed by the employee"
    Opportunity = Pool().get('crm.opportunity')
    values.setdefault('name', "%s deal" % party.name)
    values.setdefault('currency', world.company.currency)
    opportunity = Opportunity(
        company=world.company, party=party, employee=employee, **values)
    opportunity.save()
    return opportunity


class RPCSession:
    """A user logged in once over the JSON-RPC route of a RouteTestCase,
    calling with the context of the user's preferences"""

    def __init__(self, test, login):
        self.client = test.client()
        self.url = f'/{test.db_name}/rpc/'
        response = self.client.post(self.url, json={
                'id': 0, 'method': 'common.db.login',
                'params': [login, {'password': PASSWORD}, 'en']})
        user_id, session = response.json['result'][:2]
        token = base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        self.headers = {'Authorization': f'Session {token}'}
        self.context = self.post('model.res.user.get_preferences', True, {})

    def post(self, method, *params):
        response = self.client.post(self.url, headers=self.headers, json={
                'id': 1, 'method': method, 'params': list(params)})
        payload = json.loads(response.get_data())
        if 'error' in payload:
            raise RPCError(payload['error'])
        return payload['result']

    def __call__(self, method, *params, context=None):
        "Return the result of method or raise its error as RPCError"
        return self.post(method, *params, {**self.context, **(context or {})})


def server_error(error):
    "Tell whether the RPCError is a crash rather than a refusal"
    args = error.args[0]
    return len(args) > 1 and 'Traceback' in str(args[1])


def create_books(world):
    """Create for sales1 and for sales2, in teams of their own, the book of
    a customer with a contact person, their satellites and a document of
    each kind, some waiting for approval; a second such book shared with
    the other salesperson read-only; a lock request of a pool customer.

    Return the customers of the books by the login of their owner, the
    shared ones by "shared-" and the login."""
    pool = Pool()
    Flow = pool.get('crm.approval.flow')
    Team = pool.get('crm.team')
    for model in ['crm.opportunity', 'crm.expense', 'crm.campaign']:
        Flow(name="By the supervisor", company=world.company, model=model,
            steps=[{'name': "Supervisor", 'approver_kind': 'supervisor'}],
            ).save()
    with Transaction().set_context(company=world.company.id):
        product = create_product("Pump")
    books = {}
    for login, other in [('sales1', 'sales2'), ('sales2', 'sales1')]:
        Team(name="Team of %s" % login, company=world.company,
            members=[world.employees[login]]).save()
        books[login] = create_book(world, login, "Book", product)
        books['shared-' + login] = create_book(
            world, login, "Shared", product, share_with=other)
    return books


def create_product(name):
    "Create a product sold by the unit"
    pool = Pool()
    Template = pool.get('product.template')
    Uom = pool.get('product.uom')
    unit, = Uom.search([('symbol', '=', 'u')])
    template = Template(name=name, default_uom=unit, type='goods',
        list_price=Decimal(100), products=[{}])
    template.save()
    return template.products[0]


def create_book(world, login, title, product, share_with=None):
    """Create the book of a customer of the salesperson login, shared
    read-only with share_with"""
    pool = Pool()
    LockRequest = pool.get('crm.lock.request')
    ModelData = pool.get('ir.model.data')
    Party = pool.get('party.party')
    Share = pool.get('crm.customer.share')
    employee = world.employees[login]
    name = "%s of %s" % (title, login)
    customer = create_customer(name, owner=employee)
    contact = Party(name="Contact of %s" % name, addresses=[{
                'street': "1 Contact Road", 'city': "Shanghai"}],
        contact_mechanisms=[{'type': 'phone',
                'value': '+86 21 5555 %04d' % customer.id}])
    contact.save()
    Party.write([customer], {
            'addresses': [('create', [{
                            'street': "1 %s Road" % name,
                            'city': "Shanghai"}])],
            'contact_mechanisms': [('create', [{
                            'type': 'email',
                            'value': '%s@book.example.com' % customer.id}])],
            'identifiers': [('create', [{'code': 'BOOK-%s' % customer.id}])],
            'customer_contacts': [('create', [{
                            'contact': contact.id, 'position': "Buyer"}])],
            })
    rival = create_customer("Rival of %s" % name, owner=employee,
        customer_type=ModelData.get_id('crm_plus', 'customer_type_competitor'))
    Share(party=customer, employee=world.employees['manager'],
        mode='read').save()
    if share_with:
        Share(party=customer, employee=world.employees[share_with],
            mode='read').save()
    LockRequest(party=create_customer("Pool of %s" % name, pool=world.east),
        employee=employee, reason="Met them at the fair").save()
    book_documents(world, login, name, customer, contact, rival, product)
    return customer


def book_documents(world, login, name, customer, contact, rival, product):
    "Create a document of each kind about the customer of login"
    pool = Pool()
    Attachment = pool.get('ir.attachment')
    Campaign = pool.get('crm.campaign')
    Expense = pool.get('crm.expense')
    FollowUp = pool.get('crm.follow_up')
    Lead = pool.get('crm.lead')
    Note = pool.get('ir.note')
    Opportunity = pool.get('crm.opportunity')
    Plan = pool.get('crm.plan')
    Target = pool.get('crm.target')
    company, employee = world.company, world.employees[login]
    today = pool.get('ir.date').today()
    follow_up = FollowUp(company=company, party=customer, contact=contact,
        employee=employee, date=today, subject="Call of %s" % name,
        comments=[{'employee': world.employees['manager'].id,
                'comment': "Call again"}])
    follow_up.save()
    Plan(company=company, party=customer, contact=contact, employee=employee,
        planned=dt.datetime.combine(today, dt.time(9)),
        subject="Visit of %s" % name).save()
    campaign = Campaign(company=company, name="Fair of %s" % name,
        employee=employee, participants=[employee], start_date=today,
        end_date=today, currency=company.currency, budget=Decimal(1000),
        target_customers=[customer], products=[product])
    campaign.save()
    opportunity = create_opportunity_of(world, customer, employee,
        contact=contact, campaign=campaign, amount=Decimal(500),
        assistants=[world.employees['junior'].id],
        lines=[{'product': product.id, 'quantity': 5,
                'unit': product.default_uom.id,
                'unit_price': Decimal(100)}],
        competitors=[{'competitor': rival.id}])
    lead = Lead(company=company, name="Lead of %s" % name, party=customer,
        contact=contact, employee=employee, products=[product],
        emails=[{'message_id': '<%s@book.example.com>' % customer.id,
                'subject': "Quote of %s" % name, 'body': "Secret"}])
    lead.save()
    expense = create_expense(world, login, 100, party=customer,
        opportunity=opportunity, campaign=campaign)
    target = Target(company=company, name="Calls of %s" % name,
        kpi='follow_ups', owner_type='employee', employee=employee,
        value=Decimal(10), start_date=today, end_date=today,
        notes=[{'date': today, 'employee': employee.id,
                'kind': 'comment', 'note': "On track"}])
    target.save()
    Opportunity.submit([opportunity])
    Expense.submit([expense])
    for resource in [customer, opportunity, lead]:
        Attachment(resource=resource, name="%s.txt" % customer.id,
            data=b'secret').save()
        Note(resource=resource, message="Note of %s" % name).save()


@contextmanager
def serving():
    """Serve trytond's WSGI application on a free port of 127.0.0.1 with a
    thread per request, as a real server; yield its address"""
    from werkzeug.serving import WSGIRequestHandler, make_server

    from trytond.wsgi import app

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass
    server = make_server('127.0.0.1', 0, app, threaded=True,
        request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address
    finally:
        server.shutdown()
        thread.join()


class HTTPSession:
    """A user logged in over HTTP to a served database, with a connection
    of its own, calling JSON-RPC with the context of the user"""

    def __init__(self, address, database, login):
        self.connection = http.client.HTTPConnection(*address, timeout=120)
        self.path = f'/{database}/rpc/'
        self.headers = {'Content-Type': 'application/json'}
        status, payload = self.post('common.db.login',
            [login, {'password': PASSWORD}, 'en'])
        user_id, session = payload['result'][:2]
        token = base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        self.headers['Authorization'] = f'Session {token}'
        _, payload = self.post('model.res.user.get_preferences', [True, {}])
        self.context = payload['result']

    def post(self, method, params):
        "Return the HTTP status and the decoded JSON answer of the call"
        body = json.dumps({'id': 1, 'method': method, 'params': params})
        self.connection.request('POST', self.path, body, self.headers)
        response = self.connection.getresponse()
        data = response.read()
        try:
            return response.status, json.loads(data)
        except ValueError:
            return response.status, {'error': [data.decode(errors='replace')]}

    def __call__(self, method, *params):
        """Return 'done', the message of the refusal, or 'HTTP <status>'
        or 'crash' when the server failed"""
        status, payload = self.post(method, [*params, self.context])
        if status != 200:
            return f'HTTP {status}'
        if 'error' not in payload:
            return 'done'
        _, args = payload['error'][:2]
        if isinstance(args, list):  # UserError: the message, description...
            return args[0]
        return 'crash'

    def close(self):
        self.connection.close()


def at_once(*calls):
    "Run each call in its own thread, all started together; return results"
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        results[index] = call()
    threads = [threading.Thread(target=run, args=(i, c))
        for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
