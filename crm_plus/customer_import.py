# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Batch import of customers from a CSV file (批量导入).

The salesperson downloads the template, fills one customer per line and
imports the file into a pool. Every line is checked first (names, natures,
types, phones, emails and duplicates, against the file and the existing
customers) and nothing is written when one line is wrong. The customers,
their contact mechanisms and identifiers are then inserted set-based, one
INSERT per slice of rows, not one ORM create per customer: the defaults and
computed columns are filled as create does, but the creation triggers and
hooks of other modules do not run."""

import csv
import datetime as dt
import io
import re
from itertools import zip_longest

from sql import Cast
from sql.functions import Lower
from stdnum.cn import uscc

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool
from trytond.tools import grouped_slice
from trytond.tools.email_ import normalize_email
from trytond.transaction import Transaction, check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import DataRulesWizardMixin
from .exceptions import CustomerImportError
from .model import Unnest, check_create_rules, in_keys, wait_for_lock

try:
    from email_validator import EmailNotValidError
    from email_validator import validate_email as _validate_email
except ImportError:
    _validate_email = None
try:
    import phonenumbers
    from phonenumbers import NumberParseException, PhoneNumberFormat
except ImportError:
    phonenumbers = None

# The columns of the template, in order: the header of a column is its key
# or the text of its message in any language
COLUMNS = ['name', 'nature', 'type', 'phone', 'mobile', 'email', 'tax_id']
LANGUAGES = ['en', 'zh_CN']
ENCODINGS = ['utf-8-sig', 'gb18030']
MAX_ERRORS = 20
EMAIL = re.compile(r'^[^@\s]+@[^@\s]+\.[^@\s]+$')


class CustomerImportStart(ModelView):
    __name__ = 'crm.customer.import.start'
    __string__ = "Import Customers"
    file_ = fields.Binary(
        "File", required=True, filename='file_name',
        help="A CSV file with one customer per line, "
        "in the columns of the template.")
    file_name = fields.Char("File Name")
    pool = fields.Many2One(
        'crm.pool', "Pool", required=True,
        help="The public pool that receives the imported customers.")
    template = fields.Binary(
        "Template", readonly=True, filename='template_name',
        help="The columns to fill, one customer per line.")
    template_name = fields.Char("Template Name", readonly=True)

    @classmethod
    def default_pool(cls):
        config = Pool().get('crm.configuration')(1)
        return config.default_pool.id if config.default_pool else None

    @classmethod
    def default_template(cls):
        output = io.StringIO()
        csv.writer(output).writerow(
            [column_header(c) for c in COLUMNS])
        return output.getvalue().encode('utf-8-sig')

    @classmethod
    def default_template_name(cls):
        return gettext('crm_plus.msg_customer_import_template_name')


class CustomerImportDone(ModelView):
    __name__ = 'crm.customer.import.done'
    __string__ = "Import Customers"
    imported = fields.Integer("Imported Customers", readonly=True)


class CustomerImport(DataRulesWizardMixin, Wizard):
    __name__ = 'crm.customer.import'
    __string__ = "Import Customers"
    start = StateView('crm.customer.import.start',
        'crm_plus.customer_import_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Import", 'import_', 'tryton-ok', default=True),
            ])
    import_ = StateTransition()
    done = StateView('crm.customer.import.done',
        'crm_plus.customer_import_done_view_form', [
            Button("Close", 'end', 'tryton-close', default=True),
            ])

    def transition_import_(self):
        self.done.imported = len(
            self.import_file(self.start.file_, self.start.pool))
        return 'done'

    def default_done(self, fields):
        return {'imported': self.done.imported}

    @classmethod
    def import_file(cls, data, pool):
        "Import the customers of the CSV data into pool; return their ids"
        return cls.import_rows(read_csv(data), pool)

    @classmethod
    def import_rows(cls, rows, pool):
        """Import the customers of rows, dictionaries of the COLUMNS keys
        numbered by line, into pool; return their ids.

        Nothing is written when a line is wrong (the error lists the first
        MAX_ERRORS wrong lines) or when the access rights or the create
        rules of the user refuse a customer, a contact mechanism or a tax
        identifier.

        Concurrent imports wait for each other: each checks the customers
        it sees and those that an import committed meanwhile."""
        ModelAccess = Pool().get('ir.model.access')
        # wizards run without access checks: the insert bypasses create
        with check_access():
            for model in ['party.party', 'party.contact_mechanism',
                    'party.identifier']:
                ModelAccess.check(model, 'create')
        customers = CustomerLines(rows)
        customers.check_existing()
        if wait_for_lock(cls.__name__):
            with Transaction().new_transaction(readonly=True):
                customers.check_existing()
        customers.raise_errors()
        created = customers.insert(pool)
        for Model, ids in created.items():
            check_create_rules(Model, ids)
        return created[Pool().get('party.party')]


def valid_email(value):
    """Return whether value is an email address by its syntax: with
    email_validator, as party checks it but without the DNS lookup that
    would cost a round trip per line"""
    if not EMAIL.match(value):
        return False
    if _validate_email:
        try:
            _validate_email(value, check_deliverability=False,
                test_environment=Pool.test)
        except EmailNotValidError:
            return False
    return True


def column_header(column, language=None):
    "Return the header of column in language (the user's by default)"
    if language is None:
        return gettext(f'crm_plus.msg_customer_import_column_{column}')
    return gettext(f'crm_plus.msg_customer_import_column_{column}', language)


def read_csv(data):
    """Yield the lines of the CSV data as (line number, {column: value})

    The header names the columns by their key or their header in any
    language. Excel saves CSV files in GB18030 on Chinese Windows."""
    text = decode(bytes(data))
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise CustomerImportError(
            gettext('crm_plus.msg_customer_import_empty'))
    columns = header_columns(header)
    for row in reader:
        if not any(v.strip() for v in row):
            continue
        # spreadsheets save empty cells beyond the last column
        if any(v and v.strip() for c, v in zip_longest(columns, row)
                if c is None):
            raise CustomerImportError(gettext(
                    'crm_plus.msg_customer_import_too_many_values',
                    line=reader.line_num))
        yield reader.line_num, {
            c: v.strip() for c, v in zip(columns, row) if c}


def decode(data):
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CustomerImportError(
        gettext('crm_plus.msg_customer_import_encoding'))


def header_columns(header):
    "Return the column keys of the header (None for an empty header)"
    known = {}
    for column in COLUMNS:
        known[column] = column
        for language in LANGUAGES:
            known[column_header(column, language).lower()] = column
    columns = []
    for name in header:
        name = name.strip()
        if name and name.lower() not in known:
            raise CustomerImportError(gettext(
                    'crm_plus.msg_customer_import_unknown_column',
                    column=name,
                    columns=', '.join(column_header(c) for c in COLUMNS)))
        column = known.get(name.lower())
        if column and column in columns:
            raise CustomerImportError(gettext(
                    'crm_plus.msg_customer_import_repeated_column',
                    column=name))
        columns.append(column)
    if 'name' not in columns:
        raise CustomerImportError(gettext(
                'crm_plus.msg_customer_import_no_name',
                column=column_header('name')))
    return columns


class CustomerLines:
    """The customers read from the lines of a file, checked one by one and
    against each other as they are added"""

    def __init__(self, rows):
        self.customers = []
        self.errors = []
        # duplicate key → (line, value) of the first line that has it
        self.names = {}
        self.values = {}
        self.codes = {}
        self.natures, self.nature_labels = customer_natures()
        self.types = customer_types()
        self.phone_countries = phone_countries()
        # party names the unified social credit code type by its VAT alias
        self.uscc_type = 'cn_vat' in dict(
            Pool().get('party.identifier').get_types())
        for line, row in rows:
            self.add(line, row)
        if not self.customers and not self.errors:
            raise CustomerImportError(
                gettext('crm_plus.msg_customer_import_empty'))

    def error(self, message, line, **variables):
        self.errors.append((line, gettext(
                    f'crm_plus.msg_customer_import_{message}',
                    line=line, **variables)))

    def add(self, line, row):
        errors = len(self.errors)
        name = row.get('name')
        if not name:
            self.error('name_required', line=line)
        nature = self.natures.get(
            (row.get('nature') or 'company').lower())
        if not nature:
            self.error('nature', line=line, value=row['nature'],
                natures=', '.join(self.nature_labels))
        type_ = None
        if row.get('type'):
            type_ = self.types.get(row['type'].lower())
            if not type_:
                self.error('type', line=line, value=row['type'])
        mechanisms = self.parse_mechanisms(line, row)
        if len(self.errors) > errors:
            return
        self.check_repeated(self.names, line, name.lower(), name)
        for _, value, compact in mechanisms:
            self.check_repeated(self.values, line, compact.lower(), value)
        tax_type, tax_id = self.parse_tax_id(row.get('tax_id'))
        if tax_id:
            self.check_repeated(
                self.codes, line, tax_id.upper(), row['tax_id'])
        self.customers.append({
                'line': line,
                'name': name,
                'nature': nature,
                'type': type_,
                'mechanisms': mechanisms,
                'tax_type': tax_type,
                'tax_id': tax_id,
                })

    def parse_tax_id(self, code):
        """Return the identifier type and code of the tax id: a valid
        unified social credit code (统一社会信用代码) is typed as such"""
        if code and self.uscc_type and uscc.is_valid(code):
            return 'cn_vat', uscc.compact(code)
        return None, code

    def parse_mechanisms(self, line, row):
        "Return the (type, value, compact value) of the row's mechanisms"
        mechanisms = []
        for kind in ['phone', 'mobile']:
            if row.get(kind):
                mechanism = self.parse_phone(line, kind, row[kind])
                if mechanism:
                    mechanisms.append(mechanism)
        if row.get('email'):
            if valid_email(row['email']):
                # value and value_compact as ContactMechanism.compute_fields
                mechanisms.append(
                    ('email', normalize_email(row['email']), row['email']))
            else:
                self.error('email', line=line, value=row['email'])
        return mechanisms

    def parse_phone(self, line, kind, value):
        "Return (kind, value, compact) formatted as party does, or None"
        if not phonenumbers:
            return kind, value, value
        for country in self.phone_countries:
            try:
                number = phonenumbers.parse(value, country)
            except NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return (kind,
                    phonenumbers.format_number(
                        number, PhoneNumberFormat.INTERNATIONAL),
                    phonenumbers.format_number(
                        number, PhoneNumberFormat.E164))
        self.error('phone', line=line, value=value)

    def check_repeated(self, seen, line, key, value):
        other = seen.setdefault(key, (line, value))
        if other[0] != line:
            self.error('repeated', line=line, value=value, other=other[0])

    def check_existing(self):
        "Report the lines that repeat a name, value or tax id of a customer"
        pool = Pool()
        Party = pool.get('party.party')
        ContactMechanism = pool.get('party.contact_mechanism')
        Identifier = pool.get('party.identifier')
        party = Party.__table__()
        mechanism = ContactMechanism.__table__()
        identifier = Identifier.__table__()
        is_customer = party.customer_nature != None  # noqa: E711
        self._check_existing(self.names, lambda keys: party.select(
                Lower(party.name), party.name,
                where=in_keys(Lower(party.name), keys) & is_customer))
        key = ContactMechanism._crm_duplicate_column(mechanism)
        self._check_existing(self.values, lambda keys: mechanism.join(
                party, condition=mechanism.party == party.id).select(
                key, party.name,
                where=ContactMechanism._crm_duplicate_where(mechanism, keys)
                & is_customer))
        key = Identifier._crm_duplicate_column(identifier)
        self._check_existing(self.codes, lambda keys: identifier.join(
                party, condition=identifier.party == party.id).select(
                key, party.name,
                where=in_keys(key, keys) & is_customer))

    def _check_existing(self, seen, query):
        cursor = Transaction().connection.cursor()
        for keys in grouped_slice(list(seen), backend.MAX_QUERY_PARAMS):
            cursor.execute(*query(list(keys)))
            for key, existing in cursor:
                if key in seen:
                    line, value = seen[key]
                    self.error('existing', line=line, value=value,
                        existing=existing)

    def raise_errors(self):
        if self.errors:
            # the lines checked twice against the customers are named once
            errors = sorted(dict.fromkeys(self.errors), key=lambda e: e[0])
            raise CustomerImportError(gettext(
                    'crm_plus.msg_customer_import_errors',
                    count=len(errors)),
                '\n'.join(text for _, text in errors[:MAX_ERRORS]))

    def insert(self, customer_pool):
        """Insert the customers into customer_pool with their mechanisms
        and identifiers; return the ids created per model, the customers'
        in the order of the lines"""
        pool = Pool()
        Party = pool.get('party.party')
        ContactMechanism = pool.get('party.contact_mechanism')
        Identifier = pool.get('party.identifier')
        sequence = Party._code_sequence()
        if not sequence:
            raise CustomerImportError(gettext(
                    'crm_plus.msg_customer_import_no_party_sequence'))
        codes = sequence.get_many(len(self.customers))
        ids = insert(Party, [{
                    'name': c['name'],
                    'code': code,
                    'customer_nature': c['nature'],
                    'customer_type': c['type'],
                    'customer_status': 'potential',
                    'pool': customer_pool.id,
                    } for c, code in zip(self.customers, codes)])
        # value and value_compact are formatted as compute_fields does
        mechanism_ids = insert(ContactMechanism, [{
                    'party': party_id,
                    'type': kind,
                    'value': value,
                    'value_compact': compact,
                    }
                for party_id, c in zip(ids, self.customers)
                for kind, value, compact in c['mechanisms']],
            compute=False)
        identifier_ids = insert(Identifier, [{
                    'party': party_id,
                    'type': c['tax_type'],
                    'code': c['tax_id'],
                    }
                for party_id, c in zip(ids, self.customers) if c['tax_id']])
        return {
            Party: ids,
            ContactMechanism: mechanism_ids,
            Identifier: identifier_ids,
            }


def insert(Model, vlist, compute=True):
    """Insert the values of vlist, completed with the defaults of Model's
    columns and, with compute, the columns that Model.compute_fields
    derives from them; return the new ids.

    On PostgreSQL, slices of rows are inserted by one INSERT each."""
    if not vlist:
        return []
    if compute:
        vlist = [{**v, **Model(**v).compute_fields()} for v in vlist]
    transaction = Transaction()
    table = Model.__table__()
    keys = list(dict.fromkeys(k for v in vlist for k in v))
    defaults = column_defaults(Model, set(keys))
    names = ['create_uid', 'create_date', *defaults, *keys]
    now = dt.datetime.now()
    rows = [[transaction.user, now, *defaults.values(),
            *(values.get(k) for k in keys)]
        for values in vlist]
    ids = []
    if backend.Database.has_array():
        # one array per column: the statement has a few parameters, not
        # one per value for the driver to parse and the server to bind
        slices, insert = grouped_slice(rows, 10_000), _insert_arrays
    else:
        slices = grouped_slice(rows, backend.MAX_QUERY_PARAMS // len(names))
        insert = _insert_values
    for sub_rows in map(list, slices):
        ids.extend(insert(Model, table, names, sub_rows))
    transaction.create_records[Model.__name__].extend(ids)
    return ids


def _insert_arrays(Model, table, names, rows):
    transaction = Transaction()
    ids = transaction.database.nextid(
        transaction.connection, Model._table, count=len(rows))
    if isinstance(ids, int):
        ids = [ids]
    fields_ = [Model._fields[n] for n in names] + [Model._fields['id']]
    # the values are of the columns' Python types: no sql_format needed
    arrays = Unnest(*(
            Cast(list(values), f'{f.sql_type().base}[]')
            for f, values in zip(fields_, zip(*(
                        [*r, i] for r, i in zip(rows, ids))))))
    transaction.connection.cursor().execute(*table.insert(
            [getattr(table, n) for n in names] + [table.id],
            arrays.select()))
    return ids


def _insert_values(Model, table, names, rows):
    "Insert the rows one by one as ModelSQL.create on SQLite"
    transaction = Transaction()
    cursor = transaction.connection.cursor()
    columns = [getattr(table, n) for n in names]
    ids = []
    for row in rows:
        cursor.execute(*table.insert(columns, [row]))
        ids.append(transaction.database.lastid(cursor))
    return ids


def column_defaults(Model, exclude):
    "Return the default values of the columns of Model not in exclude"
    names = [n for n, f in Model._fields.items()
        if f.sql_type() and n not in exclude
        and n not in {'id', 'create_uid', 'create_date', 'write_uid',
            'write_date'}]
    defaults = Model.default_get(names, with_rec_name=False)
    return {n: defaults[n] for n in names if n in defaults}


def customer_natures():
    """Return the customer natures by key and by label in any language,
    and their labels in the user's language"""
    Party = Pool().get('party.party')

    def selection():
        field = Party.fields_get(['customer_nature'])['customer_nature']
        return [(k, label) for k, label in field['selection'] if k]
    natures = {}
    for language in LANGUAGES:
        with Transaction().set_context(language=language):
            for key, label in selection():
                natures[key] = natures[label.lower()] = key
    return natures, [label for _, label in selection()]


def customer_types():
    "Return the ids of the customer types by name in any language"
    CustomerType = Pool().get('crm.customer.type')
    types = {}
    for language in LANGUAGES:
        with Transaction().set_context(language=language):
            for type_ in CustomerType.search([]):
                types[type_.name.lower()] = type_.id
    return types


def phone_countries():
    "Return the countries tried in turn to parse a phone number, as party"
    ContactMechanism = Pool().get('party.contact_mechanism')
    return [*ContactMechanism(type='phone')._phone_country_codes(), None]
