# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Marketing campaigns (市场活动)."""

from decimal import Decimal

from sql import Literal
from sql.aggregate import Count, Sum
from sql.conditionals import Case

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction

from .access import DataRulesMixin, readable
from .approval import ApprovalMixin
from .dictionary import DictionaryMixin
from .exceptions import CampaignError
from .model import check_write_rule, convert_amount
from .notify import notify_employees

CLOSED_STATES = {'done', 'cancelled'}


class CampaignType(DictionaryMixin, ModelSQL, ModelView):
    __name__ = 'crm.campaign.type'
    __string__ = "Campaign Type"


class Campaign(DataRulesMixin, ApprovalMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'crm.campaign'
    __string__ = "Campaign"
    _states = {'readonly': Eval('state').in_(list(CLOSED_STATES))}
    _approved = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_approved)
    name = fields.Char("Name", required=True, states=_states)
    type = fields.Many2One(
        'crm.campaign.type', "Type", ondelete='RESTRICT', states=_states)
    employee = fields.Many2One(
        'company.employee', "Responsible", required=True,
        domain=[('company', '=', Eval('company', -1))], states=_states)
    participants = fields.Many2Many(
        'crm.campaign-participant', 'campaign', 'employee', "Participants",
        domain=[('company', '=', Eval('company', -1))], states=_states)
    start_date = fields.Date("Start Date", required=True, states=_states)
    end_date = fields.Date(
        "End Date", required=True,
        domain=[('end_date', '>=', Eval('start_date', None))],
        states=_states)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, states=_approved)
    budget = fields.Numeric(
        "Budget", digits=(16, 2), domain=[('budget', '>=', 0)],
        states=_approved,
        help="Approved with the campaign, it caps the expenses requested "
        "for it.")
    expected_effect = fields.Text("Expected Effect", states=_states)
    target_customers = fields.Many2Many(
        'crm.campaign-party', 'campaign', 'party', "Target Customers",
        domain=[('customer_nature', '!=', None)],
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states)
    products = fields.Many2Many(
        'crm.campaign-product', 'campaign', 'product', "Products",
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states)
    opportunities = fields.One2Many(
        'crm.opportunity', 'campaign', "Opportunities", readonly=True)
    opportunity_count = fields.Function(
        fields.Integer("Opportunities"), 'get_results')
    won_count = fields.Function(
        fields.Integer("Won Opportunities"), 'get_results')
    won_amount = fields.Function(
        fields.Numeric("Won Amount", digits='currency',
            help="In the currency of the campaign, at the rate of the day "
            "won; opportunities won before both currencies had a rate are "
            "left out."),
        'get_results')
    description = fields.Text("Description", states=_states)
    state = fields.Selection([
            ('draft', "Draft"),
            ('waiting', "Waiting Approval"),
            ('approved', "Approved"),
            ('in_progress', "In Progress"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')

    del _states, _approved

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('start_date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.state, Index.Equality()),
                (t.start_date, Index.Range())))
        cls._transitions |= {
            ('draft', 'waiting'),
            ('waiting', 'approved'),
            ('waiting', 'draft'),
            ('approved', 'draft'),
            ('approved', 'in_progress'),
            ('in_progress', 'done'),
            ('draft', 'cancelled'),
            ('waiting', 'cancelled'),
            ('approved', 'cancelled'),
            ('in_progress', 'cancelled'),
            }
        cls._buttons.update({
                'submit': {
                    'invisible': Eval('state') != 'draft',
                    'depends': ['state'],
                    },
                'withdraw': {
                    'invisible': Eval('state') != 'waiting',
                    'depends': ['state'],
                    },
                'start': {
                    'invisible': Eval('state') != 'approved',
                    'depends': ['state'],
                    },
                'do': {
                    'invisible': Eval('state') != 'in_progress',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state').in_(list(CLOSED_STATES)),
                    'depends': ['state'],
                    },
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
    def default_budget(cls):
        return Decimal(0)

    @classmethod
    def default_state(cls):
        return 'draft'

    @classmethod
    def get_results(cls, campaigns, names):
        """Count and sum the opportunities of the campaigns that the user
        may read in SQL, the won amounts in the currency of the campaign at
        the rate of the day won"""
        Opportunity = Pool().get('crm.opportunity')
        opportunity = Opportunity.__table__()
        campaign = cls.__table__()
        cursor = Transaction().connection.cursor()
        results = {c.id: (0, 0, Decimal(0)) for c in campaigns}
        won = opportunity.state == 'won'
        won_amount = convert_amount(
            opportunity.amount, opportunity.currency, campaign.currency,
            opportunity.close_date)
        for sub_ids in grouped_slice(results, backend.MAX_QUERY_PARAMS):
            cursor.execute(*opportunity.join(
                    campaign, condition=opportunity.campaign == campaign.id
                    ).select(
                    opportunity.campaign,
                    Count(Literal(1)),
                    Sum(Case((won, 1), else_=0)),
                    Sum(Case((won, won_amount), else_=0)),
                    where=reduce_ids(opportunity.campaign, sub_ids)
                    & readable(opportunity, Opportunity),
                    group_by=[opportunity.campaign]))
            for campaign_id, count, won_count, amount in cursor:
                results[campaign_id] = (count, won_count, amount)
        # SQLite sums the rounded amounts as floats
        for campaign in campaigns:
            count, won_count, amount = results[campaign.id]
            results[campaign.id] = (count, won_count,
                campaign.currency.round(Decimal(str(amount or 0))))
        columns = ['opportunity_count', 'won_count', 'won_amount']
        return {name: {id_: values[columns.index(name)]
                for id_, values in results.items()}
            for name in names}

    @classmethod
    def check_modification(cls, mode, campaigns, values=None, external=False):
        super().check_modification(
            mode, campaigns, values=values, external=external)
        if mode in {'write', 'delete'}:
            for campaign in campaigns:
                if campaign.state in CLOSED_STATES:
                    raise CampaignError(gettext(
                            'crm_plus.msg_campaign_closed',
                            campaign=campaign.rec_name,
                            state=campaign.state_string))

    @classmethod
    def on_modification(cls, mode, campaigns, field_names=None):
        super().on_modification(mode, campaigns, field_names=field_names)
        # A new campaign has no expenses, and cannot be locked yet
        if mode == 'write' and 'budget' in field_names:
            Expense = Pool().get('crm.expense')
            Expense.check_campaign_budgets(campaigns)

    @classmethod
    def copy(cls, campaigns, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('opportunities')
        return super().copy(campaigns, default=default)

    def get_approval_amount(self):
        return self.budget

    @classmethod
    def _approved_fields(cls):
        return super()._approved_fields() | {'company', 'currency', 'budget'}

    @classmethod
    @check_write_rule
    @ModelView.button
    def submit(cls, campaigns):
        "Ask for the approval of the draft campaigns"
        cls.submit_drafts(campaigns)

    @classmethod
    @Workflow.transition('waiting')
    def wait(cls, campaigns):
        pass

    @classmethod
    @Workflow.transition('approved')
    def approval_approved(cls, campaigns):
        pass

    @classmethod
    @Workflow.transition('draft')
    def approval_rejected(cls, campaigns):
        pass

    @classmethod
    def _reversible_states(cls):
        "Once started, the approval of a campaign stays"
        return super()._reversible_states() | {'approved'}

    @classmethod
    @Workflow.transition('draft')
    def approval_reversed(cls, campaigns):
        pass

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('in_progress')
    def start(cls, campaigns):
        pass

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, campaigns):
        pass

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, campaigns):
        cls.cancel_approval(campaigns)

    @classmethod
    def remind_participants(cls):
        "Tell the people of the campaigns that start or end today"
        Date = Pool().get('ir.date')
        today = Date.today()
        for state, date_field, label, message in [
                ('approved', 'start_date',
                    'crm_plus.msg_campaign_starts_label',
                    'crm_plus.msg_campaign_starts'),
                ('in_progress', 'end_date',
                    'crm_plus.msg_campaign_ends_label',
                    'crm_plus.msg_campaign_ends'),
                ]:
            for campaign in cls.search([
                        ('state', '=', state),
                        (date_field, '=', today),
                        ]):
                notify_employees(
                    campaign.people(), label, message, {
                        'campaign': campaign.rec_name,
                        'start': campaign.start_date,
                        'end': campaign.end_date,
                        },
                    model=cls.__name__, records=[campaign.id], email=True)

    def people(self):
        "Return the responsible and the participants"
        return [self.employee] + [
            e for e in self.participants if e != self.employee]


class CampaignParticipant(DataRulesMixin, ModelSQL):
    __name__ = 'crm.campaign-participant'
    __string__ = "Campaign Participant"
    campaign = fields.Many2One(
        'crm.campaign', "Campaign", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='CASCADE')


class CampaignParty(DataRulesMixin, ModelSQL):
    __name__ = 'crm.campaign-party'
    __string__ = "Campaign Target Customer"
    campaign = fields.Many2One(
        'crm.campaign', "Campaign", required=True, ondelete='CASCADE')
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')


class CampaignProduct(DataRulesMixin, ModelSQL):
    __name__ = 'crm.campaign-product'
    __string__ = "Campaign Product"
    campaign = fields.Many2One(
        'crm.campaign', "Campaign", required=True, ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='CASCADE')
