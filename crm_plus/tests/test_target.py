# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Sales targets: decomposition, completed values and who may set them."""

import datetime as dt
from contextlib import nullcontext
from decimal import Decimal

from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.company.tests import set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction

from ..exceptions import TargetError
from ..target import split_value
from .tools import (
    CommittedDataMixin, CrmTestCase, acting_as, create_customer,
    create_night_customer, create_opportunity_of, create_world,
    postgresql_only, run_at_once, run_in_transaction, slowed)

YEAR_START = dt.date(2026, 1, 1)
YEAR_END = dt.date(2026, 12, 31)


def create_target(world, name, value, owner='sales1', kpi='follow_ups',
        start=YEAR_START, end=YEAR_END, **values):
    Target = Pool().get('crm.target')
    if owner in world.employees:
        values.update(owner_type='employee', employee=world.employees[owner])
    else:
        values.setdefault('owner_type', owner)
    values = {k: getattr(v, 'id', v) for k, v in values.items()}
    target, = Target.create([{
                'company': world.company.id, 'name': name, 'kpi': kpi,
                'value': Decimal(value), 'start_date': start,
                'end_date': end, **values}])
    return target


def decompose(target, **start):
    "Run the decomposition wizard on the target, in its company"
    Decompose = Pool().get('crm.target.decompose', type='wizard')
    session_id, _, _ = Decompose.create()
    in_company = (nullcontext() if Transaction().context.get('company')
        else set_company(target.company))
    with in_company, Transaction().set_context(
            active_model='crm.target', active_id=target.id,
            active_ids=[target.id]):
        Decompose.execute(session_id, {}, 'start')
        Decompose.execute(session_id, {'start': start}, 'decompose')
    Decompose.delete(session_id)
    return sorted(
        Pool().get('crm.target')(target.id).children,
        key=lambda c: (c.start_date, c.name))


