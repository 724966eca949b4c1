# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The dashboard (首页) and the CRM reports.

Each report is a SQL view (table_query) that aggregates the documents in
the database.  The rows counted are restricted by the record rules of
the documents, so a salesperson's figures cover only what he may read."""

import datetime as dt
from weakref import WeakKeyDictionary

from dateutil.relativedelta import relativedelta
from sql import Column, Literal, Null, Union
from sql.aggregate import Count, Min, Sum
from sql.conditionals import Case, Coalesce
from sql.functions import AtTimeZone, DateTrunc, Function

from trytond import backend
from trytond.model import ModelSQL, ModelView, fields
from trytond.model.fields import SQL_OPERATORS
from trytond.pool import Pool
from trytond.pyson import Eval, If, PYSONDecoder
from trytond.tools.timezone import get_tzinfo
from trytond.transaction import Transaction, check_access, inactive_records

from .access import DataRulesMixin
from .company import is_crm_admin
from .model import convert_amount, divide, local_midnight
from .party import CUSTOMER_STATUSES, customers_in_use

OPEN_OPPORTUNITY_STATES = ['draft', 'waiting', 'in_progress', 'suspended']

# The rows each report found in a transaction: {transaction: {model: key}}
_searched = WeakKeyDictionary()


def rule_where(model_name, table):
    """Return the condition that keeps the rows of table the user may read.

    The rules are applied to table itself when they need no join, which
    spares PostgreSQL a semi-join with a second scan of the table."""
    pool = Pool()
    Rule = pool.get('ir.rule')
    Model = pool.get(model_name)
    if not Transaction().user:
        return Literal(True)
    # Even where access is not checked: an export reads the values of the
    # rows it was given that way, and the figures are the user's own
    with check_access():
        domain = merge_where(Rule.domain_get(model_name, mode='read'))
    if not domain:
        return Literal(True)
    # As root, like Rule.query_get, so the nested searches add no rules
    with Transaction().set_user(0, set_context=True), inactive_records():
        tables, condition = Model.search_domain(
            domain, active_test=False, tables={None: (table, None)})
    if len(tables) > 1:
        with check_access():
            return table.id.in_(Rule.query_get(model_name, mode='read'))
    return condition


def merge_where(domain):
    """Return the domain with the (field, 'where', subdomain) terms that an
    OR joins merged into one term on the OR of their subdomains.

    The rules reached through __access__ come as one such term per rule of
    the target: PostgreSQL evaluates each as a hashed subquery and tests
    every row against all of them, while one term is one semi-join."""
    if _is_leaf(domain) or not domain:
        return domain
    if isinstance(domain[0], str) and domain[0] in {'AND', 'OR'}:
        operator, terms = domain[0], domain[1:]
    else:
        operator, terms = 'AND', domain
    terms = [merge_where(t) for t in terms]
    if operator == 'OR':
        terms = _merge_or_where(terms)
    return [operator, *terms]


def _merge_or_where(terms):
    flat = []
    for term in terms:
        if not _is_leaf(term) and term and term[0] == 'OR':
            flat.extend(term[1:])
        else:
            flat.append(term)
    merged, wheres = [], {}
    for term in flat:
        if (_is_leaf(term) and term[1] == 'where' and len(term) == 3
                and '.' not in term[0]):
            if term[0] not in wheres:
                wheres[term[0]] = []
                merged.append(term[0])
            wheres[term[0]].append(term[2])
        else:
            merged.append(term)
    return [_where(t, wheres[t]) if isinstance(t, str) else t
        for t in merged]


def _where(name, domains):
    if len(domains) == 1:
        return (name, 'where', domains[0])
    return (name, 'where', ['OR', *domains])


def _is_leaf(domain):
    return (isinstance(domain, (list, tuple)) and len(domain) > 1
        and isinstance(domain[0], str) and domain[0] not in {'AND', 'OR'})


