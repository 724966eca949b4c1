# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Follow-up records (跟进记录) and the tracking of contacts."""

import datetime as dt

from sql import Literal, Null
from sql.aggregate import Count, Max, Min

from trytond.model import Index, ModelSQL, ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.transaction import Transaction, check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import DataRulesMixin, DataRulesWizardMixin
from .company import current_employee
from .notify import notify_employees

# The length of the subject that a follow-up logged in one dialog takes
# from the first line of its content
SUBJECT_SIZE = 60


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    follow_ups = fields.One2Many(
        'crm.follow_up', 'party', "Follow-ups",
        states={'invisible': ~Eval('customer_nature')})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._buttons.update({
                'log_follow_up': {
                    'invisible': ~Bool(Eval('customer_nature')),
                    'depends': ['customer_nature'],
                    },
                })

    @classmethod
    @ModelView.button_action('crm_plus.wizard_follow_up_log')
    def log_follow_up(cls, parties):
        pass


class FollowUp(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.follow_up'
    __string__ = "Follow-up"
    _rec_name = 'subject'
    company = fields.Many2One('company.company', "Company", required=True)
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE',
        domain=[('customer_nature', '!=', None)],
        context={'company': Eval('company', -1)}, depends={'company'})
    contact = fields.Many2One(
        'party.party', "Contact", ondelete='SET NULL',
        domain=[('contact_of.customer', '=', Eval('party', -1))],
        context={'company': Eval('company', -1)}, depends={'company'})
    employee = fields.Many2One(
        'company.employee', "Employee", required=True,
        domain=[('company', '=', Eval('company', -1))])
    date = fields.Date("Date", required=True)
    method = fields.Many2One(
        'crm.follow_up.method', "Method", ondelete='RESTRICT')
    subject = fields.Char("Subject", required=True)
    content = fields.Text("Content")
    next_contact_date = fields.Date(
        "Next Contact",
        domain=['OR',
            ('next_contact_date', '=', None),
            ('next_contact_date', '>=', Eval('date', None)),
            ],
        help="Proposed from the follow-up frequency of the customer type.")
    comments = fields.One2Many(
        'crm.follow_up.comment', 'follow_up', "Supervisor Comments")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t,
                    (t.party, Index.Equality()),
                    (t.date, Index.Range(order='DESC'))),
                Index(t, (t.employee, Index.Equality())),
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

    @fields.depends(methods=['propose_next_contact_date'])
    def on_change_party(self):
        self.next_contact_date = self.propose_next_contact_date()

    @fields.depends(methods=['on_change_party'])
    def on_change_date(self):
        self.on_change_party()

    @fields.depends('party', '_parent_party.customer_type', 'date')
    def propose_next_contact_date(self):
        "Return the date of the next contact from the customer type"
        if (self.party and self.date and self.party.customer_type
                and self.party.customer_type.follow_up_days):
            return self.date + dt.timedelta(
                days=self.party.customer_type.follow_up_days)

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Party = pool.get('party.party')
        Date = pool.get('ir.date')
        values = super().preprocess_values(mode, values)
        if mode == 'create' and 'next_contact_date' not in values:
            follow_up = cls(
                party=Party(values['party']) if values.get('party') else None,
                date=values.get('date') or Date.today())
            values['next_contact_date'] = follow_up.propose_next_contact_date()
        return values

    @classmethod
    def on_modification(cls, mode, follow_ups, field_names=None):
        super().on_modification(mode, follow_ups, field_names=field_names)
        if mode in {'create', 'write'} and (field_names is None
                or field_names & (cls._party_fields()
                    | {'date', 'next_contact_date'})):
            cls._update_parties(follow_ups)

    @classmethod
    def _party_fields(cls):
        """The fields whose write may change the customer: preprocess_values
        may derive the customer from them"""
        return {'party'}

    @classmethod
    def on_write(cls, follow_ups, values):
        callbacks = super().on_write(follow_ups, values)
        # The customers the follow-ups leave lose their figures
        left = bool(values.keys() & cls._party_fields()) and list(
            {f.party.id for f in follow_ups if f.party})
        if left:
            callbacks.append(lambda: Pool().get(
                    'party.party').update_follow_up_stats(left))
        return callbacks

    @classmethod
    def delete(cls, follow_ups):
        party_ids = {f.party.id for f in follow_ups if f.party}
        super().delete(follow_ups)
        Pool().get('party.party').update_follow_up_stats(list(party_ids))

    @classmethod
    def _update_parties(cls, follow_ups):
        pool = Pool()
        Party = pool.get('party.party')
        party_ids = list({f.party.id for f in follow_ups if f.party})
        Party.update_follow_up_stats(party_ids, restart_release=True)


