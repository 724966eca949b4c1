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
    """Receive the email as inbound_email does, within the size limit of
    the database: trytond takes the limit from the route before it knows
    the database, so a bigger body is refused here, before it is read or,
    without Content-Length, as soon as it passes the limit"""
    Inbox = pool.get('inbound.email.inbox')
    try:
        pool.get('crm.configuration')
    except KeyError:
        # crm_plus is not activated in this database
        return receive_inbound_email(request, pool, identifier)
    if not Inbox.search([('identifier', '=', identifier)]):
        abort(HTTPStatus.NOT_FOUND)
    limit = pool.get('inbound.email').crm_max_size(
        upstream_inbound_email.max_request_size)
    if request.content_length is not None and request.content_length > limit:
        abort(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    # Read one byte more than the limit: werkzeug ends a body without
    # Content-Length at the limit without saying that it cut it
    request.max_content_length = limit + 1
    request.max_form_memory_size = limit
    if len(request.get_data()) > limit:
        abort(HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
    return receive_inbound_email(request, pool, identifier)
