# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Leads (销售线索): unverified sales prospects, converted to opportunities."""

from sql.aggregate import Min
from sql.conditionals import Coalesce
from sql.functions import Lower

from trytond import backend
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Unique, Workflow, fields,
    sequence_ordered)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, Id
from trytond.transaction import Transaction, check_access

from .access import DataRulesMixin
from .company import current_employee
from .exceptions import LeadError
from .model import check_writable, check_write_rule, forget_cached

# Default size limit of one attachment kept from an email, in bytes
ATTACHMENT_MAX_SIZE = 5 * 1024 * 1024


class Configuration(metaclass=PoolMeta):
    __name__ = 'crm.configuration'
    lead_sequence = fields.Many2One(
        'ir.sequence', "Lead Sequence", required=True,
        domain=[
            ('sequence_type', '=', Id('crm_plus', 'sequence_type_lead')),
            ])
    lead_attachment_max_size = fields.Integer(
        "Lead Attachment Size Limit", required=True,
        domain=[('lead_attachment_max_size', '>', 0)],
        help="In bytes: an email with a bigger attachment creates no lead. "
        "The inbox accepts emails up to about 4/3 of it plus 1 MiB.")

    @classmethod
    def default_lead_sequence(cls):
        ModelData = Pool().get('ir.model.data')
        return ModelData.get_id('crm_plus', 'sequence_lead')

    @classmethod
    def default_lead_attachment_max_size(cls):
        return ATTACHMENT_MAX_SIZE


