# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Expense requests: approval before spending, campaign budgets."""

from decimal import Decimal

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, RequiredValidationError
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction

from .tools import (
    CommittedDataMixin, CrmTestCase, acting_as, create_customer,
    create_expense, create_world, postgresql_only, run_at_once,
    run_in_transaction, slowed)


def create_campaign(world, budget):
    Campaign = Pool().get('crm.campaign')
    Date = Pool().get('ir.date')
    campaign = Campaign(
        company=world.company, name="Fair", employee=world.employees['sales1'],
        start_date=Date.today(), end_date=Date.today(),
        currency=world.company.currency, budget=Decimal(budget))
    campaign.save()
    return campaign


def submit_and_approve(world, expense):
    "Submit the expense as the requester, approve it as his supervisor"
    pool = Pool()
    Expense = pool.get('crm.expense')
    Request = pool.get('crm.approval.request')
    employee = expense.employee
    with acting_as(world.users[employee.party.name.lower()]):
        Expense.submit([expense])
    supervisor = employee.supervisor.party.name.lower()
    with acting_as(world.users[supervisor]):
        Request.approve([Request(Expense(expense.id).approval.id)])


class ExpenseTestCase(CrmTestCase):
    "Test expense requests"

    @with_transaction()
    def test_expense_spent_after_approval(self):
        "An approved expense is spent with its actual amount"
        Expense = Pool().get('crm.expense')
        world = create_world()
        campaign = create_campaign(world, 1000)
        expense = create_expense(world, 'junior', 300, campaign=campaign)
        submit_and_approve(world, expense)

        with acting_as(world.users['junior']):
            expense = Expense(expense.id)
            self.assertEqual(expense.state, 'approved')
            expense.actual_amount = Decimal(280)
            expense.save()
            Expense.do([expense])
        self.assertEqual(Expense(expense.id).state, 'done')
        self.assertEqual(type(campaign)(campaign.id).actual_cost, 280)

    @with_transaction()
    def test_spent_amount_is_final(self):
        "The actual amount of a spent expense cannot be rewritten"
        Expense = Pool().get('crm.expense')
        world = create_world()
        expense = create_expense(world, 'junior', 300)
        submit_and_approve(world, expense)

        with acting_as(world.users['junior']):
            Expense.write([expense], {'actual_amount': Decimal(280)})
            Expense.do([expense])
            with self.assertRaisesRegex(
                    AccessError, 'only be changed while it is approved'):
                Expense.write([expense], {'actual_amount': Decimal(500)})
        self.assertEqual(Expense(expense.id).actual_amount, 280)

        # nor is a request created with an amount already spent
        with acting_as(world.users['junior']):
            with self.assertRaisesRegex(
                    AccessError, 'only be changed while it is approved'):
                Expense.copy([expense], {'actual_amount': Decimal(50)})

    @with_transaction()
    def test_spent_needs_actual_amount(self):
        "An expense is not spent without its actual amount"
        Expense = Pool().get('crm.expense')
        world = create_world()
        expense = create_expense(world, 'junior', 300)
        submit_and_approve(world, expense)
        with acting_as(world.users['junior']):
            with self.assertRaises(RequiredValidationError):
                Expense.do([Expense(expense.id)])

    @with_transaction()
    def test_campaign_budget_not_exceeded(self):
        "A request beyond the budget of the campaign is refused"
        Expense = Pool().get('crm.expense')
        world = create_world()
        campaign = create_campaign(world, 1000)
        first = create_expense(world, 'junior', 600, campaign=campaign)
        second = create_expense(world, 'sales2', 500, campaign=campaign)
        with acting_as(world.users['junior']):
            Expense.submit([first])
        with acting_as(world.users['sales2']):
            with self.assertRaisesRegex(UserError, 'over its budget'):
                Expense.submit([second])

    @with_transaction()
    def test_no_expense_for_closed_campaign(self):
        "A request for a cancelled campaign is refused"
        pool = Pool()
        Campaign = pool.get('crm.campaign')
        Expense = pool.get('crm.expense')
        world = create_world()
        campaign = create_campaign(world, 1000)
        expense = create_expense(world, 'junior', 100, campaign=campaign)
        Campaign.cancel([campaign])
        with acting_as(world.users['junior']):
            with self.assertRaisesRegex(UserError, 'campaign "Fair" is'):
                Expense.submit([Expense(expense.id)])
        self.assertEqual(Expense(expense.id).state, 'draft')

    @with_transaction()
    def test_cancelled_campaign_cancels_unspent_expenses(self):
        "Cancelling a campaign cancels its requests not spent yet"
        pool = Pool()
        Campaign = pool.get('crm.campaign')
        Expense = pool.get('crm.expense')
        world = create_world()
        campaign = create_campaign(world, 1000)
        draft, waiting, approved, spent = [
            create_expense(world, 'junior', 100, campaign=campaign)
            for _ in range(4)]
        with acting_as(world.users['junior']):
            Expense.submit([waiting])
        submit_and_approve(world, approved)
        submit_and_approve(world, spent)
        with acting_as(world.users['junior']):
            Expense.write([spent], {'actual_amount': Decimal(90)})
            Expense.do([spent])

        with acting_as(world.users['sales1']):
            Campaign.cancel([campaign])
        self.assertEqual(
            [Expense(e.id).state for e in [draft, waiting, approved, spent]],
            ['draft', 'cancelled', 'cancelled', 'done'])
        self.assertEqual(Expense(waiting.id).approval.state, 'cancelled')
        self.assertEqual(Campaign(campaign.id).actual_cost, 90)

    @with_transaction()
    def test_campaign_budget_not_below_committed(self):
        "A draft campaign's budget cannot drop below its committed expenses"
        pool = Pool()
        Campaign = pool.get('crm.campaign')
        Expense = pool.get('crm.expense')
        world = create_world()
        campaign = create_campaign(world, 1000)
        expense = create_expense(world, 'junior', 600, campaign=campaign)
        with acting_as(world.users['junior']):
            Expense.submit([expense])

        with self.assertRaisesRegex(UserError, 'over its budget of 500'):
            Campaign.write([campaign], {'budget': Decimal(500)})
        Campaign.write([campaign], {'budget': Decimal(600)})
        self.assertEqual(Campaign(campaign.id).budget, 600)

    @with_transaction()
    def test_cancelled_expense_frees_budget(self):
        "A cancelled request gives its amount back to the campaign"
        Expense = Pool().get('crm.expense')
        world = create_world()
        campaign = create_campaign(world, 1000)
        first = create_expense(world, 'junior', 600, campaign=campaign)
        second = create_expense(world, 'sales2', 500, campaign=campaign)
        with acting_as(world.users['junior']):
            Expense.submit([first])
            Expense.cancel([Expense(first.id)])
        with acting_as(world.users['sales2']):
            Expense.submit([second])
        self.assertEqual(Expense(second.id).state, 'waiting')
        self.assertEqual(Expense(first.id).approval.state, 'cancelled')

    @with_transaction()
    def test_rejected_expense_redrafted(self):
        "A rejected expense can be redrafted and submitted again"
        pool = Pool()
        Expense = pool.get('crm.expense')
        Request = pool.get('crm.approval.request')
        world = create_world()
        expense = create_expense(world, 'junior', 100)
        with acting_as(world.users['junior']):
            Expense.submit([expense])
        with acting_as(world.users['sales1']):
            Request.reject([Request(Expense(expense.id).approval.id)])
        with acting_as(world.users['junior']):
            Expense.draft([Expense(expense.id)])
            Expense.submit([Expense(expense.id)])
        expense = Expense(expense.id)
        self.assertEqual(expense.state, 'waiting')
        self.assertEqual(expense.approval.state, 'pending')
        self.assertEqual(
            Request.search_count([('document', '=', str(expense))]), 2)

    @with_transaction()
    def test_expense_visibility(self):
        "Expenses follow their customer, else the org chart of the requester"
        Expense = Pool().get('crm.expense')
        world = create_world()
        own = create_expense(world, 'junior', 100)
        customer = create_customer(
            "ACME", pool=world.east, owner=world.employees['sales2'])
        for_customer = create_expense(world, 'manager', 100, party=customer)

        for login, expected in [
                ('junior', {own}),
                ('sales1', {own}),
                ('sales2', {for_customer}),
                ('director', {own, for_customer}),
                ]:
            with self.subTest(login=login), acting_as(world.users[login]):
                self.assertEqual(set(Expense.search([])), expected)

        # the owner of the customer reads the expense, only its requester's
        # side of the org chart changes or cancels it
        with acting_as(world.users['sales2']):
            for action, message in [
                    (lambda e: Expense.write(e, {'description': "Mine"}),
                        'not allowed to change'),
                    (Expense.cancel, 'but not change it'),
                    (Expense.delete, 'not allowed to delete'),
                    ]:
                with self.assertRaisesRegex(AccessError, message):
                    action([Expense(for_customer.id)])
        with acting_as(world.users['manager']):
            Expense.cancel([Expense(for_customer.id)])
        self.assertEqual(Expense(for_customer.id).state, 'cancelled')

    @with_transaction()
    def test_only_drafts_deleted(self):
        "Only draft or cancelled expenses are deleted"
        Expense = Pool().get('crm.expense')
        world = create_world()
        expense = create_expense(world, 'junior', 100)
        with acting_as(world.users['junior']):
            Expense.submit([expense])
            with self.assertRaisesRegex(AccessError, 'cannot be deleted'):
                Expense.delete([Expense(expense.id)])


