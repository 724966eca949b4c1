"""Time the crm_plus operations through the ORM and as hand-written SQL.

``python [-O] bench/measure.py DBNAME OUTPUT.json [--reps N]
[--import-rows N]`` with TRYTOND_DATABASE__URI set; bench/run.py runs it
once with -O and once without.  Every ORM call runs in a fresh transaction
as an RPC call would (retrying on the lock TransactionError like the
dispatcher) and is rolled back, so the data set does not change.
"""
import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import os
import statistics
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter

from trytond import config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LISTS = ['act_tracking_today', 'act_tracking_week', 'act_tracking_overdue',
    'act_tracking_stale', 'act_tracking_never', 'act_customer_mine',
    'act_customer_pool']


def log(*args):
    print(f'[measure{" -O" if not __debug__ else ""} '
        f'{time.strftime("%H:%M:%S")}]', *args, file=sys.stderr, flush=True)


def median_ms(func, reps, warmup=1, between=None):
    "Median wall time of func() in ms over reps runs after warmup runs"
    times = []
    for i in range(warmup + reps):
        started = time.perf_counter()
        func()
        elapsed = (time.perf_counter() - started) * 1000
        if i >= warmup:
            times.append(elapsed)
        if between:
            between()
    return statistics.median(times)


@contextlib.contextmanager
def shared_party_table(Party, enabled=True):
    "Make Party.__table__() return one Table for the whole block"
    if not enabled:
        yield
        return
    table = Party.__table__()
    Party.__table__ = classmethod(lambda cls: table)
    try:
        yield
    finally:
        del Party.__table__


def list_fields():
    "The columns of the tracking list, plus what the client reads with them"
    tree = ET.parse(os.path.join(
            ROOT, 'crm_plus', 'view', 'customer_tracking_list.xml'))
    names = [f.get('name') for f in tree.iter('field')]
    return names + ['customer_type.rec_name']


