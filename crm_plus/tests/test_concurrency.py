# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Two salespeople clicking at once, on two real PostgreSQL connections."""

import functools
import re
import threading
import time
from contextlib import contextmanager
from unittest.mock import patch

from trytond import backend
from trytond.exceptions import UserError
from trytond.modules.company.tests import create_employee
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase

from .. import customer_import
from .tools import (
    CHECK_DELAY, PASSWORD, CommittedDataMixin, HTTPSession, at_once,
    create_customer, create_world, postgresql_only, run_at_once,
    run_in_transaction, serving, slowed)


@postgresql_only
class CrmPlusConcurrencyTestCase(CommittedDataMixin, RouteTestCase):
    "Test concurrent claims"
    module = 'crm_plus'

    @classmethod
    def create_data(cls):
        world = create_world(quota=1)
        cls.users = {n: u.id for n, u in world.users.items()}
        cls.customers = [
            create_customer(name, pool=world.east).id
            for name in ["Contested", "First", "Second", "Third", "Fourth"]]
        cls.pool = world.east.id

    def user_context(self, login):
        "Return the context the client sends for login, with access checks"
        context = run_in_transaction(DB_NAME, self.users[login],
            lambda: Pool().get('res.user').get_preferences(context_only=True))
        context['_check_access'] = True
        return context

    def claim(self, login, customer_id, context):
        """Claim the customer as login in its own transaction, as over RPC,
        in this thread; return 'done' or the message of the refusal"""
        try:
            run_in_transaction(
                DB_NAME, *self.claim_call(login, customer_id, context))
        except UserError as error:
            return error.message
        return 'done'

    def claim_call(self, login, customer_id, context):
        def claim():
            Party = Pool().get('party.party')
            Party.claim(Party.browse([customer_id]))
        return self.users[login], claim, context

    def claim_concurrently(self, claims):
        """Run each (login, customer id) claim in its own thread and
        transaction, all starting together; return what each got"""
        Party = Pool(DB_NAME).get('party.party')
        calls = [self.claim_call(login, customer_id, self.user_context(login))
            for login, customer_id in claims]
        with slowed(Party, 'check_quota'):
            return run_at_once(*calls)

    def owners(self):
        def read():
            Party = Pool().get('party.party')
            return [p.owner.party.name if p.owner else None
                for p in Party.browse(self.customers)]
        return run_in_transaction(DB_NAME, 0, read)

    def test_concurrent_claims_of_one_customer(self):
        "Two salespeople claim one customer at once: exactly one wins"
        contested = self.customers[0]
        results = self.claim_concurrently(
            [('sales1', contested), ('sales2', contested)])

        self.assertEqual(results.count('done'), 1, results)
        message, = [r for r in results if r != 'done']
        # The loser reads the customer either before the winner commits,
        # or after, when it has left the public pool
        self.assertRegex(message, 'already owns it|in a public pool')
        self.assertIn(self.owners()[0], {'Sales1', 'Sales2'})

    def test_quota_holds_under_concurrent_claims(self):
        "One salesperson claims two customers at once: the quota holds"
        first, second = self.customers[1:3]
        results = self.claim_concurrently(
            [('junior', first), ('junior', second)])

        self.assertEqual(results.count('done'), 1, results)
        message, = [r for r in results if r != 'done']
        self.assertRegex(message, 'quota is 1 customers')
        self.assertEqual(sorted(self.owners()[1:3], key=str),
            ['Junior', None])

    def test_quota_holds_when_claim_commits_between_locks(self):
        """A claim by the same salesperson that commits while the other
        takes its locks, after its snapshot, is counted all the same"""
        Party = Pool(DB_NAME).get('party.party')
        Database = backend.Database
        lock_records = Database.lock_records.__func__
        check_quota = Party.check_quota.__func__
        first_locked, first_committed = threading.Event(), threading.Event()
        results = {}

        def slow_check_quota(cls, parties, employee):
            check_quota(cls, parties, employee)
            first_locked.set()
            time.sleep(CHECK_DELAY)

        def lock_then_wait(cls, connection, table, ids):
            lock_records(cls, connection, table, ids)
            # The second claim holds its first lock until the first commits
            if threading.current_thread().name == 'second':
                first_committed.wait(30 * CHECK_DELAY)

        context = self.user_context('manager')

        def claim(name, customer_id):
            try:
                results[name] = self.claim('manager', customer_id, context)
            finally:
                if name == 'first':
                    first_committed.set()

        first = threading.Thread(
            target=claim, name='first', args=('first', self.customers[3]))
        second = threading.Thread(
            target=claim, name='second', args=('second', self.customers[4]))
        with patch.object(
                    Party, 'check_quota', classmethod(slow_check_quota)), \
                patch.object(
                    Database, 'lock_records', classmethod(lock_then_wait)):
            first.start()
            first_locked.wait(10)
            second.start()
            for thread in [first, second]:
                thread.join()

        self.assertEqual(results['first'], 'done')
        self.assertRegex(results['second'], 'quota is 1 customers')
        self.assertEqual(self.owners()[3:], ['Manager', None])

    def test_concurrent_imports_of_one_customer(self):
        "Two salespeople import the same new customer at once: one does"
        lines = customer_import.CustomerLines
        check_existing = lines.check_existing

        def slow_check_existing(self):
            check_existing(self)
            time.sleep(CHECK_DELAY)

        def import_call(login, data):
            def import_():
                pool = Pool()
                Import = pool.get('crm.customer.import', type='wizard')
                CustomerPool = pool.get('crm.pool')
                Import.import_file(data, CustomerPool(self.pool))
            return self.users[login], import_, {'_check_access': True}

        with patch.object(lines, 'check_existing', slow_check_existing):
            results = run_at_once(
                import_call('sales1',
                    b'name,email\nNew Trading,info@new.example\n'),
                import_call('sales2',
                    b'name,email\nNew Trading Co,INFO@new.example\n'))

        self.assertEqual(results.count('done'), 1, results)
        message, = [r for r in results if r != 'done']
        self.assertRegex(message, r'already has "INFO@new.example"'
            r'|already has "info@new.example"')


