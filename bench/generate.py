"""Fill an activated crm_plus database with the benchmark data set.

Run as ``python bench/generate.py DBNAME CUSTOMERS`` with
TRYTOND_DATABASE__URI set.  The small master data (company, 20 employees in
a 3-level hierarchy with their users, pool, release rule, configuration,
dictionaries) is created through the ORM; the customers, their follow-ups,
contact mechanisms and ownership log are inserted with set-based SQL into
the real tables (indexes dropped during the load and rebuilt afterwards),
then the database is VACUUM ANALYZEd.

Data shape (fractions of the customers, drawn with a fixed seed):
 - 40 % owned: 90 % of them by the 16 salespersons, 8 % by the 3 managers,
   2 % by the director; owner_since uniform over the last 720 days;
 - 60 % in the pool (owner NULL), 20 % of those released before;
 - follow-ups: 10 % none, else 1-10 (about 5 per customer overall), the
   latest one 0-121 days ago for owned customers (0-720 for pool ones),
   earlier ones 7-29 days apart; each proposes a next contact 1-60 days
   later; the party's follow_up_count / last_contact_date /
   next_contact_date are exactly what update_follow_up_stats computes;
 - status: 15 % deal (exempt from release), 40 % potential, 30 %
   intention, 15 % lost;
 - a phone and an email per customer;
 - a contact person (a party linked by crm.customer.contact) for 10 % of
   the customers, spread over all of them;
 - one opportunity per customer (1,000,000), of its owner or a
   salesperson, at a random stage of the funnel: 10 % suspended and due
   for reactivation today, 60 % in progress, 10 % draft, 12 % won, 8 %
   lost; amount 10,000-1,000,000, expected signing in the next 180 days.
With the release rule "90 days without follow-up", about 10 % of all
customers (25 % of the owned ones) are due for release.
"""
import datetime as dt
import sys
import time

NO_FOLLOW_UP_DAYS = 90
OWNED = 0.40


def log(*args):
    print(f'[generate {time.strftime("%H:%M:%S")}]', *args, flush=True)


def setup_master(database):
    "Create the master data through the ORM and return their ids"
    from tx import run

    from trytond.pool import Pool
    return run(database, 0, lambda: _master(Pool()), commit=True)


def _master(pool):
    Currency = pool.get('currency.currency')
    Company = pool.get('company.company')
    Party = pool.get('party.party')
    Employee = pool.get('company.employee')
    User = pool.get('res.user')
    ModelData = pool.get('ir.model.data')
    CustomerPool = pool.get('crm.pool')
    Rule = pool.get('crm.pool.release_rule')
    Configuration = pool.get('crm.configuration')
    Team = pool.get('crm.team')

    currency, = Currency.create([{
                'name': 'Yuan', 'symbol': '¥', 'code': 'CNY'}])
    company_party, = Party.create([{'name': 'Bench Co'}])
    company, = Company.create([{
                'party': company_party.id, 'currency': currency.id}])
    user_group = ModelData.get_id('crm_plus', 'group_crm_user')
    admin_group = ModelData.get_id('crm_plus', 'group_crm_admin')
    admin, = User.search([('login', '=', 'admin')])
    User.write([admin], {
            'companies': [('add', [company.id])], 'company': company.id})

    names = ['Director'] + [f'Manager {i}' for i in range(1, 4)] + [
        f'Sales {i:02d}' for i in range(1, 17)]
    parties = Party.create([{'name': n} for n in names])
    employees = []
    for i, party in enumerate(parties):
        if i == 0:
            supervisor = None
        elif i < 4:
            supervisor = employees[0].id
        else:
            supervisor = employees[1 + (i - 4) % 3].id
        employee, = Employee.create([{
                    'party': party.id, 'company': company.id,
                    'supervisor': supervisor}])
        employees.append(employee)
    users = User.create([{
                'name': party.name,
                'login': party.name.lower().replace(' ', ''),
                'companies': [('add', [company.id])],
                'company': company.id,
                'employees': [('add', [employee.id])],
                'employee': employee.id,
                'groups': [('add', [admin_group if i < 4 else user_group])],
                } for i, (party, employee) in enumerate(
                zip(parties, employees))])
    Team.create([{
                'name': f'Team {i}', 'company': company.id,
                'leader': employees[i].id,
                'members': [('add', [e.id for e in employees[4:]
                            if e.supervisor.id == employees[i].id])],
                } for i in range(1, 4)])

    dictionaries = {}
    for model, values in [
            ('crm.customer.type', ['Direct', 'Reseller', 'Key Account',
                    'Government']),
            ('crm.customer.level', ['A', 'B', 'C']),
            ('crm.industry', ['Manufacturing', 'Retail', 'IT', 'Finance',
                    'Health']),
            ('crm.region', ['North', 'East', 'South', 'West']),
            ('crm.customer.source', ['Web', 'Fair', 'Referral']),
            ('crm.follow_up.method', ['Phone', 'Visit', 'Email'])]:
        Model = pool.get(model)
        dictionaries[model] = [r.id for r in Model.create(
                [{'name': v} for v in values])]

    customer_pool, = CustomerPool.create([{
                'name': 'Public Pool', 'company': company.id}])
    Rule.create([{
                'pool': customer_pool.id,
                'no_follow_up_days': NO_FOLLOW_UP_DAYS}])
    config = Configuration(1)
    config.default_pool = customer_pool
    config.stale_days = 30
    config.quota = 50000
    config.daily_claim_cap = 100
    config.save()
    return {
        'company': company.id,
        'employees': [e.id for e in employees],
        'users': [u.id for u in users],
        'pool': customer_pool.id,
        'dictionaries': dictionaries,
        }