class SQLiteAtTimeZone(Function):
    """The UTC timestamp in a timezone on SQLite, which knows none: Python
    converts it, as the SQLite backend of trytond computes DATE_TRUNC"""
    __slots__ = ()
    _function = 'CRM_PLUS_AT_TIME_ZONE'

    @classmethod
    def of(cls, timestamp, timezone):
        "Return the function of the timestamp column, defined on the database"
        Transaction().connection.create_function(
            cls._function, 2, cls.at_time_zone, deterministic=True)
        return cls(timestamp, timezone)

    @staticmethod
    def at_time_zone(value, timezone):
        if value is None:
            return None
        value = dt.datetime.fromisoformat(value).replace(
            tzinfo=dt.timezone.utc)
        return value.astimezone(get_tzinfo(timezone)).replace(
            tzinfo=None).isoformat(' ')


def context_company():
    "Return the company of the context, if any"
    Company = Pool().get('company.company')
    company_id = Transaction().context.get('company')
    if company_id is not None and company_id >= 0:
        return Company(company_id)


def company_timezone():
    "Return the timezone of the company of the context, if any"
    company = context_company()
    return company.timezone if company else None


class ReportContext(ModelView):
    __name__ = 'crm.report.context'
    __string__ = "CRM Report Context"
    company = fields.Many2One('company.company', "Company", required=True)
    from_date = fields.Date(
        "From Date",
        domain=[If(Eval('to_date') & Eval('from_date'),
                ('from_date', '<=', Eval('to_date')), ())])
    to_date = fields.Date(
        "To Date",
        domain=[If(Eval('from_date') & Eval('to_date'),
                ('to_date', '>=', Eval('from_date')), ())])
    salesperson = fields.Many2One(
        'company.employee', "Salesperson",
        domain=[('company', '=', Eval('company', -1))],
        help="Limit the figures to the work of this employee.")
    empty = fields.Boolean(
        "Nothing to Report", readonly=True,
        help="The report has nothing for these criteria.")

    @classmethod
    def view_attributes(cls):
        # A graph cannot say that it has nothing to show: the form above does
        return super().view_attributes() + [
            ('//label[@id="empty"]', 'states', {
                    'invisible': ~Eval('empty', False),
                    }, ['empty']),
            ]

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_from_date(cls):
        "The first day of the previous month, to compare with this month"
        Date = Pool().get('ir.date')
        context = Transaction().context
        if 'from_date' in context:
            return context['from_date']
        return Date.today() - relativedelta(months=1, day=1)

    @classmethod
    def default_to_date(cls):
        Date = Pool().get('ir.date')
        context = Transaction().context
        if 'to_date' in context:
            return context['to_date']
        return Date.today()

    @fields.depends('company', 'from_date', 'to_date', 'salesperson')
    def on_change_with_empty(self, name=None):
        """Tell whether the report that the form filters shows no row:
        the action named by crm_report_action in the context, whose domains
        are evaluated as the client does"""
        pool = Pool()
        action = report_action(self.__name__)
        if not action:
            return False
        values = {
            'company': self.company.id if self.company else None,
            'from_date': self.from_date,
            'to_date': self.to_date,
            'salesperson': self.salesperson.id if self.salesperson else None,
            }
        Report = pool.get(action.res_model)
        with Transaction().set_context(values):
            return not Report.search(
                action_domain(action), limit=1, order=[])


def report_action(context_model):
    """Return the window action of crm_report_action in the context, as
    module.xml_id, if its context model is context_model"""
    pool = Pool()
    ActWindow = pool.get('ir.action.act_window')
    ModelData = pool.get('ir.model.data')
    xml_id = Transaction().context.get('crm_report_action')
    if not xml_id:
        return None
    module, _, fs_id = xml_id.partition('.')
    action = ActWindow(ModelData.get_id(module, fs_id))
    if action.context_model == context_model:
        return action


def action_domain(action):
    "Return the domain and context domain of the action, evaluated"
    transaction = Transaction()
    context = dict(transaction.context, _user=transaction.user)
    context['context'] = context
    decoder = PYSONDecoder(context)
    domain = [decoder.decode(action.pyson_domain)]
    if action.context_domain:
        domain.append(decoder.decode(action.context_domain))
    return domain