@postgresql_only
class ExpenseConcurrencyTestCase(CommittedDataMixin, CrmTestCase):
    "Test concurrent expense requests"

    @classmethod
    def create_data(cls):
        world = create_world()
        cls.users = {n: u.id for n, u in world.users.items()}
        campaign = create_campaign(world, 1000)
        cls.expenses = [
            create_expense(world, login, 600, campaign=campaign).id
            for login in ['sales1', 'sales2']]

    def test_budget_holds_under_concurrent_requests(self):
        "Two requests submitted at once cannot overspend the budget"
        Expense = Pool(DB_NAME).get('crm.expense')

        def submit(login, expense_id):
            "Return the call that submits the expense as login"
            user_id = self.users[login]
            context = run_in_transaction(DB_NAME, user_id, lambda: Pool().get(
                    'res.user').get_preferences(context_only=True))
            context['_check_access'] = True

            def do_submit():
                Expense = Pool().get('crm.expense')
                Expense.submit(Expense.browse([expense_id]))
            return user_id, do_submit, context

        with slowed(Expense, 'committed_amounts'):
            results = run_at_once(*(submit(l, e)
                    for l, e in zip(['sales1', 'sales2'], self.expenses)))

        self.assertEqual(results.count('done'), 1, results)
        self.assertRegex(
            [r for r in results if r != 'done'][0], 'over its budget')

