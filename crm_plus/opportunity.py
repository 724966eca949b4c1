# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Opportunities (商机) and the stages of the sales funnel."""

from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Workflow, fields,
    sequence_ordered)
from trytond.pool import Pool
from trytond.pyson import Eval, If
from trytond.transaction import Transaction

from .model import RuleCheckedExportMixin


class OpportunityStage(DeactivableMixin, sequence_ordered(), ModelSQL,
        ModelView):
    __name__ = 'crm.opportunity.stage'
    __string__ = "Opportunity Stage"
    name = fields.Char("Name", required=True, translate=True)
    probability = fields.Integer(
        "Probability", required=True,
        domain=[('probability', '>=', 0), ('probability', '<=', 100)],
        help="Default probability of winning, in percent.")


class Opportunity(RuleCheckedExportMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'crm.opportunity'
    __string__ = "Opportunity"
    _rec_name = 'name'
    _states = {'readonly': Eval('state').in_(['won', 'lost'])}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    name = fields.Char("Name", required=True, states=_states)
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='RESTRICT',
        domain=[('customer_nature', '!=', None)],
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states)
    contact = fields.Many2One(
        'party.party', "Contact", ondelete='SET NULL',
        domain=[('contact_of.customer', '=', Eval('party', -1))],
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states)
    employee = fields.Many2One(
        'company.employee', "Owner", required=True,
        domain=[('company', '=', Eval('company', -1))], states=_states,
        help="The salesperson who follows the opportunity (跟单人).")
    source = fields.Many2One(
        'crm.customer.source', "Source", ondelete='RESTRICT',
        states=_states)
    campaign = fields.Many2One(
        'crm.campaign', "Campaign", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))], states=_states)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, states=_states)
    amount = fields.Numeric(
        "Expected Amount", digits=(16, 2),
        domain=[If(Eval('amount'),
                ('amount', '>=', 0), ())],
        states=_states)
    start_date = fields.Date("Start Date", required=True, states=_states)
    expected_date = fields.Date(
        "Expected Signing Date", states=_states)
    stage = fields.Many2One(
        'crm.opportunity.stage', "Stage", ondelete='RESTRICT',
        states=_states)
    probability = fields.Integer(
        "Probability",
        domain=[('probability', '>=', 0), ('probability', '<=', 100)],
        states=_states)
    close_date = fields.Date(
        "Close Date", readonly=True,
        help="The date the opportunity was won or lost.")
    description = fields.Text("Description", states=_states)
    state = fields.Selection([
            ('draft', "Draft"),
            ('waiting', "Waiting Approval"),
            ('in_progress', "In Progress"),
            ('suspended', "Suspended"),
            ('won', "Won"),
            ('lost', "Lost"),
            ], "State", required=True, readonly=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Equality())),
                Index(t, (t.employee, Index.Equality()),
                    (t.state, Index.Equality())),
                Index(t, (t.state, Index.Equality()),
                    (t.stage, Index.Equality())),
                })

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
    def default_start_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_state(cls):
        return 'draft'