def set_party_sequence(database, next_number):
    from tx import run

    from trytond.pool import Pool

    def update():
        Configuration = Pool().get('party.configuration')
        sequence = Configuration(1).party_sequence
        sequence.number_next = next_number
        sequence.save()
    run(database, 0, update, commit=True)


# The tables loaded in bulk; their indexes are rebuilt after the load
TABLES = ['party_party', 'party_contact_mechanism', 'crm_follow_up',
    'crm_ownership_log', 'crm_opportunity', 'crm_customer_contact']


def drop_indexes(cursor):
    "Drop the non-constraint indexes of TABLES and return their definitions"
    cursor.execute(
        "SELECT i.indexrelid::regclass::text, "
        "pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "JOIN pg_class c ON c.oid = i.indrelid "
        "WHERE c.relname = ANY(%s) AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k "
        "WHERE k.conindid = i.indexrelid)", (TABLES,))
    definitions = cursor.fetchall()
    for name, _ in definitions:
        cursor.execute(f'DROP INDEX {name}')
    return [d for _, d in definitions]


def generate(cursor, ids, n, code_start):
    "Insert n customers and their related rows"
    employees = ids['employees']
    director, managers, sales = employees[0], employees[1:4], employees[4:]
    d = ids['dictionaries']
    params = {
        'n': n, 'owned': OWNED, 'pool': ids['pool'],
        'company': ids['company'],
        'director': director, 'managers': managers, 'sales': sales,
        'types': d['crm.customer.type'], 'levels': d['crm.customer.level'],
        'industries': d['crm.industry'], 'regions': d['crm.region'],
        'sources': d['crm.customer.source'],
        'methods': d['crm.follow_up.method'],
        'code_start': code_start,
        }
    # The rows are consistent by construction: skip the per-row foreign key
    # triggers (a superuser setting) during the load
    cursor.execute("SET session_replication_role = replica")
    cursor.execute('SELECT setseed(0.42)')
    log('drawing', n, 'customers')
    cursor.execute('DROP TABLE IF EXISTS bench_gen')
    cursor.execute(GEN_SQL, params)
    cursor.execute('SELECT last_value FROM party_party_id_seq')
    log('inserting party_party')
    cursor.execute(PARTY_SQL, params)
    log('inserting crm_follow_up')
    cursor.execute(FOLLOW_UP_SQL, params)
    log('inserting party_contact_mechanism')
    cursor.execute(CONTACT_SQL, params)
    log('inserting crm_ownership_log')
    cursor.execute(LOG_SQL, params)
    log('inserting crm_opportunity')
    cursor.execute(OPPORTUNITY_SQL, params)
    log('inserting the contact persons')
    cursor.execute(CONTACT_PERSON_SQL, params)
    for table in TABLES:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"(SELECT max(id) FROM {table}))")
    cursor.execute('DROP TABLE bench_gen')
    cursor.execute("SET session_replication_role = DEFAULT")


# One row per customer with its random draws.  "gid" is the party id.
GEN_SQL = """
CREATE UNLOGGED TABLE bench_gen AS
SELECT i, (SELECT coalesce(max(id), 0) FROM party_party) + i AS gid,
    random() AS r_own, random() AS r_fu, random() AS r_last,
    random() AS r_next, random() AS r_status, random() AS r_dict,
    random() AS r_since, random() AS r_prev
FROM generate_series(1, %(n)s) AS i
"""

