# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The iCalendar feed of an employee's open plans."""

from icalendar import Calendar

from trytond.protocols.wrappers import (
    HTTPStatus, Response, abort, with_pool, with_transaction)
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