class FollowUpComment(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.follow_up.comment'
    __string__ = "Follow-up Comment"
    follow_up = fields.Many2One(
        'crm.follow_up', "Follow-up", required=True, ondelete='CASCADE')
    employee = fields.Many2One('company.employee', "Reviewer", required=True)
    date = fields.DateTime("Date", required=True, readonly=True)
    comment = fields.Text("Comment", required=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('follow_up')
        cls._order.insert(0, ('date', 'DESC'))

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_date(cls):
        return dt.datetime.now()

    @classmethod
    def on_modification(cls, mode, comments, field_names=None):
        super().on_modification(mode, comments, field_names=field_names)
        if mode == 'create':
            cls.notify_owner(comments)

    @classmethod
    def notify_owner(cls, comments):
        "Tell the owner of the customer that a supervisor commented"
        for comment in comments:
            follow_up = comment.follow_up
            party = follow_up.party
            owner = (party.owner if party else None) or follow_up.employee
            if owner != current_employee():
                notify_employees(
                    [owner], 'crm_plus.msg_follow_up_commented_label',
                    'crm_plus.msg_follow_up_commented', {
                        'reviewer': comment.employee.rec_name,
                        'customer': (party or follow_up.lead).rec_name,
                        'follow_up': follow_up.rec_name,
                        },
                    model='crm.follow_up', records=[follow_up.id])


class ContactTracking(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.contact.tracking'
    __string__ = "Contact Tracking"
    party = fields.Many2One(
        'party.party', "Customer", required=True, readonly=True)
    contact = fields.Many2One('party.party', "Contact", readonly=True)
    follow_up_count = fields.Integer("Follow-ups", readonly=True)
    first_contact_date = fields.Date("First Contact", readonly=True)
    last_contact_date = fields.Date("Last Contact", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')
        cls._order = [('last_contact_date', 'DESC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        "Count the follow-ups of each contact in the company of the context"
        FollowUp = Pool().get('crm.follow_up')
        follow_up = FollowUp.__table__()
        company = Transaction().context.get('company', -1)
        return follow_up.select(
            Min(follow_up.id).as_('id'),
            follow_up.party.as_('party'),
            follow_up.contact.as_('contact'),
            Count(Literal(1)).as_('follow_up_count'),
            Min(follow_up.date).as_('first_contact_date'),
            Max(follow_up.date).as_('last_contact_date'),
            where=(follow_up.contact != Null)
            & (follow_up.company == company),
            group_by=[follow_up.party, follow_up.contact])


class FollowUpLogStart(ModelView):
    __name__ = 'crm.follow_up.log.start'
    __string__ = "Log Follow-up"
    claimable = fields.Boolean("Claimable", readonly=True)
    claim = fields.Boolean(
        "Claim the Customer",
        states={'invisible': ~Eval('claimable', False)},
        help="Take the customer from its public pool before logging.")
    method = fields.Many2One('crm.follow_up.method', "Method")
    content = fields.Text("Content", required=True)
    date = fields.Date("Date", readonly=True)
    next_contact_date = fields.Date(
        "Next Contact",
        domain=['OR',
            ('next_contact_date', '=', None),
            ('next_contact_date', '>=', Eval('date', None)),
            ],
        help="Proposed from the follow-up frequency of the customer type.")

    @classmethod
    def default_date(cls):
        return Pool().get('ir.date').today()


class FollowUpLog(DataRulesWizardMixin, Wizard):
    "Log a follow-up of customers in one dialog (写跟进)"
    __name__ = 'crm.follow_up.log'
    __string__ = "Log Follow-up"
    start = StateView('crm.follow_up.log.start',
        'crm_plus.follow_up_log_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Log", 'create_', 'tryton-ok', default=True),
            ])
    create_ = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        Start = pool.get('crm.follow_up.log.start')
        defaults = {
            'method': self._default_method(),
            'claimable': all(
                p.customer_nature and p.pool and not p.owner
                for p in self.records),
            'claim': False,
            }
        if len(self.records) == 1:
            record, = self.records
            defaults['next_contact_date'] = FollowUp(
                party=record, date=Start.default_date()
                ).propose_next_contact_date()
        return defaults

    @classmethod
    def _default_method(cls):
        "Return the id of the method of the user's latest follow-up"
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        Method = pool.get('crm.follow_up.method')
        employee = current_employee()
        if employee:
            latest = FollowUp.search([
                    ('employee', '=', employee.id),
                    ('method', '!=', None),
                    ], limit=1)
            if latest:
                return latest[0].method.id
        methods = Method.search([], limit=1)
        if methods:
            return methods[0].id

    def transition_create_(self):
        FollowUp = Pool().get('crm.follow_up')
        # The wizard runs without access checks, and save would too: the
        # customers are claimed and the follow-ups created as the user,
        # under the record rules and the link guard
        with check_access():
            if self.start.claim:
                self.model.claim(list(self.records))
            FollowUp.create([self.get_follow_up(r) for r in self.records])
        return 'end'

    def get_follow_up(self, party):
        "Return the values of the follow-up of party that the dialog gives"
        employee = current_employee()
        return {
            'company': Transaction().context.get('company'),
            'party': party.id,
            'employee': employee.id if employee else None,
            'date': self.start.date,
            'method': self.start.method.id if self.start.method else None,
            'subject': self.get_subject(),
            'content': self.start.content,
            'next_contact_date': self.start.next_contact_date,
            }

    def get_subject(self):
        "Return the first line of the content, shortened"
        lines = [l.strip() for l in self.start.content.splitlines()]
        subject = next(filter(None, lines), '')
        if len(subject) > SUBJECT_SIZE:
            subject = subject[:SUBJECT_SIZE - 1] + '…'
        if not subject and self.start.method:
            subject = self.start.method.rec_name
        return subject