class Lead(DataRulesMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'crm.lead'
    __string__ = "Lead"
    _states = {'readonly': Eval('state').in_(['converted', 'invalid'])}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    number = fields.Char("Number", readonly=True)
    name = fields.Char("Title", required=True, states=_states)
    source = fields.Many2One(
        'crm.customer.source', "Source", ondelete='RESTRICT', states=_states)
    campaign = fields.Many2One(
        'crm.campaign', "Campaign", ondelete='RESTRICT',
        domain=[('company', '=', Eval('company', -1))], states=_states)
    party = fields.Many2One(
        'party.party', "Customer", ondelete='RESTRICT',
        domain=[('customer_nature', '!=', None)],
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states,
        help="The known customer, if any; otherwise fill in the company "
        "and contact names.")
    contact = fields.Many2One(
        'party.party', "Contact", ondelete='SET NULL',
        domain=[('contact_of.customer', '=', Eval('party', -1))],
        context={'company': Eval('company', -1)}, depends={'company'},
        states={
            'readonly': _states['readonly'],
            'invisible': ~Eval('party'),
            })
    company_name = fields.Char(
        "Company Name", states={
            'readonly': _states['readonly'],
            'invisible': Bool(Eval('party')),
            })
    contact_name = fields.Char(
        "Contact Name", states={
            'readonly': _states['readonly'],
            'invisible': Bool(Eval('contact')),
            })
    phone = fields.Char("Phone", states=_states)
    email = fields.Char("Email", states=_states)
    employee = fields.Many2One(
        'company.employee', "Owner",
        domain=[('company', '=', Eval('company', -1))], states=_states,
        help="Leave empty to let every salesperson see and take the lead.")
    products = fields.Many2Many(
        'crm.lead-product.product', 'lead', 'product', "Intended Products",
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states)
    description = fields.Text("Description", states=_states)
    follow_ups = fields.One2Many('crm.follow_up', 'lead', "Follow-ups")
    emails = fields.One2Many(
        'crm.lead.email', 'lead', "Emails", readonly=True)
    opportunity = fields.Many2One(
        'crm.opportunity', "Opportunity", readonly=True,
        states={'invisible': ~Eval('opportunity')})
    state = fields.Selection([
            ('new', "New"),
            ('following', "Following"),
            ('converted', "Converted"),
            ('invalid', "Invalid"),
            ], "State", required=True, readonly=True, sort=False)

    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('id', 'DESC')]
        t = cls.__table__()
        cls._sql_constraints += [
            ('number_unique', Unique(t, t.number),
                'crm_plus.msg_lead_number_unique'),
            ]
        cls._sql_indexes.update({
                Index(t, (t.employee, Index.Equality()),
                    (t.state, Index.Equality())),
                Index(t, (t.party, Index.Equality())),
                Index(t, (Lower(t.email), Index.Equality())),
                })
        cls._transitions |= {
            ('new', 'following'),
            ('new', 'converted'),
            ('following', 'converted'),
            ('new', 'invalid'),
            ('following', 'invalid'),
            ('invalid', 'new'),
            }
        cls._buttons.update({
                'follow': {
                    'invisible': Eval('state') != 'new',
                    'icon': 'tryton-forward',
                    'depends': ['state'],
                    },
                'convert': {
                    'invisible': ~Eval('state').in_(['new', 'following']),
                    'icon': 'tryton-ok',
                    'depends': ['state'],
                    },
                'invalidate': {
                    'invisible': ~Eval('state').in_(['new', 'following']),
                    'icon': 'tryton-cancel',
                    'depends': ['state'],
                    },
                'recycle': {
                    'invisible': Eval('state') != 'invalid',
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
    def default_state(cls):
        return 'new'

    @fields.depends('party', 'contact')
    def on_change_party(self):
        if not self.party:
            self.contact = None

    def get_rec_name(self, name):
        if self.number:
            return f'{self.number} {self.name}'
        return self.name

    @classmethod
    def search_rec_name(cls, name, clause):
        _, operator, value = clause
        bool_op = 'AND' if operator.startswith('!') else 'OR'
        return [bool_op,
            ('number', operator, value),
            ('name', operator, value),
            ]

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and not values.get('number'):
            values['number'] = Configuration(1).lead_sequence.get()
        return values

    @classmethod
    def copy(cls, leads, default=None):
        default = default.copy() if default is not None else {}
        for name in ['number', 'follow_ups', 'emails', 'opportunity']:
            default.setdefault(name, None)
        default.setdefault('state', 'new')
        return super().copy(leads, default=default)

    @classmethod
    def check_modification(cls, mode, leads, values=None, external=False):
        super().check_modification(
            mode, leads, values=values, external=external)
        if mode == 'delete':
            for lead in leads:
                if lead.state == 'converted':
                    raise AccessError(gettext(
                            'crm_plus.msg_lead_delete_converted',
                            lead=lead.rec_name))
        elif external and mode == 'create':
            for lead in leads:
                if lead.state != cls.default_state() or lead.opportunity:
                    raise AccessError(gettext(
                            'crm_plus.msg_lead_state_write',
                            lead=lead.rec_name))
        elif (external and mode == 'write'
                and values.keys() & {'state', 'opportunity'}):
            raise AccessError(gettext(
                    'crm_plus.msg_lead_state_write',
                    lead=leads[0].rec_name if leads else ''))

    @classmethod
    def on_modification(cls, mode, leads, field_names=None):
        super().on_modification(mode, leads, field_names=field_names)
        if mode == 'delete':
            cls.delete_own_follow_ups(leads)

    @classmethod
    def delete_own_follow_ups(cls, leads):
        """Delete the follow-ups of the leads that have no customer: those
        of a customer stay in its history when the lead goes"""
        FollowUp = Pool().get('crm.follow_up')
        FollowUp.delete(FollowUp.search([
                    ('lead', 'in', [l.id for l in leads]),
                    ('party', '=', None),
                    ]))

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('following')
    def follow(cls, leads):
        employee = current_employee()
        if employee:
            cls.write([l for l in leads if not l.employee],
                {'employee': employee.id})

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('invalid')
    def invalidate(cls, leads):
        pass

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('new')
    def recycle(cls, leads):
        "Give invalid leads back to every salesperson"
        cls.write(leads, {'employee': None})

    @classmethod
    @check_write_rule
    @ModelView.button_action('crm_plus.act_opportunity_form')
    @Workflow.transition('converted')
    def convert(cls, leads):
        "Create an opportunity per lead, with its customer when missing"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        opportunities = []
        for lead in leads:
            lead.employee = lead.get_owner()
            lead.party, lead.contact = lead.get_customer_contact()
            lead.opportunity = lead.get_opportunity()
            opportunities.append(lead.opportunity)
        Opportunity.save(opportunities)
        # While the leads have no customer, their follow-ups may be written
        cls.link_follow_ups(leads)
        cls.save(leads)
        return {'res_id': [o.id for o in opportunities]}

    def get_customer_contact(self):
        """Return the customer and the contact of the lead: the linked ones,
        the matching existing ones, or new ones"""
        if self.party:
            customer, contact = self.party, self.contact
        else:
            customer, contact = self.find_customer()
            if not customer:
                return self.create_customer()
        if (not contact and self.contact_name
                and customer.customer_nature == 'company'
                and self.may_write(customer)):
            contact = self.get_contact(customer)
        return customer, contact

    @staticmethod
    def may_write(customer):
        "Tell whether the user may change the customer, as to add a contact"
        Party = Pool().get('party.party')
        try:
            check_writable(Party, [customer])
        except AccessError:
            return False
        return True

    def get_contact(self, customer):
        """Return the contact of the customer named as the lead's contact,
        or a new one with the email and phone of the lead"""
        name = self.contact_name.strip()
        for link in customer.customer_contacts:
            if (link.contact.name or '').strip().lower() == name.lower():
                return link.contact
        return self.create_contact(customer, self._new_mechanisms())

    def create_contact(self, customer, mechanisms, primary=False):
        "Create the lead's contact person of the customer"
        pool = Pool()
        Party = pool.get('party.party')
        CustomerContact = pool.get('crm.customer.contact')
        contact = Party(
            name=self.contact_name.strip(), contact_mechanisms=mechanisms)
        contact.save()
        CustomerContact(
            customer=customer, contact=contact, primary=primary).save()
        return contact

    def find_customer(self):
        """Return the customer and contact matching the email or phone of
        the lead, or else the customer with its company name.

        Only the customers that the user may see are linked: a hidden one
        makes the duplicate check refuse the conversion and name it."""
        Party = Pool().get('party.party')
        with check_access():
            customer, contact = find_customer_contact(self.email, self.phone)
            if not customer and self.company_name:
                customers = Party.search([
                        ('customer_nature', '!=', None),
                        ('name', 'ilike',
                            _escape_like(self.company_name.strip())),
                        ], limit=1)
                if customers:
                    customer = customers[0]
        return customer, contact

    def create_customer(self):
        """Create the customer, and its contact for a company, from the
        free text of the lead; the duplicate check of customers applies"""
        Party = Pool().get('party.party')
        if not (self.company_name or self.contact_name or self.email):
            raise LeadError(gettext(
                    'crm_plus.msg_lead_convert_no_customer',
                    lead=self.rec_name))
        mechanisms = self._new_mechanisms()
        values = {
            'customer_source': self.source,
            'owner': self.employee,
            }
        if not self.company_name:
            customer = Party(
                name=self.contact_name or self.email.strip(),
                customer_nature='individual',
                contact_mechanisms=mechanisms, **values)
            customer.save()
            return customer, None
        customer = Party(
            name=self.company_name.strip(), customer_nature='company',
            contact_mechanisms=[] if self.contact_name else mechanisms,
            **values)
        customer.save()
        contact = None
        if self.contact_name:
            contact = self.create_contact(customer, mechanisms, primary=True)
        return customer, contact

    def _new_mechanisms(self):
        Mechanism = Pool().get('party.contact_mechanism')
        mechanisms = []
        if self.email:
            mechanisms.append(
                Mechanism(type='email', value=self.email.strip()))
        if self.phone:
            mechanisms.append(
                Mechanism(type='phone', value=self.phone.strip()))
        return mechanisms

    def get_owner(self):
        "Return the owner of the lead, or the converting employee"
        employee = self.employee or current_employee()
        if not employee:
            raise LeadError(gettext(
                    'crm_plus.msg_lead_convert_no_owner',
                    lead=self.rec_name))
        return employee

    def get_opportunity(self):
        "Return a draft opportunity for the lead"
        Opportunity = Pool().get('crm.opportunity')
        return Opportunity(
            company=self.company,
            name=self.name,
            party=self.party,
            contact=self.contact,
            employee=self.employee,
            source=self.source,
            campaign=self.campaign,
            currency=self.company.currency,
            description=self.description,
            lead=self,
            )

    @classmethod
    def link_follow_ups(cls, leads):
        "Attach the follow-ups of the leads to their customers"
        FollowUp = Pool().get('crm.follow_up')
        for lead in leads:
            follow_ups = FollowUp.search([
                    ('lead', '=', lead.id),
                    ('party', '=', None),
                    ])
            if follow_ups:
                FollowUp.write(follow_ups, {'party': lead.party.id})


def find_customer_contact(email=None, phone=None):
    """Return the customer and the contact that have the email address
    (in any case) or the phone number"""
    Mechanism = Pool().get('party.contact_mechanism')
    domain = ['OR']
    if email and email.strip():
        domain.append(('id', 'in', Mechanism.with_email(email.strip())))
    if phone and phone.strip():
        compact = Mechanism().format_value_compact(
            value=phone.strip(), type_='phone')
        domain.append([
                ('type', 'in', ['phone', 'mobile']),
                ('value_compact', '=', compact),
                ])
    if len(domain) == 1:
        return None, None
    for mechanism in Mechanism.search(domain, order=[('id', 'ASC')]):
        party = mechanism.party
        if party.customer_nature:
            return party, None
        if party.contact_of:
            return party.contact_of[0].customer, party
    return None, None


def _escape_like(value):
    return (value.replace('\\', '\\\\')
        .replace('%', '\\%').replace('_', '\\_'))


class LeadProduct(DataRulesMixin, ModelSQL):
    __name__ = 'crm.lead-product.product'
    __string__ = "Lead - Product"
    lead = fields.Many2One(
        'crm.lead', "Lead", required=True, ondelete='CASCADE')
    product = fields.Many2One(
        'product.product', "Product", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('lead')


class LeadAssignment(
        DataRulesMixin, DeactivableMixin, sequence_ordered(), ModelSQL,
        ModelView):
    """Who receives the leads that arrive by email: the first active rule
    whose sender domain matches gives the employee, or the next member of
    its team in turn."""
    __name__ = 'crm.lead.assignment'
    __string__ = "Lead Assignment Rule"
    company = fields.Many2One('company.company', "Company", required=True)
    sender_domain = fields.Char(
        "Sender Domain",
        help="The domain of the sender's email address, like example.com.\n"
        "Leave empty to match every sender.")
    employee = fields.Many2One(
        'company.employee', "Employee",
        domain=[('company', '=', Eval('company', -1))],
        states={
            'required': ~Eval('team'),
            'invisible': Bool(Eval('team')),
            })
    team = fields.Many2One(
        'crm.team', "Team",
        domain=[('company', '=', Eval('company', -1))],
        states={
            'required': ~Eval('employee'),
            'invisible': Bool(Eval('employee')),
            },
        help="The leads go to the members of the team in turn.")
    last_employee = fields.Many2One(
        'company.employee', "Last Assigned", readonly=True,
        states={'invisible': ~Eval('team')})

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def assignee(cls, company, sender):
        "Return the employee who gets a lead from sender, or None"
        domain = sender.rpartition('@')[2].lower() if sender else ''
        for rule in cls.search([('company', '=', company.id)]):
            if rule.sender_domain and not _domain_matches(
                    domain, rule.sender_domain):
                continue
            if rule.employee:
                return rule.employee
            employee = rule.next_member()
            if employee:
                return employee

    def next_member(self):
        "Return the team member after the last one assigned and remember it"
        Employee = Pool().get('company.employee')
        member_ids = sorted(e.id for e in self.team.members)
        if not member_ids:
            return
        transaction = Transaction()
        employee_id = None
        if transaction.database.has_select_for():
            employee_id = self._take_turn_committed(member_ids)
        if employee_id is None:
            employee_id = self._take_turn(member_ids)
        forget_cached(self.__class__, [self.id])
        return Employee(employee_id) if employee_id is not None else None

    def _take_turn_committed(self, member_ids):
        """Take the turn in a statement committed at once, or return None
        when the rule is not committed or this transaction holds its row.

        A concurrent email waits for the row and then reads the turn just
        taken.  Taken in the email's transaction, PostgreSQL would refuse
        the outdated read and fail the email."""
        with Transaction().new_transaction(autocommit=True) as transaction:
            cursor = transaction.connection.cursor()
            # Waiting longer would be waiting for ourselves
            cursor.execute("SET lock_timeout = '2s'")
            try:
                return self._take_turn(member_ids)
            except backend.DatabaseOperationalError:
                return None
            finally:
                cursor.execute('RESET lock_timeout')

    def _take_turn(self, member_ids):
        """Give the turn to the member after the last one in one statement
        and return him, or None if the rule is not found"""
        Employee = Pool().get('company.employee')
        table = self.__table__()
        employee = Employee.__table__()
        transaction = Transaction()
        cursor = transaction.connection.cursor()
        following = employee.select(Min(employee.id),
            where=employee.id.in_(member_ids)
            & (employee.id > Coalesce(table.last_employee, -1)))
        update = table.update(
            [table.last_employee], [Coalesce(following, member_ids[0])],
            where=table.id == self.id)
        if transaction.database.has_returning():
            update.returning = [table.last_employee]
            cursor.execute(*update)
        else:  # SQLite, where transactions run one at a time
            cursor.execute(*update)
            cursor.execute(*table.select(
                    table.last_employee, where=table.id == self.id))
        row = cursor.fetchone()
        return row[0] if row else None


def _domain_matches(domain, rule_domain):
    rule_domain = rule_domain.strip().lower().lstrip('@')
    return domain == rule_domain or domain.endswith('.' + rule_domain)


class Opportunity(metaclass=PoolMeta):
    __name__ = 'crm.opportunity'
    lead = fields.Many2One(
        'crm.lead', "Lead", readonly=True, ondelete='SET NULL',
        states={'invisible': ~Eval('lead')})


class Campaign(metaclass=PoolMeta):
    __name__ = 'crm.campaign'
    leads = fields.One2Many('crm.lead', 'campaign', "Leads", readonly=True)


class FollowUp(metaclass=PoolMeta):
    __name__ = 'crm.follow_up'
    lead = fields.Many2One(
        'crm.lead', "Lead", ondelete='SET NULL',
        domain=[('company', '=', Eval('company', -1))],
        help="The lead followed up, when it has no customer yet.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # Without customer, a follow-up follows the rules of its lead: the
        # record rules of crm.follow_up replace those of the customer
        cls.__access__.discard('party')
        cls.party.required = False
        cls.party.states['required'] = ~Eval('lead')
        # An opportunity needs a customer: convert the lead instead
        button = cls._buttons['create_opportunity']
        button['invisible'] |= ~Eval('party')
        button['depends'] = [*button['depends'], 'party']
        t = cls.__table__()
        cls._sql_indexes.add(
            Index(t, (t.lead, Index.Equality()), where=t.lead != None))  # noqa: E711

    @fields.depends('lead', '_parent_lead.party', 'party', '_parent_party.id')
    def on_change_lead(self):
        if self.lead and self.lead.party:
            self.party = self.lead.party

    @classmethod
    def _party_fields(cls):
        return super()._party_fields() | {'lead'}

    @classmethod
    def preprocess_values(cls, mode, values):
        Lead = Pool().get('crm.lead')
        if values.get('lead') and not values.get('party'):
            lead = Lead(values['lead'])
            if lead.party:
                values = values.copy()
                values['party'] = lead.party.id
        return super().preprocess_values(mode, values)

    @classmethod
    def validate_fields(cls, follow_ups, field_names):
        super().validate_fields(follow_ups, field_names)
        if field_names & {'party', 'lead'}:
            for follow_up in follow_ups:
                if not follow_up.party and not follow_up.lead:
                    raise LeadError(gettext(
                            'crm_plus.msg_follow_up_no_party_lead',
                            follow_up=follow_up.rec_name))