PARTY_SQL = """
WITH g AS (
    SELECT *,
        CASE WHEN r_own < %(owned)s THEN r_own / %(owned)s END AS u,
        CASE WHEN r_fu < 0.1 THEN 0
            ELSE 1 + floor((r_fu - 0.1) / 0.9 * 10)::int END AS nfu,
        CASE WHEN r_own < %(owned)s THEN floor(r_last * 122)::int
            ELSE floor(r_last * 720)::int END AS last_ago
    FROM bench_gen)
INSERT INTO party_party (id, active, code, code_alnum, code_digit,
    create_date, create_uid, name, customer_nature, customer_status,
    customer_type, customer_level, industry, region, customer_source,
    key_customer, follow_up_count, last_contact_date, next_contact_date,
    last_deal_date, owner, owner_since, pool, released_date)
SELECT gid, TRUE, (%(code_start)s + i)::text, (%(code_start)s + i)::text,
    %(code_start)s + i,
    now() - interval '800 days' + i * interval '1 second', 1,
    initcap(substr(md5(i::text), 1, 10)) || ' Co ' || i,
    CASE WHEN i %% 5 = 0 THEN 'individual' ELSE 'company' END,
    CASE WHEN r_status < 0.15 THEN 'deal' WHEN r_status < 0.55
        THEN 'potential' WHEN r_status < 0.85 THEN 'intention'
        ELSE 'lost' END,
    (%(types)s::int[])[1 + floor(r_dict * 4)::int],
    (%(levels)s::int[])[1 + i %% 3],
    (%(industries)s::int[])[1 + i %% 5],
    (%(regions)s::int[])[1 + i %% 4],
    (%(sources)s::int[])[1 + i %% 3],
    u IS NOT NULL AND i %% 50 = 0,
    nfu,
    CASE WHEN nfu > 0 THEN current_date - last_ago END,
    CASE WHEN nfu > 0 THEN current_date - last_ago
        + 1 + floor(r_next * 60)::int END,
    CASE WHEN r_status < 0.15 THEN current_date - floor(r_since * 300)::int
        END,
    CASE WHEN u IS NULL THEN NULL
        WHEN u < 0.9 THEN (%(sales)s::int[])[1 + floor(u / 0.9 * 16)::int]
        WHEN u < 0.98 THEN
            (%(managers)s::int[])[1 + floor((u - 0.9) / 0.08 * 3)::int]
        ELSE %(director)s END,
    CASE WHEN u IS NOT NULL THEN current_date - floor(r_since * 720)::int
        END,
    %(pool)s,
    CASE WHEN u IS NULL AND r_prev < 0.2
        THEN current_date - 1 - floor(r_since * 700)::int END
FROM g
"""

# Follow-up k (1 = latest) of a customer; the latest has the date and
# next_contact_date stored on the party, earlier ones are 7-29 days apart.
FOLLOW_UP_SQL = """
INSERT INTO crm_follow_up (company, create_date, create_uid, date,
    employee, method, next_contact_date, party, subject, content)
SELECT %(company)s, now(), 1, f.date,
    coalesce(p.owner, (%(sales)s::int[])[1 + p.id %% 16]),
    (%(methods)s::int[])[1 + (p.id + k) %% 3],
    CASE WHEN k = 1 THEN p.next_contact_date
        ELSE f.date + 1 + (p.id * k) %% 60 END,
    p.id, 'Follow-up ' || k, NULL
FROM party_party p
CROSS JOIN LATERAL generate_series(1, p.follow_up_count) AS k
CROSS JOIN LATERAL (SELECT p.last_contact_date
    - ((k - 1) * (7 + p.id %% 23)) AS date) AS f
WHERE p.customer_nature IS NOT NULL AND p.follow_up_count > 0
ORDER BY p.id, k DESC
"""

CONTACT_SQL = """
INSERT INTO party_contact_mechanism (active, create_date, create_uid,
    party, sequence, type, value, value_compact)
SELECT TRUE, p.create_date, 1, p.id, NULL, t.type,
    CASE t.type WHEN 'phone' THEN regexp_replace(
            (13000000000 + p.id)::text, '^(...)(....)(....)$',
            '+86 \\1 \\2 \\3')
        ELSE 'c' || p.id || '@customer.test' END,
    CASE t.type WHEN 'phone' THEN '+86' || (13000000000 + p.id)::text
        ELSE 'c' || p.id || '@customer.test' END
FROM party_party p
CROSS JOIN (VALUES ('phone'), ('email')) AS t(type)
WHERE p.customer_nature IS NOT NULL
ORDER BY p.id
"""

