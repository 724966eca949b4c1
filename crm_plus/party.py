# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Customers (客户) are parties with a CRM profile."""

import datetime as dt

from sql import Literal, Null
from sql.aggregate import Count, Max
from sql.conditionals import Case
from sql.functions import Lower, Upper

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.modules.party.exceptions import InvalidPhoneNumber
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction

from .access import DataRulesMixin
from .company import current_employee, managed_employees
from .exceptions import (
    DuplicateCustomerError, KeyCustomerError, ShareError, WatchError)
from .model import in_keys

CUSTOMER_STATUSES = [
    (None, ""),
    ('potential', "Potential"),
    ('intention', "Intention"),
    ('deal', "Deal"),
    ('lost', "Lost"),
    ]
_customer = Bool(Eval('customer_nature'))
# The types of contact mechanism that hold a phone number, as in party
PHONE_TYPES = {'phone', 'mobile', 'fax'}


def customers_in_use(party):
    """Return the condition that the row of the party table is a customer
    still in use: not archived, as a merged duplicate is"""
    return (party.customer_nature != Null) & (party.active == Literal(True))


class Party(DataRulesMixin, metaclass=PoolMeta):
    __name__ = 'party.party'
    customer_nature = fields.Selection([
            (None, ""),
            ('company', "Company"),
            ('individual', "Individual"),
            ], "Customer Nature", sort=False,
        help="Set on the parties that the CRM manages as customers.")
    customer_type = fields.Many2One(
        'crm.customer.type', "Customer Type", ondelete='RESTRICT',
        states={'invisible': ~_customer})
    customer_level = fields.Many2One(
        'crm.customer.level', "Customer Level", ondelete='RESTRICT',
        states={'invisible': ~_customer})
    industry = fields.Many2One(
        'crm.industry', "Industry", ondelete='RESTRICT',
        states={'invisible': ~_customer})
    region = fields.Many2One(
        'crm.region', "Region", ondelete='RESTRICT',
        states={'invisible': ~_customer})
    customer_source = fields.Many2One(
        'crm.customer.source', "Customer Source", ondelete='RESTRICT',
        states={'invisible': ~_customer})
    customer_status = fields.Selection(
        CUSTOMER_STATUSES, "Customer Status", sort=False,
        states={'invisible': ~_customer})
    customer_contacts = fields.One2Many(
        'crm.customer.contact', 'customer', "Contacts",
        states={'invisible': ~_customer})
    contact_of = fields.One2Many(
        'crm.customer.contact', 'contact', "Contact of")
    key_customer = fields.Boolean(
        "Key Customer", states={'invisible': ~_customer},
        help="Marked by the owner as a customer to follow closely.")
    watchers = fields.Many2Many(
        'crm.customer.watcher', 'party', 'employee', "Watchers",
        states={'invisible': ~_customer})
    shares = fields.One2Many(
        'crm.customer.share', 'party', "Shares",
        states={'invisible': ~_customer})
    follow_up_count = fields.Integer(
        "Follow-up Count", readonly=True, states={'invisible': ~_customer})
    last_contact_date = fields.Date(
        "Last Contact", readonly=True, states={'invisible': ~_customer})
    next_contact_date = fields.Date(
        "Next Contact", states={'invisible': ~_customer})
    last_opportunity_date = fields.Date(
        "Last Opportunity", readonly=True, states={'invisible': ~_customer})
    last_deal_date = fields.Date(
        "Last Deal", readonly=True, states={'invisible': ~_customer})
    stale = fields.Function(
        fields.Boolean("Not Contacted Recently"),
        'get_stale', searcher='search_stale')
    watched = fields.Function(
        fields.Boolean("Watched by Me"), 'get_watched')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        customer = t.customer_nature != Null
        # The lists of owners search owned customers only: leaving the
        # released ones out of these indexes keeps the release job from
        # writing an entry in each of them for every customer it releases
        owned = customer & (t.owner != Null)
        cls._sql_indexes.update({
                # The duplicate check only looks names up: a hash index
                # costs the release job less than a B-tree on text
                Index(t,
                    (Lower(t.name), Index.Equality(cardinality='high')),
                    where=customer),
                # The customer lists of an owner, in the default order
                Index(t,
                    (t.owner, Index.Equality()),
                    (t.name, Index.Range()),
                    (t.id, Index.Range()),
                    where=owned),
                # The public pool in the default order: PostgreSQL does not
                # take "owner IS NULL" as an equality for the sort
                Index(t,
                    (t.name, Index.Range()),
                    (t.id, Index.Range()),
                    where=customer & (t.owner == Null)),
                Index(t,
                    (t.next_contact_date, Index.Range()),
                    where=owned),
                Index(t,
                    (t.last_contact_date, Index.Range(nulls_first=True)),
                    where=owned),
                })

    @classmethod
    def default_customer_status(cls):
        if Transaction().context.get('default_customer_nature'):
            return 'potential'

    @classmethod
    def default_follow_up_count(cls):
        return 0

    @classmethod
    def default_key_customer(cls):
        return False

    @fields.depends('customer_nature', 'customer_status')
    def on_change_customer_nature(self):
        if self.customer_nature and not self.customer_status:
            self.customer_status = 'potential'

    def get_stale(self, name):
        cutoff = self._stale_cutoff()
        return bool(self.customer_nature and (
                not self.last_contact_date
                or self.last_contact_date <= cutoff))

    @classmethod
    def _stale_cutoff(cls):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        Date = pool.get('ir.date')
        days = Configuration(1).stale_days
        return Date.today() - dt.timedelta(days=days)

    @classmethod
    def search_stale(cls, name, clause):
        _, operator, value = clause
        stale = [
            ('customer_nature', '!=', None),
            ('last_contact_date', '<=', cls._stale_cutoff()),
            ]
        if (operator == '=') == bool(value):
            return stale
        return ['OR',
            ('customer_nature', '=', None),
            ('last_contact_date', '>', cls._stale_cutoff()),
            ]

    def get_watched(self, name):
        employee = current_employee()
        return bool(employee and employee in self.watchers)

    @classmethod
    def preprocess_values(cls, mode, values):
        values = super().preprocess_values(mode, values)
        if values.get('customer_nature') and not values.get(
                'customer_status') and mode == 'create':
            values['customer_status'] = 'potential'
        if values.get('customer_status') == 'deal':
            values.setdefault(
                'last_deal_date', Pool().get('ir.date').today())
        return values

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        super().check_modification(
            mode, parties, values=values, external=external)
        if (mode == 'write' and external
                and 'key_customer' in values):
            cls.check_key_customer_owner(parties)

    @classmethod
    def check_key_customer_owner(cls, parties):
        employee = current_employee()
        for party in parties:
            if party.owner != employee:
                raise KeyCustomerError(gettext(
                        'crm_plus.msg_key_customer_owner',
                        customer=party.rec_name))

    @classmethod
    def validate_fields(cls, parties, field_names):
        super().validate_fields(parties, field_names)
        if field_names & {'name', 'customer_nature'}:
            cls.check_duplicate_names(parties)

    @classmethod
    def check_duplicate_names(cls, parties):
        "Refuse a customer whose name another customer already has"
        customers = [p for p in parties if p.customer_nature]
        names = {}
        for party in customers:
            key = party.name.strip().lower()
            if key in names and names[key] != party:
                raise DuplicateCustomerError(gettext(
                        'crm_plus.msg_customer_duplicate_name',
                        customer=party.rec_name, existing=names[key].rec_name))
            names[key] = party
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        for sub_keys in map(list, grouped_slice(
                    list(names), backend.MAX_QUERY_PARAMS)):
            cursor.execute(*table.select(table.id, Lower(table.name),
                    where=in_keys(Lower(table.name), sub_keys)
                    & (table.customer_nature != Null),
                    limit=len(sub_keys) + len(customers)))
            for existing_id, key in cursor:
                party = names.get(key)
                if party and party.id != existing_id:
                    raise DuplicateCustomerError(gettext(
                            'crm_plus.msg_customer_duplicate_name',
                            customer=party.rec_name,
                            existing=cls(existing_id).rec_name))

    @classmethod
    def update_follow_up_stats(cls, party_ids, restart_release=False):
        """Recompute the follow-up figures of the parties in one statement
        per slice of ids.

        With restart_release, a pending release warning is withdrawn
        because a new follow-up restarts the clock of the release rules."""
        pool = Pool()
        FollowUp = pool.get('crm.follow_up')
        party = cls.__table__()
        follow_up = FollowUp.__table__()
        cursor = Transaction().connection.cursor()
        latest = follow_up.select(follow_up.next_contact_date,
            where=follow_up.party == party.id,
            order_by=[follow_up.date.desc, follow_up.id.desc], limit=1)
        columns = [party.follow_up_count, party.last_contact_date,
            party.next_contact_date]
        values = [
            follow_up.select(Count(Literal(1)),
                where=follow_up.party == party.id),
            follow_up.select(Max(follow_up.date),
                where=follow_up.party == party.id),
            latest]
        if restart_release:
            columns.append(party.release_warned)
            values.append(Null)
        for sub_ids in grouped_slice(party_ids, backend.MAX_QUERY_PARAMS):
            cursor.execute(*party.update(columns, values,
                    where=reduce_ids(party.id, sub_ids)))
        cls.clear_record_cache()

    @classmethod
    def clear_record_cache(cls):
        "Forget the cached values that a direct SQL update made stale"
        transaction = Transaction()
        transaction.counter += 1
        for cache in transaction.cache.values():
            if cls.__name__ in cache:
                cache[cls.__name__].clear()

    @classmethod
    @ModelView.button
    def watch(cls, parties):
        pool = Pool()
        Watcher = pool.get('crm.customer.watcher')
        employee = current_employee()
        if not employee:
            return
        Watcher.save([Watcher(party=p, employee=employee)
                for p in parties if employee not in p.watchers])

    @classmethod
    @ModelView.button
    def unwatch(cls, parties):
        pool = Pool()
        Watcher = pool.get('crm.customer.watcher')
        employee = current_employee()
        Watcher.delete(Watcher.search([
                    ('party', 'in', [p.id for p in parties]),
                    ('employee', '=', employee.id if employee else -1),
                    ]))

    @classmethod
    @ModelView.button
    def toggle_key(cls, parties):
        cls.check_key_customer_owner(parties)
        for party in parties:
            party.key_customer = not party.key_customer
        cls.save(parties)


