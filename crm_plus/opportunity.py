# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Opportunities (商机) and the stages of the sales funnel."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sql import Literal, Null
from sql.aggregate import Max

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Workflow, fields,
    sequence_ordered)
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, If, PYSONEncoder
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import DataRulesMixin, DataRulesWizardMixin
from .approval import ApprovalMixin
from .company import current_employee
from .exceptions import OpportunityError
from .model import check_writable, check_write_rule, forget_cached
from .notify import notify_employees

OPEN_STATES = ['draft', 'waiting', 'in_progress', 'suspended']
CLOSED_STATES = {'won', 'lost'}


class OpportunityStage(
        DataRulesMixin, DeactivableMixin, sequence_ordered(), ModelSQL,
        ModelView):
    __name__ = 'crm.opportunity.stage'
    __string__ = "Opportunity Stage"
    # What is ordered by stage follows the funnel, not the names
    _order_name = 'sequence'
    name = fields.Char("Name", required=True, translate=True)
    probability = fields.Integer(
        "Probability", required=True,
        domain=[('probability', '>=', 0), ('probability', '<=', 100)],
        help="Default probability of winning, in percent.")


class Opportunity(
        DataRulesMixin, ApprovalMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'crm.opportunity'
    __string__ = "Opportunity"
    _rec_name = 'name'
    _states = {'readonly': ~Eval('state').in_(OPEN_STATES)}
    _filed = {'readonly': Eval('state') != 'draft'}
    _tender = {
        'readonly': _states['readonly'],
        'invisible': Eval('kind') != 'tender',
        }

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_filed)
    name = fields.Char("Name", required=True, states=_states)
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='RESTRICT',
        domain=[('customer_nature', '!=', None)],
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_filed)
    contact = fields.Many2One(
        'party.party', "Contact", ondelete='SET NULL',
        domain=[('contact_of.customer', '=', Eval('party', -1))],
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states)
    employee = fields.Many2One(
        'company.employee', "Owner", required=True,
        domain=[('company', '=', Eval('company', -1))], states=_states,
        help="The salesperson who follows the opportunity (跟单人).")
    assistants = fields.Many2Many(
        'crm.opportunity-assistant', 'opportunity', 'employee',
        "Assistants",
        domain=[
            ('company', '=', Eval('company', -1)),
            ('id', '!=', Eval('employee', -1)),
            ],
        states=_states, help="Employees who help on the opportunity (协助人).")
    source = fields.Many2One(
        'crm.customer.source', "Source", ondelete='RESTRICT',
        states=_states)
    campaign = fields.Many2One(
        'crm.campaign', "Campaign", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))], states=_states)
    kind = fields.Selection([
            ('normal', "Normal"),
            ('tender', "Tender"),
            ], "Kind", required=True, states=_states)
    investment_amount = fields.Numeric(
        "Investment Amount", digits=(16, 2), states=_tender)
    implementation_date = fields.Date("Implementation Date", states=_tender)
    bid_place = fields.Char("Bid Place", states=_tender)
    bid_start = fields.Date("Bid Start", states=_tender)
    bid_end = fields.Date(
        "Bid End", states=_tender,
        domain=[If(Eval('bid_start') & Eval('bid_end'),
                ('bid_end', '>=', Eval('bid_start')), ())])
    currency = fields.Many2One(
        'currency.currency', "Currency", required=True, states=_filed)
    amount = fields.Numeric(
        "Expected Amount", digits=(16, 2),
        domain=[If(Eval('amount'), ('amount', '>=', 0), ())],
        states=_filed,
        help="Proposed from the product lines when there are some.\n"
        "Its approval decides on it.")
    start_date = fields.Date("Start Date", required=True, states=_states)
    expected_date = fields.Date(
        "Expected Signing Date", states=_states)
    signing_reminded = fields.Date(
        "Signing Reminded", readonly=True,
        help="The expected signing date its owner was last reminded of.")
    stage = fields.Many2One(
        'crm.opportunity.stage', "Stage", ondelete='RESTRICT',
        states=_states)
    probability = fields.Integer(
        "Probability",
        domain=[('probability', '>=', 0), ('probability', '<=', 100)],
        states=_states, help="In percent, proposed by the stage.")
    lines = fields.One2Many(
        'crm.opportunity.line', 'opportunity', "Lines", states=_filed)
    progress = fields.One2Many(
        'crm.opportunity.progress', 'opportunity', "Progress",
        readonly=True)
    competitors = fields.One2Many(
        'crm.opportunity.competitor', 'opportunity', "Competitors",
        states=_states)
    requirements = fields.Text("Requirement Analysis", states=_states)
    suggestions = fields.Text("Team Suggestions", states=_states)
    vendor = fields.Many2One(
        'party.party', "Upstream Vendor", ondelete='RESTRICT',
        context={'company': Eval('company', -1)}, depends={'company'},
        states={
            'readonly': (_states['readonly']
                | Eval('vendor_registered', False)),
            },
        help="The manufacturer or distributor to register the "
        "opportunity with (上游报备).")
    vendor_registered = fields.Boolean("Registered with Vendor", readonly=True)
    vendor_registration_date = fields.Date(
        "Vendor Registration Date", readonly=True)
    suspend_reason = fields.Text(
        "Suspension Reason", readonly=True,
        states={'invisible': Eval('state') != 'suspended'})
    reactivation_date = fields.Date(
        "Reactivation Date", readonly=True,
        states={'invisible': Eval('state') != 'suspended'})
    lost_reason = fields.Many2One(
        'crm.opportunity.lost_reason', "Lost Reason", readonly=True,
        states={'invisible': Eval('state') != 'lost'})
    lost_note = fields.Text(
        "Lost Note", readonly=True,
        states={'invisible': Eval('state') != 'lost'})
    close_date = fields.Date(
        "Close Date", readonly=True,
        help="The date the opportunity was won or lost.")
    follow_ups = fields.One2Many(
        'crm.follow_up', 'opportunity', "Follow-ups", readonly=True)
    description = fields.Text("Description", states=_states)
    state = fields.Selection([
            ('draft', "Draft"),
            ('waiting', "Waiting Approval"),
            ('in_progress', "In Progress"),
            ('suspended', "Suspended"),
            ('won', "Won"),
            ('lost', "Lost"),
            ], "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')

    del _states, _tender, _filed

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
                Index(t, (t.reactivation_date, Index.Range()),
                    where=t.state == 'suspended'),
                Index(t, (t.expected_date, Index.Range()),
                    where=t.state == 'in_progress'),
                })
        cls._transitions |= {
            ('draft', 'waiting'),
            ('waiting', 'in_progress'),
            ('waiting', 'draft'),
            ('in_progress', 'draft'),
            ('draft', 'lost'),
            ('in_progress', 'suspended'),
            ('suspended', 'in_progress'),
            ('in_progress', 'won'),
            ('in_progress', 'lost'),
            ('suspended', 'lost'),
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
                'suspend': {
                    'invisible': Eval('state') != 'in_progress',
                    'depends': ['state'],
                    },
                'reactivate': {
                    'invisible': Eval('state') != 'suspended',
                    'depends': ['state'],
                    },
                'win': {
                    'invisible': Eval('state') != 'in_progress',
                    'depends': ['state'],
                    },
                'lose': {
                    'invisible': ~Eval('state').in_(
                        ['draft', 'in_progress', 'suspended']),
                    'depends': ['state'],
                    },
                'register_vendor': {
                    'invisible': (~Eval('state').in_(OPEN_STATES)
                        | Eval('vendor_registered', False)),
                    'readonly': ~Eval('vendor'),
                    'depends': ['state', 'vendor_registered', 'vendor'],
                    },
                'follow_up': {
                    'invisible': ~Eval('state').in_(OPEN_STATES),
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
    def default_kind(cls):
        return 'normal'

    @classmethod
    def default_start_date(cls):
        return Pool().get('ir.date').today()

    @classmethod
    def default_stage(cls):
        Stage = Pool().get('crm.opportunity.stage')
        stages = Stage.search([], limit=1)
        if stages:
            return stages[0].id

    @classmethod
    def default_probability(cls):
        Stage = Pool().get('crm.opportunity.stage')
        stage_id = cls.default_stage()
        if stage_id is not None:
            return Stage(stage_id).probability

    @classmethod
    def default_state(cls):
        return 'draft'

    @fields.depends('stage')
    def on_change_stage(self):
        if self.stage:
            self.probability = self.stage.probability

    @fields.depends('lines', 'amount')
    def on_change_lines(self):
        amounts = [l.amount for l in self.lines if l.amount is not None]
        if amounts:
            self.amount = sum(amounts, Decimal(0))

    @classmethod
    def copy(cls, opportunities, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('progress')
        default.setdefault('follow_ups')
        default.setdefault('signing_reminded')
        default.setdefault('vendor_registered')
        default.setdefault('vendor_registration_date')
        default.setdefault('suspend_reason')
        default.setdefault('reactivation_date')
        default.setdefault('lost_reason')
        default.setdefault('lost_note')
        default.setdefault('close_date')
        default.setdefault('start_date', cls.default_start_date())
        return super().copy(opportunities, default=default)

    @classmethod
    def check_modification(
            cls, mode, opportunities, values=None, external=False):
        super().check_modification(
            mode, opportunities, values=values, external=external)
        if mode in {'write', 'delete'}:
            cls.check_open(opportunities)

    @classmethod
    def check_open(cls, opportunities):
        "Refuse to change won or lost opportunities, which are final"
        for opportunity in opportunities:
            if opportunity.state in CLOSED_STATES:
                raise OpportunityError(gettext(
                        'crm_plus.msg_opportunity_closed',
                        opportunity=opportunity.rec_name,
                        state=opportunity.state_string))

    @classmethod
    def preprocess_values(cls, mode, values):
        "Take the probability of a new stage unless one is given"
        Stage = Pool().get('crm.opportunity.stage')
        values = super().preprocess_values(mode, values)
        if values.get('stage') and 'probability' not in values:
            values['probability'] = Stage(values['stage']).probability
        return values

    @classmethod
    def on_write(cls, opportunities, values):
        callbacks = super().on_write(opportunities, values)
        if 'stage' in values or 'probability' in values:
            before = {o.id: (o.stage, o.probability) for o in opportunities}

            def record_progress():
                moved = [o for o in cls.browse(opportunities)
                    if (o.stage, o.probability) != before[o.id]]
                cls.record_progress(moved)
            callbacks.append(record_progress)
        if values.keys() & {'party', 'start_date'}:
            # The customers the opportunities leave are dated again too
            party_ids = {o.party.id for o in opportunities}
            callbacks.append(lambda: cls.update_last_opportunity_date(
                    party_ids | {o.party.id for o in cls.browse(
                            opportunities)}))
        return callbacks

    @classmethod
    def on_delete(cls, opportunities):
        callbacks = super().on_delete(opportunities)
        party_ids = {o.party.id for o in opportunities}
        callbacks.append(lambda: cls.update_last_opportunity_date(party_ids))
        return callbacks

    @classmethod
    def on_modification(cls, mode, opportunities, field_names=None):
        super().on_modification(mode, opportunities, field_names=field_names)
        if mode == 'create':
            cls.record_progress(opportunities)
            cls.update_last_opportunity_date(
                {o.party.id for o in opportunities})

    @classmethod
    def record_progress(cls, opportunities, state=None, note=None):
        """Write a progress entry with the stage of each opportunity and the
        state it is in or moves to"""
        pool = Pool()
        Progress = pool.get('crm.opportunity.progress')
        Date = pool.get('ir.date')
        today = Date.today()
        employee = current_employee()
        Progress.save([Progress(
                    opportunity=o, date=today, stage=o.stage,
                    probability=o.probability, state=state or o.state,
                    note=note,
                    employee=employee)
                for o in opportunities])

    @classmethod
    def update_last_opportunity_date(cls, party_ids):
        "Set the customers' date of last opportunity, set-based"
        Party = Pool().get('party.party')
        party = Party.__table__()
        opportunity = cls.__table__()
        party_ids = list(party_ids)
        latest = opportunity.select(
            Max(opportunity.start_date),
            where=opportunity.party == party.id)
        cursor = Transaction().connection.cursor()
        for sub_ids in grouped_slice(party_ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*party.update(
                    [party.last_opportunity_date], [latest],
                    where=reduce_ids(party.id, sub_ids)))
        forget_cached(Party, party_ids)

    def get_approval_amount(self):
        return self.amount

    @classmethod
    def _approved_fields(cls):
        """The filing (报备) registers the opportunity of a customer for an
        amount, which the thresholds of the approval steps compare with"""
        return super()._approved_fields() | {
            'company', 'party', 'currency', 'amount', 'lines'}

    @classmethod
    @check_write_rule
    @ModelView.button
    def submit(cls, opportunities):
        "File the opportunities (报备) and ask for their approval"
        cls.submit_drafts(opportunities)

    @classmethod
    @Workflow.transition('waiting')
    def wait(cls, opportunities):
        pass

    @classmethod
    @Workflow.transition('in_progress')
    def approval_approved(cls, opportunities):
        cls.record_progress(opportunities, 'in_progress')

    @classmethod
    @Workflow.transition('draft')
    def approval_rejected(cls, opportunities):
        pass

    @classmethod
    def _reversible_states(cls):
        return super()._reversible_states() | {'in_progress'}

    @classmethod
    @Workflow.transition('draft')
    def approval_reversed(cls, opportunities):
        cls.record_progress(opportunities, 'draft')

    @classmethod
    @check_write_rule
    @ModelView.button_action('crm_plus.wizard_opportunity_suspend')
    def suspend(cls, opportunities):
        pass

    @classmethod
    @Workflow.transition('suspended')
    def set_suspended(cls, opportunities, reason, reactivation_date):
        Date = Pool().get('ir.date')
        if reactivation_date <= Date.today():
            raise OpportunityError(gettext(
                    'crm_plus.msg_opportunity_reactivation_past',
                    date=reactivation_date))
        cls.write(opportunities, {
                'suspend_reason': reason,
                'reactivation_date': reactivation_date,
                })
        cls.record_progress(opportunities, 'suspended', note=reason)

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('in_progress')
    def reactivate(cls, opportunities):
        cls.write(opportunities, {'reactivation_date': None})
        cls.record_progress(opportunities, 'in_progress')

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('won')
    def win(cls, opportunities):
        pool = Pool()
        Date = pool.get('ir.date')
        Party = pool.get('party.party')
        today = Date.today()
        cls.write(opportunities, {'probability': 100, 'close_date': today})
        parties = list({o.party for o in opportunities})
        with Transaction().set_context(_check_access=False):
            Party.write(parties, {
                    'customer_status': 'deal',
                    'last_deal_date': today,
                    })

    @classmethod
    @check_write_rule
    @ModelView.button_action('crm_plus.wizard_opportunity_lose')
    def lose(cls, opportunities):
        pass

    @classmethod
    @Workflow.transition('lost')
    def set_lost(cls, opportunities, reason, note=None):
        Date = Pool().get('ir.date')
        cls.write(opportunities, {
                'probability': 0,
                'close_date': Date.today(),
                'lost_reason': reason,
                'lost_note': note,
                })

    @classmethod
    @check_write_rule
    @ModelView.button
    def register_vendor(cls, opportunities):
        "Email the registration to the upstream vendor from the template"
        pool = Pool()
        Email = pool.get('ir.email')
        ModelData = pool.get('ir.model.data')
        Template = pool.get('ir.email.template')
        Date = pool.get('ir.date')
        template = Template(ModelData.get_id(
                'crm_plus', 'email_template_vendor_registration'))
        for opportunity in opportunities:
            email = opportunity.vendor.email if opportunity.vendor else None
            if not email:
                raise OpportunityError(gettext(
                        'crm_plus.msg_opportunity_vendor_no_email',
                        opportunity=opportunity.rec_name,
                        vendor=(opportunity.vendor.rec_name
                            if opportunity.vendor else '-')))
            values = template.get(opportunity)
            Email.send(
                to=email, subject=values.get('subject', ''),
                body=values.get('body', ''),
                record=(cls.__name__, opportunity.id))
        cls.write(opportunities, {
                'vendor_registered': True,
                'vendor_registration_date': Date.today(),
                })

    @classmethod
    @ModelView.button_action('crm_plus.act_follow_up_form')
    def follow_up(cls, opportunities):
        "Open the follow-ups of the opportunity, new ones filled from it"
        if len(opportunities) != 1:
            return
        opportunity, = opportunities
        encoder = PYSONEncoder()
        return {
            'pyson_domain': encoder.encode(
                [('opportunity', '=', opportunity.id)]),
            'pyson_context': encoder.encode({
                    'default_opportunity': opportunity.id,
                    'default_party': opportunity.party.id,
                    'default_contact': (opportunity.contact.id
                        if opportunity.contact else None),
                    'default_subject': opportunity.name,
                    }),
            'name': opportunity.rec_name,
            }

    @classmethod
    def reactivate_suspended(cls):
        """Reactivate in one statement the suspended opportunities whose
        reactivation date has come, and tell their owners"""
        pool = Pool()
        Date = pool.get('ir.date')
        Progress = pool.get('crm.opportunity.progress')
        opportunity = cls.__table__()
        progress = Progress.__table__()
        cursor = Transaction().connection.cursor()
        today = Date.today()
        due = ((opportunity.state == 'suspended')
            & (opportunity.reactivation_date <= today))

        cursor.execute(*opportunity.select(
                opportunity.employee, opportunity.id, where=due))
        by_employee = defaultdict(list)
        for employee_id, opportunity_id in cursor:
            by_employee[employee_id].append(opportunity_id)
        if not by_employee:
            return
        now = dt.datetime.now()
        cursor.execute(*progress.insert(
                [progress.opportunity, progress.date, progress.stage,
                    progress.probability, progress.state,
                    progress.create_uid, progress.create_date],
                opportunity.select(
                    opportunity.id, Literal(today), opportunity.stage,
                    opportunity.probability, Literal('in_progress'),
                    Literal(Transaction().user), Literal(now),
                    where=due)))
        cursor.execute(*opportunity.update(
                [opportunity.state, opportunity.reactivation_date,
                    opportunity.write_date, opportunity.write_uid],
                ['in_progress', Null, now, Transaction().user],
                where=due))
        forget_cached(cls, [i for ids in by_employee.values() for i in ids])
        cls.notify_owners(
            by_employee, 'crm_plus.msg_opportunity_reactivated_label',
            'crm_plus.msg_opportunity_reactivated')

    @classmethod
    def remind_signing(cls):
        "Tell the owners of the opportunities to be signed soon"
        pool = Pool()
        Date = pool.get('ir.date')
        Configuration = pool.get('crm.configuration')
        days = Configuration(1).signing_reminder_days
        if not days:
            return
        opportunity = cls.__table__()
        cursor = Transaction().connection.cursor()
        today = Date.today()
        # Each signing date is reminded once, even when a run was missed
        # or the date moved into the window
        due = ((opportunity.state == 'in_progress')
            & (opportunity.expected_date >= today)
            & (opportunity.expected_date <= today + dt.timedelta(days=days))
            & ((opportunity.signing_reminded == Null)
                | (opportunity.signing_reminded != opportunity.expected_date)))
        cursor.execute(*opportunity.select(
                opportunity.employee, opportunity.id, where=due,
                order_by=[opportunity.id]))
        by_employee = defaultdict(list)
        for employee_id, opportunity_id in cursor:
            by_employee[employee_id].append(opportunity_id)
        cursor.execute(*opportunity.update(
                [opportunity.signing_reminded], [opportunity.expected_date],
                where=due))
        cls.notify_owners(
            by_employee, 'crm_plus.msg_opportunity_signing_label',
            'crm_plus.msg_opportunity_signing', {'days': days}, email=True)

    @classmethod
    def notify_owners(
            cls, by_employee, label, message, values=None, email=False):
        "Notify each employee once about their opportunities"
        Employee = Pool().get('company.employee')
        for employee_id, ids in by_employee.items():
            # Browse only the named ones: reading thousands of records
            # just to name five costs more than the job's statements
            named = cls.browse(ids[:5])
            notify_employees(
                [Employee(employee_id)], label, message, {
                    'count': len(ids),
                    'names': ', '.join(o.rec_name for o in named),
                    **(values or {}),
                    },
                model=cls.__name__, records=ids, email=email)


class OpportunityAssistant(DataRulesMixin, ModelSQL):
    __name__ = 'crm.opportunity-assistant'
    __string__ = "Opportunity Assistant"
    opportunity = fields.Many2One(
        'crm.opportunity', "Opportunity", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('opportunity')


class OpportunityPartMixin:
    "A part of an opportunity, frozen with it once won or lost"
    __slots__ = ()

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        super().check_modification(
            mode, records, values=values, external=external)
        opportunities = {r.opportunity for r in records}
        if mode == 'write' and values.get('opportunity'):
            opportunities.add(Opportunity(values['opportunity']))
        Opportunity.check_open(opportunities)


class OpportunityLine(
        DataRulesMixin, OpportunityPartMixin, sequence_ordered(), ModelSQL,
        ModelView):
    __name__ = 'crm.opportunity.line'
    __string__ = "Opportunity Line"
    opportunity = fields.Many2One(
        'crm.opportunity', "Opportunity", required=True, ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", ondelete='RESTRICT',
        context={'company': Eval('company', -1)}, depends={'company'})
    description = fields.Char("Description")
    quantity = fields.Float(
        "Quantity", digits='unit', required=True,
        domain=[('quantity', '>=', 0)])
    unit = fields.Many2One(
        'product.uom', "Unit", ondelete='RESTRICT',
        states={'required': Bool(Eval('product'))},
        domain=[If(Eval('product_uom_category'),
                ('category', '=', Eval('product_uom_category', -1)),
                ())])
    product_uom_category = fields.Function(
        fields.Many2One('product.uom.category', "Product UoM Category"),
        'on_change_with_product_uom_category')
    unit_price = fields.Numeric(
        "Unit Price", digits=(16, 4), domain=[
            If(Eval('unit_price'), ('unit_price', '>=', 0), ())])
    amount = fields.Function(
        fields.Numeric("Amount", digits=(16, 2)), 'on_change_with_amount')
    company = fields.Function(
        fields.Many2One('company.company', "Company"),
        'on_change_with_company')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('opportunity')

    @classmethod
    def default_quantity(cls):
        return 1

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        "The lines make the amount of the filing: they change with it only"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        super().check_modification(
            mode, lines, values=values, external=external)
        if external:
            opportunities = {l.opportunity for l in lines}
            if mode == 'write' and values.get('opportunity'):
                opportunities.add(Opportunity(values['opportunity']))
            Opportunity.check_approved_fields(
                list(opportunities), {'lines': None})

    @fields.depends('opportunity', '_parent_opportunity.company')
    def on_change_with_company(self, name=None):
        return self.opportunity.company if self.opportunity else None

    @fields.depends('product')
    def on_change_with_product_uom_category(self, name=None):
        return self.product.default_uom_category if self.product else None

    @fields.depends('product', 'unit', 'description')
    def on_change_product(self):
        if self.product:
            self.unit = self.product.default_uom
            if not self.description:
                self.description = self.product.rec_name

    @fields.depends('quantity', 'unit_price')
    def on_change_with_amount(self, name=None):
        if self.quantity is None or self.unit_price is None:
            return None
        return (Decimal(str(self.quantity)) * self.unit_price).quantize(
            Decimal('0.01'))


class OpportunityProgress(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.opportunity.progress'
    __string__ = "Opportunity Progress"
    opportunity = fields.Many2One(
        'crm.opportunity', "Opportunity", required=True, ondelete='CASCADE')
    date = fields.Date("Date", required=True)
    stage = fields.Many2One(
        'crm.opportunity.stage', "Stage", ondelete='RESTRICT')
    probability = fields.Integer("Probability")
    state = fields.Selection(
        'get_states', "State")
    employee = fields.Many2One('company.employee', "Employee")
    note = fields.Text("Note")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('opportunity')
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.opportunity, Index.Equality())))

    @classmethod
    def get_states(cls):
        Opportunity = Pool().get('crm.opportunity')
        return Opportunity.fields_get(['state'])['state']['selection']


class OpportunityCompetitor(
        DataRulesMixin, OpportunityPartMixin, ModelSQL, ModelView):
    __name__ = 'crm.opportunity.competitor'
    __string__ = "Opportunity Competitor"
    opportunity = fields.Many2One(
        'crm.opportunity', "Opportunity", required=True, ondelete='CASCADE')
    competitor = fields.Many2One(
        'party.party', "Competitor", required=True, ondelete='RESTRICT',
        domain=[('customer_type.competitor', '=', True)])
    price = fields.Numeric("Price", digits=(16, 2))
    strengths = fields.Text("Strengths")
    weaknesses = fields.Text("Weaknesses")
    result = fields.Function(fields.Selection([
                ('open', "Open"),
                ('beaten', "Beaten"),
                ('winner', "Winner"),
                ], "Result",
            help="Follows the outcome of the opportunity."),
        'get_result')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('opportunity')

    def get_result(self, name):
        return {
            'won': 'beaten',
            'lost': 'winner',
            }.get(self.opportunity.state, 'open')


class FollowUp(metaclass=PoolMeta):
    __name__ = 'crm.follow_up'
    opportunity = fields.Many2One(
        'crm.opportunity', "Opportunity", ondelete='SET NULL',
        domain=[('party', '=', Eval('party', -1))],
        states={'readonly': Bool(Eval('created_opportunity'))})
    created_opportunity = fields.Function(
        fields.Boolean("Created Opportunity"), 'get_created_opportunity')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.opportunity, Index.Equality()),
                where=t.opportunity != Null))
        cls._buttons.update({
                'create_opportunity': {
                    'invisible': Bool(Eval('opportunity')),
                    'depends': ['opportunity'],
                    },
                })

    def get_created_opportunity(self, name):
        return bool(self.opportunity)

    @classmethod
    @check_write_rule
    @ModelView.button_action('crm_plus.act_opportunity_form')
    def create_opportunity(cls, follow_ups):
        "Turn each follow-up into an opportunity, once"
        Opportunity = Pool().get('crm.opportunity')
        for follow_up in follow_ups:
            if follow_up.opportunity:
                raise OpportunityError(gettext(
                        'crm_plus.msg_follow_up_opportunity_exists',
                        follow_up=follow_up.rec_name,
                        opportunity=follow_up.opportunity.rec_name))
        opportunities = [Opportunity(
                company=f.company, party=f.party, contact=f.contact,
                employee=current_employee() or f.employee, name=f.subject,
                description=f.content)
            for f in follow_ups]
        Opportunity.save(opportunities)
        for follow_up, opportunity in zip(follow_ups, opportunities):
            follow_up.opportunity = opportunity
        cls.save(follow_ups)
        return {'res_id': [o.id for o in opportunities]}