LOG_SQL = """
INSERT INTO crm_ownership_log (action, create_date, create_uid, date,
    employee, from_owner, party, to_owner)
SELECT 'assign', p.owner_since, 1, p.owner_since, e.supervisor, NULL,
    p.id, p.owner
FROM party_party p JOIN company_employee e ON e.id = p.owner
WHERE p.customer_nature IS NOT NULL
UNION ALL
SELECT 'release', p.released_date, 1, p.released_date, NULL,
    (%(sales)s::int[])[1 + floor(g.r_prev * 80)::int], p.id, NULL
FROM party_party p JOIN bench_gen g ON g.gid = p.id
WHERE p.customer_nature IS NOT NULL AND p.released_date IS NOT NULL
ORDER BY 7
"""

# The contact person of every tenth customer: a party without customer
# nature, numbered after the customers
CONTACT_PERSON_SQL = """
WITH c AS (
    SELECT g.gid AS customer, g.i,
        (SELECT max(gid) FROM bench_gen)
            + row_number() OVER (ORDER BY g.i) AS contact
    FROM bench_gen g WHERE g.i %% 10 = 3),
parties AS (
    INSERT INTO party_party (id, active, code, code_alnum, code_digit,
        create_date, create_uid, name)
    SELECT contact, TRUE, (%(code_start)s + %(n)s + i)::text,
        (%(code_start)s + %(n)s + i)::text, %(code_start)s + %(n)s + i,
        now(), 1, 'Contact ' || i
    FROM c)
INSERT INTO crm_customer_contact (customer, contact, create_date,
    create_uid)
SELECT customer, contact, now(), 1 FROM c
"""

OPPORTUNITY_SQL = """
WITH s AS (
    SELECT array_agg(id ORDER BY sequence, id) AS ids,
        array_agg(probability ORDER BY sequence, id) AS probabilities
    FROM crm_opportunity_stage),
o AS (
    SELECT p.id AS party, p.owner, random() AS r_state,
        1 + floor(random() * array_length(s.ids, 1))::int AS k,
        random() AS r_amount, random() AS r_date, random() AS r_emp
    FROM party_party p, s
    WHERE p.customer_nature IS NOT NULL)
INSERT INTO crm_opportunity (company, name, party, employee, currency,
    amount, start_date, expected_date, stage, probability, kind, state,
    reactivation_date, close_date, create_uid, create_date)
SELECT %(company)s, 'Opportunity ' || o.party, o.party,
    COALESCE(o.owner,
        (%(sales)s::int[])[1 + floor(o.r_emp * 16)::int]),
    c.currency, round((10000 + o.r_amount * 990000)::numeric, 2),
    current_date - floor(o.r_date * 365)::int,
    current_date + floor(o.r_date * 180)::int,
    s.ids[o.k], s.probabilities[o.k], 'normal',
    CASE WHEN o.r_state < 0.10 THEN 'suspended'
        WHEN o.r_state < 0.70 THEN 'in_progress'
        WHEN o.r_state < 0.80 THEN 'draft'
        WHEN o.r_state < 0.92 THEN 'won' ELSE 'lost' END,
    CASE WHEN o.r_state < 0.10 THEN current_date
        - floor(o.r_amount * 30)::int END,
    CASE WHEN o.r_state >= 0.80 THEN current_date
        - floor(o.r_date * 30)::int END,
    1, now()
FROM o, s, company_company c
WHERE c.id = %(company)s
ORDER BY o.party
"""


def main(database, n):
    import psycopg

    from trytond import config
    from trytond.pool import Pool
    config.update_etc()
    Pool.start()
    Pool(database).init()
    started = time.monotonic()
    ids = setup_master(database)
    log('master data created', ids['employees'])
    uri = config.get('database', 'uri')
    with psycopg.connect(uri.rstrip('/') + '/' + database) as conn:
        cursor = conn.cursor()
        cursor.execute('SELECT coalesce(max(code_digit), 0) FROM party_party')
        code_start, = cursor.fetchone()
        definitions = drop_indexes(cursor)
        generate(cursor, ids, n, code_start)
        log('rebuilding', len(definitions), 'indexes')
        for definition in definitions:
            cursor.execute(definition)
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_meta "
            "(key VARCHAR PRIMARY KEY, value VARCHAR)")
        cursor.execute(
            "INSERT INTO bench_meta VALUES ('date', %s), "
            "('customers', %s)", (dt.date.today().isoformat(), str(n)))
        conn.commit()
        set_party_sequence(database, code_start + 2 * n + 1)
        conn.autocommit = True
        log('vacuum analyze')
        cursor.execute('VACUUM ANALYZE')
    log(f'done in {time.monotonic() - started:.0f} s')


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
