# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Marketing campaigns (市场活动)."""

from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .model import RuleCheckedExportMixin


class Campaign(RuleCheckedExportMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'crm.campaign'
    __string__ = "Campaign"
    _states = {'readonly': Eval('state').in_(['done', 'cancelled'])}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    name = fields.Char("Name", required=True, states=_states)
    employee = fields.Many2One(
        'company.employee', "Responsible", required=True,
        domain=[('company', '=', Eval('company', -1))], states=_states)
    start_date = fields.Date("Start Date", required=True, states=_states)
    end_date = fields.Date(
        "End Date", required=True,
        domain=[('end_date', '>=', Eval('start_date', None))],
        states=_states)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, states=_states)
    budget = fields.Numeric(
        "Budget", digits=(16, 2), domain=[('budget', '>=', 0)],
        states=_states)
    description = fields.Text("Description", states=_states)
    state = fields.Selection([
            ('draft', "Draft"),
            ('waiting', "Waiting Approval"),
            ('approved', "Approved"),
            ('in_progress', "In Progress"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.state, Index.Equality()),
                (t.start_date, Index.Range())))

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_currency(cls):
        Company = Pool().get('company.company')
        company_id = Transaction().context.get('company')
        if company_id is not None and company_id >= 0:
            return Company(company_id).currency.id

    @classmethod
    def default_budget(cls):
        return 0

    @classmethod
    def default_state(cls):
        return 'draft'