class SuspendStart(ModelView):
    __name__ = 'crm.opportunity.suspend.start'
    __string__ = "Suspend Opportunity"
    reason = fields.Text("Reason", required=True)
    reactivation_date = fields.Date(
        "Reactivation Date", required=True,
        help="The opportunity comes back in progress on this date.")


class Suspend(DataRulesWizardMixin, Wizard):
    __name__ = 'crm.opportunity.suspend'
    __string__ = "Suspend Opportunity"
    start = StateView('crm.opportunity.suspend.start',
        'crm_plus.opportunity_suspend_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Suspend", 'suspend', 'tryton-ok', default=True),
            ])
    suspend = StateTransition()

    def transition_suspend(self):
        check_writable(self.model, self.records)
        self.model.set_suspended(
            list(self.records), self.start.reason,
            self.start.reactivation_date)
        return 'end'


class LoseStart(ModelView):
    __name__ = 'crm.opportunity.lose.start'
    __string__ = "Lose Opportunity"
    reason = fields.Many2One(
        'crm.opportunity.lost_reason', "Reason", required=True)
    note = fields.Text("Note")


class Lose(DataRulesWizardMixin, Wizard):
    __name__ = 'crm.opportunity.lose'
    __string__ = "Lose Opportunity"
    start = StateView('crm.opportunity.lose.start',
        'crm_plus.opportunity_lose_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Lose", 'lose', 'tryton-ok', default=True),
            ])
    lose = StateTransition()

    def transition_lose(self):
        check_writable(self.model, self.records)
        self.model.set_lost(
            list(self.records), self.start.reason, self.start.note)
        return 'end'