class Bench:

    def __init__(self, database, reps):
        import psycopg

        from trytond.pool import Pool
        self.database = database
        self.reps = reps
        Pool.start()
        self.pool = Pool(database)
        self.pool.init()
        uri = config.get('database', 'uri')
        self.conn = psycopg.connect(uri.rstrip('/') + '/' + database)
        self.results = {}
        self._load_ids()

    def sql(self, query, params=None):
        cursor = self.conn.cursor()
        cursor.execute(query, params)
        return cursor

    def _load_ids(self):
        from trytond.transaction import Transaction

        def user_id(login):
            return self.sql(
                "SELECT id FROM res_user WHERE login = %s",
                (login,)).fetchone()[0]
        self.sales_user = user_id('sales01')
        self.manager_user = user_id('manager1')
        with Transaction().start(self.database, 0):
            User = self.pool.get('res.user')
            sales = User(self.sales_user)
            manager = User(self.manager_user)
            self.employee = sales.employee.id
            self.manager = manager.employee.id
            self.company = sales.company.id
            # the manager's other salesperson, target of the assignment
            self.assignee = next(e.id for e in manager.employee.subordinates
                if e.id != self.employee)
            self.sales_context = self._context(self.sales_user)
            self.manager_context = self._context(self.manager_user)
        self.today = dt.date.today()
        self.pool_id, = self.sql(
            "SELECT id FROM crm_pool ORDER BY id LIMIT 1").fetchone()
        self.conn.rollback()

    def _context(self, user):
        from trytond.transaction import Transaction
        User = self.pool.get('res.user')
        with Transaction().set_user(user), \
                Transaction().reset_context():
            context = User.get_preferences(context_only=True)
        return context

    def run(self, user, context, func, commit=False, readonly=False):
        from tx import run
        return run(self.database, user, func, context=context,
            commit=commit, readonly=readonly)

    def record(self, key, **values):
        self.results[key] = values
        log(key, values)

    # (a) nightly release ----------------------------------------------

    def release(self):
        Party = self.pool.get('party.party')
        counts = {}
        workaround = self._check_release()
        # every run is rolled back: the new log rows are the ones after it
        self.log_max_id, = self.sql(
            "SELECT max(id) FROM crm_ownership_log").fetchone()
        self.conn.rollback()

        def orm():
            def job():
                with shared_party_table(Party, workaround):
                    Party.release_customers()
                counts['orm'] = self._released_count()
            self.run(0, {'company': self.company}, job)

        def raw():
            counts['raw'] = self._raw_release()

        reps = max(3, self.reps // 2)
        orm_ms = median_ms(orm, reps, between=self._vacuum)
        raw_ms = median_ms(raw, reps, between=self._vacuum)
        self.record('release', orm_ms=orm_ms, raw_ms=raw_ms,
            released=counts['orm'], released_raw=counts['raw'],
            workaround=workaround)

    def _check_release(self):
        """Tell whether release_customers needs the shared-table workaround

        It builds the rule conditions on one party table object and runs
        them in statements on another, so the SQL refers to an alias that
        is not in its FROM clause."""
        import psycopg
        Party = self.pool.get('party.party')
        try:
            self.run(0, {'company': self.company}, Party.release_customers)
        except psycopg.errors.UndefinedTable as e:
            log('release_customers fails, measuring with the workaround:',
                str(e).splitlines()[0])
            return True
        return False

    def _released_count(self):
        from trytond.transaction import Transaction
        cursor = Transaction().connection.cursor()
        cursor.execute("SELECT count(*) FROM crm_ownership_log "
            "WHERE id > %s AND action = 'auto_release'", (self.log_max_id,))
        return cursor.fetchone()[0]

    def _vacuum(self):
        self.conn.rollback()
        self.conn.autocommit = True
        self.sql('VACUUM party_party, crm_ownership_log, crm_opportunity, '
            'crm_opportunity_progress')
        self.conn.autocommit = False

    def _raw_release(self):
        "The release job as hand-written SQL: release, then warn"
        cutoff = self.today - dt.timedelta(days=90)
        later_cutoff = cutoff + dt.timedelta(days=3)
        condition = (
            "pool = %(pool)s AND owner IS NOT NULL "
            "AND (customer_status <> 'deal' OR customer_status IS NULL) "
            "AND owner_since <= %(cutoff)s "
            "AND (last_contact_date IS NULL "
            "OR last_contact_date <= %(cutoff)s)")
        params = {'pool': self.pool_id, 'cutoff': cutoff,
            'today': self.today, 'now': dt.datetime.now()}
        cursor = self.sql(
            "INSERT INTO crm_ownership_log (party, date, action, "
            "from_owner, create_uid, create_date) "
            "SELECT id, %(now)s, 'auto_release', owner, 0, %(now)s "
            "FROM party_party WHERE " + condition, params)
        released = cursor.rowcount
        self.sql(
            "UPDATE party_party SET owner = NULL, "
            "owner_since = NULL, released_date = %(today)s, "
            "key_customer = FALSE, release_warned = NULL WHERE "
            + condition, params)
        params['cutoff'] = later_cutoff
        warn = condition + " AND release_warned IS NULL"
        Counter(owner for owner, in self.sql(
                "UPDATE party_party SET release_warned = %(today)s "
                "WHERE " + warn + " RETURNING owner", params))
        self.conn.rollback()
        return released

    # opportunity reactivation ------------------------------------------

    def reactivate(self):
        Opportunity = self.pool.get('crm.opportunity')
        counts = {}

        def orm():
            def job():
                Opportunity.reactivate_suspended()
                counts['orm'] = self._reactivated_count()
            self.run(0, {'company': self.company}, job)

        def raw():
            counts['raw'] = self._raw_reactivate()

        reps = max(3, self.reps // 2)
        orm_ms = median_ms(orm, reps, between=self._vacuum)
        raw_ms = median_ms(raw, reps, between=self._vacuum)
        self.record('reactivate', orm_ms=orm_ms, raw_ms=raw_ms,
            reactivated=counts['orm'], reactivated_raw=counts['raw'])

    def _reactivated_count(self):
        from trytond.transaction import Transaction
        cursor = Transaction().connection.cursor()
        cursor.execute("SELECT count(*) FROM crm_opportunity_progress "
            "WHERE state = 'in_progress'")
        return cursor.fetchone()[0]

    def _raw_reactivate(self):
        "The reactivation job as hand-written SQL"
        due = ("state = 'suspended' AND reactivation_date <= %(today)s")
        params = {'today': self.today, 'now': dt.datetime.now()}
        self.sql("SELECT employee, id FROM crm_opportunity WHERE " + due,
            params).fetchall()
        cursor = self.sql(
            "INSERT INTO crm_opportunity_progress (opportunity, date, stage, "
            "probability, state, create_uid, create_date) "
            "SELECT id, %(today)s, stage, probability, 'in_progress', 0, "
            "%(now)s FROM crm_opportunity WHERE " + due, params)
        reactivated = cursor.rowcount
        self.sql("UPDATE crm_opportunity SET state = 'in_progress', "
            "reactivation_date = NULL, write_date = %(now)s, write_uid = 0 "
            "WHERE " + due, params)
        self.conn.rollback()
        return reactivated

    # (b) tracking lists ------------------------------------------------

    def lists(self):
        from trytond.pyson import PYSONDecoder
        from trytond.transaction import Transaction
        ModelData = self.pool.get('ir.model.data')
        ActWindow = self.pool.get('ir.action.act_window')
        with Transaction().start(self.database, 0):
            domains = {name: ActWindow(ModelData.get_id('crm_plus', name)
                    ).pyson_domain for name in LISTS}
        fields = list_fields()
        for name, pyson in domains.items():
            domain = PYSONDecoder(
                {'context': self.sales_context}).decode(pyson)
            self._one_list(name, domain, fields)

    def _one_list(self, name, domain, fields):
        from trytond.transaction import check_access
        Party = self.pool.get('party.party')
        rows = {}

        def orm():
            def page():
                with check_access():
                    rows['orm'] = Party.search_read(
                        domain, limit=80, fields_names=fields)
            self.run(self.sales_user, self.sales_context, page,
                readonly=True)

        def raw():
            rows['raw'] = self._raw_list(name)

        orm_ms = median_ms(orm, self.reps, warmup=2)
        raw_ms = median_ms(raw, self.reps, warmup=2)
        same = [r['id'] for r in rows['orm']] == [r[0] for r in rows['raw']]
        self.record(name, orm_ms=orm_ms, raw_ms=raw_ms,
            rows=len(rows['orm']), same_rows=same)

    def _raw_list(self, name):
        today = self.today
        conditions = {
            'act_tracking_today': ("owner = %(e)s "
                "AND next_contact_date = %(today)s"),
            'act_tracking_week': ("owner = %(e)s "
                "AND next_contact_date >= %(today)s "
                "AND next_contact_date <= %(week)s"),
            'act_tracking_overdue': ("owner = %(e)s "
                "AND next_contact_date < %(today)s"),
            'act_tracking_stale': ("owner = %(e)s "
                "AND last_contact_date <= %(stale)s"),
            'act_tracking_never': ("owner = %(e)s "
                "AND last_contact_date IS NULL"),
            'act_customer_mine': "owner = %(e)s",
            'act_customer_pool': "owner IS NULL AND pool IS NOT NULL",
            }
        params = {'e': self.employee, 'today': today,
            'week': today + dt.timedelta(days=6),
            'stale': today - dt.timedelta(days=30)}
        query = (
            "SELECT p.id, p.code, p.name, p.customer_type, t.name, "
            "p.customer_status, p.follow_up_count, p.last_contact_date, "
            "p.next_contact_date FROM party_party p "
            "LEFT JOIN crm_customer_type t ON t.id = p.customer_type "
            "WHERE p.active AND p.customer_nature IS NOT NULL AND "
            + conditions[name] + " AND " + RULE_SQL
            + " ORDER BY p.name, p.id LIMIT 80")
        result = self.sql(query, params).fetchall()
        self.conn.rollback()
        return result

    # (c) claim ---------------------------------------------------------

    def claim(self):
        from trytond.transaction import check_access
        Party = self.pool.get('party.party')
        targets = [r[0] for r in self.sql(
                "SELECT id FROM party_party WHERE owner IS NULL "
                "AND pool IS NOT NULL AND customer_nature IS NOT NULL "
                "AND released_date IS NULL ORDER BY id LIMIT %s",
                (self.reps + 1,))]
        self.conn.rollback()
        it = iter(targets * 2)
        owners = {}

        def orm():
            party_id = next(it)

            def claim():
                with check_access():
                    Party.claim([Party(party_id)])
                owners[party_id] = Party(party_id).owner.id
            self.run(self.sales_user, self.sales_context, claim)

        orm_ms = median_ms(orm, self.reps)
        raw_ms = median_ms(lambda: self._raw_claim(next(it)), self.reps)
        ok = all(o == self.employee for o in owners.values())
        self.record('claim', orm_ms=orm_ms, raw_ms=raw_ms, claimed=ok)

    def _raw_claim(self, party_id):
        params = {'p': party_id, 'e': self.employee, 'today': self.today,
            'now': dt.datetime.now(),
            'start': dt.datetime.combine(self.today, dt.time())}
        self.sql("SELECT id FROM party_party WHERE id = %(p)s FOR UPDATE",
            params)
        self.sql("SELECT id FROM company_employee WHERE id = %(e)s "
            "FOR UPDATE", params)
        self.sql("SELECT owner, pool, released_date "
            "FROM party_party WHERE id = %(p)s", params).fetchone()
        self.sql("SELECT from_owner FROM crm_ownership_log "
            "WHERE party = %(p)s AND action IN ('release', 'auto_release') "
            "ORDER BY id DESC LIMIT 1", params).fetchone()
        self.sql("SELECT count(*) FROM crm_ownership_log "
            "WHERE employee = %(e)s AND action = 'claim' "
            "AND date >= %(start)s", params).fetchone()
        self.sql("SELECT count(*) FROM party_party WHERE owner = %(e)s",
            params).fetchone()
        self.sql("INSERT INTO crm_ownership_log (party, date, action, "
            "to_owner, employee, create_uid, create_date) VALUES "
            "(%(p)s, %(now)s, 'claim', %(e)s, %(e)s, 1, %(now)s)", params)
        self.sql("UPDATE party_party SET owner = %(e)s, "
            "owner_since = %(today)s, release_warned = NULL "
            "WHERE id = %(p)s", params)
        self.conn.rollback()

    # (e) the guard of the links ------------------------------------------

    def guard(self):
        """Create a follow-up, and an opportunity with 10 lines, as the
        salesperson with the guard of the links and without it"""
        import crm_plus.access
        from trytond.transaction import check_access
        customer, = self.sql(
            "SELECT id FROM party_party WHERE owner = %s ORDER BY id "
            "LIMIT 1", (self.employee,)).fetchone()
        self.conn.rollback()
        product, contact = self.run(0, {'company': self.company},
            lambda: self._guard_setup(customer), commit=True)
        creations = {
            'follow_up': lambda: self._create_follow_up(customer, contact),
            'opportunity': lambda: self._create_opportunity(
                customer, contact, product),
            }
        guarded = crm_plus.access.check_create_links

        def unguarded(*args):
            pass
        results = {}
        for name, create in creations.items():
            times = {guarded: [], unguarded: []}

            def orm(create=create):
                def run():
                    with check_access():
                        create()
                self.run(self.sales_user, self.sales_context, run)
            # Alternate with and without the guard, so that a change of the
            # load of the machine weighs on both alike
            for i in range(2 * (self.reps + 1)):
                guard = guarded if i % 2 else unguarded
                crm_plus.access.check_create_links = guard
                try:
                    times[guard].append(median_ms(orm, 1, warmup=0))
                finally:
                    crm_plus.access.check_create_links = guarded
            results[name] = {
                'guarded_ms': statistics.median(times[guarded][1:]),
                'unguarded_ms': statistics.median(times[unguarded][1:]),
                }
        self.record('guard', **results)

    def _guard_setup(self, customer):
        "Create a product and a contact person of the customer"
        Contact = self.pool.get('crm.customer.contact')
        Party = self.pool.get('party.party')
        Template = self.pool.get('product.template')
        Uom = self.pool.get('product.uom')
        unit, = Uom.search([('symbol', '=', 'u')])
        template, = Template.create([{
                    'name': "Bench pump", 'default_uom': unit.id,
                    'type': 'goods', 'list_price': 100,
                    'products': [('create', [{}])]}])
        contact, = Party.create([{'name': "Bench buyer"}])
        Contact.create([{'customer': customer, 'contact': contact.id}])
        return template.products[0].id, contact.id

    def _create_follow_up(self, customer, contact):
        FollowUp = self.pool.get('crm.follow_up')
        FollowUp.create([{
                    'company': self.company, 'party': customer,
                    'contact': contact, 'employee': self.employee,
                    'date': self.today, 'subject': "Call"}])

    def _create_opportunity(self, customer, contact, product):
        Opportunity = self.pool.get('crm.opportunity')
        Product = self.pool.get('product.product')
        unit = Product(product).default_uom.id
        Opportunity.create([{
                    'company': self.company, 'party': customer,
                    'contact': contact, 'employee': self.employee,
                    'name': "Pumps",
                    'lines': [('create', [{
                                    'product': product, 'unit': unit,
                                    'quantity': 1, 'unit_price': 100,
                                    } for _ in range(10)])]}])

    # (d) bulk assignment ------------------------------------------------

    def assign(self, count=1000):
        from trytond.transaction import check_access
        Party = self.pool.get('party.party')
        Employee = self.pool.get('company.employee')
        # 80 % from the pool, 20 % transferred from the manager's salesperson
        ids = [r[0] for r in self.sql(
                "(SELECT id FROM party_party WHERE owner IS NULL "
                "AND pool IS NOT NULL AND customer_nature IS NOT NULL "
                "ORDER BY id DESC LIMIT %s) UNION ALL "
                "(SELECT id FROM party_party WHERE owner = %s "
                "ORDER BY id DESC LIMIT %s)",
                (count * 4 // 5, self.employee, count // 5))]
        self.conn.rollback()
        done = {}

        def orm():
            def assign():
                with check_access():
                    Party.assign_to(Party.browse(ids),
                        Employee(self.assignee))
                done['n'] = Party.search_count(
                    [('id', 'in', ids), ('owner', '=', self.assignee)])
            self.run(self.manager_user, self.manager_context, assign)

        reps = max(3, self.reps // 2)
        orm_ms = median_ms(orm, reps)
        raw_ms = median_ms(lambda: self._raw_assign(ids), reps)
        self.record('assign', orm_ms=orm_ms, raw_ms=raw_ms,
            assigned=done['n'], count=len(ids))

    def _raw_assign(self, ids):
        params = {'ids': ids, 'e': self.assignee, 'by': self.manager,
            'today': self.today, 'now': dt.datetime.now()}
        self.sql("SELECT id FROM party_party WHERE id = ANY(%(ids)s) "
            "FOR UPDATE", params)
        self.sql("SELECT id FROM company_employee WHERE id = %(e)s "
            "FOR UPDATE", params)
        self.sql("SELECT count(*) FROM party_party WHERE owner = %(e)s",
            params).fetchone()
        self.sql("INSERT INTO crm_ownership_log (party, date, action, "
            "from_owner, to_owner, employee, create_uid, create_date) "
            "SELECT id, %(now)s, CASE WHEN owner IS NULL THEN 'assign' "
            "ELSE 'transfer' END, owner, %(e)s, %(by)s, 1, %(now)s "
            "FROM party_party WHERE id = ANY(%(ids)s)", params)
        self.sql("UPDATE party_party SET owner = %(e)s, "
            "owner_since = %(today)s, release_warned = NULL "
            "WHERE id = ANY(%(ids)s)", params)
        self.conn.rollback()

    # (e) import -----------------------------------------------------------

    def import_(self, rows, batch=1000, budget=90):
        """Import rows customers with a phone and an email, from one CSV
        file through the import wizard's path (crm.customer.import), as a
        salesperson with the access checks; then create them with
        Party.create in batches of batch rows, for comparison.

        The Party.create side stops after the batch that exceeds budget
        seconds (batches shrink to fit when a first small batch shows that
        a full one would not); rows/s is then extrapolated from that
        sample."""
        from trytond.transaction import check_access
        Party = self.pool.get('party.party')
        Import = self.pool.get('crm.customer.import', type='wizard')
        CustomerPool = self.pool.get('crm.pool')
        type_id, = self.sql(
            "SELECT id FROM crm_customer_type ORDER BY id LIMIT 1"
            ).fetchone()
        self.conn.rollback()

        def wizard(vlist):
            def import_file():
                with check_access():
                    return len(Import.import_file(
                            csv_file(vlist), CustomerPool(self.pool_id)))
            return self.run(self.sales_user, self.sales_context, import_file)

        def orm(vlist):
            def create():
                with check_access():
                    Party.create(vlist)
            self.run(self.sales_user, self.sales_context, create)

        # warm the caches and probe the speed with 10 rows, not counted
        wizard(self._import_rows(3 * 10 ** 8, 10, type_id))
        started = time.perf_counter()
        orm(self._import_rows(10 ** 8, 10, type_id))
        per_row = (time.perf_counter() - started) / 10
        batch = max(10, min(batch, int(budget / 3 / per_row)))
        done = {'orm': [0, 0.0], 'raw': [0, 0.0]}
        for kind, func in [('orm', orm), ('raw', self._raw_import)]:
            if kind == 'raw':
                func(self._import_rows(2 * 10 ** 8, batch, type_id))
            for start in range(0, rows, batch):
                vlist = self._import_rows(
                    start, min(batch, rows - start), type_id)
                started = time.perf_counter()
                func(vlist)
                done[kind][0] += len(vlist)
                done[kind][1] += time.perf_counter() - started
                if kind == 'orm' and done[kind][1] > budget:
                    break
        vlist = self._import_rows(8 * 10 ** 8, rows, type_id)
        started = time.perf_counter()
        imported = wizard(vlist)
        elapsed = time.perf_counter() - started
        if imported != rows:
            raise RuntimeError(f"the wizard imported {imported} of {rows}")
        self.record('import', orm_rows_s=rows / elapsed,
            raw_rows_s=done['raw'][0] / done['raw'][1], rows=rows,
            create_rows_s=done['orm'][0] / done['orm'][1],
            create_rows=done['orm'][0], batch=batch)

    def _import_rows(self, start, count, type_id):
        return [{
                'name': f'Imported {start + i:09d} Ltd',
                'customer_nature': 'company',
                'customer_type': type_id,
                'pool': self.pool_id,
                'contact_mechanisms': [('create', [
                            {'type': 'phone',
                                'value': f'+86{15000000000 + start + i}'},
                            {'type': 'email',
                                'value': f'i{start + i}@import.test'},
                            ])],
                } for i in range(count)]

    def _raw_import(self, vlist):
        now = dt.datetime.now()
        cursor = self.sql(
            "INSERT INTO party_party (active, code, create_date, "
            "create_uid, name, customer_nature, customer_status, "
            "customer_type, pool, follow_up_count, key_customer) "
            "SELECT TRUE, 'I' || n, %s, 1, n, 'company', 'potential', "
            "%s, %s, 0, FALSE FROM unnest(%s::varchar[]) AS n "
            "RETURNING id",
            (now, vlist[0]['customer_type'], self.pool_id,
                [v['name'] for v in vlist]))
        ids = [r[0] for r in cursor]
        mechanisms = [(i, m['type'], m['value'])
            for i, v in zip(ids, vlist)
            for m in v['contact_mechanisms'][0][1]]
        self.sql(
            "INSERT INTO party_contact_mechanism (active, create_date, "
            "create_uid, party, type, value, value_compact) "
            "SELECT TRUE, %s, 1, p, t, v, v FROM unnest(%s::int[], "
            "%s::varchar[], %s::varchar[]) AS m(p, t, v)",
            (now, *map(list, zip(*mechanisms))))
        self.conn.rollback()


def csv_file(vlist):
    "Return the CSV file of the import template holding the customers"
    output = io.StringIO()
    writer = csv.writer(output)
    writer.writerow(['name', 'nature', 'phone', 'email'])
    for values in vlist:
        (_, mechanisms), = values['contact_mechanisms']
        writer.writerow([values['name'], values['customer_nature'],
                *(m['value'] for m in mechanisms)])
    return output.getvalue().encode()


# The party.party read rules of a salesperson (crm_plus/party.xml, rule
# group rule_group_party_crm_read) written by hand for employee %(e)s
RULE_SQL = """(p.customer_nature IS NULL OR p.owner IS NULL
    OR p.owner IN (WITH RECURSIVE tree(id) AS (
            SELECT id FROM company_employee WHERE id = %(e)s
            UNION SELECT e.id FROM company_employee e
            JOIN tree ON e.supervisor = tree.id)
        SELECT id FROM tree)
    OR p.owner IN (SELECT m.employee FROM "crm_team-company_employee" m
        JOIN crm_team t ON t.id = m.team WHERE t.leader = %(e)s)
    OR EXISTS (SELECT 1 FROM crm_customer_share s WHERE s.party = p.id
        AND s.employee = %(e)s
        AND (s.until IS NULL OR s.until >= %(today)s)))"""


def cursor_dict_once(cursor, size=None):
    """trytond.tools.cursor_dict reading the column names once per result
    instead of once per row (the fix proposed upstream, see README)"""
    size = cursor.arraysize if size is None else size
    names = None
    while True:
        rows = cursor.fetchmany(max(size, 1000))
        if not rows:
            break
        if names is None:
            names = [d[0] for d in cursor.description]
        for row in rows:
            yield dict(zip(names, row))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('database')
    parser.add_argument('output')
    parser.add_argument('--reps', type=int, default=7)
    parser.add_argument('--import-rows', type=int, default=100_000)
    parser.add_argument('--only', nargs='*')
    parser.add_argument('--cursor-fix', action='store_true',
        help="measure with the cursor_dict fix proposed upstream")
    args = parser.parse_args()
    if args.cursor_fix:
        import trytond.model.modelsql
        trytond.model.modelsql.cursor_dict = cursor_dict_once
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    config.update_etc()
    bench = Bench(args.database, args.reps)
    steps = {'release': bench.release, 'lists': bench.lists,
        'claim': bench.claim, 'assign': bench.assign,
        'import': lambda: bench.import_(args.import_rows),
        'reactivate': bench.reactivate, 'guard': bench.guard}
    for name, step in steps.items():
        if not args.only or name in args.only:
            log('measuring', name)
            step()
    with open(args.output, 'w') as output:
        json.dump({'optimize': not __debug__, **bench.results}, output,
            indent=1)


if __name__ == '__main__':
    main()
