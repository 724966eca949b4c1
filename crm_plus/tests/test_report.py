# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The dashboard and reports count only what the user may read."""

import datetime as dt
from decimal import Decimal
from unittest.mock import patch

from dateutil.relativedelta import relativedelta

from trytond.model.exceptions import AccessError
from trytond.modules.company.tests import create_company, create_employee
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from ..report import merge_where
from .tools import (
    CrmTestCase, acting_as, create_customer, create_foreign_currency,
    create_night_customer, create_opportunity_of, create_world)


def make_admin(user):
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    admin = ModelData.get_id('crm_plus', 'group_crm_admin')
    User.write([user], {'groups': [('add', [admin])]})


def rows(model, fields, **context):
    "Read every row of the report as tuples of the fields"
    Report = Pool().get(model)
    with Transaction().set_context(**context):
        records = Report.search([])
        return sorted(
            tuple(getattr(r, f) for f in fields) for r in records)


class CrmPlusReportTestCase(CrmTestCase):
    "Test the dashboard and reports"
    def create_pipeline(self, world):
        "One customer with two open opportunities per salesperson"
        pool = Pool()
        Stage = pool.get('crm.opportunity.stage')
        initial, needs = Stage.search([], limit=2)
        emp = world.employees
        for name in ['sales1', 'junior', 'sales2', 'director']:
            customer = create_customer(
                "%s's" % name, pool=world.east, owner=emp[name])
            create_opportunity_of(world, customer, emp[name],
                stage=initial, probability=10, amount=Decimal(1000))
            create_opportunity_of(world, customer, emp[name],
                stage=needs, probability=30, amount=Decimal(100))
        return initial, needs

    @with_transaction()
    def test_funnel_respects_rules(self):
        "The funnel of a salesperson counts only what he may read"
        world = create_world()
        initial, needs = self.create_pipeline(world)

        def funnel(user):
            with acting_as(world.users[user]):

                return rows('crm.report.funnel',
                    ['stage', 'opportunities', 'amount', 'weighted_amount'])

        self.assertEqual(funnel('sales1'), sorted([
                    (initial, 2, 2000, 200), (needs, 2, 200, 60)]))
        self.assertEqual(funnel('manager'), sorted([
                    (initial, 3, 3000, 300), (needs, 3, 300, 90)]))
        make_admin(world.users['sales2'])
        self.assertEqual(funnel('sales2'), sorted([
                    (initial, 4, 4000, 400), (needs, 4, 400, 120)]))
        with acting_as(world.users['sales1']):
            self.assertEqual(rows('crm.report.funnel', ['opportunities'],
                    salesperson=world.employees['junior'].id), [(1,), (1,)])

    @with_transaction()
    def test_funnel_counts_pool_and_shared_customers(self):
        "The funnel of a salesperson counts every customer he may read"
        pool = Pool()
        Share = pool.get('crm.customer.share')
        world = create_world()
        initial, _ = self.create_pipeline(world)
        emp = world.employees
        in_pool = create_customer("Pool's", pool=world.east)
        shared = create_customer(
            "Shared's", pool=world.east, owner=emp['sales2'])
        Share(party=shared, employee=emp['sales1'], mode='read').save()
        for customer, amount in [(in_pool, 7), (shared, 50)]:
            create_opportunity_of(world, customer, emp['sales2'],
                stage=initial, probability=10, amount=Decimal(amount))

        with acting_as(world.users['sales1']):
            funnel = rows('crm.report.funnel',
                ['stage', 'opportunities', 'amount'])

        self.assertIn((initial, 4, 2057), funnel)

    @with_transaction()
    def test_funnel_in_stage_order(self):
        "The funnel lists the stages in their order, not by name"
        pool = Pool()
        Stage = pool.get('crm.opportunity.stage')
        Funnel = pool.get('crm.report.funnel')
        world = create_world()
        employee = world.employees['sales1']
        customer = create_customer("ACME", owner=employee)
        stages = Stage.search([])
        self.assertNotEqual(
            [s.name for s in stages], sorted(s.name for s in stages))
        for stage in reversed(stages):
            create_opportunity_of(world, customer, employee, stage=stage)

        with acting_as(world.users['sales1']):
            self.assertEqual([r.stage for r in Funnel.search([])], stages)

    def test_rules_through_a_relation_merged(self):
        "The rules reached through one relation become one subquery"
        domain = ('AND', ('OR', (('company', 'in', (2,)),)),
            ('OR', ('OR', ('party', 'where', [['owner', '=', None]])),
                ('OR', ('party', 'where', [['owner', 'in', [25]]])),
                ('employee', '=', 25)))

        self.assertEqual(merge_where(domain), ['AND',
                ['OR', ['AND', ('company', 'in', (2,))]],
                ['OR',
                    ('party', 'where', ['OR',
                            [['owner', '=', None]], [['owner', 'in', [25]]]]),
                    ('employee', '=', 25)]])

    @with_transaction()
    def test_weighted_amount_keeps_cents(self):
        "The weighted amount is not rounded down to whole units"
        pool = Pool()
        Stage = pool.get('crm.opportunity.stage')
        world = create_world()
        initial, = Stage.search([], limit=1)
        employee = world.employees['sales1']
        customer = create_customer("ACME", pool=world.east, owner=employee)
        create_opportunity_of(world, customer, employee,
            stage=initial, probability=15, amount=Decimal(999))

        with acting_as(world.users['sales1']):
            (weighted,), = rows('crm.report.funnel', ['weighted_amount'])
        self.assertIsInstance(weighted, Decimal)
        self.assertEqual(weighted, Decimal('149.85'))

    @with_transaction(user=0)
    def test_read_after_search_aggregates_once(self):
        """Reading the rows just searched does not aggregate them again (as
        root: the rules of the figures are tested above)"""
        pool = Pool()
        Funnel = pool.get('crm.report.funnel')
        world = create_world()
        self.create_pipeline(world)
        opportunity = pool.get('crm.opportunity').search(
            [], order=[('stage', 'ASC'), ('id', 'ASC')], limit=1)[0]
        fields = ['stage', 'opportunities', 'amount', 'weighted_amount']

        def fresh(ids):
            with Transaction().set_context(fresh=True):
                return Funnel.read(ids, fields)

        with patch.object(Funnel, 'table_query',
                wraps=Funnel.table_query) as table_query, \
                Transaction().set_context(company=world.company.id):
            ids = [r.id for r in Funnel.search([])]
            searched = table_query.call_count
            rows = Funnel.read(ids, fields)
            self.assertEqual(table_query.call_count, searched)
            self.assertEqual(rows, fresh(ids))
            self.assertEqual(rows[0]['amount'], 4000)

            # A read under another context shares the transaction cache
            Transaction().get_cache()[Funnel.__name__][ids[0]]['amount'] = 0
            self.assertEqual(Funnel.read(ids, fields), rows)

            opportunity.amount = Decimal(1500)
            opportunity.save()
            rows = Funnel.read(ids, fields)
            self.assertGreater(table_query.call_count, searched)
            self.assertEqual(rows[0]['amount'], 4500)

            ids = [r.id for r in Funnel.search([])]
            searched = table_query.call_count
            Funnel.read(ids, fields + ['create_date'])
            self.assertGreater(table_query.call_count, searched)

    @with_transaction()
    def test_forecast_by_owner_and_month(self):
        "The forecast weighs the amounts by the probability"
        world = create_world()
        emp = world.employees
        today = Pool().get('ir.date').today()
        next_month = today + relativedelta(months=1, day=1)
        customer = create_customer("ACME", owner=emp['sales1'])
        for amount, probability, date in [
                (1000, 10, today), (500, 50, today),
                (2000, 90, next_month), (300, 40, None)]:
            create_opportunity_of(world, customer, emp['sales1'],
                amount=Decimal(amount), probability=probability,
                expected_date=date)
        create_opportunity_of(world, customer, emp['sales1'], state='won',
            amount=Decimal(9999), probability=100, expected_date=today)

        with acting_as(world.users['sales1']):
            self.assertEqual(
                rows('crm.report.forecast', [
                        'employee', 'month', 'opportunities', 'amount',
                        'weighted_amount'],
                    from_date=today.replace(day=1),
                    to_date=next_month + relativedelta(day=31)), [
                    (emp['sales1'], today.replace(day=1), 2, 1500, 350),
                    (emp['sales1'], next_month, 1, 2000, 1800),
                    ])

    @with_transaction()
    def test_this_month_vs_last_month(self):
        "New customers, follow-ups and opportunities month by month"
        FollowUp = Pool().get('crm.follow_up')
        world = create_world()
        emp = world.employees
        today = Pool().get('ir.date').today()
        this_month = today.replace(day=1)
        last_month = this_month - relativedelta(months=1)
        mine = create_customer("Mine", owner=emp['sales1'])
        other = create_customer("Other", owner=emp['sales2'])
        for party, employee, date in [
                (mine, 'sales1', this_month), (mine, 'sales1', last_month),
                (mine, 'sales1', last_month), (other, 'sales2', today)]:
            FollowUp(company=world.company, party=party, date=date,
                employee=emp[employee], subject="Call").save()
        create_opportunity_of(
            world, mine, emp['sales1'], start_date=last_month)

        with acting_as(world.users['sales1']):
            self.assertEqual(rows('crm.report.activity', [
                        'month', 'new_customers', 'follow_ups',
                        'opportunities']), [
                    (last_month, 0, 2, 1), (this_month, 1, 1, 0)])
        with acting_as(world.users['manager']):
            self.assertEqual(rows('crm.report.activity', [
                        'month', 'new_customers', 'follow_ups',
                        'opportunities']), [
                    (last_month, 0, 2, 1), (this_month, 2, 2, 0)])

    @with_transaction()
    def test_staff_activity_and_my_month(self):
        "Staff activity per employee; contract amounts wait for crm_plus_sale"
        FollowUp = Pool().get('crm.follow_up')
        world = create_world()
        emp = world.employees
        today = Pool().get('ir.date').today()
        mine = create_customer("Mine", owner=emp['sales1'])
        create_customer("Other", owner=emp['sales2'])
        FollowUp(company=world.company, party=mine, date=today,
            employee=emp['sales1'], subject="Call").save()
        create_opportunity_of(world, mine, emp['sales1'], state='won',
            close_date=today, amount=Decimal(700))
        fields = ['employee', 'new_customers', 'follow_ups',
            'opportunities', 'won_opportunities', 'won_amount',
            'contract_amount', 'received_amount']

        with acting_as(world.users['manager']):
            self.assertEqual(rows('crm.report.employee', fields), [
                    (emp['sales1'], 1, 1, 1, 1, 700, 0, 0),
                    (emp['sales2'], 1, 0, 0, 0, 0, 0, 0),
                    ])
        with acting_as(world.users['sales1']):
            self.assertEqual(
                rows('crm.report.employee', fields[:2],
                    salesperson=emp['sales1'].id),
                [(emp['sales1'], 1)])

            # nor can he export the row of a colleague by its id
            Report = Pool().get('crm.report.employee')
            with self.assertRaises(AccessError):
                Report.export_data(
                    Report.browse([emp['sales2'].id]), ['new_customers'])

    @with_transaction()
    def test_staff_activity_of_the_people_the_user_sees(self):
        """A salesperson's staff activity lists him and his subordinates, a
        team leader's his team, not the colleagues whose shared or pooled
        customers he reads: they would show with a part of their figures"""
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        Share = pool.get('crm.customer.share')
        Team = pool.get('crm.team')
        world = create_world()
        emp = world.employees
        today = pool.get('ir.date').today()
        shared = create_customer("Shared", owner=emp['sales2'])
        Share(party=shared, employee=emp['sales1'], mode='read').save()
        for name, party in [
                ('sales1', create_customer("Mine", owner=emp['sales1'])),
                ('junior', create_customer("Junior's", owner=emp['junior'])),
                ('sales2', shared),
                ('manager', create_customer("Pooled", pool=world.east)),
                ]:
            FollowUp(company=world.company, party=party, date=today,
                employee=emp[name], subject="Call").save()
        Team(name="Juniors", company=world.company, leader=emp['sales2'],
            members=[emp['junior']]).save()

        def staff(login):
            with acting_as(world.users[login]):
                return rows('crm.report.employee', ['employee', 'follow_ups'])

        self.assertEqual(staff('sales1'), sorted([
                    (emp['sales1'], 1), (emp['junior'], 1)]))
        self.assertEqual(staff('sales2'), sorted([
                    (emp['sales2'], 1), (emp['junior'], 1)]))
        self.assertEqual(staff('junior'), [(emp['junior'], 1)])
        make_admin(world.users['junior'])
        self.assertEqual(staff('junior'), sorted([
                    (emp['sales1'], 1), (emp['junior'], 1),
                    (emp['sales2'], 1), (emp['manager'], 1)]))

    @with_transaction()
    def test_staff_won_amount_in_company_currency(self):
        "Won amounts in other currencies are converted at the rate of the day"
        world = create_world()
        employee = world.employees['sales1']
        today = Pool().get('ir.date').today()
        foreign = create_foreign_currency(world)
        customer = create_customer("ACME", owner=employee)
        for currency, amount, days in [
                (world.company.currency, 1000, 0),
                (foreign, 100, 0),  # 12.50 at today's rate
                (foreign, 100, 1),  # 25 at yesterday's
                (foreign, 100, 3),  # left out: no rate yet
                ]:
            create_opportunity_of(world, customer, employee,
                state='won', close_date=today - relativedelta(days=days),
                amount=Decimal(amount), currency=currency)

        with acting_as(world.users['sales1']):
            (won, won_amount), = rows('crm.report.employee',
                ['won_opportunities', 'won_amount'])
        self.assertEqual(won, 4)
        self.assertIsInstance(won_amount, Decimal)
        self.assertEqual(won_amount, Decimal('1037.50'))

    @with_transaction()
    def test_new_customers_on_the_company_day(self):
        """A customer created after midnight in the company counts that day
        and that month, on every database"""
        world = create_world()
        create_night_customer(world)

        def new_customers(day):
            return rows('crm.report.source', ['customers'],
                from_date=day, to_date=day)
        with acting_as(world.users['sales1']):
            self.assertEqual(new_customers(dt.date(2026, 11, 1)), [(1,)])
            self.assertEqual(new_customers(dt.date(2026, 10, 31)), [])
            self.assertEqual(rows('crm.report.activity',
                    ['month', 'new_customers'],
                    from_date=dt.date(2026, 10, 1),
                    to_date=dt.date(2026, 11, 30)),
                [(dt.date(2026, 11, 1), 1)])

    @with_transaction()
    def test_customers_counted_in_their_company(self):
        """Reports count the customers owned or pooled in the user's company;
        a customer with neither owner nor pool counts in no company"""
        CustomerPool = Pool().get('crm.pool')
        world = create_world()
        other = create_company("Other Co", currency=world.company.currency)
        elsewhere = CustomerPool(name="Elsewhere", company=other)
        elsewhere.save()
        stranger = create_employee(other, "Stranger")
        create_customer("Ours", pool=world.east)
        # created in the default pool, taken out of it by the administrator
        unpooled = create_customer("Unpooled")
        unpooled.pool = None
        unpooled.save()
        create_customer("Ours from elsewhere", pool=elsewhere,
            owner=world.employees['sales2'])
        create_customer("Pooled elsewhere", pool=elsewhere)
        create_customer("Owned elsewhere", pool=elsewhere, owner=stranger)
        create_customer("Owned from here", pool=world.east, owner=stranger)
        make_admin(world.users['sales1'])

        with acting_as(world.users['sales1']):
            for company, count in [(world.company, 2), (other, 3)]:
                for model, field in [
                        ('crm.report.customer_status', 'customers'),
                        ('crm.report.source', 'customers'),
                        ('crm.report.activity', 'new_customers'),
                        ]:
                    with self.subTest(company=company.rec_name, model=model):
                        self.assertEqual(
                            rows(model, [field], company=company.id),
                            [(count,)])

    @with_transaction()
    def test_context_says_when_nothing_to_report(self):
        """The form above a report says when it has nothing for the
        criteria, which a graph cannot: with the domains of its action"""
        pool = Pool()
        Context = pool.get('crm.report.context')
        FollowUp = pool.get('crm.follow_up')
        Target = pool.get('crm.target')
        world = create_world()
        emp = world.employees
        today = pool.get('ir.date').today()

        def empty(action, login='sales1', **values):
            values.setdefault('from_date', today.replace(day=1))
            values.setdefault('to_date', today)
            with acting_as(world.users[login]), Transaction().set_context(
                    crm_report_action=f'crm_plus.{action}'):
                return Context(
                    company=world.company, **values).on_change_with_empty()

        self.assertIs(empty('act_report_funnel'), True)
        customer = create_customer("ACME", owner=emp['junior'])
        create_opportunity_of(world, customer, emp['junior'])
        self.assertIs(empty('act_report_funnel'), False)
        self.assertIs(empty('act_report_funnel', login='sales2'), True)
        self.assertIs(
            empty('act_report_funnel', salesperson=emp['sales1']), True)

        # the domain of the action counts: my month is not my team's
        FollowUp(company=world.company, party=customer, date=today,
            employee=emp['junior'], subject="Call").save()
        self.assertIs(empty('act_report_employee'), False)
        self.assertIs(empty('act_report_my_month'), True)
        self.assertIs(empty('act_report_my_month', login='junior'), False)

        # and its context domain: the targets of the period
        self.assertIs(empty('act_report_target', from_date=today), True)
        Target.create([{
                    'company': world.company.id, 'name': "Calls",
                    'kpi': 'follow_ups', 'value': Decimal(10),
                    'start_date': today, 'end_date': today,
                    'owner_type': 'employee', 'employee': emp['sales1'].id,
                    }])
        self.assertIs(empty('act_report_target', from_date=today), False)
        tomorrow = today + dt.timedelta(days=1)
        self.assertIs(empty('act_report_target',
                from_date=tomorrow, to_date=tomorrow), True)
        self.assertIs(empty('act_report_target', from_date=today,
                salesperson=emp['junior']), True)

        # without a report to look at, the form says nothing
        with Transaction().set_context(crm_report_action=None):
            self.assertIs(Context(company=world.company, from_date=today,
                    to_date=today).on_change_with_empty(), False)

        arch = Context.fields_view_get(view_type='form')['arch']
        self.assertRegex(arch, '<label [^>]*id="empty"[^>]*states=')

    @with_transaction()
    def test_sources_and_customer_status(self):
        "Customers and opportunities by source, customers by status"
        pool = Pool()
        Source = pool.get('crm.customer.source')
        world = create_world()
        emp = world.employees
        web, fair = Source.create([{'name': "Web"}, {'name': "Fair"}])
        mine = create_customer("Mine", owner=emp['sales1'],
            customer_source=web, customer_status='intention')
        create_customer("Free", pool=world.east, customer_source=fair)
        create_customer("Other", owner=emp['sales2'], customer_source=fair,
            customer_status='deal')
        create_opportunity_of(world, mine, emp['sales1'], source=fair,
            state='won', close_date=mine.create_date.date())
        # a customer archived, as a merged duplicate is, counts no more
        gone = create_customer("Gone", pool=world.east, customer_source=web,
            customer_status='intention')
        gone.active = False
        gone.save()

        with acting_as(world.users['sales1']):
            self.assertEqual(rows('crm.report.source', [
                        'source', 'customers', 'opportunities',
                        'won_opportunities']),
                sorted([(web, 1, 0, 0), (fair, 1, 1, 1)]))
            self.assertEqual(
                rows('crm.report.customer_status',
                    ['customer_status', 'customers']),
                [('intention', 1), ('potential', 1)])
