"""Funnel and forecast over many opportunities: the reporting models (ORM)
against hand-written GROUP BY queries (see bench/README.md).

    python bench/funnel.py [--opportunities 1000000] [--customers 50000]

Starts a throwaway PostgreSQL cluster, activates crm_plus, creates the
master data and the customers with bench/generate.py, inserts the
opportunities with one INSERT … SELECT, then times, median of --reps runs
each in its own rolled-back transaction:

- ORM: ``search_read`` of every row of crm.report.funnel (GROUP BY stage,
  currency) and crm.report.forecast (GROUP BY owner, month, currency) as a
  CRM manager and as a salesperson, with the access checks of an RPC call
  (so the record rules of crm.opportunity and its customers apply);
- raw: the same GROUP BY written by hand, with the salesperson's rules
  written by hand too (his and his subordinates' customers, the pool).

Targets: ORM ≤ 1.5× raw and < 500 ms.
"""
import argparse
import os
import statistics
import sys
import time
from functools import partial

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import cluster  # noqa: E402

DATABASE = 'bench_funnel'

OPPORTUNITIES_SQL = """
INSERT INTO crm_opportunity (company, name, party, employee, currency,
    kind, amount, start_date, expected_date, stage, probability, state,
    close_date, create_uid, create_date)
SELECT c.company, 'Deal ' || g, p.id, p.owner, c.currency, 'normal',
    (g %% 1000) * 100, CURRENT_DATE - (g %% 365),
    CURRENT_DATE + (g %% 180), s.id, s.probability,
    (ARRAY['draft', 'in_progress', 'in_progress', 'in_progress',
        'suspended', 'won', 'lost'])[1 + g %% 7],
    CASE WHEN g %% 7 >= 5 THEN CURRENT_DATE - (g %% 30) END,
    1, now()
FROM generate_series(1, %(n)s) AS g
JOIN (SELECT id, owner, row_number() OVER (ORDER BY id) - 1 AS rank
    FROM party_party WHERE owner IS NOT NULL) AS p
    ON p.rank = g %% %(owned)s
JOIN (SELECT id, probability, row_number() OVER (ORDER BY sequence, id) - 1
        AS rank FROM crm_opportunity_stage) AS s
    ON s.rank = g %% 5
CROSS JOIN (SELECT company.id AS company, company.currency
    FROM company_company AS company LIMIT 1) AS c
"""

OPEN = "('draft', 'waiting', 'in_progress', 'suspended')"
FUNNEL_SQL = f"""
SELECT o.stage, o.currency, count(*), sum(coalesce(o.amount, 0)),
    sum(coalesce(o.amount, 0) * coalesce(o.probability, 0) / 100)
FROM crm_opportunity AS o
WHERE o.company = %(company)s AND o.state IN {OPEN} {{rule}}
GROUP BY o.stage, o.currency
"""
FORECAST_SQL = f"""
SELECT o.employee, CAST(date_trunc('month', o.expected_date) AS DATE),
    o.currency, count(*), sum(coalesce(o.amount, 0)),
    sum(coalesce(o.amount, 0) * coalesce(o.probability, 0) / 100)
FROM crm_opportunity AS o
WHERE o.company = %(company)s AND o.state IN {OPEN} {{rule}}
GROUP BY 1, 2, 3
"""
# The salesperson's read rules on customers, written by hand: own and
# subordinates' customers, pool customers (shares and teams are empty)
SALESPERSON_RULE = """
AND o.party IN (SELECT p.id FROM party_party AS p
    WHERE p.owner IS NULL OR p.owner IN (
        WITH RECURSIVE sub(id) AS (
            SELECT CAST(%(employee)s AS INTEGER) UNION
            SELECT e.id FROM company_employee AS e JOIN sub
                ON e.supervisor = sub.id)
        SELECT id FROM sub))
"""


def log(*args):
    print(f'[funnel {time.strftime("%H:%M:%S")}]', *args, flush=True)