class Address(DataRulesMixin, metaclass=PoolMeta):
    __name__ = 'party.address'
    district = fields.Char(
        "District", help="The district or county within the city (区县).")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')

    @classmethod
    def default_country(cls):
        "Return the country of the address of the company"
        Company = Pool().get('company.company')
        company_id = Transaction().context.get('company')
        if company_id is not None and company_id >= 0:
            address = Company(company_id).party.address_get()
            if address and address.country:
                return address.country.id

    def _get_address_substitutions(self):
        substitutions = super()._get_address_substitutions()
        district = getattr(self, 'district', None) or ''
        # The address formats know no district: it follows the city, as
        # written in the language
        separator = (
            '' if (Transaction().language or '').startswith('zh') else ' ')
        city = separator.join(filter(None, [substitutions['city'], district]))
        substitutions.update({
                'district': district,
                'city': city,
                })
        for key in ['district', 'city']:
            substitutions[key.upper()] = substitutions[key].upper()
        return substitutions


class ContactMechanism(DataRulesMixin, metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.value_compact, Index.Equality()),
                    where=t.type.in_(cls._crm_unique_types())),
                # Senders of emails are matched in any case
                Index(t, (Lower(t.value_compact), Index.Equality()),
                    where=t.type == 'email'),
                })

    @classmethod
    def with_email(cls, email):
        "Return the ids of the email addresses equal to email in any case"
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*table.select(table.id,
                where=(table.type == 'email')
                & (Lower(table.value_compact) == Lower(email))))
        return [i for i, in cursor]

    @classmethod
    def _crm_unique_types(cls):
        return ['phone', 'mobile', 'email']

    def _phone_country_codes(self):
        "Read a number without country code in the CRM's phone country last"
        yield from super()._phone_country_codes()
        country = Pool().get('crm.configuration')(1).phone_country
        if country:
            yield country.code

    @classmethod
    def check_valid_phonenumber(cls, mechanisms, field_names=None):
        """Say in which countries an invalid phone number without country
        code was read"""
        try:
            super().check_valid_phonenumber(mechanisms, field_names)
        except InvalidPhoneNumber:
            for mechanism in mechanisms:
                value = (mechanism.value or '').strip()
                if (mechanism.type in PHONE_TYPES
                        and not value.startswith('+')
                        and not mechanism._parse_phonenumber(value)):
                    mechanism.raise_invalid_local_phone()
            raise

    def raise_invalid_local_phone(self):
        "Raise that the number is valid in none of the countries it was read"
        Country = Pool().get('country.country')
        codes = list(dict.fromkeys(self._phone_country_codes()))
        countries = sorted(Country.search([('code', 'in', codes)]),
            key=lambda c: codes.index(c.code))
        values = {'phone': self.value, 'party': self.party.rec_name}
        if countries:
            raise InvalidPhoneNumber(gettext(
                    'crm_plus.msg_phone_invalid_in_countries',
                    countries=', '.join(c.name for c in countries),
                    **values))
        raise InvalidPhoneNumber(gettext(
                'crm_plus.msg_phone_invalid_no_country', **values))

    @classmethod
    def validate_fields(cls, mechanisms, field_names):
        super().validate_fields(mechanisms, field_names)
        if field_names & {'value', 'type', 'party'}:
            cls.check_duplicate_customer(mechanisms)

    def _crm_duplicate_key(self):
        "Return the normalized value compared by the duplicate check"
        if self.type == 'email':
            return self.value.lower()
        return self.format_value_compact(value=self.value, type_=self.type)

    @classmethod
    def _crm_duplicate_column(cls, table):
        "Return the column of table that _crm_duplicate_key compares"
        return Case(
            (table.type == 'email', Lower(table.value_compact)),
            else_=table.value_compact)

    @classmethod
    def _crm_duplicate_where(cls, table, keys):
        "Return the condition on table matching the duplicate keys"
        types = cls._crm_unique_types()
        where = (table.type.in_([t for t in types if t != 'email'])
            & in_keys(table.value_compact, keys))
        if 'email' in types:
            where |= ((table.type == 'email')
                & in_keys(Lower(table.value_compact), keys))
        return where

    @classmethod
    def check_duplicate_customer(cls, mechanisms):
        """Refuse a phone or email that another customer already has"""
        pool = Pool()
        Party = pool.get('party.party')
        keys = {}
        for mechanism in mechanisms:
            if (mechanism.type in cls._crm_unique_types() and mechanism.value
                    and mechanism.party.customer_nature):
                key = mechanism._crm_duplicate_key()
                other = keys.setdefault(key, mechanism)
                if other.party != mechanism.party:
                    raise_duplicate_value(
                        mechanism.party, mechanism.value, other.party)
        table = cls.__table__()
        party = Party.__table__()
        cursor = Transaction().connection.cursor()
        for sub_keys in map(list, grouped_slice(
                    list(keys), backend.MAX_QUERY_PARAMS)):
            cursor.execute(*table.join(party,
                    condition=table.party == party.id
                    ).select(cls._crm_duplicate_column(table), table.party,
                    where=cls._crm_duplicate_where(table, sub_keys)
                    & (party.customer_nature != Null)))
            for key, party_id in cursor:
                mechanism = keys[key]
                if mechanism.party.id != party_id:
                    raise_duplicate_value(
                        mechanism.party, mechanism.value, Party(party_id))


