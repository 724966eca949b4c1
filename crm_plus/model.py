# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

import datetime as dt
import hashlib
from functools import wraps

from sql import Cast, Literal, Select
from sql.conditionals import Case
from sql.functions import Function, Round

from trytond import backend
from trytond.i18n import gettext
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tools import grouped_slice, reduce_ids
from trytond.tools.timezone import get_tzinfo
from trytond.transaction import (
    Transaction, check_access, inactive_records, without_check_access)


def check_write_rule(func):
    """Refuse a button on the records the user may read but not change.

    ModelView.button checks only the read rules of the records: a document
    shared read-only could change state.  Decorate the button with it,
    above ModelView.button, which runs the button without access checks."""
    @wraps(func)
    def wrapper(cls, records, *args, **kwargs):
        if Transaction().check_access:
            check_writable(cls, records)
        return func(cls, records, *args, **kwargs)
    return wrapper


def check_writable(Model, records):
    """Raise AccessError for the first record the write rules of the user
    exclude, even where access is not checked, as in wizards"""
    Rule = Pool().get('ir.rule')
    if not Transaction().user:
        return
    with check_access():
        domain = Rule.domain_get(Model.__name__, mode='write')
    ids = [r.id for r in records if r.id is not None and r.id >= 0]
    if not domain or not ids:
        return
    with check_access():
        Model.read(ids, ['id'])
    with without_check_access(), inactive_records():
        writable = set(map(int, Model.search(
                    [('id', 'in', ids), domain], order=[])))
    for record in Model.browse(ids):
        if record.id not in writable:
            raise AccessError(gettext(
                    'crm_plus.msg_document_read_only',
                    document=record.rec_name))


def check_create_rules(Model, ids):
    """Raise AccessError if the create rules of the user exclude one of the
    records of ids, inserted without the ORM, as create checks its own"""
    Rule = Pool().get('ir.rule')
    if not Transaction().user or not ids:
        return
    with check_access():
        domain = Rule.domain_get(Model.__name__, mode='create')
    if not domain:
        return
    with without_check_access(), inactive_records():
        if Model.search([('id', 'in', ids), domain], count=True) == len(ids):
            return
        admitted = set(map(int, Model.search(
                    [('id', 'in', ids), domain], order=[])))
    refused = next(i for i in ids if i not in admitted)
    raise AccessError(gettext(
            'crm_plus.msg_create_rule_refused',
            model=Model.__names__()['model'],
            record=Model(refused).rec_name))


def touch_rows(Model, records):
    """Update the rows of the records without changing them.

    Unlike Model.lock, it locks them where the transaction is, without
    restarting it, so it also takes records being created.  Two
    transactions touching a row are serialized, and PostgreSQL fails the
    second if the first changed the row since its snapshot: it restarts
    and sees the change."""
    table = Model.__table__()
    cursor = Transaction().connection.cursor()
    for sub_ids in grouped_slice(
            {r.id for r in records}, backend.MAX_QUERY_PARAMS):
        cursor.execute(*table.update(
                [table.id], [table.id], where=reduce_ids(table.id, sub_ids)))


def local_midnight(date, timezone):
    "Return the UTC time at which the date starts in the timezone"
    start = dt.datetime.combine(date, dt.time())
    if not timezone:
        return start
    start = start.replace(tzinfo=get_tzinfo(timezone))
    return start.astimezone(dt.timezone.utc).replace(tzinfo=None)


def local_datetime(value, timezone):
    "Return the UTC datetime value as the date and time in the timezone"
    if not timezone:
        return value
    value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(get_tzinfo(timezone)).replace(tzinfo=None)


def convert_amount(amount, from_currency, to_currency, date):
    """Return the SQL amount in from_currency converted to to_currency at
    date and rounded as to_currency rounds, by the last rates before it as
    Currency.compute does (ties round away from zero, not to even).

    It is NULL where a rate is missing, which sums leave out: a report
    cannot raise for one row as Currency.compute does."""
    pool = Pool()
    Currency = pool.get('currency.currency')
    Rate = pool.get('currency.currency.rate')

    def rate_of(currency):
        rate = Rate.__table__()
        return rate.select(rate.rate,
            where=(rate.currency == currency) & (rate.date <= date),
            order_by=[rate.date.desc], limit=1)

    currency = Currency.__table__()
    rounding = currency.select(
        currency.rounding, where=currency.id == to_currency)
    converted = divide(amount * rate_of(to_currency), rate_of(from_currency))
    return Case((from_currency == to_currency, amount),
        else_=Round(divide(converted, rounding)) * rounding)


def divide(numerator, denominator):
    """Return the SQL division of numerator by denominator, in decimals.

    SQLite stores Numeric values as text that arithmetic reads as integers
    when they are whole, and divides integers as integers; PostgreSQL keeps
    numeric, which a float would turn into double precision."""
    if backend.name == 'sqlite':
        numerator *= Literal(1.0)
    return numerator / denominator


def forget_cached(Model, ids=None):
    """Drop the values of the records cached by the transaction, after an
    SQL statement changed them behind the ORM (all records when ids is None)
    """
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        if Model.__name__ in cache:
            if ids is None:
                cache[Model.__name__].clear()
            else:
                for id_ in ids:
                    cache[Model.__name__].pop(id_, None)


class _Any(Function):
    __slots__ = ()
    _function = 'ANY'


class _Array(Function):
    __slots__ = ()
    _function = 'ARRAY'


class Unnest(Function):
    __slots__ = ()
    _function = 'UNNEST'


def in_keys(column, keys, sql_type='VARCHAR'):
    """Return the condition that column is one of the keys, of sql_type.

    Where the database has arrays, the keys are one array parameter hidden
    from the planner behind a sub-select: given the thousands of keys of an
    import, PostgreSQL estimates that they match the whole table and scans
    it instead of probing the index once per key."""
    keys = list(keys)
    if backend.Database.has_array():
        keys = Cast(keys, f'{sql_type}[]')
        return column == _Any(_Array(Select([Unnest(keys)])))
    return column.in_(keys)


def wait_for_lock(name):
    """Wait for the lock on name, held until the end of the transaction, on
    a database that has them; return whether it has"""
    database = Transaction().database
    if not database.has_select_for():
        return False
    key = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**15
    cursor = Transaction().connection.cursor()
    cursor.execute(*Select([database.lock_id(key, True)]))
    return True
