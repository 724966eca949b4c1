# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The approval engine: flows, steps, decisions and no way around them."""

import datetime as dt
from decimal import Decimal
from unittest.mock import patch

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import (
    CrmTestCase, acting_as, create_customer, create_expense,
    create_opportunity, create_world, move_in_progress)


def make_crm_manager(user):
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    User.write([user], {'groups': [
                ('add', [ModelData.get_id('crm_plus', 'group_crm_admin')])]})


class ApprovalTestCase(CrmTestCase):
    "Test the approval engine"

    def history(self, document):
        return [(h.action, h.employee.party.name if h.employee else None,
                h.comment) for h in document.approval.history]

    def submit(self, world, login, amount):
        "Create and submit an expense of amount as login"
        Expense = Pool().get('crm.expense')
        with acting_as(world.users[login]):
            expense = create_expense(world, login, amount)
            Expense.submit([expense])
        return Expense(expense.id)

    def reverse(self, world, login, records, reason):
        """Reverse the approval of the documents or requests as login, with
        the wizard that the button of their form opens"""
        Reverse = Pool().get('crm.approval.reverse', type='wizard')
        Model = type(records[0])
        with acting_as(world.users[login]), Transaction().set_context(
                active_model=Model.__name__, active_id=records[0].id,
                active_ids=[r.id for r in records]):
            session_id, start, _ = Reverse.create()
            try:
                Reverse.execute(
                    session_id, {start: {'reason': reason}}, 'reverse')
            finally:
                Reverse.delete(session_id)
        return Model.browse(records)

    def decide(self, world, login, document, action='approve', comment=None):
        Request = Pool().get('crm.approval.request')
        with acting_as(world.users[login]):
            getattr(Request, action)(
                [Request(document.approval.id)], comment)
        return type(document)(document.id)

    @with_transaction()
    def test_two_levels_above_threshold(self):
        "A large expense goes to the supervisor then the next one up"
        world = create_world()
        expense = self.submit(world, 'junior', 20000)
        self.assertEqual(expense.state, 'waiting')
        self.assertEqual(expense.approval.approver, world.employees['sales1'])

        with self.assertRaisesRegex(UserError, 'waits for Sales1'):
            self.decide(world, 'sales2', expense)
        expense = self.decide(world, 'sales1', expense, comment="OK for me")
        self.assertEqual(expense.state, 'waiting')
        self.assertEqual(
            expense.approval.approver, world.employees['manager'])
        with self.assertRaisesRegex(UserError, 'waits for Manager'):
            self.decide(world, 'sales1', expense)
        expense = self.decide(world, 'manager', expense)

        self.assertEqual(expense.state, 'approved')
        self.assertEqual(expense.approval.state, 'approved')
        self.assertEqual(self.history(expense), [
                ('submit', 'Junior', None),
                ('approve', 'Sales1', "OK for me"),
                ('approve', 'Manager', None),
                ])

    @with_transaction()
    def test_step_below_threshold_skipped(self):
        "A small expense needs only the direct supervisor"
        world = create_world()
        expense = self.submit(world, 'junior', 500)
        expense = self.decide(world, 'sales1', expense)
        self.assertEqual(expense.state, 'approved')

    @with_transaction()
    def test_reject_with_comment_ends_flow(self):
        "A rejection ends the flow and keeps the comment"
        world = create_world()
        expense = self.submit(world, 'junior', 20000)
        expense = self.decide(
            world, 'sales1', expense, 'reject', "Too expensive")
        self.assertEqual(expense.state, 'rejected')
        self.assertEqual(expense.approval.state, 'rejected')
        self.assertEqual(self.history(expense)[-1],
            ('reject', 'Sales1', "Too expensive"))
        with self.assertRaisesRegex(UserError, 'no longer pending'):
            self.decide(world, 'manager', expense)

    @with_transaction()
    def test_group_and_user_steps_of_company_flow(self):
        "A company flow with a group step then a user step wins"
        pool = Pool()
        Flow = pool.get('crm.approval.flow')
        Group = pool.get('res.group')
        world = create_world()
        finance = Group(name="Finance", users=[world.users['sales2']])
        finance.save()
        Flow(name="Expenses", company=world.company, model='crm.expense',
            steps=[
                {'name': "Finance", 'approver_kind': 'group',
                    'group': finance.id},
                {'name': "Director", 'approver_kind': 'user',
                    'user': world.users['director'].id},
                ]).save()

        expense = self.submit(world, 'junior', 100)
        with self.assertRaisesRegex(UserError, 'waits for Finance'):
            self.decide(world, 'sales1', expense)
        expense = self.decide(world, 'sales2', expense)
        with self.assertRaisesRegex(UserError, 'waits for Director'):
            self.decide(world, 'sales2', expense)
        expense = self.decide(world, 'director', expense)
        self.assertEqual(expense.state, 'approved')

    @with_transaction()
    def test_crm_manager_decides_any_step(self):
        "A CRM manager may decide on any step"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        world = create_world()
        crm_admin = ModelData.get_id('crm_plus', 'group_crm_admin')
        User.write([world.users['sales2']], {
                'groups': [('add', [crm_admin])]})
        expense = self.submit(world, 'junior', 100)
        expense = self.decide(world, 'sales2', expense)
        self.assertEqual(expense.state, 'approved')

    @with_transaction()
    def test_no_step_approves_at_once(self):
        "A document without an applicable step is approved at once"
        pool = Pool()
        Flow = pool.get('crm.approval.flow')
        LockRequest = pool.get('crm.lock.request')
        world = create_world()
        Flow.write(Flow.search([('model', '=', 'crm.lock.request')]),
            {'active': False})
        party = create_customer("ACME", pool=world.east)

        with acting_as(world.users['junior']):
            request = LockRequest(party=party)
            request.save()

        self.assertEqual(LockRequest(request.id).state, 'approved')
        self.assertEqual(
            type(party)(party.id).owner, world.employees['junior'])

    @with_transaction()
    def test_approvers_notified_and_reminded(self):
        "The approver is notified, and reminded by the cron a day later"
        pool = Pool()
        Notification = pool.get('res.notification')
        Request = pool.get('crm.approval.request')
        world = create_world()
        sales1 = world.users['sales1']
        expense = self.submit(world, 'junior', 100)
        self.assertEqual(Notification.search_count(
                [('user', '=', sales1.id)]), 1)

        Request.send_reminders()
        self.assertEqual(Notification.search_count(
                [('user', '=', sales1.id)]), 1)
        table = Request.__table__()
        Transaction().connection.cursor().execute(*table.update(
                [table.notified_date],
                [dt.datetime.now() - dt.timedelta(days=2)]))
        Request.send_reminders()
        self.assertEqual(Notification.search_count(
                [('user', '=', sales1.id)]), 2)
        self.assertEqual(expense.approval.state, 'pending')

    @with_transaction()
    def test_notification_opens_request_until_decided(self):
        """The notification of an approver opens the request; it goes once
        the request is decided or withdrawn"""
        pool = Pool()
        Notification = pool.get('res.notification')
        Expense = pool.get('crm.expense')
        world = create_world()
        expense = self.submit(world, 'junior', 20000)

        def notified():
            return [(n.user.login, n.model, n.records)
                for n in Notification.search([], order=[('id', 'ASC')])]
        records = '[%s]' % expense.approval.id
        self.assertEqual(notified(),
            [('sales1', 'crm.approval.request', records)])

        self.decide(world, 'sales1', expense)
        self.assertEqual(notified(),
            [('manager', 'crm.approval.request', records)])

        self.decide(world, 'manager', expense, 'reject')
        self.assertEqual(notified(), [])
        expense = self.submit(world, 'junior', 100)
        with acting_as(world.users['junior']):
            Expense.withdraw([expense])
        self.assertEqual(notified(), [])

    @with_transaction()
    def test_notification_in_approver_language(self):
        """An approver is notified in his language, whatever the language
        of the requester or of the previous approver"""
        pool = Pool()
        Lang = pool.get('ir.lang')
        Notification = pool.get('res.notification')
        Step = pool.get('crm.approval.step')
        world = create_world()
        zh_CN, = Lang.search([('code', '=', 'zh_CN')])
        Lang.write([zh_CN], {'translatable': True})
        world.users['manager'].language = zh_CN
        world.users['manager'].email = 'manager@example.com'
        world.users['manager'].save()
        expense = self.submit(world, 'junior', 20000)
        flow = expense.approval.flow
        with Transaction().set_context(language='zh_CN'):
            Step.write(list(flow.steps), {'name': "上级审批"})

        with patch('crm_plus.approval.send_message_transactional') as send:
            self.decide(world, 'sales1', expense)
        notification, = Notification.search(
            [('user', '=', world.users['manager'].id)])
        self.assertIn('上级审批', notification.description)
        email, = [c.args[0] for c in send.call_args_list]
        self.assertIn('上级审批', email.get_content())

    @with_transaction()
    def test_decision_told_then_list_reloaded(self):
        """The wizard of a decision tells where the request stands, then
        reloads the list, which the decided request leaves"""
        Decide = Pool().get('crm.approval.decide', type='wizard')
        world = create_world()
        expense = self.submit(world, 'junior', 20000)
        request = expense.approval

        def decide(login, button):
            with acting_as(world.users[login]), Transaction().set_context(
                    active_model=request.__name__, active_id=request.id,
                    active_ids=[request.id]):
                session_id, start, _ = Decide.create()
                result = Decide.execute(
                    session_id, {start: {'comment': None}}, button)
                action = Decide.delete(session_id)
            return result['view']['defaults']['outcome'], action

        self.assertEqual(decide('sales1', 'approve'), (
                '"Trip of junior": goes on to step '
                '"Second-level Supervisor", waiting for Manager.',
                'reload'))
        self.assertEqual(decide('manager', 'reject'),
            ('"Trip of junior": Rejected.', 'reload'))

    @with_transaction()
    def test_to_approve_lists_only_approver(self):
        "The To Approve list holds what the user may decide"
        Request = Pool().get('crm.approval.request')
        world = create_world()
        expense = self.submit(world, 'junior', 100)
        with acting_as(world.users['sales1']):
            self.assertEqual(Request.search([('to_approve', '=', True)]),
                [expense.approval])
        with acting_as(world.users['sales2']):
            self.assertEqual(Request.search([]), [])
        with acting_as(world.users['junior']):
            self.assertEqual(Request.search([('to_approve', '=', True)]), [])
            self.assertEqual(Request.search([]), [expense.approval])

    @with_transaction()
    def test_requester_withdraws_waiting_document(self):
        """The requester withdraws a waiting expense or opportunity (撤回),
        not the approver: it is a draft again, its request is cancelled and
        nobody decides it; submitted again, it starts a new request"""
        pool = Pool()
        Expense = pool.get('crm.expense')
        Opportunity = pool.get('crm.opportunity')
        world = create_world()
        expense = self.submit(world, 'junior', 20000)
        opportunity = create_opportunity(world, 'sales1')
        with acting_as(world.users['sales1']):
            Opportunity.submit([opportunity])

        for login, approver, document in [
                ('junior', 'sales1', expense),
                ('sales1', 'manager', Opportunity(opportunity.id)),
                ]:
            with self.subTest(document=document.__name__):
                Document = type(document)
                first_request = document.approval
                # the approver sees the document, but rejects it instead
                with acting_as(world.users[approver]), \
                        self.assertRaisesRegex(UserError, 'Only'):
                    Document.withdraw([Document(document.id)])
                self.assertEqual(Document(document.id).state, 'waiting')
                # nor is it deleted under its approvers
                with self.assertRaisesRegex(AccessError, 'withdraw it'):
                    Document.delete([Document(document.id)])
                with acting_as(world.users[login]):
                    Document.withdraw([Document(document.id)])
                document = Document(document.id)

                self.assertEqual(document.state, 'draft')
                self.assertEqual(first_request.state, 'cancelled')
                self.assertEqual(
                    [h.action for h in first_request.history],
                    ['submit', 'cancel'])
                with self.assertRaisesRegex(UserError, 'no longer pending'):
                    self.decide(world, 'manager', document)

                with acting_as(world.users[login]):
                    Document.submit([document])
                document = Document(document.id)
                self.assertEqual(document.state, 'waiting')
                self.assertNotEqual(document.approval, first_request)
                self.assertEqual(document.approval.state, 'pending')
        self.assertEqual(Expense(expense.id).state, 'waiting')

    @with_transaction()
    def test_decided_document_not_withdrawn(self):
        "An approved document cannot be withdrawn"
        Expense = Pool().get('crm.expense')
        world = create_world()
        expense = self.submit(world, 'junior', 100)
        expense = self.decide(world, 'sales1', expense)

        with acting_as(world.users['junior']):
            with self.assertRaisesRegex(UserError, 'call "withdraw"'):
                Expense.withdraw([expense])

        expense = Expense(expense.id)
        self.assertEqual(expense.state, 'approved')
        self.assertEqual(expense.approval.state, 'approved')

    @with_transaction()
    def test_state_not_writable(self):
        "Writing the state or the approval directly is refused"
        pool = Pool()
        Expense = pool.get('crm.expense')
        LockRequest = pool.get('crm.lock.request')
        world = create_world()
        expense = self.submit(world, 'junior', 100)
        party = create_customer("ACME", pool=world.east)

        with acting_as(world.users['junior']):
            request = LockRequest(party=party)
            request.save()
            for record, values in [
                    (expense, {'state': 'approved'}),
                    (expense, {'state': 'done', 'actual_amount': 1}),
                    (expense, {'approval': None}),
                    (request, {'state': 'approved'}),
                    ]:
                with self.subTest(values=values), \
                        self.assertRaisesRegex(AccessError, 'cannot be'
                            '|set by its approval flow'):
                    type(record).write([type(record)(record.id)], values)
        self.assertEqual(Expense(expense.id).state, 'waiting')
        self.assertEqual(LockRequest(request.id).state, 'requested')

    @with_transaction()
    def test_approved_fields_not_writable(self):
        """What the approver decides on cannot change once submitted: the
        amount of an expense, the budget of a campaign, the customer of a
        filed opportunity or of a lock request; other fields stay open"""
        pool = Pool()
        Campaign = pool.get('crm.campaign')
        Expense = pool.get('crm.expense')
        LockRequest = pool.get('crm.lock.request')
        Opportunity = pool.get('crm.opportunity')
        world = create_world()
        waiting = self.submit(world, 'junior', 100)
        approved = self.decide(
            world, 'sales1', self.submit(world, 'junior', 100))
        with acting_as(world.users['manager']):
            campaign = Campaign(
                name="Fair", start_date=dt.date.today(),
                end_date=dt.date.today(), budget=Decimal(1000))
            campaign.save()
            Campaign.submit([campaign])
        opportunity = create_opportunity(world, 'sales1')
        with acting_as(world.users['sales1']):
            Opportunity.submit([opportunity])
        other = create_customer("Other", owner=world.employees['sales1'])
        juniors = create_customer("Junior's", owner=world.employees['junior'])
        with acting_as(world.users['junior']):
            request = LockRequest(party=create_customer(
                    "Mine", owner=world.employees['junior']))
            request.save()

        for login, record, values in [
                ('junior', waiting, {'amount': Decimal(1)}),
                ('junior', approved, {'amount': Decimal(100000)}),
                ('junior', approved, {'campaign': None}),
                ('manager', campaign, {'budget': Decimal(100000)}),
                ('sales1', opportunity, {'party': other.id}),
                ('junior', request, {'party': juniors.id}),
                ]:
            Model = type(record)
            with self.subTest(model=Model.__name__, values=values), \
                    acting_as(world.users[login]), \
                    self.assertRaisesRegex(AccessError, 'cannot change'):
                Model.write([Model(record.id)], values)
        self.assertEqual(Expense(approved.id).amount, 100)
        self.assertEqual(Campaign(campaign.id).budget, 1000)
        self.assertEqual(Opportunity(opportunity.id).party, opportunity.party)

        with acting_as(world.users['junior']):
            Expense.write(
                [Expense(approved.id)], {'actual_amount': Decimal(90)})
        with acting_as(world.users['sales1']):
            Opportunity.write(
                [Opportunity(opportunity.id)], {'name': "ERP phase 2"})
            Opportunity.withdraw([Opportunity(opportunity.id)])
            Opportunity.write(
                [Opportunity(opportunity.id)], {'party': other.id})
        self.assertEqual(Opportunity(opportunity.id).party, other)

    @with_transaction()
    def test_create_or_import_past_approval_refused(self):
        "Creating or importing an approved document is refused"
        pool = Pool()
        Expense = pool.get('crm.expense')
        world = create_world()
        expense_type = create_expense(world, 'junior', 1).type
        with acting_as(world.users['junior']):
            with self.assertRaisesRegex(AccessError, 'initial state'):
                Expense.create([{
                            'name': "Dinner", 'type': expense_type.id,
                            'amount': Decimal(100), 'state': 'approved'}])
            with self.assertRaisesRegex(AccessError, 'initial state'):
                Expense.import_data(
                    ['name', 'type', 'amount', 'state'],
                    [["Dinner", expense_type.name, '100', 'approved']])
            self.assertEqual(Expense.import_data(
                    ['name', 'type', 'amount'],
                    [["Dinner", expense_type.name, '100']]), 1)

    @with_transaction()
    def test_copy_restarts_approval(self):
        "A copy of an approved document is a draft without approval"
        Expense = Pool().get('crm.expense')
        world = create_world()
        expense = self.submit(world, 'junior', 100)
        expense = self.decide(world, 'sales1', expense)
        with acting_as(world.users['junior']):
            copy, = Expense.copy([expense])
            with self.assertRaisesRegex(AccessError, 'initial state'):
                Expense.copy([expense], default={'state': 'approved'})
        self.assertEqual((copy.state, copy.approval), ('draft', None))

    @with_transaction()
    def test_requests_and_history_read_only(self):
        "Nobody edits an approval request or its history by hand"
        pool = Pool()
        Request = pool.get('crm.approval.request')
        History = pool.get('crm.approval.history')
        world = create_world()
        expense = self.submit(world, 'junior', 100)
        with acting_as(world.users['sales1']):
            with self.assertRaises(AccessError):
                Request.write([expense.approval], {'state': 'approved'})
            with self.assertRaises(AccessError):
                History.delete(list(expense.approval.history))
        self.assertEqual(expense.approval.state, 'pending')


    def approved_documents(self, world):
        """Return an approved expense, opportunity, campaign and lock
        request, each with its requester and the approver of its step"""
        pool = Pool()
        Campaign = pool.get('crm.campaign')
        LockRequest = pool.get('crm.lock.request')
        Opportunity = pool.get('crm.opportunity')
        expense = self.submit(world, 'junior', 100)
        opportunity = create_opportunity(world, 'sales1', amount=Decimal(50))
        with acting_as(world.users['sales1']):
            Opportunity.submit([opportunity])
        with acting_as(world.users['manager']):
            campaign = Campaign(
                name="Fair", start_date=dt.date.today(),
                end_date=dt.date.today(), budget=Decimal(1000))
            campaign.save()
            Campaign.submit([campaign])
        party = create_customer("Port", pool=world.east)
        with acting_as(world.users['junior']):
            lock = LockRequest(party=party, reason="Met them at the fair")
            lock.save()
        documents = []
        for requester, approver, document in [
                ('junior', 'sales1', expense),
                ('sales1', 'manager', Opportunity(opportunity.id)),
                ('manager', 'director', Campaign(campaign.id)),
                ('junior', 'sales1', LockRequest(lock.id)),
                ]:
            documents.append((requester, approver,
                    self.decide(world, approver, document)))
        return documents

    @with_transaction()
    def test_approver_reverses_every_document(self):
        """The approver reverses the approval of an expense, an opportunity,
        a campaign or a lock request with a reason kept in the history; the
        requester is told, changes the document and submits it again"""
        pool = Pool()
        Notification = pool.get('res.notification')
        Party = pool.get('party.party')
        world = create_world(cooldown_days=30)
        initial = {
            'crm.expense': ('draft', 'approved', {'amount': Decimal(90)}),
            'crm.opportunity': (
                'draft', 'in_progress', {'amount': Decimal(60)}),
            'crm.campaign': ('draft', 'approved', {'budget': Decimal(800)}),
            'crm.lock.request': (
                'requested', 'approved', {'reason': "Second visit"}),
            }

        for requester, approver, document in self.approved_documents(world):
            Document = type(document)
            draft, approved, changes = initial[Document.__name__]
            with self.subTest(document=Document.__name__):
                self.assertEqual(document.state, approved)
                request = document.approval

                document, = self.reverse(
                    world, approver, [document], "Wrong figures")

                self.assertEqual(document.state, draft)
                self.assertEqual(document.approval_state, 'reversed')
                self.assertEqual(request.state, 'reversed')
                self.assertEqual(self.history(document)[-1], (
                        'reverse', world.employees[approver].party.name,
                        "Wrong figures"))
                notification, = Notification.search([
                        ('user', '=', world.users[requester].id),
                        ('model', '=', Document.__name__),
                        ])
                self.assertIn("Wrong figures", notification.description)

                with acting_as(world.users[requester]):
                    Document.write([Document(document.id)], changes)
                    Document.submit([Document(document.id)])
                document = Document(document.id)
                self.assertNotEqual(document.approval, request)
                self.assertEqual(document.approval_state, 'pending')
                document = self.decide(world, approver, document)
                self.assertEqual(document.state, approved)

        # the lock reversed gave the customer back without the cooldown
        # of a release: approved again, the requester owns it again
        lock = document
        party = Party(lock.party.id)
        self.assertEqual(party.owner, world.employees['junior'])
        self.assertEqual(
            [l.action for l in sorted(party.ownership_logs, key=int)],
            ['lock', 'lock_reversed', 'lock'])

    @with_transaction()
    def test_lock_reversed_returns_customer_to_pool(self):
        "A reversed lock request gives the customer back to its pool"
        pool = Pool()
        Party = pool.get('party.party')
        world = create_world()
        *_, (_, _, lock) = self.approved_documents(world)
        self.assertEqual(lock.party.owner, world.employees['junior'])

        lock, = self.reverse(world, 'sales1', [lock], "Not ours to take")

        party = Party(lock.party.id)
        self.assertEqual((party.owner, party.pool), (None, world.east))
        *_, log = sorted(party.ownership_logs, key=int)
        self.assertEqual(
            (log.action, log.from_owner, log.to_owner, log.reason),
            ('lock_reversed', world.employees['junior'], None,
                "Not ours to take"))
        self.assertEqual(lock.decided_by, None)

    @with_transaction()
    def test_only_an_approver_or_crm_manager_reverses(self):
        """Neither the requester nor a supervisor who did not approve
        reverses an approval, nor without a reason; a CRM manager does"""
        pool = Pool()
        Expense = pool.get('crm.expense')
        world = create_world()
        expense = self.decide(
            world, 'sales1', self.submit(world, 'junior', 100))

        for login, reason, error in [
                ('junior', "Mine", 'Only an approver of .* \\(Sales1\\)'),
                ('manager', "Why not", 'Only an approver'),
                ('sales1', "  ", 'give the reason'),
                ]:
            with self.subTest(login=login, reason=reason), \
                    self.assertRaisesRegex(UserError, error):
                self.reverse(world, login, [expense], reason)
        expense = Expense(expense.id)
        self.assertEqual(expense.state, 'approved')
        self.assertEqual(expense.approval.state, 'approved')

        make_crm_manager(world.users['sales2'])
        expense, = self.reverse(world, 'sales2', [expense], "Budget cut")
        self.assertEqual(expense.state, 'draft')
        self.assertEqual(self.history(expense)[-1],
            ('reverse', 'Sales2', "Budget cut"))

    @with_transaction()
    def test_reverse_from_the_approvals(self):
        "The approver reverses an approval from his list of approvals too"
        Request = Pool().get('crm.approval.request')
        world = create_world()
        expense = self.decide(
            world, 'sales1', self.submit(world, 'junior', 100))

        request, = self.reverse(
            world, 'sales1', [Request(expense.approval.id)], "Too early")

        self.assertEqual(request.state, 'reversed')
        self.assertEqual(type(expense)(expense.id).state, 'draft')

    @with_transaction()
    def test_reverse_refused_once_something_came_of_it(self):
        """An approval is not reversed once the expense is spent or the
        opportunity won, nor while pending, nor without an approval step"""
        pool = Pool()
        Expense = pool.get('crm.expense')
        Flow = pool.get('crm.approval.flow')
        LockRequest = pool.get('crm.lock.request')
        Opportunity = pool.get('crm.opportunity')
        world = create_world()
        spent = self.decide(world, 'sales1', self.submit(world, 'junior', 100))
        with acting_as(world.users['junior']):
            Expense.write([spent], {'actual_amount': Decimal(80)})
            Expense.do([spent])
        won = move_in_progress(create_opportunity(world, 'sales1'))
        Opportunity.win([won])
        pending = self.submit(world, 'junior', 100)
        Flow.write(Flow.search([('model', '=', 'crm.lock.request')]),
            {'active': False})
        with acting_as(world.users['junior']):
            lock = LockRequest(party=create_customer("Port", pool=world.east))
            lock.save()

        make_crm_manager(world.users['director'])
        for record, error in [
                (Expense(spent.id), 'in state "Spent"'),
                (Opportunity(won.id), 'in state "Won"'),
                (pending, 'no approval of .* to reverse'),
                (pending.approval, 'it is Pending'),
                (LockRequest(lock.id), 'no approval of .* to reverse'),
                ]:
            with self.subTest(record=record), \
                    self.assertRaisesRegex(UserError, error):
                self.reverse(world, 'director', [record], "Too late")
        self.assertEqual(Expense(spent.id).state, 'done')
        self.assertEqual(Opportunity(won.id).state, 'won')