def raise_duplicate_value(customer, value, existing):
    "Refuse a value of the customer that the existing customer already has"
    raise DuplicateCustomerError(gettext(
            'crm_plus.msg_customer_duplicate_contact',
            customer=customer.rec_name, value=value,
            existing=existing.rec_name))


class Identifier(DataRulesMixin, metaclass=PoolMeta):
    __name__ = 'party.identifier'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')
        t = cls.__table__()
        # the duplicate checks of customers look up the compact code
        cls._sql_indexes.add(
            Index(t, (Upper(t.code_compact),
                    Index.Equality(cardinality='high'))))

    @classmethod
    def validate_fields(cls, identifiers, field_names):
        super().validate_fields(identifiers, field_names)
        if field_names & {'code', 'type', 'party'}:
            cls.check_duplicate_customer(identifiers)

    def _crm_duplicate_key(self):
        "Return the normalized code compared by the duplicate check"
        return self.code_compact.upper()

    @classmethod
    def _crm_duplicate_column(cls, table):
        "Return the column of table that _crm_duplicate_key compares"
        return Upper(table.code_compact)

    @classmethod
    def check_duplicate_customer(cls, identifiers):
        """Refuse a tax identifier that another customer already has, typed
        or not and in any case: the compact code is compared"""
        pool = Pool()
        Party = pool.get('party.party')
        keys = {}
        for identifier in identifiers:
            if identifier.party.customer_nature:
                key = identifier._crm_duplicate_key()
                other = keys.setdefault(key, identifier)
                if other.party != identifier.party:
                    raise_duplicate_value(
                        identifier.party, identifier.code, other.party)
        table = cls.__table__()
        party = Party.__table__()
        column = cls._crm_duplicate_column(table)
        cursor = Transaction().connection.cursor()
        for sub_keys in map(list, grouped_slice(
                    list(keys), backend.MAX_QUERY_PARAMS)):
            cursor.execute(*table.join(party,
                    condition=table.party == party.id
                    ).select(column, table.party,
                    where=in_keys(column, sub_keys)
                    & (party.customer_nature != Null)))
            for key, party_id in cursor:
                identifier = keys[key]
                if identifier.party.id != party_id:
                    raise_duplicate_value(
                        identifier.party, identifier.code, Party(party_id))