def median_ms(func, reps):
    func()
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        func()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def prepare(pg, customers, opportunities):
    import psycopg
    env = cluster.new_database(pg, DATABASE, customers, log)
    log(f'inserting {opportunities} opportunities')
    with psycopg.connect(pg.uri + DATABASE, autocommit=True) as conn:
        owned, = conn.execute(
            "SELECT count(*) FROM party_party WHERE owner IS NOT NULL"
            ).fetchone()
        conn.execute(OPPORTUNITIES_SQL,
            {'n': opportunities, 'owned': owned})
        conn.execute('VACUUM ANALYZE crm_opportunity')
    return env


# The columns of the list views
FIELDS = {
    'crm.report.funnel': ['stage', 'currency'],
    'crm.report.forecast': ['employee', 'month', 'currency'],
    }


def orm_rows(pool, user_id, model):
    "search_read every row of the report as the user would over RPC"
    from trytond.transaction import Transaction
    User = pool.get('res.user')
    with Transaction().start(DATABASE, user_id) as transaction:
        context = User.get_preferences(context_only=True)
        with transaction.set_context(context, _check_access=True):
            rows = pool.get(model).search_read([], fields_names=[
                    *FIELDS[model], 'opportunities', 'amount',
                    'weighted_amount'])
        transaction.rollback()
    return rows


def raw_rows(conn, query, params):
    rows = conn.execute(query, params).fetchall()
    conn.rollback()
    return rows


def measure(pg, reps):
    import psycopg

    from trytond import config
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    config.update_etc()
    Pool.start()
    pool = Pool(DATABASE)
    pool.init()
    results = []
    with Transaction().start(DATABASE, 0):
        User = pool.get('res.user')
        users = {l: User.search([('login', '=', l)])[0]
            for l in ['manager1', 'sales01']}
        params = {
            'company': users['manager1'].company.id,
            'employee': users['sales01'].employee.id,
            }
        user_ids = {l: u.id for l, u in users.items()}
    conn = psycopg.connect(pg.uri + DATABASE)
    for login, rule in [('manager1', ''), ('sales01', SALESPERSON_RULE)]:
        for model, sql in [('crm.report.funnel', FUNNEL_SQL),
                ('crm.report.forecast', FORECAST_SQL)]:
            orm = partial(orm_rows, pool, user_ids[login], model)
            raw = partial(raw_rows, conn, sql.format(rule=rule), params)
            orm_result, raw_result = orm(), raw()
            if (sorted(r['opportunities'] for r in orm_result)
                    != sorted(r[-3] for r in raw_result)):
                # not an assert: this script runs under python -O
                raise SystemExit(f'{model} as {login}: ORM and SQL differ')
            orm_ms, raw_ms = median_ms(orm, reps), median_ms(raw, reps)
            results.append((model, login, len(raw_result), orm_ms, raw_ms))
            log(model, login, f'{orm_ms:.1f} ms', f'raw {raw_ms:.1f} ms')
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--customers', type=int, default=50_000)
    parser.add_argument('--opportunities', type=int, default=1_000_000)
    parser.add_argument('--reps', type=int, default=7)
    args = parser.parse_args()
    with cluster.temporary() as pg:
        env = prepare(pg, args.customers, args.opportunities)
        os.environ.update(env)
        results = measure(pg, args.reps)
    print('| report | user | rows | ORM | raw SQL | ratio | result |')
    print('|---|---|---|---|---|---|---|')
    for model, login, rows, orm_ms, raw_ms in results:
        ok = orm_ms <= 1.5 * raw_ms and orm_ms < 500
        print(f'| {model} | {login} | {rows} | {orm_ms:.1f} ms '
            f'| {raw_ms:.1f} ms | {orm_ms / raw_ms:.2f}× '
            f'| {"OK" if ok else "MISS"} |')


if __name__ == '__main__':
    main()