class CrmPlusTargetTestCase(CrmTestCase):
    "Test sales targets"
    def test_split_value(self):
        "A value splits into parts that add up exactly"
        self.assertEqual(
            split_value(Decimal(100), 3, Decimal('0.01')),
            [Decimal('33.34'), Decimal('33.33'), Decimal('33.33')])
        self.assertEqual(
            split_value(Decimal(11), 3, Decimal(1)),
            [Decimal(4), Decimal(4), Decimal(3)])
        self.assertEqual(split_value(Decimal(5), 0, Decimal(1)), [])

    @with_transaction()
    def test_decompose_by_period(self):
        "A yearly target decomposes into quarters that sum to the year"
        world = create_world()
        target = create_target(
            world, "2026", '1000.00', kpi='signed_amount')

        children = decompose(target, method='period', period='quarter')

        self.assertEqual(
            [(c.start_date, c.end_date) for c in children], [
                (dt.date(2026, 1, 1), dt.date(2026, 3, 31)),
                (dt.date(2026, 4, 1), dt.date(2026, 6, 30)),
                (dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
                (dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
                ])
        self.assertEqual(sum(c.value for c in children), target.value)
        self.assertEqual(
            {(c.kpi, c.employee) for c in children},
            {('signed_amount', world.employees['sales1'])})

    @with_transaction()
    def test_decompose_by_person_and_confirm(self):
        "The children must add up to the parent's value to confirm it"
        Target = Pool().get('crm.target')
        world = create_world()
        emp = world.employees
        target = create_target(world, "Team", '101', owner='manager')

        children = decompose(
            target, method='person', employees=[
                emp['sales1'].id, emp['sales2'].id])
        self.assertEqual(
            [(c.employee, c.value) for c in children],
            [(emp['sales1'], 51), (emp['sales2'], 50)])

        Target.write([children[0]], {'value': Decimal(40)})
        with self.assertRaisesRegex(ValidationError, '90.*101'):
            Target.confirm([target])
        # nor by writing the state, or creating it confirmed
        with acting_as(world.users['manager']):
            with self.assertRaisesRegex(AccessError, 'buttons'):
                Target.write([target], {'state': 'confirmed'})
            with self.assertRaisesRegex(AccessError, 'buttons'):
                create_target(world, "Confirmed", '10', owner='sales1',
                    state='confirmed')
        Target.write([children[1]], {'value': Decimal(61)})
        Target.confirm([target])
        self.assertEqual(target.state, 'confirmed')

    @with_transaction()
    def test_team_leader_decomposes_by_person(self):
        "The leader of a sales team splits its target between the members"
        Team = Pool().get('crm.team')
        world = create_world()
        emp = world.employees
        team = Team(name="East", company=world.company,
            leader=emp['manager'], members=[emp['sales1'], emp['sales2']])
        team.save()
        target = create_target(world, "East", '21', owner='team', team=team)

        # the wizard runs without access checks, as over RPC
        with acting_as(world.users['manager']), \
                Transaction().set_context(_check_access=False):
            children = decompose(target, method='person', employees=[
                    emp['sales1'].id, emp['sales2'].id])

        self.assertEqual(
            [(c.owner_type, c.team, c.employee, c.value) for c in children],
            [('employee', None, emp['sales1'], 11),
                ('employee', None, emp['sales2'], 10)])

    @with_transaction()
    def test_confirmed_decomposition_frozen(self):
        "A confirmed decomposition changes only after a reset to draft"
        Target = Pool().get('crm.target')
        world = create_world()
        target = create_target(world, "Team", '100', owner='manager')
        first, second = decompose(
            target, method='person', employees=[
                world.employees['sales1'].id, world.employees['sales2'].id])
        Target.confirm([target])

        with self.assertRaisesRegex(TargetError, 'confirmed'):
            Target.write([first], {'value': Decimal(60)})
        with self.assertRaisesRegex(TargetError, 'confirmed'):
            Target.write([target], {'value': Decimal(120)})
        with self.assertRaisesRegex(TargetError, 'confirmed'):
            create_target(world, "Extra", '0', owner='junior', parent=target)
        with self.assertRaisesRegex(TargetError, 'confirmed'):
            Target.delete([second])
        Target.write([first], {'name': "Renamed"})

        Target.draft([target])
        Target.write([first], {'value': Decimal(60)})
        Target.write([second], {'value': Decimal(40)})
        Target.confirm([target])

    @with_transaction()
    def test_child_inside_parent_period(self):
        "A child lies inside the period of its parent"
        world = create_world()
        target = create_target(
            world, "Q1", '10', end=dt.date(2026, 3, 31))
        with self.assertRaisesRegex(ValidationError, 'inside'):
            create_target(
                world, "April", '10', parent=target,
                start=dt.date(2026, 4, 1), end=dt.date(2026, 4, 30))

    @with_transaction()
    def test_completed_from_real_data(self):
        "The completed value is counted from the documents of the owners"
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        Team = pool.get('crm.team')
        world = create_world()
        emp = world.employees
        today = pool.get('ir.date').today()
        customer = create_customer("ACME", owner=emp['sales1'])
        create_customer("Pool", pool=world.east)
        create_customer("Merged", owner=emp['sales1'], active=False)
        for employee, date in [
                ('sales1', today), ('sales1', today),
                ('sales2', today), ('sales1', today.replace(year=2000))]:
            FollowUp(company=world.company, party=customer,
                employee=emp[employee], subject="Call", date=date).save()
        create_opportunity_of(world, customer, emp['sales1'],
            state='won', close_date=today, amount=Decimal(500))
        create_opportunity_of(world, customer, emp['sales1'])
        team = Team(name="East", company=world.company,
            leader=emp['manager'], members=[emp['sales1'], emp['sales2']])
        team.save()
        year = {'start': today.replace(month=1, day=1),
            'end': today.replace(month=12, day=31)}

        mine = create_target(world, "Mine", '10', **year)
        ours = create_target(world, "Ours", '10', owner='team', team=team,
            **year)
        all_ = create_target(world, "All", '10', owner='company', **year)
        won = create_target(world, "Won", '4', kpi='won_opportunities',
            **year)
        new = create_target(world, "New", '4', kpi='new_customers', **year)
        company_new = create_target(world, "New", '4', owner='company',
            kpi='new_customers', **year)
        signed = create_target(world, "Signed", '1000',
            kpi='signed_amount', **year)
        custom = create_target(world, "Visits", '8', kpi='custom',
            manual_completed=Decimal(3), **year)

        Target = pool.get('crm.target')
        targets = Target.browse([
                mine, ours, all_, won, new, company_new, signed, custom])
        self.assertEqual(
            [t.completed for t in targets], [2, 3, 3, 1, 1, 2, 0, 3])
        self.assertEqual(mine.remaining, 8)
        self.assertEqual(Target(custom.id).progress, 3 / 8)

        # a team with nobody in it yet has done nothing
        nobody = Team(name="New", company=world.company)
        nobody.save()
        empty = create_target(world, "Nobody", '5', owner='team',
            team=nobody, **year)
        self.assertEqual(Target(empty.id).completed, 0)

    @with_transaction()
    def test_new_customers_on_the_company_day(self):
        "A customer created after midnight in the company counts that day"
        world = create_world()
        create_night_customer(world)

        november, october = [
            create_target(world, name, '5', kpi='new_customers',
                start=start, end=end)
            for name, start, end in [
                ("November", dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
                ("October", dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
                ]]
        self.assertEqual([november.completed, october.completed], [1, 0])

    @with_transaction()
    def test_rules_visibility(self):
        "Employees see their and their subordinates' targets and the company's"
        pool = Pool()
        Target = pool.get('crm.target')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        world = create_world()
        for owner in ['sales1', 'junior', 'sales2', 'manager', 'company']:
            create_target(world, owner, '10', owner=owner)

        def visible(user):
            with acting_as(world.users[user]):
                return {t.name for t in Target.search([])}

        self.assertEqual(visible('sales1'), {'sales1', 'junior', 'company'})
        self.assertEqual(visible('sales2'), {'sales2', 'company'})
        self.assertEqual(visible('manager'),
            {'sales1', 'junior', 'sales2', 'manager', 'company'})
        admin = ModelData.get_id('crm_plus', 'group_crm_admin')
        User.write([world.users['sales2']], {'groups': [('add', [admin])]})
        self.assertEqual(len(visible('sales2')), 5)

    @with_transaction()
    def test_value_set_by_supervisor(self):
        "Only a supervisor sets a target; its owner decomposes it"
        Target = Pool().get('crm.target')
        world = create_world()
        target = create_target(world, "Mine", '12', owner='sales1')
        other = create_target(world, "Other", '12', owner='sales2')
        ours = create_target(world, "All of us", '99', owner='company')

        with acting_as(world.users['sales1']):
            with self.assertRaisesRegex(TargetError, 'supervisor'):
                Target.write([Target(target.id)], {'value': Decimal(1)})
            with self.assertRaisesRegex(TargetError, 'supervisor'):
                create_target(world, "Own", '1', owner='sales1')
            with self.assertRaises(AccessError):
                Target.write([Target(other.id)], {'name': "Mine now"})
            # the wizard runs without access checks, as over RPC
            with Transaction().set_context(_check_access=False), \
                    self.assertRaisesRegex(TargetError, 'supervisor'):
                decompose(Target(ours.id),
                    method='period', period='month')
            Target.write([Target(target.id)], {'name': "My year"})
            children = decompose(
                Target(target.id), method='period', period='month')
            self.assertEqual(len(children), 12)
        with acting_as(world.users['manager']):
            Target.write([Target(target.id)], {'value': Decimal(24)})
            create_target(world, "Junior", '5', owner='junior')

    @with_transaction()
    def test_comments_by_supervisor(self):
        "The owner notes progress, the supervisor comments"
        Note = Pool().get('crm.target.note')

        def note(target, kind, text):
            Note.create([{'target': target.id, 'kind': kind, 'note': text}])
        world = create_world()
        target = create_target(world, "Mine", '12', owner='sales1')

        with acting_as(world.users['sales1']):
            note(target, 'progress', "Half way")
            with self.assertRaisesRegex(TargetError, 'supervisor'):
                note(target, 'comment', "Good")
        with acting_as(world.users['manager']):
            note(target, 'comment', "Good")
        with acting_as(world.users['sales2']):
            with self.assertRaises(AccessError):
                note(target, 'progress', "Mine?")


@postgresql_only
class TargetConcurrencyTestCase(CommittedDataMixin, CrmTestCase):
    "Test a confirmation and a change of the decomposition at once"

    @classmethod
    def create_data(cls):
        world = create_world()
        parent = create_target(world, "Year", '10', owner='manager')
        children = [
            create_target(world, name, value, owner=owner, parent=parent)
            for name, value, owner in [
                ('First', '6', 'sales1'), ('Second', '4', 'sales2')]]
        cls.parent = parent.id
        cls.child = children[0].id

    def test_decomposition_holds_under_concurrent_change(self):
        "A child changed while its parent is confirmed cannot break the sum"
        Target = Pool(DB_NAME).get('crm.target')

        def confirm():
            Target = Pool().get('crm.target')
            Target.confirm(Target.browse([self.parent]))

        def change():
            Target = Pool().get('crm.target')
            Target.write(Target.browse([self.child]), {'value': Decimal(7)})

        with slowed(Target, 'check_decomposition'), \
                slowed(Target, 'check_confirmed_decomposition'):
            results = run_at_once((0, confirm, None), (0, change, None))

        def state():
            Target = Pool().get('crm.target')
            parent = Target(self.parent)
            return (parent.state, parent.value,
                sum(c.value for c in parent.children))
        parent_state, value, total = run_in_transaction(DB_NAME, 0, state)
        self.assertNotIn(None, results, results)
        self.assertEqual(results.count('done'), 1, results)
        confirmed, changed = results
        if parent_state == 'confirmed':
            self.assertEqual(total, value)
            self.assertRegex(changed, 'confirmed decomposition of "Year"')
        else:
            self.assertRegex(confirmed, r'add up to 11(\.0+)? instead')