class ReportMixin:
    """Helpers to read the report context and build the queries.

    A read of the rows that search has just found in the same transaction
    is served from the values search fetched, as long as nothing was
    written in between: search_read aggregates once instead of twice."""
    __slots__ = ()

    @classmethod
    def search(cls, domain, offset=0, limit=None, order=None, count=False,
            query=False):
        records = super().search(domain, offset=offset, limit=limit,
            order=order, count=count, query=query)
        if not count and not query:
            _searched.setdefault(Transaction(), {})[cls.__name__] = (
                cls._searched_key(), cls._searched_values(records))
        return records

    @classmethod
    def _searched_key(cls):
        "What the searched rows depend on besides the data"
        transaction = Transaction()
        return (transaction.user, transaction.started_at,
            transaction.counter, repr(sorted(transaction.context.items())))

    @classmethod
    def _searched_values(cls, records):
        """Return a copy of the values that search fetched for the records,
        by id: the transaction cache may change under another context"""
        cache = Transaction().get_cache()[cls.__name__]
        names = cls._searched_fields()
        values = {}
        for record in records:
            if record.id in cache:
                cached = cache[record.id]
                values[record.id] = {
                    n: cached[n] for n in names if n in cached}
        return values

    @classmethod
    def _searched_fields(cls):
        "The fields that search fetches with the ids"
        return {n for n, f in cls._fields.items()
            if f.sql_type() and not hasattr(f, 'get')
            and not getattr(f, 'translate', False)
            and f.loading == 'eager'}

    @classmethod
    def read(cls, ids, fields_names):
        ids, fields_names = cls._before_read(ids, fields_names)
        rows = cls._searched_rows(ids, fields_names)
        if rows is None:
            return super().read(ids, fields_names)
        return cls._after_read(rows)

    @classmethod
    def _searched_rows(cls, ids, fields_names):
        "Return the rows from the values of the last search, or None"
        key, values = _searched.get(Transaction(), {}).get(
            cls.__name__, (None, {}))
        names = set(fields_names) - {'id'}
        if key != cls._searched_key():
            return None
        rows = []
        for id_ in dict.fromkeys(ids):
            row = values.get(id_, {})
            if not names <= row.keys():
                return None
            rows.append({'id': id_, **{n: row[n] for n in names}})
        return rows

    @classmethod
    def _in_period(cls, column, timestamp=False):
        """Return the condition that the date column is in the period, or
        the UTC timestamp column on its days in the company's timezone"""
        context = Transaction().context
        start, end = context.get('from_date'), context.get('to_date')
        if end:
            end += dt.timedelta(days=1)
        if timestamp:
            timezone = company_timezone()
            start, end = (
                local_midnight(d, timezone) if d else None
                for d in [start, end])
        condition = Literal(True)
        if start:
            condition &= column >= start
        if end:
            condition &= column < end
        return condition

    @classmethod
    def _local(cls, timestamp):
        "Return the UTC timestamp column in the company's timezone"
        timezone = company_timezone()
        if not timezone:
            return timestamp
        if backend.name == 'sqlite':
            return SQLiteAtTimeZone.of(timestamp, timezone)
        return AtTimeZone(AtTimeZone(timestamp, 'UTC'), timezone)

    @classmethod
    def _of_employee(cls, column):
        "Return the condition that the row belongs to the salesperson"
        salesperson = Transaction().context.get('salesperson')
        if salesperson:
            return column == salesperson
        return Literal(True)

    @classmethod
    def _of_company(cls, column):
        return column == Transaction().context.get('company', -1)

    @classmethod
    def _customer_of_company(cls, party):
        """Return the condition that the customer is in use and belongs to
        the company: its owner works for it, or, without owner, it waits
        in one of its pools.  A customer with neither belongs to no company
        and counts in none."""
        pool = Pool()
        employee = pool.get('company.employee').__table__()
        customer_pool = pool.get('crm.pool').__table__()
        company = Transaction().context.get('company', -1)
        return customers_in_use(party) & (
            party.owner.in_(employee.select(
                    employee.id, where=employee.company == company))
            | ((party.owner == Null)
                & party.pool.in_(customer_pool.select(
                        customer_pool.id,
                        where=customer_pool.company == company))))

    @classmethod
    def _in_company_currency(cls, amount, currency, date):
        "Return the amount in currency converted to the company's at date"
        company = context_company()
        if not company:
            return amount
        return convert_amount(amount, currency, company.currency.id, date)

    @classmethod
    def _month(cls, column):
        return cls.month.sql_cast(DateTrunc('month', column))

    @classmethod
    def _activity_parts(cls, key, owned=False):
        """Return the union parts counting the new customers, follow-ups
        and opportunities of the period, with the key columns that
        key(date column, employee column) gives; owned leaves out what
        belongs to nobody"""
        pool = Pool()
        party = pool.get('party.party').__table__()
        follow_up = pool.get('crm.follow_up').__table__()
        opportunity = pool.get('crm.opportunity').__table__()
        parts = []
        for table, where, date, timestamp, employee, rule, counter in [
                (party, cls._customer_of_company(party),
                    party.create_date, True,
                    party.owner, 'party.party', 'new_customers'),
                (follow_up, cls._of_company(follow_up.company),
                    follow_up.date, False, follow_up.employee,
                    'crm.follow_up', 'follow_ups'),
                (opportunity, cls._of_company(opportunity.company),
                    opportunity.start_date, False, opportunity.employee,
                    'crm.opportunity', 'opportunities'),
                ]:
            if owned:
                where &= employee != Null
            parts.append((table,
                    where & cls._in_period(date, timestamp)
                    & cls._of_employee(employee) & rule_where(rule, table),
                    {**key(cls._local(date) if timestamp else date, employee),
                        counter: Literal(1)}))
        return parts

    @classmethod
    def _union(cls, parts, keys, counters, key_id=False):
        """Return the union of the parts grouped by keys with the sum of
        each counter.

        A part is (table, where, {name: expression}) with a column for
        each key and the counters it has; the others count zero.
        key_id uses the only key as the id of the rows."""
        selects = []
        for index, (table, where, columns) in enumerate(parts):
            selects.append(table.select(
                    (table.id * len(parts) + index).as_('id'),
                    *(columns[k].as_(k) for k in keys),
                    *(columns.get(c, Literal(0)).as_(c) for c in counters),
                    where=where))
        union = Union(*selects, all_=True)
        id_ = Column(union, keys[0]) if key_id else Min(union.id)
        return union.select(
            id_.as_('id'),
            *(Column(union, k).as_(k) for k in keys),
            *(Sum(Column(union, c)).as_(c) for c in counters),
            group_by=[Column(union, k) for k in keys])


