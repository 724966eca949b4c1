# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

import datetime as dt
from unittest.mock import patch

from trytond.modules.company.tests import create_company, create_employee
from trytond.pool import Pool
from trytond.pyson import PYSONEncoder
from trytond.tests.test_tryton import RouteTestCase, with_transaction

from .test_access import GUARD
from .tools import (
    CommittedDataMixin, CrmTestCase, RPCError, RPCSession, acting_as,
    create_customer, create_world)


class FollowUpNotificationTestCase(CrmTestCase):
    "Test the notifications of follow-ups and plans"

    @with_transaction()
    def test_plan_reminded_once_by_email_and_in_client(self):
        "A plan due within a day is reminded once, by email and in the client"
        pool = Pool()
        Plan = pool.get('crm.plan')
        Notification = pool.get('res.notification')
        world = create_world()
        sales1 = world.users['sales1']
        sales1.email = 'sales1@example.com'
        sales1.save()
        party = create_customer("ACME", owner=world.employees['sales1'])
        now = dt.datetime.now()
        due = Plan(company=world.company, party=party,
            employee=world.employees['sales1'],
            planned=now + dt.timedelta(hours=2), subject="Call back")
        later = Plan(company=world.company, party=create_customer(
                "Globex", owner=world.employees['sales2']),
            employee=world.employees['sales2'],
            planned=now + dt.timedelta(days=3), subject="Visit")
        Plan.save([due, later])

        with patch('crm_plus.notify.send_message_transactional') as send:
            Plan.send_reminders()
            Plan.send_reminders()

        message, = [c.args[0] for c in send.call_args_list]
        self.assertEqual(message['To'], 'sales1@example.com')
        self.assertIn('Call back', message['Subject'])
        self.assertIn('ACME', message.get_content())
        notification, = Notification.search([('model', '=', 'crm.plan')])
        self.assertEqual(
            (notification.user, notification.records),
            (sales1, str([due.id])))
        self.assertTrue(Plan(due.id).reminded)
        self.assertFalse(Plan(later.id).reminded)

    @with_transaction()
    def test_plan_reminded_in_company_timezone(self):
        "The reminder of a plan tells its time in the company's time zone"
        pool = Pool()
        Plan = pool.get('crm.plan')
        Notification = pool.get('res.notification')
        world = create_world()
        world.company.timezone = 'Asia/Shanghai'
        world.company.save()
        sales1 = world.users['sales1']
        sales1.email = 'sales1@example.com'
        sales1.save()
        planned = (dt.datetime.now() + dt.timedelta(hours=2)).replace(
            second=0, microsecond=0)
        plan = Plan(company=world.company, party=create_customer(
                "ACME", owner=world.employees['sales1']),
            employee=world.employees['sales1'], planned=planned,
            subject="Call back")
        plan.save()

        with patch('crm_plus.notify.send_message_transactional') as send:
            Plan.send_reminders()

        message, = [c.args[0] for c in send.call_args_list]
        notification, = Notification.search([('model', '=', 'crm.plan')])
        # China has no daylight saving time
        local = (planned + dt.timedelta(hours=8)).strftime('%Y-%m-%d %H:%M')
        self.assertIn(local, message.get_content())
        self.assertIn(local, notification.description)

    @with_transaction()
    def test_plan_in_calendar_feed_in_utc(self):
        """The calendar feed gives the times of a plan in UTC, which the
        calendar shows in its time zone"""
        Plan = Pool().get('crm.plan')
        world = create_world()
        plan = Plan(company=world.company, party=create_customer(
                "ACME", owner=world.employees['sales1']),
            employee=world.employees['sales1'],
            planned=dt.datetime(2026, 3, 2, 1, 30), subject="Call back")
        plan.save()

        ical = plan.to_ical_event().to_ical().decode()
        self.assertIn('DTSTART:20260302T013000Z', ical)
        self.assertIn('DTEND:20260302T020000Z', ical)
        self.assertRegex(ical, r'DTSTAMP:\d{8}T\d{6}Z')

    @with_transaction()
    def test_notification_gives_action_values(self):
        """The client gets the values of a notification's action: sao 8.0
        fails to read an action given by id"""
        pool = Pool()
        Notification = pool.get('res.notification')
        ModelData = pool.get('ir.model.data')
        world = create_world()
        action_id = ModelData.get_id('crm_plus', 'act_customer_releasing')
        Notification(user=world.users['sales1'], label="Soon released",
            action=action_id).save()

        with acting_as(world.users['sales1']):
            notification, = Notification.get()
        action = notification['action']
        self.assertEqual(
            (action['type'], action['res_model']),
            ('ir.action.act_window', 'party.party'))

    @with_transaction()
    def test_supervisor_comment_notifies_owner(self):
        "The owner hears of a supervisor's comment, the supervisor does not"
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        Comment = pool.get('crm.follow_up.comment')
        Notification = pool.get('res.notification')
        world = create_world()
        party = create_customer("ACME", owner=world.employees['sales1'])
        with acting_as(world.users['sales1']):
            follow_up = FollowUp(
                party=party, date=dt.date.today(), subject="Demo done")
            follow_up.save()

        with acting_as(world.users['manager']):
            Comment(follow_up=follow_up, comment="Send the quote").save()

        notification, = Notification.search(
            [('model', '=', 'crm.follow_up')])
        self.assertEqual(notification.user, world.users['sales1'])
        self.assertIn('Manager', notification.description)
        self.assertIn('ACME', notification.description)

    @with_transaction()
    def test_contact_tracking_counts_in_company(self):
        "The tracking of a contact counts the follow-ups of the company only"
        pool = Pool()
        Party = pool.get('party.party')
        CustomerContact = pool.get('crm.customer.contact')
        FollowUp = pool.get('crm.follow_up')
        Tracking = pool.get('crm.contact.tracking')
        world = create_world()
        other = create_company("Other Co", currency=world.company.currency)
        stranger = create_employee(other, "Stranger")
        customer = create_customer("ACME", owner=world.employees['sales1'])
        contact = Party(name="Wang")
        contact.save()
        CustomerContact(customer=customer, contact=contact).save()
        for company, employee, day in [
                (world.company, world.employees['sales1'], 3),
                (world.company, world.employees['sales1'], 5),
                (other, stranger, 1),
                (other, stranger, 9),
                ]:
            FollowUp(company=company, party=customer, contact=contact,
                employee=employee, date=dt.date(2026, 3, day),
                subject="Call").save()

        with acting_as(world.users['sales1']):
            tracking, = Tracking.search([])
            self.assertEqual(
                (tracking.party, tracking.contact, tracking.follow_up_count,
                    tracking.first_contact_date, tracking.last_contact_date),
                (customer, contact, 2,
                    dt.date(2026, 3, 3), dt.date(2026, 3, 5)))


