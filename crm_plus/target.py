# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Sales targets (销售目标): a KPI value to reach by an owner in a period,
decomposed into children by period or by person."""

import datetime as dt
from collections import defaultdict
from decimal import ROUND_DOWN, Decimal

from dateutil.relativedelta import relativedelta
from sql import Literal, Values
from sql.aggregate import Count
from sql.operators import Equal

from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import DataRulesMixin, DataRulesWizardMixin
from .company import current_employee, is_crm_admin, managed_employees
from .exceptions import TargetError, TargetValidationError
from .model import check_write_rule, local_midnight, touch_rows
from .party import customers_in_use

KPIS = [
    ('signed_amount', "Signed Amount"),
    ('received_amount', "Received Amount"),
    ('new_customers', "New Customers"),
    ('follow_ups', "Follow-ups"),
    ('won_opportunities', "Won Opportunities"),
    ('custom', "Custom"),
    ]
# KPIs that count records, so their values are whole numbers
COUNT_KPIS = {'new_customers', 'follow_ups', 'won_opportunities'}
# Fields that a confirmed decomposition depends on
DECOMPOSITION_FIELDS = {
    'value', 'kpi', 'start_date', 'end_date', 'owner_type', 'team',
    'employee', 'parent', 'company'}


class Target(DataRulesMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'crm.target'
    __string__ = "Sales Target"
    _rec_name = 'name'
    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    name = fields.Char("Name", required=True)
    kpi = fields.Selection(
        KPIS, "KPI", required=True, sort=False, states=_states)
    start_date = fields.Date("Start Date", required=True, states=_states)
    end_date = fields.Date(
        "End Date", required=True,
        domain=[('end_date', '>=', Eval('start_date', None))],
        states=_states)
    owner_type = fields.Selection([
            ('company', "Company"),
            ('team', "Sales Team"),
            ('employee', "Employee"),
            ], "Owner Type", required=True, sort=False, states=_states)
    team = fields.Many2One(
        'crm.team', "Sales Team", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'readonly': _states['readonly'],
            'required': Eval('owner_type') == 'team',
            'invisible': Eval('owner_type') != 'team',
            })
    employee = fields.Many2One(
        'company.employee', "Employee", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))],
        states={
            'readonly': _states['readonly'],
            'required': Eval('owner_type') == 'employee',
            'invisible': Eval('owner_type') != 'employee',
            })
    parent = fields.Many2One(
        'crm.target', "Parent", ondelete='CASCADE',
        domain=[
            ('company', '=', Eval('company', -1)),
            ('kpi', '=', Eval('kpi')),
            ],
        states=_states)
    children = fields.One2Many(
        'crm.target', 'parent', "Decomposition",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('kpi', '=', Eval('kpi')),
            ],
        states=_states,
        help="The values of the children must add up to the value.")
    value = fields.Numeric(
        "Value", digits=(16, 2), required=True,
        domain=[('value', '>=', 0)], states=_states)
    manual_completed = fields.Numeric(
        "Completed (Manual)", digits=(16, 2),
        states={'invisible': Eval('kpi') != 'custom'},
        help="Entered by hand for a custom KPI.")
    completed = fields.Function(
        fields.Numeric("Completed", digits=(16, 2)), 'get_completed')
    remaining = fields.Function(
        fields.Numeric("Remaining", digits=(16, 2)), 'get_completed')
    progress = fields.Function(
        fields.Float("Progress", digits=(16, 4),
            help="The completed part of the value."),
        'get_completed')
    notes = fields.One2Many(
        'crm.target.note', 'target', "Progress and Comments")
    state = fields.Selection([
            ('draft', "Draft"),
            ('confirmed', "Confirmed"),
            ], "State", required=True, readonly=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [
            ('start_date', 'DESC'), ('kpi', 'ASC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.parent, Index.Equality())),
                Index(t, (t.employee, Index.Equality())),
                })
        cls._transitions |= {
            ('draft', 'confirmed'),
            ('confirmed', 'draft'),
            }
        cls._buttons.update({
                'confirm': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': Eval('state') != 'confirmed',
                    'icon': 'tryton-back',
                    'depends': ['state'],
                    },
                'decompose': {
                    'invisible': ((Eval('state') != 'draft')
                        | Bool(Eval('children'))),
                    'depends': ['state', 'children'],
                    },
                })

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_owner_type(cls):
        return 'employee'

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_value(cls):
        return Decimal(0)

    @classmethod
    def default_state(cls):
        return 'draft'

    @fields.depends('owner_type')
    def on_change_owner_type(self):
        if self.owner_type != 'team':
            self.team = None
        if self.owner_type != 'employee':
            self.employee = None

    @classmethod
    def get_completed(cls, targets, names):
        completed = cls._compute_completed(targets)
        result = {}
        if 'completed' in names:
            result['completed'] = completed
        if 'remaining' in names:
            result['remaining'] = {
                t.id: t.value - completed[t.id] for t in targets}
        if 'progress' in names:
            result['progress'] = {
                t.id: float(completed[t.id] / t.value) if t.value else None
                for t in targets}
        return result

    @classmethod
    def _compute_completed(cls, targets):
        "Return the completed value of each target, one query per KPI"
        completed = {t.id: Decimal(0) for t in targets}
        by_kpi = defaultdict(list)
        for target in targets:
            by_kpi[target.kpi].append(target)
        for kpi, kpi_targets in by_kpi.items():
            values = getattr(cls, '_get_completed_%s' % kpi)(kpi_targets)
            for target_id, value in values.items():
                completed[target_id] = Decimal(value or 0)
        return completed

    @classmethod
    def _get_completed_custom(cls, targets):
        return {t.id: t.manual_completed for t in targets}

    @classmethod
    def _get_completed_signed_amount(cls, targets):
        """Return the signed contract amount of each target by id.

        crm_plus has no contracts: crm_plus_sale overrides this hook."""
        return {}

    @classmethod
    def _get_completed_received_amount(cls, targets):
        """Return the received amount of each target by id.

        crm_plus has no payments: crm_plus_finance overrides this hook."""
        return {}

    @classmethod
    def _get_completed_new_customers(cls, targets):
        Party = Pool().get('party.party')
        party = Party.__table__()
        return cls.count_by_target(
            targets, party, party.owner, party.create_date,
            where=customers_in_use(party), timestamp=True)

    @classmethod
    def _get_completed_follow_ups(cls, targets):
        FollowUp = Pool().get('crm.follow_up')
        follow_up = FollowUp.__table__()
        return cls.count_by_target(
            targets, follow_up, follow_up.employee, follow_up.date,
            company=follow_up.company)

    @classmethod
    def _get_completed_won_opportunities(cls, targets):
        Opportunity = Pool().get('crm.opportunity')
        opportunity = Opportunity.__table__()
        return cls.count_by_target(
            targets, opportunity, opportunity.employee,
            opportunity.close_date, company=opportunity.company,
            where=opportunity.state == 'won')

    @classmethod
    def count_by_target(cls, targets, table, employee, date, company=None,
            where=None, timestamp=False):
        """Count the rows of table in the period of each target whose
        employee column is one of the target's owners, in one query; a
        UTC timestamp date column is compared to the days of the company"""
        cursor = Transaction().connection.cursor()
        rows = list(cls._owner_rows(targets, timestamp))
        if not rows:
            return {}
        owners = Values(rows)
        condition = ((Equal(employee, owners.column2)
                | (owners.column3 == 1))
            & (date >= owners.column4) & (date < owners.column5))
        if company is not None:
            condition &= company == owners.column6
        query = owners.join(table, condition=condition).select(
            owners.column1, Count(Literal(1)),
            where=where if where is not None else Literal(True),
            group_by=[owners.column1])
        cursor.execute(*query)
        return dict(cursor)

    @classmethod
    def _owner_rows(cls, targets, timestamp=False):
        """Yield (target, employee, everyone, start, end, company) for each
        owner of each target; the end is excluded, and a UTC time where
        timestamp"""
        for target in targets:
            if not target.start_date or not target.end_date:
                continue  # not valid yet: its validation says why
            start = target.start_date
            end = target.end_date + dt.timedelta(days=1)
            if timestamp:
                timezone = target.company.timezone
                start = local_midnight(start, timezone)
                end = local_midnight(end, timezone)
            row = [start, end, target.company.id]
            for employee_id in target.owner_employees():
                yield [target.id, employee_id, 0, *row]
            if target.owner_type == 'company':
                yield [target.id, -1, 1, *row]

    def owner_employees(self):
        "Return the ids of the employees whose work counts for the target"
        if self.owner_type == 'employee' and self.employee:
            return [self.employee.id]
        elif self.owner_type == 'team' and self.team:
            employees = {m.id for m in self.team.members}
            if self.team.leader:
                employees.add(self.team.leader.id)
            return sorted(employees)
        return []

    @classmethod
    def validate_fields(cls, targets, field_names):
        super().validate_fields(targets, field_names)
        cls.check_parent(targets, field_names)

    @classmethod
    def check_parent(cls, targets, field_names=None):
        "A child has the KPI of its parent and lies inside its period"
        if field_names and not (field_names & {
                    'parent', 'kpi', 'start_date', 'end_date'}):
            return
        for target in targets:
            parent = target.parent
            if not parent:
                continue
            if (target.start_date < parent.start_date
                    or target.end_date > parent.end_date):
                raise TargetValidationError(gettext(
                        'crm_plus.msg_target_child_period',
                        target=target.rec_name, parent=parent.rec_name))

    @classmethod
    def check_modification(cls, mode, targets, values=None, external=False):
        super().check_modification(
            mode, targets, values=values, external=external)
        if external and mode in {'create', 'write'}:
            cls.check_state_write(mode, targets, values)
        if mode == 'write' and not (set(values) & DECOMPOSITION_FIELDS):
            return
        cls.check_confirmed_decomposition(mode, targets, values)
        if external and mode in {'create', 'write'} and not is_crm_admin():
            cls.check_value_setter(targets)

    @classmethod
    def check_state_write(cls, mode, targets, values=None):
        """Refuse to confirm or reset a target by writing its state: the
        buttons check the decomposition"""
        for target in targets:
            if (mode == 'write' and 'state' in values
                    or mode == 'create' and target.state != 'draft'):
                raise AccessError(gettext(
                        'crm_plus.msg_target_state_write',
                        target=target.rec_name))

    @classmethod
    def check_confirmed_decomposition(cls, mode, targets, values=None):
        """Refuse a change that would break a confirmed decomposition:
        it is reset to draft, changed and confirmed again, where the sum
        is checked"""
        new_parent = (
            cls(values['parent']) if mode == 'write' and values.get('parent')
            else None)
        cls.touch_decomposition(targets, new_parent)
        for target in targets:
            if mode in {'write', 'delete'} and target.state == 'confirmed':
                raise TargetError(gettext(
                        'crm_plus.msg_target_confirmed_modify',
                        target=target.rec_name))
            for parent in filter(None, {target.parent, new_parent}):
                if parent.state == 'confirmed':
                    raise TargetError(gettext(
                            'crm_plus.msg_target_parent_confirmed',
                            target=target.rec_name,
                            parent=parent.rec_name))

    @classmethod
    def touch_decomposition(cls, targets, parent=None):
        """Lock the targets and their parents, as confirm does with the
        targets it sums: a change and a confirmation at once are done one
        after the other, the second seeing what the first did"""
        parents = {t.parent for t in targets if t.parent}
        if parent:
            parents.add(parent)
        touch_rows(cls, list(targets) + list(parents))

    @classmethod
    def check_value_setter(cls, targets):
        "Only a supervisor of the owner may set the value of a target"
        employee = current_employee()
        for target in targets:
            if not target.may_set_value(employee):
                raise TargetError(gettext(
                        'crm_plus.msg_target_value_not_allowed',
                        target=target.rec_name))

    def may_set_value(self, employee):
        """Tell whether the employee may set the value: as a supervisor or
        team leader of the owner, or when decomposing his own target"""
        if not employee:
            return False
        if (self.parent and self.parent.owned_by(employee)
                and self.parent.owner_key == self.owner_key):
            return True
        return self.supervised_by(employee)

    def supervised_by(self, employee):
        "Tell whether the employee supervises or leads the owner"
        if (self.owner_type != 'employee' or not self.employee
                or self.employee == employee):
            return False
        return (self.employee.id in managed_employees(employee)
            or any(t.leader == employee for t in self.employee.crm_teams))

    def owned_by(self, employee):
        "Tell whether the employee is the owner or leads the owner team"
        if self.owner_type == 'team':
            return bool(self.team and self.team.leader == employee)
        return self.owner_type == 'employee' and self.employee == employee

    @property
    def owner_key(self):
        return (self.owner_type, self.team, self.employee)

    @classmethod
    def copy(cls, targets, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('children')
        default.setdefault('notes')
        default.setdefault('state', 'draft')
        return super().copy(targets, default=default)

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, targets):
        pass

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('confirmed')
    def confirm(cls, targets):
        touch_rows(cls, targets)
        cls.check_decomposition(targets)

    @classmethod
    def check_decomposition(cls, targets):
        "The values of the children add up exactly to the parent's value"
        for target in targets:
            if not target.children:
                continue
            total = sum(c.value for c in target.children)
            if total != target.value:
                raise TargetValidationError(gettext(
                        'crm_plus.msg_target_decomposition_sum',
                        target=target.rec_name, total=total,
                        value=target.value))

    @classmethod
    @check_write_rule
    @ModelView.button_action('crm_plus.wizard_target_decompose')
    def decompose(cls, targets):
        pass


class TargetNote(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.target.note'
    __string__ = "Sales Target Note"
    target = fields.Many2One(
        'crm.target', "Target", required=True, ondelete='CASCADE')
    date = fields.Date("Date", required=True)
    employee = fields.Many2One(
        'company.employee', "Author", required=True, readonly=True)
    kind = fields.Selection([
            ('progress', "Progress"),
            ('comment', "Supervisor Comment"),
            ], "Kind", required=True, sort=False)
    note = fields.Text("Note", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('target')
        cls._order = [('date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_kind(cls):
        return 'progress'

    @classmethod
    def check_modification(cls, mode, notes, values=None, external=False):
        super().check_modification(
            mode, notes, values=values, external=external)
        if external and mode in {'create', 'write'} and not is_crm_admin():
            cls.check_comment_author(notes)

    @classmethod
    def check_comment_author(cls, notes):
        "Only a supervisor of the owner comments a target"
        employee = current_employee()
        for note in notes:
            target = note.target
            if note.kind == 'comment' and not target.supervised_by(employee):
                raise TargetError(gettext(
                        'crm_plus.msg_target_comment_not_supervisor',
                        target=target.rec_name))


class DecomposeStart(ModelView):
    __name__ = 'crm.target.decompose.start'
    __string__ = "Decompose Sales Target"
    target = fields.Many2One('crm.target', "Target", readonly=True)
    company = fields.Many2One('company.company', "Company", readonly=True)
    method = fields.Selection([
            ('period', "By Period"),
            ('person', "By Person"),
            ], "Method", required=True, sort=False)
    period = fields.Selection([
            ('month', "Month"),
            ('quarter', "Quarter"),
            ], "Period", sort=False,
        states={
            'required': Eval('method') == 'period',
            'invisible': Eval('method') != 'period',
            })
    employees = fields.Many2Many(
        'company.employee', None, None, "Employees",
        domain=[('company', '=', Eval('company', -1))],
        states={
            'required': Eval('method') == 'person',
            'invisible': Eval('method') != 'person',
            })

    @classmethod
    def default_method(cls):
        return 'period'

    @classmethod
    def default_period(cls):
        return 'month'


class Decompose(DataRulesWizardMixin, Wizard):
    __name__ = 'crm.target.decompose'
    start = StateView('crm.target.decompose.start',
        'crm_plus.target_decompose_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Decompose", 'decompose', 'tryton-ok', default=True),
            ])
    decompose = StateTransition()

    def default_start(self, fields):
        target = self.record
        if target.children or target.state != 'draft':
            raise TargetError(gettext(
                    'crm_plus.msg_target_decompose_draft',
                    target=target.rec_name))
        self.check_decomposer(target)
        return {
            'target': target.id,
            'company': target.company.id,
            'employees': self._default_employees(target),
            }

    @staticmethod
    def check_decomposer(target):
        "Only the owner, a supervisor or a CRM manager decomposes a target"
        employee = current_employee()
        # Wizards run without access checks: only root is exempt
        if not Transaction().user or is_crm_admin():
            return
        if not (target.owned_by(employee) or target.supervised_by(employee)):
            raise TargetError(gettext(
                    'crm_plus.msg_target_value_not_allowed',
                    target=target.rec_name))

    @staticmethod
    def _default_employees(target):
        "Propose the team members or the direct subordinates of the owner"
        Employee = Pool().get('company.employee')
        if target.owner_type == 'team' and target.team:
            return [e.id for e in target.team.members]
        elif target.owner_type == 'employee' and target.employee:
            return [e.id for e in Employee.search([
                        ('supervisor', '=', target.employee.id)])]
        return []

    def transition_decompose(self):
        Target = Pool().get('crm.target')
        target = self.record
        if self.start.method == 'period':
            children = self._children_by_period(target, self.start.period)
        else:
            children = self._children_by_person(target, self.start.employees)
        unit = Decimal(1) if target.kpi in COUNT_KPIS else Decimal('0.01')
        if target.value % unit:
            unit = Decimal('0.01')
        for child, value in zip(
                children, split_value(target.value, len(children), unit)):
            child.value = value
        self.check_decomposer(target)
        if Transaction().user and not is_crm_admin():
            Target.check_value_setter(children)
        Target.save(children)
        return 'end'

    @staticmethod
    def _children_by_period(target, period):
        months = 3 if period == 'quarter' else 1
        children = []
        start = target.start_date
        while start <= target.end_date:
            end = min(
                start + relativedelta(months=months, day=1) - dt.timedelta(1),
                target.end_date)
            children.append(_child(target,
                    name='%s %s' % (target.name, start.strftime('%Y-%m')),
                    start_date=start, end_date=end,
                    owner_type=target.owner_type, team=target.team,
                    employee=target.employee))
            start = end + dt.timedelta(days=1)
        return children

    @staticmethod
    def _children_by_person(target, employees):
        return [_child(target,
                name='%s %s' % (target.name, employee.rec_name),
                start_date=target.start_date, end_date=target.end_date,
                owner_type='employee', team=None, employee=employee)
            for employee in employees]


def _child(target, **values):
    Target = Pool().get('crm.target')
    return Target(
        parent=target, company=target.company, kpi=target.kpi, **values)


def split_value(value, count, unit):
    """Split value in count parts of the unit whose sum is exactly value;
    the first parts take the remainder"""
    if not count:
        return []
    part = (value / count).quantize(unit, rounding=ROUND_DOWN)
    remainder = int((value - part * count) / unit)
    return [part + unit if i < remainder else part for i in range(count)]

