# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Tell employees about something, in the client and by email."""

from email.message import EmailMessage

from trytond import config
from trytond.i18n import gettext
from trytond.pool import Pool
from trytond.sendmail import send_message_transactional
from trytond.transaction import Transaction

from .company import employee_users


def notify_employees(employees, label, message, values=None, **options):
    """Send each user of the employees a client notification, and an email
    when asked, with the messages translated in the user's language.

    `label` and `message` are ir.message ids formatted with the values."""
    notify_each(
        [(employee, values) for employee in employees], label, message,
        **options)


def notify_each(
        employee_values, label, message, *, model=None, records=None,
        action=None, email=False):
    """Notify as notify_employees does, with the values of each employee
    given in the list of (employee, values) pairs"""
    Notification = Pool().get('res.notification')
    notifications = []
    for employee, values in employee_values:
        for user in employee_users(employee):
            language = user.language.code if user.language else None
            with Transaction().set_context(language=language):
                title = gettext(label, **(values or {}))
                text = gettext(message, **(values or {}))
            notifications.append(Notification(
                    user=user, label=title,
                    description=' '.join(text.split()),  # one line
                    model=model, records=str(records) if records else None,
                    action=action))
            if email and user.email:
                send_email(user.email, title, text)
    Notification.save(notifications)


def send_email(to, subject, body):
    "Queue a plain-text email, sent when the transaction commits"
    msg = EmailMessage()
    msg['From'] = config.get('email', 'from')
    msg['To'] = to
    msg['Subject'] = subject
    msg.set_content(body)
    send_message_transactional(msg)
