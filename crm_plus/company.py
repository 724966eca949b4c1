# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from trytond.model import DeactivableMixin, ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .access import DataRulesMixin
from .model import touch_rows


def current_employee():
    """Return the employee of the user for the current company, if any.

    The client sends the employee in the context: one that is not the
    user's is ignored, so that nobody acts as a colleague or a manager."""
    pool = Pool()
    Employee = pool.get('company.employee')
    User = pool.get('res.user')
    transaction = Transaction()
    employee_id = transaction.context.get('employee')
    if employee_id and (
            not transaction.user or employee_id in User.get_employees()):
        return Employee(employee_id)


def managed_employees(employee):
    "Return the ids of the employee and all the subordinates, recursively"
    Employee = Pool().get('company.employee')
    if not employee:
        return set()
    return {employee.id} | {e.id for e in Employee.search([
                ('supervisor', 'child_of', [employee.id], 'supervisor'),
                ])}


def is_crm_admin():
    "Tell whether the user belongs to the CRM manager group (or is root)"
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    if Transaction().user == 0:
        return True
    group_id = ModelData.get_id('crm_plus', 'group_crm_admin')
    return group_id in User.get_groups()


def is_crm_user():
    "Tell whether the user belongs to a group of the CRM"
    pool = Pool()
    ModelData = pool.get('ir.model.data')
    User = pool.get('res.user')
    groups = set(User.get_groups())
    return bool(groups & {ModelData.get_id('crm_plus', g)
            for g in ['group_crm_user', 'group_crm_admin']})


def employee_users(employee):
    "Return the active users that act as the employee"
    User = Pool().get('res.user')
    return User.search([('employees', '=', employee.id)])


class Team(DataRulesMixin, DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'crm.team'
    __string__ = "Sales Team"
    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One('company.company', "Company", required=True)
    leader = fields.Many2One(
        'company.employee', "Leader",
        domain=[('company', '=', Eval('company', -1))],
        help="The leader sees the customers of every member.")
    members = fields.Many2Many(
        'crm.team-company.employee', 'team', 'employee', "Members",
        domain=[('company', '=', Eval('company', -1))])

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def on_modification(cls, mode, teams, field_names=None):
        super().on_modification(mode, teams, field_names=field_names)
        Pool().get('ir.rule').clear_crm_owners()


class TeamMember(DataRulesMixin, ModelSQL):
    __name__ = 'crm.team-company.employee'
    __string__ = "Sales Team Member"
    team = fields.Many2One(
        'crm.team', "Team", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='CASCADE')

    @classmethod
    def on_modification(cls, mode, members, field_names=None):
        super().on_modification(mode, members, field_names=field_names)
        Pool().get('ir.rule').clear_crm_owners()


class Employee(metaclass=PoolMeta):
    __name__ = 'company.employee'
    crm_quota = fields.Integer(
        "Customer Quota",
        domain=['OR', ('crm_quota', '=', None), ('crm_quota', '>=', 0)],
        help="Overrides the customer quota of the CRM configuration.")
    crm_daily_claim_cap = fields.Integer(
        "Daily Claim Cap",
        domain=['OR',
            ('crm_daily_claim_cap', '=', None),
            ('crm_daily_claim_cap', '>=', 0),
            ],
        help="Overrides the daily claim cap of the CRM configuration.")
    crm_teams = fields.Many2Many(
        'crm.team-company.employee', 'employee', 'team', "Sales Teams")

    @classmethod
    def on_modification(cls, mode, employees, field_names=None):
        super().on_modification(mode, employees, field_names=field_names)
        if mode != 'write' or {'supervisor', 'crm_teams'} & set(
                field_names or []):
            Pool().get('ir.rule').clear_crm_owners()

    @classmethod
    def touch(cls, employees):
        """Update the rows of the locked employees without changing them.

        A transaction takes its snapshot with its first lock, which may come
        before the lock of the employee: if a claim by the employee commits
        in between, the quota and the daily cap would count without it.
        Locking a row updated since the snapshot fails instead, and the
        transaction restarts with a new one."""
        touch_rows(cls, employees)

    def get_crm_quota(self):
        "Return the maximum number of customers the employee may own"
        if self.crm_quota is not None:
            return self.crm_quota
        return Pool().get('crm.configuration')(1).quota

    def get_crm_daily_claim_cap(self):
        "Return how many customers the employee may claim per day"
        if self.crm_daily_claim_cap is not None:
            return self.crm_daily_claim_cap
        return Pool().get('crm.configuration')(1).daily_claim_cap
