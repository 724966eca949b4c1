# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Expense requests (费用申请): approved before the money is spent, and
checked against the budget of their campaign."""

from decimal import Decimal

from sql.aggregate import Sum
from sql.conditionals import Case, Coalesce

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction, without_check_access

from .access import DataRulesMixin, readable
from .approval import ApprovalMixin
from .campaign import CLOSED_STATES as CAMPAIGN_CLOSED_STATES
from .dictionary import DictionaryMixin
from .exceptions import BudgetError
from .model import check_write_rule, touch_rows

# The states of the expenses that use the budget of their campaign
COMMITTED = ['waiting', 'approved', 'done']


def round_amount(value):
    "Return the SQL sum value as an amount with two decimals"
    return Decimal(str(value or 0)).quantize(Decimal('0.01'))


class ExpenseType(DictionaryMixin, ModelSQL, ModelView):
    __name__ = 'crm.expense.type'
    __string__ = "Expense Type"


class Expense(DataRulesMixin, ApprovalMixin, Workflow, ModelSQL,
        ModelView):
    __name__ = 'crm.expense'
    __string__ = "Expense Request"
    _rec_name = 'name'
    _states = {'readonly': Eval('state') != 'draft'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    name = fields.Char("Purpose", required=True, states=_states)
    employee = fields.Many2One(
        'company.employee', "Requester", required=True,
        domain=[('company', '=', Eval('company', -1))], states=_states)
    date = fields.Date("Date", required=True, states=_states)
    type = fields.Many2One(
        'crm.expense.type', "Type", required=True, ondelete='RESTRICT',
        states=_states)
    party = fields.Many2One(
        'party.party', "Customer", ondelete='RESTRICT',
        domain=[('customer_nature', '!=', None)],
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states)
    opportunity = fields.Many2One(
        'crm.opportunity', "Opportunity", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            If(Bool(Eval('party')), ('party', '=', Eval('party', -1)), ()),
            ],
        states=_states)
    campaign = fields.Many2One(
        'crm.campaign', "Campaign", ondelete='RESTRICT',
        domain=[
            ('company', '=', Eval('company', -1)),
            ('currency', '=', Eval('currency', -1)),
            ],
        states=_states)
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, states=_states)
    amount = fields.Numeric(
        "Amount", digits=(16, 2), required=True,
        domain=[('amount', '>', 0)], states=_states)
    actual_amount = fields.Numeric(
        "Actual Amount", digits=(16, 2),
        domain=['OR',
            ('actual_amount', '=', None),
            ('actual_amount', '>=', 0),
            ],
        states={
            'readonly': Eval('state') != 'approved',
            'required': Eval('state') == 'done',
            },
        help="The amount really spent, required to mark it as spent.")
    description = fields.Text("Description", states=_states)
    state = fields.Selection([
            ('draft', "Draft"),
            ('waiting', "Waiting Approval"),
            ('approved', "Approved"),
            ('done', "Spent"),
            ('rejected', "Rejected"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)
    customer_readable = fields.Function(
        fields.Boolean("Customer Readable"), 'get_customer_readable',
        searcher='search_customer_readable')

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.campaign, Index.Equality()),
                    (t.state, Index.Equality())),
                Index(t, (t.employee, Index.Equality())),
                Index(t, (t.party, Index.Equality())),
                })
        cls._transitions |= {
            ('draft', 'waiting'),
            ('waiting', 'approved'),
            ('waiting', 'rejected'),
            ('waiting', 'draft'),
            ('approved', 'draft'),
            ('approved', 'done'),
            ('draft', 'cancelled'),
            ('waiting', 'cancelled'),
            ('approved', 'cancelled'),
            ('rejected', 'draft'),
            ('cancelled', 'draft'),
            }
        cls._buttons.update({
                'submit': {
                    'invisible': Eval('state') != 'draft',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'withdraw': {
                    'invisible': Eval('state') != 'waiting',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                'do': {
                    'invisible': Eval('state') != 'approved',
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': ~Eval('state').in_(
                        ['draft', 'waiting', 'approved']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'draft': {
                    'invisible': ~Eval('state').in_(['rejected', 'cancelled']),
                    'icon': 'tryton-undo',
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
    def default_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_currency(cls):
        Company = Pool().get('company.company')
        company_id = Transaction().context.get('company')
        if company_id is not None and company_id >= 0:
            return Company(company_id).currency.id

    @classmethod
    def default_state(cls):
        return 'draft'

    @fields.depends('opportunity', 'party')
    def on_change_opportunity(self):
        if self.opportunity and not self.party:
            self.party = self.opportunity.party

    def get_customer_readable(self, name):
        return bool(self.party and self.search([
                    ('id', '=', self.id),
                    ('customer_readable', '=', True),
                    ]))

    @classmethod
    def search_customer_readable(cls, name, clause):
        """Match the expenses of the customers the user may read.

        The optional customer cannot be in __access__, so the record rule
        of the expenses asks for the customers' rules through this field."""
        Rule = Pool().get('ir.rule')
        with Transaction().set_context(_check_access=True):
            customers = Rule.domain_get('party.party', 'read')
        domain = [('party', 'where', customers)]
        _, operator, value = clause
        if (operator == '=') == bool(value):
            return domain
        return ['OR',
            ('party', '=', None),
            ('party', 'not where', customers),
            ]

    def get_approval_amount(self):
        return self.amount

    @classmethod
    def _approved_fields(cls):
        return super()._approved_fields() | {
            'company', 'name', 'employee', 'date', 'type', 'party',
            'opportunity', 'campaign', 'currency', 'amount', 'description'}

    @classmethod
    def validate_fields(cls, expenses, field_names):
        super().validate_fields(expenses, field_names)
        if field_names & {'campaign', 'amount', 'actual_amount', 'state'}:
            cls.check_budget(expenses)

    @classmethod
    def check_budget(cls, expenses):
        "Refuse to commit more than the budget of a campaign"
        cls.check_campaign_budgets(list({e.campaign for e in expenses
                    if e.campaign and e.state in COMMITTED}))

    @classmethod
    def check_campaign_budgets(cls, campaigns):
        """Refuse campaigns whose expenses commit more than their budget.

        The campaigns are locked first, so that two requests submitted at
        once are summed one after the other."""
        Campaign = Pool().get('crm.campaign')
        if not campaigns:
            return
        Campaign.lock(campaigns)
        committed = cls.committed_amounts(campaigns)
        for campaign in campaigns:
            amount = committed.get(campaign.id, 0)
            if campaign.budget is not None and amount > campaign.budget:
                raise BudgetError(gettext(
                        'crm_plus.msg_expense_over_budget',
                        campaign=campaign.rec_name,
                        budget=campaign.budget,
                        amount=amount))

    @classmethod
    def committed_amounts(cls, campaigns):
        "Return the amount committed per campaign id, the actual when spent"
        expense = cls.__table__()
        cursor = Transaction().connection.cursor()
        spent = Case(
            (expense.state == 'done',
                Coalesce(expense.actual_amount, expense.amount)),
            else_=expense.amount)
        result = {}
        for sub_ids in grouped_slice(
                [c.id for c in campaigns], backend.MAX_QUERY_PARAMS):
            cursor.execute(*expense.select(
                    expense.campaign, Sum(spent),
                    where=reduce_ids(expense.campaign, sub_ids)
                    & expense.state.in_(COMMITTED),
                    group_by=[expense.campaign]))
            result.update((c, round_amount(a)) for c, a in cursor)
        return result

    @classmethod
    def check_modification(cls, mode, expenses, values=None, external=False):
        super().check_modification(
            mode, expenses, values=values, external=external)
        if mode == 'delete':
            for expense in expenses:
                if expense.state not in {'draft', 'cancelled'}:
                    raise AccessError(gettext(
                            'crm_plus.msg_expense_delete',
                            expense=expense.rec_name))
        elif mode == 'write' and external and 'actual_amount' in values:
            cls.check_actual_amount_writable(expenses)
        elif mode == 'create' and external:
            cls.check_actual_amount_writable(
                [e for e in expenses if e.actual_amount is not None])

    @classmethod
    def check_actual_amount_writable(cls, expenses):
        """Refuse to change the amount spent outside of the approved state:
        once spent, it is the actual cost of the campaign"""
        for expense in expenses:
            if expense.state != 'approved':
                raise AccessError(gettext(
                        'crm_plus.msg_expense_actual_amount',
                        expense=expense.rec_name,
                        state=cls.__names__('state', expense)['value']))

    @classmethod
    def copy(cls, expenses, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('actual_amount', None)
        return super().copy(expenses, default=default)

    @classmethod
    @check_write_rule
    @ModelView.button
    def submit(cls, expenses):
        "Ask for the approval of the draft expenses"
        cls.check_campaigns_open(expenses)
        cls.submit_drafts(expenses)

    @classmethod
    def check_campaigns_open(cls, expenses):
        """Refuse to commit money to a campaign that is over or cancelled.

        The campaigns are locked, before the transaction does anything, and
        touched: a submission and a cancellation of the campaign at once are
        done one after the other, so the cancellation sees the request to
        cancel, or the submission sees the campaign cancelled."""
        Campaign = Pool().get('crm.campaign')
        campaigns = list({e.campaign for e in expenses
                if e.state == 'draft' and e.campaign})
        Campaign.lock(campaigns)
        touch_rows(Campaign, campaigns)
        for expense in expenses:
            campaign = expense.campaign
            if (expense.state == 'draft' and campaign
                    and campaign.state in CAMPAIGN_CLOSED_STATES):
                raise BudgetError(gettext(
                        'crm_plus.msg_expense_campaign_closed',
                        expense=expense.rec_name,
                        campaign=campaign.rec_name,
                        state=campaign.state_string))

    @classmethod
    @Workflow.transition('waiting')
    def wait(cls, expenses):
        pass

    @classmethod
    @Workflow.transition('approved')
    def approval_approved(cls, expenses):
        pass

    @classmethod
    @Workflow.transition('rejected')
    def approval_rejected(cls, expenses):
        pass

    @classmethod
    def _reversible_states(cls):
        "Once spent, the approval of an expense stays"
        return super()._reversible_states() | {'approved'}

    @classmethod
    @Workflow.transition('draft')
    def approval_reversed(cls, expenses):
        pass

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('done')
    def do(cls, expenses):
        pass

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, expenses):
        cls.cancel_approval(expenses)

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('draft')
    def draft(cls, expenses):
        pass


