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

# The customers whose owner some tests change
CHANGING = ["Handed over", "Stale", "Bait"]


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
        Flow = pool.get('crm.approval.flow')
        FollowUp = pool.get('crm.follow_up')
        Lang = pool.get('ir.lang')
        Lead = pool.get('crm.lead')
        Opportunity = pool.get('crm.opportunity')
        Request = pool.get('crm.approval.request')
        Share = pool.get('crm.customer.share')
        world = create_world(passwords=True)
        emp = world.employees
        cls.employees = {n: e.id for n, e in emp.items()}
        cls.customers = {}
        for name, owner in [
                ("Mine", 'sales1'), ("Junior's", 'junior'),
                ("Locked", 'sales2'), ("Shared", 'sales2'),
                ("Handed over", 'sales2')]:
            cls.customers[name] = create_customer(
                name, pool=world.east, owner=emp[owner]).id
        for name in ["Free", "Stale", "Bait"]:
            cls.customers[name] = create_customer(name, pool=world.east).id
        Share(party=cls.customers["Shared"], employee=emp['sales1'],
            mode='read').save()
        Share(party=cls.customers["Handed over"], employee=emp['junior'],
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
        Flow(name="Filing", company=world.company, model='crm.opportunity',
            steps=[{'name': "Supervisor", 'approver_kind': 'supervisor'}],
            ).save()
        filed = create_opportunity(
            world, 'sales2', party=cls.customers["Locked"])
        Opportunity.submit([filed])
        cls.filed = filed.id
        zh_CN, = Lang.search([('code', '=', 'zh_CN')])
        Lang.load_translations([zh_CN])
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
        # some tests change their owner
        customers = [('customer_nature', '!=', None),
            ('name', 'not in', CHANGING)] + (domain or [])
        return {r['name'] for r in self.rpc(login,
                'model.party.party.search_read', customers, 0, None, None,
                ['name'])}

    def test_salesperson_sees_own_shared_and_pool(self):
        "A salesperson never sees a colleague's locked customers"
        self.assertEqual(self.names('sales1'),
            {"Mine", "Junior's", "Shared", "Free"})
        self.assertEqual(self.rpc('sales1', 'model.party.party.search_count',
                [('customer_nature', '!=', None),
                    ('name', 'not in', CHANGING)]), 4)
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
        with self.assertRaisesRegex(RPCError, 'not allowed to change'):
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


    def test_share_not_self_granted(self):
        """The receiver of a read-only share cannot share the customer with
        himself for writing, nor change or end the share"""
        share, = self.rpc('sales1', 'model.crm.customer.share.search',
            [('party', '=', self.customers["Shared"])], 0, None, None)
        for method, params in [
                ('create', [[{'party': self.customers["Shared"],
                                'employee': self.employees['sales1'],
                                'mode': 'write'}]]),
                ('write', [[share], {'mode': 'write'}]),
                ('delete', [[share]]),
                ]:
            with self.subTest(method=method), \
                    self.assertRaisesRegex(RPCError, 'not allowed'):
                self.rpc('sales1', f'model.crm.customer.share.{method}',
                    *params)
        # nor can a colleague share a customer of somebody else by its id
        with self.assertRaisesRegex(RPCError, 'not allowed to see it'):
            self.rpc('sales1', 'model.crm.customer.share.create',
                [{'party': self.customers["Locked"],
                        'employee': self.employees['sales1'],
                        'mode': 'write'}])
        self.assertEqual(self.names('sales1', [
                    ('id', '=', self.customers["Locked"])]), set())

    def test_share_by_owner_side(self):
        """The owner and the owner's manager share a customer; a pool
        customer is not shared, even by the CRM manager"""
        for login in ['sales2', 'manager']:
            with self.subTest(login=login):
                share, = self.rpc(login, 'model.crm.customer.share.create',
                    [{'party': self.customers["Locked"],
                            'employee': self.employees['junior'],
                            'mode': 'read'}])
                self.rpc(login, 'model.crm.customer.share.write', [share],
                    {'mode': 'write'})
                self.rpc(login, 'model.crm.customer.share.delete', [share])
        with self.assertRaisesRegex(RPCError, 'public pool'):
            self.rpc('admin', 'model.crm.customer.share.create',
                [{'party': self.customers["Free"],
                        'employee': self.employees['junior'],
                        'mode': 'read'}])

    def test_bookkeeping_fields_read_only(self):
        """The owner and the follow-up figures of a customer change only
        through the actions that keep them"""
        for values in [
                {'owner': self.employees['sales1']},
                {'owner_since': date(2020, 1, 1)},
                {'released_date': date(2020, 1, 1)},
                {'release_warned': date(2020, 1, 1)},
                {'last_contact_date': date(2020, 1, 1)},
                {'next_contact_date': date(2030, 1, 1)},
                {'follow_up_count': 99},
                ]:
            with self.subTest(values=values), \
                    self.assertRaisesRegex(RPCError, 'not allowed'):
                self.rpc('sales1', 'model.party.party.write',
                    [self.customers["Mine"]], values)

    def test_refused_buttons_explained(self):
        """A button refused for the state of its record says why in the
        user's language, not with trytond's generic message"""
        self.rpc('sales2', 'model.party.party.claim',
            [self.customers["Stale"]])
        for login, button, id_, message in [
                # from a stale pool list, the customer claimed by another
                # team meanwhile
                ('sales1', 'claim', self.customers["Stale"],
                    'another salesperson has claimed it'),
                # the manager sees who owns it
                ('manager', 'claim', self.customers["Stale"],
                    '"Sales2" already owns it'),
                ('manager', 'claim', self.customers["Junior's"],
                    '"Junior" already owns it'),
                ('sales1', 'release', self.customers["Free"],
                    'not available for "Free" in its current state'),
                ]:
            with self.subTest(login=login, button=button), \
                    self.assertRaisesRegex(RPCError, message):
                self.rpc(login, f'model.party.party.{button}', [id_])
        with self.assertRaisesRegex(RPCError, '已被其他销售人员领取'):
            self.rpc('sales1', 'model.party.party.claim',
                [self.customers["Stale"]], context={'language': 'zh_CN'})

    def test_own_approval_not_decided(self):
        """The requester does not see the decision on his own request and
        is told why when he tries it"""
        request, = self.rpc('sales2', 'model.crm.approval.request.search',
            [('document', '=', f'crm.opportunity,{self.filed}')],
            0, None, None)
        (values,) = self.rpc('sales2', 'model.crm.approval.request.read',
            [request], ['can_decide'])
        self.assertFalse(values['can_decide'])
        with self.assertRaisesRegex(RPCError, 'your own request'):
            self.rpc('sales2', 'model.crm.approval.request.decide',
                [request])
        (values,) = self.rpc('manager', 'model.crm.approval.request.read',
            [request], ['can_decide'])
        self.assertTrue(values['can_decide'])

    def test_employee_of_context_not_trusted(self):
        """A salesperson who sends a colleague as the employee of his
        context does not claim for the colleague"""
        with self.assertRaisesRegex(RPCError, 'no employee'):
            self.rpc('sales1', 'model.party.party.claim',
                [self.customers["Bait"]], context={
                    'employee': self.employees['sales2']})

        @with_transaction()
        def owner():
            Party = Pool().get('party.party')
            return Party(self.customers["Bait"]).owner
        self.assertIsNone(owner())

    def test_owner_written_by_manager_logged(self):
        """The CRM manager writes the owner of a customer: the change is
        logged as a transfer and ends the customer's shares"""
        self.rpc('admin', 'model.party.party.write',
            [self.customers["Handed over"]],
            {'owner': self.employees['sales1']})

        @with_transaction()
        def check():
            Party = Pool().get('party.party')
            party = Party(self.customers["Handed over"])
            log = party.ownership_logs[0]
            return (party.owner.id, log.action, log.from_owner.id,
                log.to_owner.id, len(party.shares))
        self.assertEqual(check(), (self.employees['sales1'], 'transfer',
                self.employees['sales2'], self.employees['sales1'], 0))


def date(year, month, day):
    "Return the date as the JSON-RPC client sends it"
    return {'__class__': 'date', 'year': year, 'month': month, 'day': day}


class RPCError(Exception):
    pass


del RouteTestCase