@postgresql_only
class CrmPlusClaimLoadTestCase(CommittedDataMixin, RouteTestCase):
    """Claims of a sales floor at once, each user on a connection of its own
    to the real HTTP server"""
    module = 'crm_plus'
    floor = 20

    @classmethod
    def create_data(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        world = create_world(passwords=True)
        crm_user = ModelData.get_id('crm_plus', 'group_crm_user')
        cls.logins = []
        for number in range(1, cls.floor + 1):
            login = 'floor%02d' % number
            employee = create_employee(world.company, login.title())
            employee.supervisor = world.employees['manager']
            employee.save()
            User(login=login, name=login.title(), groups=[crm_user],
                companies=[world.company], company=world.company,
                employees=[employee], employee=employee,
                password=PASSWORD).save()
            cls.logins.append(login)
        cls.customers = {name: create_customer(name, pool=world.east).id
            for name in ["Floor", "Sessions", "Race"]}
        cls.employees = {n: e.id for n, e in world.employees.items()}

    @contextmanager
    def sessions(self, logins):
        "Yield a session over its own connection for each login"
        with serving() as address:
            sessions = [HTTPSession(address, DB_NAME, l) for l in logins]
            try:
                yield sessions
            finally:
                for session in sessions:
                    session.close()

    def claims(self, logins, customer):
        """Claim the customer as each login, all at once; return the
        answers"""
        with self.sessions(logins) as sessions:
            return at_once(*[functools.partial(
                        s, 'model.party.party.claim', [customer])
                    for s in sessions])

    def owner(self, customer):
        def read():
            Party = Pool().get('party.party')
            owner = Party(customer).owner
            return owner.party.name if owner else None
        return run_in_transaction(DB_NAME, 0, read)

    def test_sales_floor_claims_one_customer(self):
        """20 salespeople claim one customer at once: one wins, the others
        are told it was claimed, none gets a server error"""
        results = self.claims(self.logins, self.customers["Floor"])

        self.assertEqual(results.count('done'), 1, results)
        losers = [r for r in results if r != 'done']
        self.assertEqual([r for r in losers if not re.search(
                        'already owns it|another salesperson has claimed',
                        r)], [])
        self.assertIn(self.owner(self.customers["Floor"]),
            {l.title() for l in self.logins})

    def test_one_salesperson_five_sessions(self):
        "A salesperson claims a customer from five sessions: one claim is done"
        results = self.claims(['sales1'] * 5, self.customers["Sessions"])

        self.assertEqual(results.count('done'), 1, results)
        self.assertEqual([r for r in results
                if r != 'done' and 'Sales1" already owns it' not in r], [])
        self.assertEqual(self.owner(self.customers["Sessions"]), "Sales1")

    def test_claims_race_assignment(self):
        """The manager assigns a customer while 5 salespeople claim it: at
        most one claim is done, the assignment is, nobody gets a server
        error"""
        customer = self.customers["Race"]
        with self.sessions(['manager', *self.logins[:5]]) as sessions:
            manager, *salespeople = sessions
            manager.context.update(active_model='party.party',
                active_id=customer, active_ids=[customer])
            _, payload = manager.post(
                'wizard.crm.customer.assign.create', [manager.context])
            wizard = payload['result'][0]
            results = at_once(functools.partial(manager,
                    'wizard.crm.customer.assign.execute', wizard,
                    {'start': {'employee': self.employees['junior'],
                            'reason': "Coverage"}}, 'assign'),
                *[functools.partial(s, 'model.party.party.claim', [customer])
                    for s in salespeople])

        self.assertEqual([r for r in results
                if r.startswith('HTTP') or r == 'crash'], [], results)
        # The assignment transfers the customer if a claim came first
        self.assertEqual(results[0], 'done')
        self.assertLessEqual(results[1:].count('done'), 1)
        self.assertEqual(self.owner(customer), "Junior")


del RouteTestCase