class Campaign(metaclass=PoolMeta):
    __name__ = 'crm.campaign'
    expenses = fields.One2Many(
        'crm.expense', 'campaign', "Expenses", readonly=True)
    actual_cost = fields.Function(
        fields.Numeric("Actual Cost", digits=(16, 2),
            help="The actual amount of the spent expenses."),
        'get_actual_cost')

    @classmethod
    def get_actual_cost(cls, campaigns, name):
        "Sum the spent expenses of the campaigns that the user may read"
        pool = Pool()
        Expense = pool.get('crm.expense')
        expense = Expense.__table__()
        cursor = Transaction().connection.cursor()
        costs = dict.fromkeys([c.id for c in campaigns], Decimal(0))
        for sub_ids in grouped_slice(costs, backend.MAX_QUERY_PARAMS):
            cursor.execute(*expense.select(
                    expense.campaign, Sum(expense.actual_amount),
                    where=reduce_ids(expense.campaign, sub_ids)
                    & (expense.state == 'done')
                    & readable(expense, Expense),
                    group_by=[expense.campaign]))
            costs.update((c, round_amount(a)) for c, a in cursor)
        return costs

    @classmethod
    def cancel(cls, campaigns):
        """Cancel with the campaigns the expenses committed to them and not
        spent yet: the money will not be needed"""
        Expense = Pool().get('crm.expense')
        super().cancel(campaigns)
        # The transition skips the campaigns already done
        cancelled = [c.id for c in cls.browse(campaigns)
            if c.state == 'cancelled']
        with without_check_access():
            Expense.cancel(Expense.search([
                        ('campaign', 'in', cancelled),
                        ('state', 'in', ['waiting', 'approved']),
                        ]))
