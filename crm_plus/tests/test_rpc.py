# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""What salespeople see and may change, through the real JSON-RPC route."""

import base64
import json

from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, RouteTestCase, with_transaction

from .tools import (
    PASSWORD, acting_as, create_customer, create_expense, create_opportunity,
    create_world, run_in_transaction)


class CrmPlusRPCTestCase(RouteTestCase):
    "Test crm_plus access rules over RPC"
    module = 'crm_plus'

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        run_in_transaction(DB_NAME, 0, cls.create_customers)

    @classmethod
    def create_customers(cls):
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        Lead = pool.get('crm.lead')
        Request = pool.get('crm.approval.request')
        Share = pool.get('crm.customer.share')
        world = create_world(passwords=True)
        emp = world.employees
        cls.customers = {}
        for name, owner in [
                ("Mine", 'sales1'), ("Junior's", 'junior'),
                ("Locked", 'sales2'), ("Shared", 'sales2')]:
            cls.customers[name] = create_customer(
                name, pool=world.east, owner=emp[owner]).id
        cls.customers["Free"] = create_customer("Free", pool=world.east).id
        Share(party=cls.customers["Shared"], employee=emp['sales1'],
            mode='read').save()
        FollowUp(company=world.company, party=cls.customers["Locked"],
            employee=emp['sales2'], subject="Secret").save()
        shared_call = FollowUp(company=world.company,
            party=cls.customers["Shared"], employee=emp['sales2'],
            subject="Shared call")
        shared_call.save()
        cls.shared_follow_up = shared_call.id
        cls.opportunity = create_opportunity(
            world, 'sales2', party=cls.customers["Shared"]).id
        reason = pool.get('crm.opportunity.lost_reason')(name="Price")
        reason.save()
        cls.lost_reason = reason.id
        lead = Lead(company=world.company, name="Shared lead",
            party=cls.customers["Shared"], employee=emp['sales2'])
        lead.save()
        cls.lead = lead.id
        expense = create_expense(world, 'junior', 100)
        with acting_as(world.users['junior']):
            expense.submit([expense])
        with acting_as(world.users['sales1']):
            Request.approve([Request(expense.approval.id)])
        cls.expense = expense.id

    def rpc(self, login, method, *params, context=None):
        """Call method as login, with the user's context updated by context,
        and return its result or raise its error"""
        client = self.client()
        url = f'/{self.db_name}/rpc/'
        response = client.post(url, json={
                'id': 0, 'method': 'common.db.login',
                'params': [login, {'password': PASSWORD}, 'en']})
        user_id, session = response.json['result'][:2]
        token = base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        headers = {'Authorization': f'Session {token}'}
        preferences = client.post(url, headers=headers, json={
                'id': 1, 'method': 'model.res.user.get_preferences',
                'params': [True, {}]}).json['result']
        context = {**preferences, **(context or {})}
        response = client.post(url, headers=headers, json={
                'id': 2, 'method': method, 'params': [*params, context]})
        payload = json.loads(response.get_data())
        if 'error' in payload:
            raise RPCError(payload['error'])
        return payload['result']

    def names(self, login, domain=None):
        customers = [('customer_nature', '!=', None)] + (domain or [])
        return {r['name'] for r in self.rpc(login,
                'model.party.party.search_read', customers, 0, None, None,
                ['name'])}

    def test_salesperson_sees_own_shared_and_pool(self):
        "A salesperson never sees a colleague's locked customers"
        self.assertEqual(self.names('sales1'),
            {"Mine", "Junior's", "Shared", "Free"})
        self.assertEqual(self.rpc('sales1', 'model.party.party.search_count',
                [('customer_nature', '!=', None)]), 4)
        self.assertEqual(self.rpc('sales1', 'model.party.party.search',
                [('id', '=', self.customers["Locked"])], 0, None, None), [])
        with self.assertRaisesRegex(RPCError, 'not allowed to read'):
            self.rpc('sales1', 'model.party.party.read',
                [self.customers["Locked"]], ['name'])

    def test_salesperson_export_obeys_rules(self):
        "Exporting customers exports only the visible ones"
        ids = [self.customers[n] for n in ["Mine", "Free"]]
        rows = self.rpc('sales1', 'model.party.party.export_data',
            ids, ['name'], {})
        self.assertEqual(sorted(r[0] for r in rows), ["Free", "Mine"])
        with self.assertRaisesRegex(RPCError, 'not allowed to read'):
            self.rpc('sales1', 'model.party.party.export_data',
                [self.customers["Locked"]], ['name'], {})

    def test_follow_ups_of_locked_customers_invisible(self):
        "The follow-ups of a colleague's customers are invisible"
        def subjects(login):
            return sorted(r['subject'] for r in self.rpc(login,
                    'model.crm.follow_up.search_read', [], 0, None, None,
                    ['subject']))
        self.assertEqual(subjects('sales1'), ["Shared call"])
        self.assertEqual(subjects('manager'), ["Secret", "Shared call"])

    def test_manager_sees_two_levels_down(self):
        "A manager sees the customers of subordinates' subordinates"
        self.assertEqual(self.names('manager'),
            {"Mine", "Junior's", "Locked", "Shared", "Free"})
        self.assertEqual(self.names('director'),
            {"Mine", "Junior's", "Locked", "Shared", "Free"})
        self.assertEqual(self.names('junior'), {"Junior's", "Free"})

    def test_shared_read_only_not_editable(self):
        "A customer shared read-only can be read but not edited"
        self.rpc('sales1', 'model.party.party.read',
            [self.customers["Shared"]], ['name'])
        with self.assertRaisesRegex(RPCError, 'not allowed to write'):
            self.rpc('sales1', 'model.party.party.write',
                [self.customers["Shared"]], {'name': "Renamed"})
        self.assertIn("Shared", self.names('sales1'))

    def test_shared_read_only_buttons_refused(self):
        """The opportunity and the lead of a customer shared read-only can
        be read, but their buttons, which run without the write rules, are
        refused"""
        for model, id_, button in [
                ('crm.opportunity', self.opportunity, 'submit'),
                ('crm.opportunity', self.opportunity, 'lose'),
                ('crm.lead', self.lead, 'invalidate'),
                ('crm.follow_up', self.shared_follow_up,
                    'create_opportunity'),
                ]:
            self.rpc('sales1', f'model.{model}.read', [id_], ['rec_name'])
            with self.subTest(model=model, button=button), \
                    self.assertRaisesRegex(RPCError, 'but not change it'):
                self.rpc('sales1', f'model.{model}.{button}', [id_])

        # nor run the wizards behind the buttons directly
        active = {'active_model': 'crm.opportunity',
            'active_id': self.opportunity, 'active_ids': [self.opportunity]}
        for wizard, values in [
                ('lose', {'reason': self.lost_reason, 'note': ''}),
                ('suspend', {'reason': "Budget frozen",
                        'reactivation_date': {'__class__': 'date',
                            'year': 2030, 'month': 1, 'day': 1}}),
                ]:
            session, *_ = self.rpc('sales1',
                f'wizard.crm.opportunity.{wizard}.create', context=active)
            with self.subTest(wizard=wizard), \
                    self.assertRaisesRegex(RPCError, 'but not change it'):
                self.rpc('sales1', f'wizard.crm.opportunity.{wizard}.execute',
                    session, {'start': values}, wizard, context=active)

        @with_transaction()
        def states():
            pool = Pool()
            Opportunity = pool.get('crm.opportunity')
            Lead = pool.get('crm.lead')
            return (Opportunity(self.opportunity).state,
                Lead(self.lead).state)
        self.assertEqual(states(), ('draft', 'new'))

    def test_approver_reverses_approval(self):
        """The approver of an expense reverses its approval (反审核) from its
        form, with a reason; its requester may not"""
        active = {'active_model': 'crm.expense',
            'active_id': self.expense, 'active_ids': [self.expense]}
        @with_transaction()
        def wizard_action():
            ModelData = Pool().get('ir.model.data')
            return ModelData.get_id('crm_plus', 'wizard_approval_reverse')
        self.assertEqual(self.rpc('sales1',
                'model.crm.expense.reverse_approval', [self.expense]),
            wizard_action())

        def reverse(login, reason):
            session, *_ = self.rpc(login,
                'wizard.crm.approval.reverse.create', context=active)
            self.rpc(login, 'wizard.crm.approval.reverse.execute',
                session, {'start': {'reason': reason}}, 'reverse',
                context=active)

        @with_transaction()
        def state():
            pool = Pool()
            Expense = pool.get('crm.expense')
            expense = Expense(self.expense)
            return (expense.state, expense.approval.state,
                expense.approval.history[-1].comment)

        with self.assertRaisesRegex(RPCError, 'Only an approver'):
            reverse('junior', "I changed my mind")
        self.assertEqual(state(), ('approved', 'approved', None))

        reverse('sales1', "The fair is postponed")
        self.assertEqual(
            state(), ('draft', 'reversed', "The fair is postponed"))

    def test_refused_import_writes_nothing(self):
        "An import refused for a duplicate leaves nothing behind"
        with self.assertRaisesRegex(RPCError, 'Mine'):
            self.rpc('sales1', 'model.party.party.import_data',
                ['name', 'customer_nature'],
                [["Brand New", 'company'], ["Mine", 'company']])

        @with_transaction()
        def count():
            Party = Pool().get('party.party')
            return Party.search_count([('name', '=', "Brand New")])
        self.assertEqual(count(), 0)


class RPCError(Exception):
    pass


del RouteTestCase