class Activity(DataRulesMixin, ReportMixin, ModelSQL, ModelView):
    "New customers, follow-ups and opportunities month by month"
    __name__ = 'crm.report.activity'
    __string__ = "CRM Monthly Activity"
    month = fields.Date("Month", readonly=True)
    new_customers = fields.Integer("New Customers", readonly=True)
    follow_ups = fields.Integer("Follow-ups", readonly=True)
    opportunities = fields.Integer("New Opportunities", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'DESC'), ('id', 'DESC')]

    @classmethod
    def table_query(cls):
        return cls._union(
            cls._activity_parts(lambda date, employee: {
                    'month': cls._month(date)}),
            ['month'], ['new_customers', 'follow_ups', 'opportunities'])


class EmployeeActivity(DataRulesMixin, ReportMixin, ModelSQL, ModelView):
    "What each salesperson did in the period (staff activity, my month)"
    __name__ = 'crm.report.employee'
    __string__ = "CRM Staff Activity"
    employee = fields.Many2One('company.employee', "Employee", readonly=True)
    new_customers = fields.Integer(
        "New Customers", readonly=True,
        help="Customers created in the period and owned by the employee.")
    follow_ups = fields.Integer("Follow-ups", readonly=True)
    opportunities = fields.Integer("New Opportunities", readonly=True)
    won_opportunities = fields.Integer("Won Opportunities", readonly=True)
    won_amount = fields.Numeric(
        "Won Amount", digits=(16, 2), readonly=True,
        help="In the currency of the company, at the rate of the day won; "
        "opportunities won before both currencies had a rate are left out.")
    contract_amount = fields.Function(
        fields.Numeric("Contract Amount", digits=(16, 2)), 'get_amounts')
    received_amount = fields.Function(
        fields.Numeric("Received Amount", digits=(16, 2)), 'get_amounts')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('employee', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        won = Pool().get('crm.opportunity').__table__()
        parts = cls._activity_parts(
            lambda date, employee: {'employee': employee}, owned=True) + [
            (won,
                cls._of_company(won.company) & (won.state == 'won')
                & cls._in_period(won.close_date)
                & cls._of_employee(won.employee)
                & rule_where('crm.opportunity', won),
                {'employee': won.employee,
                    'won_opportunities': Literal(1),
                    'won_amount': cls._in_company_currency(
                        Coalesce(won.amount, 0), won.currency,
                        won.close_date)}),
            ]
        # The documents of the others the user reads (shared, in a pool)
        # would show them with a part of their figures
        visible = cls._visible_employees()
        if visible is not None:
            in_ = SQL_OPERATORS['in']
            parts = [(t, where & in_(columns['employee'], visible), columns)
                for t, where, columns in parts]
        return cls._union(parts, ['employee'], [
                'new_customers', 'follow_ups', 'opportunities',
                'won_opportunities', 'won_amount'], key_id=True)

    @classmethod
    def _visible_employees(cls):
        """Return the ids of the employees whose activity the user sees,
        those whose customers he sees by the organisation: himself, his
        subordinates and the members of the teams he leads; None for a CRM
        manager, who sees everyone's"""
        if is_crm_admin():
            return None
        return list(Pool().get('ir.rule').crm_owners())

    @classmethod
    def get_amounts(cls, records, names):
        """Return the contract and received amounts of each employee in the
        period.

        crm_plus has no contracts nor payments: crm_plus_sale and
        crm_plus_finance override this hook with set-based queries."""
        return {name: {r.id: 0 for r in records} for name in names}


class OpportunityReportMixin(ReportMixin):
    __slots__ = ()
    currency = fields.Many2One('currency.currency', "Currency", readonly=True)
    opportunities = fields.Integer("Opportunities", readonly=True)
    amount = fields.Numeric(
        "Expected Amount", digits=(16, 2), readonly=True)
    weighted_amount = fields.Numeric(
        "Weighted Amount", digits=(16, 2), readonly=True,
        help="The expected amount multiplied by the probability.")

    @classmethod
    def _opportunity_query(cls, keys, period=None):
        """Return the open opportunities grouped by the keys, with the date
        column named period in the period of the context"""
        Opportunity = Pool().get('crm.opportunity')
        opportunity = Opportunity.__table__()
        columns = {
            k: cls._month(opportunity.expected_date) if k == 'month'
            else Column(opportunity, k) for k in keys}
        amount = Coalesce(opportunity.amount, 0)
        # By the output names: PostgreSQL would not match the parameters
        # of two copies of the month expression
        group_by = [c.as_(k) for k, c in columns.items()]
        return opportunity.select(
            Min(opportunity.id).as_('id'),
            *(columns[k].as_(k) for k in keys),
            Count(Literal(1)).as_('opportunities'),
            Sum(amount).as_('amount'),
            Sum(divide(amount * Coalesce(opportunity.probability, 0), 100)
                ).as_('weighted_amount'),
            where=cls._of_company(opportunity.company)
            & opportunity.state.in_(OPEN_OPPORTUNITY_STATES)
            & cls._of_employee(opportunity.employee)
            & rule_where('crm.opportunity', opportunity)
            & (cls._in_period(Column(opportunity, period)) if period
                else Literal(True)),
            group_by=group_by)


class Funnel(DataRulesMixin, OpportunityReportMixin, ModelSQL, ModelView):
    "The open opportunities by stage of the sales funnel"
    __name__ = 'crm.report.funnel'
    __string__ = "Sales Funnel"
    stage = fields.Many2One('crm.opportunity.stage', "Stage", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        # By the sequence of the stages, as sequence_ordered does
        cls._order = [('stage', 'ASC NULLS FIRST'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        return cls._opportunity_query(['stage', 'currency'])


class Forecast(DataRulesMixin, OpportunityReportMixin, ModelSQL, ModelView):
    "The open opportunities by owner and month of expected signing"
    __name__ = 'crm.report.forecast'
    __string__ = "Sales Forecast"
    employee = fields.Many2One('company.employee', "Owner", readonly=True)
    month = fields.Date("Month", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('month', 'ASC'), ('employee', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        return cls._opportunity_query(
            ['employee', 'month', 'currency'], period='expected_date')


class Source(DataRulesMixin, ReportMixin, ModelSQL, ModelView):
    "Where the customers and the opportunities come from"
    __name__ = 'crm.report.source'
    __string__ = "CRM Sources"
    source = fields.Many2One('crm.customer.source', "Source", readonly=True)
    customers = fields.Integer("Customers", readonly=True)
    opportunities = fields.Integer("Opportunities", readonly=True)
    won_opportunities = fields.Integer("Won Opportunities", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('source', 'ASC'), ('id', 'ASC')]

    @classmethod
    def table_query(cls):
        return cls._union(
            cls._source_parts(), ['source'], cls._source_counters())

    @classmethod
    def _source_counters(cls):
        "Return the names of the counter columns; a module adds its own"
        return ['customers', 'opportunities', 'won_opportunities']

    @classmethod
    def _source_parts(cls):
        """Return the parts of the union as (table, where, {'source': …,
        counter: 1}); a module adds one for its documents (leads)"""
        pool = Pool()
        party = pool.get('party.party').__table__()
        opportunity = pool.get('crm.opportunity').__table__()
        return [
            (party,
                cls._customer_of_company(party)
                & cls._in_period(party.create_date, timestamp=True)
                & cls._of_employee(party.owner)
                & rule_where('party.party', party),
                {'source': party.customer_source, 'customers': Literal(1)}),
            (opportunity,
                cls._of_company(opportunity.company)
                & cls._in_period(opportunity.start_date)
                & cls._of_employee(opportunity.employee)
                & rule_where('crm.opportunity', opportunity),
                {'source': opportunity.source,
                    'opportunities': Literal(1),
                    'won_opportunities': Case(
                        (opportunity.state == 'won', 1), else_=0),
                    }),
            ]


class CustomerStatus(DataRulesMixin, ReportMixin, ModelSQL, ModelView):
    "How many customers are in each lifecycle status"
    __name__ = 'crm.report.customer_status'
    __string__ = "Customer Status Analysis"
    customer_status = fields.Selection(
        CUSTOMER_STATUSES, "Customer Status", readonly=True, sort=False)
    customer_status_string = customer_status.translated('customer_status')
    # The graphs show the value of a selection, not its label
    customer_status_label = fields.Function(
        fields.Char("Customer Status"), 'get_customer_status_label')
    customers = fields.Integer("Customers", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order = [('customer_status', 'ASC'), ('id', 'ASC')]

    def get_customer_status_label(self, name):
        return self.customer_status_string

    @classmethod
    def table_query(cls):
        party = Pool().get('party.party').__table__()
        return party.select(
            Min(party.id).as_('id'),
            party.customer_status.as_('customer_status'),
            Count(Literal(1)).as_('customers'),
            where=cls._customer_of_company(party)
            & cls._of_employee(party.owner)
            & rule_where('party.party', party),
            group_by=[party.customer_status])