class CustomerContact(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.customer.contact'
    __string__ = "Customer Contact"
    customer = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE',
        domain=[('customer_nature', '!=', None)])
    contact = fields.Many2One(
        'party.party', "Contact", required=True, ondelete='CASCADE')
    position = fields.Char("Position", translate=False)
    primary = fields.Boolean("Primary")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('customer_contact_unique', Unique(t, t.customer, t.contact),
                'crm_plus.msg_customer_contact_unique'),
            ]
        cls.__access__.add('customer')

    def get_rec_name(self, name):
        return self.contact.rec_name


class CustomerShare(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.customer.share'
    __string__ = "Customer Share"
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='CASCADE')
    mode = fields.Selection([
            ('read', "Read"),
            ('write', "Read and Write"),
            ], "Mode", required=True)
    until = fields.Date("Until", help="Leave empty to share indefinitely.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.employee, Index.Equality())),
                Index(t, (t.party, Index.Equality())),
                })

    @classmethod
    def default_mode(cls):
        return 'read'

    @classmethod
    def validate_fields(cls, shares, field_names):
        super().validate_fields(shares, field_names)
        if 'party' in field_names:
            cls.check_owned(shares)

    @classmethod
    def check_owned(cls, shares):
        "A customer is shared by its owner: the pool's belong to all"
        for share in shares:
            if not share.party.owner:
                raise ShareError(gettext(
                        'crm_plus.msg_customer_share_pool',
                        customer=share.party.rec_name))


class CustomerWatcher(DataRulesMixin, ModelSQL):
    __name__ = 'crm.customer.watcher'
    __string__ = "Customer Watcher"
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='CASCADE')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_employee_unique', Unique(t, t.party, t.employee),
                'crm_plus.msg_customer_watcher_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.employee, Index.Equality())))

    @classmethod
    def validate_fields(cls, watchers, field_names):
        super().validate_fields(watchers, field_names)
        cls.check_watchable(watchers)

    @classmethod
    def check_watchable(cls, watchers):
        """An employee may watch open customers and the customers of
        subordinates, never a colleague's"""
        managed = {}
        for watcher in watchers:
            owner = watcher.party.owner
            employee = watcher.employee
            if employee not in managed:
                managed[employee] = managed_employees(employee)
            if owner and owner.id not in managed[employee]:
                raise WatchError(gettext(
                        'crm_plus.msg_customer_watch_colleague',
                        employee=watcher.employee.rec_name,
                        customer=watcher.party.rec_name))