def rpc_date(value):
    "Return the date of a JSON-RPC value"
    return dt.date(value['year'], value['month'], value['day'])


class FollowUpLogTestCase(CommittedDataMixin, RouteTestCase):
    "Test the follow-ups logged in one dialog (写跟进)"
    module = 'crm_plus'

    @classmethod
    def create_data(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        world = create_world(passwords=True)
        direct = ModelData.get_id('crm_plus', 'customer_type_direct')
        cls.customers = {
            "Mine": create_customer("Mine", pool=world.east,
                owner=world.employees['sales1'], customer_type=direct).id,
            "Free": create_customer("Free", pool=world.east).id,
            "Open": create_customer("Open", pool=world.east).id,
            "Claimed": create_customer("Claimed", pool=world.east).id,
            "Locked": create_customer("Locked", pool=world.east,
                owner=world.employees['sales2']).id,
            }
        # Rules that only a check as the user applies
        RuleGroup = pool.get('ir.rule.group')
        RuleGroup.create([{
                    'name': "No forbidden follow-up",
                    'model': 'crm.follow_up', 'global_p': True,
                    'perm_read': False, 'perm_write': False,
                    'perm_create': True, 'perm_delete': False,
                    'rules': [('create', [{'domain': PYSONEncoder().encode(
                                        [('subject', '!=', "Forbidden")])}])],
                    }, {
                    'name': "No secret method",
                    'model': 'crm.follow_up.method', 'global_p': True,
                    'rules': [('create', [{'domain': PYSONEncoder().encode(
                                        [('code', '!=', "SECRET")])}])],
                    }])
        Method = pool.get('crm.follow_up.method')
        secret, = Method.create([{
                    'name': "Secret", 'code': "SECRET", 'sequence': 999}])
        cls.secret = secret.id
        cls.wizard = ModelData.get_id('crm_plus', 'wizard_follow_up_log')

    def log(self, rpc, name, start, context=None):
        """Run the dialog on the customer as the user of rpc, filled with
        start; return the defaults it showed"""
        context = {'active_model': 'party.party',
            'active_id': self.customers[name],
            'active_ids': [self.customers[name]], **(context or {})}
        session, _, _ = rpc('wizard.crm.follow_up.log.create',
            context=context)
        try:
            view = rpc('wizard.crm.follow_up.log.execute', session, {},
                'start', context=context)['view']
            rpc('wizard.crm.follow_up.log.execute', session,
                {'start': start}, 'create_', context=context)
        finally:
            rpc('wizard.crm.follow_up.log.delete', session, context=context)
        return view['defaults']

    @with_transaction()
    def follow_ups(self, name):
        "Return the follow-ups of the customer with the user who made them"
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        return [(f.subject, f.content, f.method.code if f.method else None,
                f.employee.rec_name, f.date, f.next_contact_date,
                f.create_uid.login)
            for f in FollowUp.search([
                    ('party', '=', self.customers[name]),
                    ], order=[('id', 'ASC')])]

    @with_transaction()
    def method(self, code):
        Method = Pool().get('crm.follow_up.method')
        method, = Method.search([('code', '=', code)])
        return method.id

    def test_button_opens_dialog(self):
        "The Log Follow-up button of a customer opens the dialog"
        rpc = RPCSession(self, 'sales1')
        self.assertEqual(rpc('model.party.party.log_follow_up',
                [self.customers["Mine"]]), self.wizard)

    def test_log_follow_up(self):
        """A follow-up logged in the dialog takes its subject from the first
        line of the content, the next contact proposed for the customer's
        type and the last method of the user, and updates the customer"""
        rpc = RPCSession(self, 'sales1')
        today = dt.date.today()
        defaults = self.log(rpc, "Mine", {
                'method': self.method('VISIT'),
                'content': "\n  Visited the buyer\nA quote is wanted",
                'next_contact_date': None,
                })
        self.assertEqual(defaults['method'], self.method('TEL'))
        self.assertFalse(defaults['claimable'])
        self.assertEqual(rpc_date(defaults['next_contact_date']),
            today + dt.timedelta(days=7))
        defaults = self.log(rpc, "Free", {
                'method': defaults['method'],
                'content': "Sent the catalogue " * 10,
                'next_contact_date': defaults['next_contact_date'],
                })
        self.assertEqual(defaults['method'], self.method('VISIT'))
        self.assertIsNone(defaults['next_contact_date'])
        self.assertTrue(defaults['claimable'])
        self.assertFalse(defaults['claim'])

        self.assertEqual(self.follow_ups("Mine"), [("Visited the buyer",
                    "\n  Visited the buyer\nA quote is wanted", 'VISIT',
                    "Sales1", today, None, 'sales1')])
        (subject, *_, next_date, _), = self.follow_ups("Free")
        self.assertEqual(len(subject), 60)
        self.assertTrue(subject.endswith("…"))
        self.assertEqual(next_date, today + dt.timedelta(days=7))
        customer, = rpc('model.party.party.read', [self.customers["Mine"]],
            ['follow_up_count', 'last_contact_date'])
        self.assertEqual(customer['follow_up_count'], 1)
        self.assertEqual(rpc_date(customer['last_contact_date']), today)

    def test_log_follow_up_claiming(self):
        "The dialog claims a customer of the pool with its follow-up"
        rpc = RPCSession(self, 'sales1')
        self.log(rpc, "Claimed", {'content': "Called", 'claim': True})

        @with_transaction()
        def ownership():
            pool = Pool()
            Party = pool.get('party.party')
            Log = pool.get('crm.ownership.log')
            customer = Party(self.customers["Claimed"])
            log, = Log.search([('party', '=', customer.id)])
            return (customer.owner.rec_name, log.action,
                customer.follow_up_count)
        self.assertEqual(ownership(), ("Sales1", 'claim', 1))

    def test_log_follow_up_obeys_rules(self):
        """The dialog creates the follow-up as the user: the record rules
        refuse a hidden customer, a follow-up they exclude and a link to a
        record the user may not read"""
        rpc = RPCSession(self, 'sales1')
        start = {'content': "Called"}
        with self.assertRaisesRegex(RPCError, 'not allowed to read'):
            self.log(rpc, "Locked", start)
        with self.assertRaisesRegex(RPCError, 'not allowed to create'):
            self.log(rpc, "Open", {'content': "Forbidden"})
        with self.assertRaisesRegex(RPCError, GUARD):
            self.log(rpc, "Open", {**start, 'method': self.secret})
        self.assertEqual(self.follow_ups("Locked"), [])
        self.assertEqual(self.follow_ups("Open"), [])
