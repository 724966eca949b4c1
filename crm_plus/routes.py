# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The iCalendar feed of an employee's open plans, and the size limit of the
inbound email route."""

import inspect

from icalendar import Calendar
from werkzeug.routing import UnicodeConverter

from trytond.modules.inbound_email import routes as inbound_email_routes
from trytond.protocols.wrappers import (
    HTTPStatus, Response, abort, set_max_request_size, with_pool,
    with_transaction)
from trytond.wsgi import app


@app.route('/<database_name>/crm_plus/plans.ics', methods={'GET'})
@with_pool
@with_transaction(user='request')
def plans_ics(request, pool):
    "Serve the open plans of the authenticated user as an .ics feed"
    User = pool.get('res.user')
    Plan = pool.get('crm.plan')
    if not request.user_id:
        abort(HTTPStatus.UNAUTHORIZED)
    user = User(request.user_id)
    calendar = Calendar()
    calendar.add('prodid', '-//crm_plus//Tryton//')
    calendar.add('version', '2.0')
    if user.employee:
        for plan in Plan.search([
                    ('employee', '=', user.employee.id),
                    ('state', '=', 'open'),
                    ]):
            calendar.add_component(plan.to_ical_event())
    return Response(calendar.to_ical(), mimetype='text/calendar')


class InboxConverter(UnicodeConverter):
    """The identifier of an inbox: a lighter weight makes werkzeug match
    the route below before the route of inbound_email at the same URL"""
    weight = UnicodeConverter.weight - 1


app.url_map.converters['crm_inbox'] = InboxConverter
upstream_inbound_email = inbound_email_routes.inbound_email
receive_inbound_email = inspect.unwrap(upstream_inbound_email)


@app.route(
    '/<database_name>/inbound_email/inbox/<crm_inbox:identifier>',
    methods={'POST'})
@set_max_request_size(upstream_inbound_email.max_request_size)
@with_pool
@with_transaction()
def inbound_email(request, pool, identifier):
    """Receive the email as inbound_email does but within the size limit of
    the database, which trytond cannot know when it sets the limit of the
    request; a bigger email is refused and recorded"""
    Inbox = pool.get('inbound.email.inbox')
    Email = pool.get('inbound.email')
    try:
        pool.get('crm.configuration')
    except KeyError:
        # crm_plus is not activated in this database
        return receive_inbound_email(request, pool, identifier)
    try:
        inbox, = Inbox.search([('identifier', '=', identifier)])
    except ValueError:
        abort(HTTPStatus.NOT_FOUND)
    limit = Email.crm_max_size(upstream_inbound_email.max_request_size)
    if not _too_big(request, limit):
        return receive_inbound_email(request, pool, identifier)
    reason = Email.crm_refuse_unread(
        inbox, request.args.get('type', 'raw'), request.content_length, limit)
    return Response(
        reason, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, mimetype='text/plain')


def _too_big(request, limit):
    """Return whether the body of the request is bigger than limit, reading
    it only when its Content-Length is within the limit, or is missing and
    then up to one byte past the limit: werkzeug ends such a body at the
    limit without saying that it cut it"""
    if request.content_length is not None and request.content_length > limit:
        return True
    request.max_content_length = limit + 1
    request.max_form_memory_size = limit
    return len(request.get_data()) > limit
