# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Every model of the CRM obeys the record rules on every path of RPC.

The tests walk, at run time, the models registered by the CRM's modules
and the host models a customer's data lives in: a new model is covered
without a new test, as long as the books of the fixture hold one of its
records (a test fails when they do not)."""

import datetime as dt
from decimal import Decimal

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase, with_transaction
from trytond.transaction import inactive_records

from .tools import (
    RPCError, RPCSession, create_books, create_world, run_in_transaction,
    server_error)

CRM_MODULES = ['crm_plus', 'crm_plus_sale', 'crm_plus_finance',
    'crm_plus_service']
# The host models that hold a customer's data for the CRM
SATELLITES = ['party.party', 'party.address', 'party.contact_mechanism',
    'party.identifier', 'ir.attachment', 'ir.note']
# The fields through which a record does not belong to what it links to
NOT_BELONGING = {
    'crm.opportunity.competitor': {'competitor'},
    'crm.opportunity': {'vendor'},
    }
NOT_BELONGING_ANYWHERE = {'create_uid', 'write_uid', 'approval'}
# The documents private to the employee who requests or is set them
EMPLOYEE_DOCUMENTS = {
    'crm.lock.request': 'employee',
    'crm.target': 'employee',
    }
# The documents that others may read but only their employee may change
EMPLOYEE_SHOWN = {
    'crm.campaign': 'employee',
    }
# The buttons that one may click on what one may read but not change
READING_BUTTONS = {
    'party.party': {'claim', 'watch', 'unwatch', 'request_lock', 'assign',
        'log_follow_up'},
    'crm.opportunity': {'follow_up'},
    }
SALESPEOPLE = ['sales1', 'sales2']
RELATIONS = ['many2one', 'one2many', 'many2many', 'reference']
# The links found open by id before the guard
SIDE_DOORS = {
    ('crm.customer.share', 'party'), ('crm.customer.contact', 'contact'),
    ('crm.expense', 'party'), ('crm.opportunity', 'vendor'),
    ('crm.lock.request', 'party'), ('crm.follow_up', 'contact'),
    ('crm.plan', 'contact'), ('crm.opportunity', 'contact'),
    ('crm.lead', 'contact'), ('crm.opportunity.competitor', 'competitor'),
    }
# The refusal of a link by the guard
GUARD = "does not exist or you are not allowed to see it"


def crm_models():
    "Return the names of the models of the CRM that RPC reaches"
    pool = Pool()
    IrModel = pool.get('ir.model')
    names = set(SATELLITES) | {m.name for m in IrModel.search([
                ('module', 'in', CRM_MODULES)])}
    return sorted(n for n in names
        if issubclass(pool.get(n), ModelSQL)
        and issubclass(pool.get(n), ModelView))


def customer_models(models):
    "Return the models whose records may belong to a customer"
    found = {'party.party'}
    grown = True
    while grown:
        grown = False
        for name in set(models) - found:
            if any(f._type == 'reference' or f.model_name in found
                    for _, f in belonging_fields(name)):
                found.add(name)
                grown = True
    return found


def belonging(seeds, models):
    """Return the (model, id) of the records of models that link to one of
    seeds, directly or through another such record"""
    found = set(seeds)
    grown = True
    while grown:
        grown = False
        for name in models:
            for fname, field in belonging_fields(name):
                new = {(name, i) for i in linking(name, fname, field, found)}
                grown |= bool(new - found)
                found |= new
    return found


def belonging_fields(name):
    Model = Pool().get(name)
    if callable(getattr(Model, 'table_query', None)):
        return []
    return [(n, f) for n, f in Model._fields.items()
        if f._type in {'many2one', 'reference'}
        and not isinstance(f, fields.Function)
        and n not in NOT_BELONGING.get(name, set())
        and n not in NOT_BELONGING_ANYWHERE]


class Active(dict):
    "The context of a wizard run on a record"

    def __init__(self, model, id_):
        super().__init__(
            active_model=model, active_id=id_, active_ids=[id_])


def stored_values(record):
    "Return the values of the stored fields of record, as create takes them"
    values = {}
    for name, field in type(record)._fields.items():
        if (isinstance(field, fields.Function)
                or field._type in {'one2many', 'many2many', 'binary'}
                or name in {'id', 'create_uid', 'create_date', 'write_uid',
                    'write_date'}):
            continue
        value = getattr(record, name)
        if field._type == 'reference' and value is not None:
            value = f'{value.__name__},{value.id}'
        elif hasattr(value, 'id'):
            value = value.id
        elif isinstance(value, (dt.date, Decimal)):
            continue
        values[name] = value
    return values


def link_value(type_, target):
    "Return the value of a field of type_ that links to target"
    target_model, id_ = target
    if type_ == 'reference':
        return f'{target_model},{id_}'
    if type_ in {'one2many', 'many2many'}:
        return [('add', [id_])]
    return id_


def links_of(record, names):
    "Return the (model, id) that the fields names of record link to"
    links = set()
    for name in names:
        field = type(record)._fields[name]
        if field._type not in RELATIONS or isinstance(field, fields.Function):
            continue
        value = getattr(record, name)
        for target in (value if isinstance(value, tuple) else [value]):
            if hasattr(target, 'id'):
                links.add((target.__name__, target.id))
    return links


def linking(name, fname, field, found):
    "Return the ids of name whose field links to a record of found"
    Model = Pool().get(name)
    if field._type == 'many2one':
        targets = [i for m, i in found if m == field.model_name]
    else:
        targets = ['%s,%s' % (m, i) for m, i in found]
    if not targets:
        return []
    with inactive_records():
        return [r.id for r in Model.search([(fname, 'in', targets)])]


class DataRulesTestMixin:
    """Salespeople of two teams, each with a book of a customer and of a
    document of each kind, try every RPC operation on the other's records
    and on the records they may only read"""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run_in_transaction(DB_NAME, 0, cls.create_data)

    @classmethod
    def create_data(cls):
        world = create_world(passwords=True)
        cls.books = {l: c.id for l, c in create_books(world).items()}

    @with_transaction()
    def books_of(self, login, kind):
        """Return the records of a book of the other salesperson: the
        'hidden' one or the one 'shared' read-only with login; and the name
        of its customer"""
        pool = Pool()
        Party = pool.get('party.party')
        other, = [l for l in SALESPEOPLE if l != login]
        customer = Party(self.books[
                other if kind == 'hidden' else 'shared-' + other])
        seeds = {('party.party', customer.id)} | {
            ('party.party', c.contact.id) for c in customer.customer_contacts}
        documents = EMPLOYEE_DOCUMENTS if kind == 'hidden' else EMPLOYEE_SHOWN
        for model, field in documents.items():
            Model = pool.get(model)
            seeds |= {(model, r.id) for r in Model.search([
                        (field, '=', customer.owner.id)])}
        return sorted(belonging(seeds, crm_models())), customer.name

    @with_transaction()
    def model_facts(self):
        pool = Pool()
        Wizard = pool.get('ir.action.wizard')
        facts = {}
        customers = customer_models(crm_models())
        for name in crm_models():
            Model = pool.get(name)
            facts[name] = {
                'table_query': callable(getattr(Model, 'table_query', None)),
                'buttons': sorted(Model._buttons),
                'wizards': sorted({w.wiz_name for w in Wizard.search([
                                ('model', '=', name)])}),
                'to_customers': name in customers,
                }
        return facts

    def test_other_books_refused(self):
        "Nothing of the other team's book is reachable by any RPC operation"
        facts = self.model_facts()
        leaks = []
        for login in SALESPEOPLE:
            rpc = RPCSession(self, login)
            records, name = self.books_of(login, 'hidden')
            covered = {m for m, _ in records}
            for model, id_ in records:
                for operation, call in self.operations(
                        model, id_, facts[model]):
                    leak = self.leak(rpc, call, name)
                    if leak:
                        leaks.append(f'{login}: {model} {operation}: {leak}')
            with self.subTest(login=login):
                self.assertEqual(sorted(m for m, f in facts.items()
                        if f['to_customers'] and m not in covered), [],
                    "models with no record in the books")
        self.maxDiff = None
        self.assertEqual(leaks, [])

    def test_shared_books_read_only(self):
        """What a salesperson may read but not change, no RPC operation
        changes"""
        facts = self.model_facts()
        leaks = []
        for login in SALESPEOPLE:
            rpc = RPCSession(self, login)
            hidden, _ = self.books_of(login, 'hidden')
            records, _ = self.books_of(login, 'shared')
            self.assertIn('crm.campaign', {m for m, _ in records})
            for model, id_ in sorted(set(records) - set(hidden)):
                if facts[model]['table_query']:
                    continue
                for operation, call in self.changes(model, id_, facts[model]):
                    leak = self.leak(rpc, call)
                    if leak:
                        leaks.append(f'{login}: {model} {operation}: {leak}')
        self.maxDiff = None
        self.assertEqual(leaks, [])

    def test_links_to_other_books_refused(self):
        """No create or write links a record to the other team's book,
        whether the linked record is hidden or does not exist, and its
        owner links to it as before"""
        leaks = []
        for login in SALESPEOPLE:
            owner, = [l for l in SALESPEOPLE if l != login]
            rpc, owner_rpc = RPCSession(self, login), RPCSession(self, owner)
            hidden, name = self.books_of(login, 'hidden')
            own, _ = self.books_of(owner, 'hidden')
            links = self.links(own, hidden)
            self.assertLessEqual(SIDE_DOORS, {l[:2] for l in links})
            for link in links:
                model, field, type_, target, record, values = link
                for operation, call in self.linking(*link):
                    leak = self.leak(rpc, call, name)
                    if leak:
                        leaks.append(f'{login}: {model}.{field} {operation}: '
                            f'{leak}')
                if self.refused(rpc, *link[:4], record) != self.refused(
                        rpc, model, field, type_, None, record):
                    leaks.append(f'{login}: {model}.{field}: hidden and '
                        'missing records refused differently')
                other = self.owned(hidden, model, field, target)
                if other and GUARD in (self.refused(
                            owner_rpc, *link[:4], other) or ''):
                    leaks.append(f'{owner}: {model}.{field}: own link refused')
        self.maxDiff = None
        self.assertEqual(leaks, [])

    @with_transaction()
    def links(self, own, hidden):
        """Yield (model, field, a hidden target, a record of own, its values)
        for each relation field of the CRM's models to a model of hidden"""
        pool = Pool()
        Field = pool.get('ir.model.field')
        targets = {}
        for model, id_ in hidden:
            targets.setdefault(model, id_)
        records = {}
        for model, id_ in own:
            records.setdefault(model, id_)
        links = []
        for field in Field.search([
                    ('model', 'in', crm_models()),
                    ('ttype', 'in', RELATIONS),
                    ]):
            Model = pool.get(field.model)
            ffield = Model._fields.get(field.name)
            if (callable(getattr(Model, 'table_query', None))
                    or isinstance(ffield, fields.Function)
                    or field.model not in records):
                continue
            target = self.target(ffield, targets)
            if target:
                links.append((field.model, field.name, ffield._type, target,
                        records[field.model],
                        stored_values(Model(records[field.model]))))
        return links

    def target(self, field, targets):
        "Return a hidden record the field may link to, as (model, id)"
        if field._type == 'reference':
            return next(iter(sorted(targets.items())), None)
        name = field.get_target().__name__
        return (name, targets[name]) if name in targets else None

    def linking(self, model, field, type_, target, record, values):
        "Yield (name, call) of the create and the write of the link"
        method = f'model.{model}.'
        value = link_value(type_, target)
        yield 'create', (method + 'create', [{**values, field: value}])
        yield 'write', (method + 'write', [record], {field: value})
        shown = [target[1]] if type_ in {'one2many', 'many2many'} else value
        yield 'on_change', (method + 'on_change', {field: shown}, [field])

    def refused(self, rpc, model, field, type_, target, record):
        "Return the message of the refused write of the link, None if done"
        if target is None:
            target = ('party.party', 10 ** 9)
        try:
            rpc(f'model.{model}.write', [record],
                {field: link_value(type_, target)})
        except RPCError as error:
            return error.args[0][0]

    @with_transaction()
    def owned(self, hidden, model, field, target):
        """Return the record of model in hidden whose field links to target,
        if any"""
        Model = Pool().get(model)
        for name, id_ in hidden:
            if name == model and Model.search([('id', '=', id_)]) and (
                    target in links_of(Model(id_), [field])):
                return id_

    def changes(self, model, id_, facts):
        "Yield (name, call) of each RPC operation that changes the record"
        method = f'model.{model}.'
        for button in facts['buttons']:
            if button not in READING_BUTTONS.get(model, set()):
                yield button, (method + button, [id_])
        yield 'write', (method + 'write', [id_], {})
        yield 'delete', (method + 'delete', [id_])

    def operations(self, model, id_, facts):
        "Yield (name, call) of each RPC operation on the record"
        method = f'model.{model}.'
        yield 'search', (method + 'search', [('id', '=', id_)], 0, None, None)
        yield 'search_count', (method + 'search_count', [('id', '=', id_)])
        yield 'read', (method + 'read', [id_], ['rec_name'])
        yield 'export_data', (
            method + 'export_data', [id_], ['rec_name'], False)
        yield 'export_data_domain', (method + 'export_data_domain',
            [('id', '=', id_)], ['rec_name'], 0, None, None, False)
        if facts['table_query']:
            return
        for button in facts['buttons']:
            yield button, (method + button, [id_])
        for wizard in facts['wizards']:
            yield wizard, (f'wizard.{wizard}.create', Active(model, id_))
        yield 'copy', (method + 'copy', [id_], {})
        yield 'write', (method + 'write', [id_], {})
        yield 'delete', (method + 'delete', [id_])

    def leak(self, rpc, call, name=None):
        """Return how the call leaks, None if it is refused as it should
        without naming name"""
        method, *params = call
        context = params.pop() if params and isinstance(
            params[-1], Active) else None
        try:
            result = rpc(method, *params, context=context)
        except RPCError as error:
            if server_error(error):
                return 'server error %s' % error.args[0][0]
            if name and name in str(error):
                return 'refusal names %r' % name
            return None
        if result in ([], 0):
            return None
        return 'answered %r' % (result,)


class CrmPlusDataRulesTestCase(DataRulesTestMixin, RouteTestCase):
    "Test the record rules of crm_plus on every path of RPC"
    module = 'crm_plus'


del RouteTestCase
