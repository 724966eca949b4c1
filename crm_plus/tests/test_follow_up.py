# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

import datetime as dt
from unittest.mock import patch

from trytond.modules.company.tests import create_company, create_employee
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from .tools import CrmTestCase, acting_as, create_customer, create_world


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
