# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Follow-up plans (联系计划): contacts planned for oneself or others."""

import datetime as dt

from icalendar import Event
from sql.conditionals import Coalesce
from sql.operators import Equal

from trytond import backend
from trytond.model import Exclude, Index, ModelSQL, ModelView, Workflow, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction

from .access import DataRulesMixin
from .model import check_write_rule, forget_cached, local_datetime
from .notify import notify_employees

REMINDER_AHEAD = dt.timedelta(days=1)


class Plan(DataRulesMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'crm.plan'
    __string__ = "Follow-up Plan"
    _rec_name = 'subject'
    _states = {'readonly': Eval('state') != 'open'}

    company = fields.Many2One(
        'company.company', "Company", required=True, states=_states)
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE',
        domain=[('customer_nature', '!=', None)],
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states)
    contact = fields.Many2One(
        'party.party', "Contact", ondelete='SET NULL',
        domain=[('contact_of.customer', '=', Eval('party', -1))],
        context={'company': Eval('company', -1)}, depends={'company'},
        states=_states)
    employee = fields.Many2One(
        'company.employee', "Employee", required=True,
        domain=[('company', '=', Eval('company', -1))], states=_states,
        help="Who makes the contact.")
    planned = fields.DateTime("Planned At", required=True, states=_states)
    method = fields.Many2One(
        'crm.follow_up.method', "Method", ondelete='RESTRICT', states=_states)
    subject = fields.Char("Subject", required=True, states=_states)
    description = fields.Text("Description", states=_states)
    follow_up = fields.Many2One(
        'crm.follow_up', "Follow-up", readonly=True, ondelete='SET NULL')
    reminded = fields.Boolean("Reminded", readonly=True)
    state = fields.Selection([
            ('open', "Open"),
            ('done', "Done"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)
    del _states

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')
        cls._order = [('planned', 'ASC'), ('id', 'ASC')]
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_contact_open',
                Exclude(t, (t.party, Equal),
                    (Coalesce(t.contact, -1), Equal),
                    where=t.state == 'open'),
                'crm_plus.msg_plan_one_open'),
            ]
        cls._sql_indexes.update({
                Index(t,
                    (t.employee, Index.Equality()),
                    (t.planned, Index.Range()),
                    where=t.state == 'open'),
                Index(t, (t.planned, Index.Range()),
                    where=(t.state == 'open') & (t.reminded == False)),  # noqa
                })
        cls._transitions |= {
            ('open', 'done'),
            ('open', 'cancelled'),
            ('cancelled', 'open'),
            }
        cls._buttons.update({
                'execute': {
                    'invisible': Eval('state') != 'open',
                    'depends': ['state'],
                    },
                'cancel': {
                    'invisible': Eval('state') != 'open',
                    'depends': ['state'],
                    },
                'reopen': {
                    'invisible': Eval('state') != 'cancelled',
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
        return 'open'

    @classmethod
    def default_reminded(cls):
        return False

    @classmethod
    def copy(cls, plans, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('follow_up', None)
        default.setdefault('reminded', False)
        return super().copy(plans, default=default)

    @classmethod
    @check_write_rule
    @ModelView.button_action('crm_plus.act_follow_up_form')
    @Workflow.transition('done')
    def execute(cls, plans):
        "Record the follow-up of each plan and close it"
        FollowUp = Pool().get('crm.follow_up')
        follow_ups = [plan.get_follow_up() for plan in plans]
        FollowUp.save(follow_ups)
        for plan, follow_up in zip(plans, follow_ups):
            plan.follow_up = follow_up
        cls.save(plans)
        return {'res_id': [f.id for f in follow_ups]}

    def get_follow_up(self):
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        Date = pool.get('ir.date')
        follow_up = FollowUp(
            company=self.company, party=self.party, contact=self.contact,
            employee=self.employee, date=Date.today(), method=self.method,
            subject=self.subject, content=self.description)
        follow_up.next_contact_date = follow_up.propose_next_contact_date()
        return follow_up

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, plans):
        pass

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('open')
    def reopen(cls, plans):
        pass

    @classmethod
    def send_reminders(cls):
        "Remind each employee of the plans due within a day, once per plan"
        now = dt.datetime.now()
        plans = cls.search([
                ('state', '=', 'open'),
                ('reminded', '=', False),
                ('planned', '<=', now + REMINDER_AHEAD),
                ])
        for plan in plans:
            plan.send_reminder()
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for sub_ids in grouped_slice(
                [p.id for p in plans], backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.update([table.reminded], [True],
                    where=reduce_ids(table.id, sub_ids)))
        forget_cached(cls, [p.id for p in plans])

    def send_reminder(self):
        notify_employees(
            [self.employee], 'crm_plus.msg_plan_reminder_subject',
            'crm_plus.msg_plan_reminder_body', {
                'subject': self.subject,
                'employee': self.employee.rec_name,
                'customer': self.party.rec_name,
                'contact': self.contact.rec_name if self.contact else '-',
                'planned': local_datetime(
                    self.planned, self.company.timezone).strftime(
                    '%Y-%m-%d %H:%M'),
                'description': self.description or '',
                },
            model=self.__name__, records=[self.id], email=True)

    def to_ical_event(self):
        """Return the plan as an iCalendar event, in UTC: a time without
        time zone is read in the calendar's own"""
        def utc(value):
            return value.replace(tzinfo=dt.timezone.utc)

        event = Event()
        event.add('uid', 'crm-plan-%s@%s' % (
                self.id, Transaction().database.name))
        event.add('dtstart', utc(self.planned))
        event.add('dtend', utc(self.planned + dt.timedelta(minutes=30)))
        event.add('dtstamp', utc(self.write_date or self.create_date))
        event.add('summary', '%s: %s' % (self.party.rec_name, self.subject))
        if self.description:
            event.add('description', self.description)
        return event
