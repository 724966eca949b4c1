"""Print the SQL the ORM runs for a tracking list (or the import) with
EXPLAIN ANALYZE, and where the Python time goes.

    TRYTOND_DATABASE__URI=postgresql://postgres@127.0.0.1:PORT/ \\
        python -O bench/explain.py bench act_tracking_never [--profile]

Start the kept cluster first, e.g. with ``python bench/cluster.py``.
"""
import argparse
import cProfile
import os
import pstats
import sys
import time

import psycopg

from trytond import config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def capture():
    "Record (ms, query, params) of every statement psycopg executes"
    queries = []
    execute = psycopg.Cursor.execute

    def logged(self, query, params=None, **kwargs):
        started = time.perf_counter()
        try:
            return execute(self, query, params, **kwargs)
        finally:
            queries.append(((time.perf_counter() - started) * 1000,
                    query, params))
    psycopg.Cursor.execute = logged
    return queries, lambda: setattr(psycopg.Cursor, 'execute', execute)


def main():
    import measure
    parser = argparse.ArgumentParser()
    parser.add_argument('database')
    parser.add_argument('action', help="an act_window id of crm_plus")
    parser.add_argument('--profile', action='store_true')
    args = parser.parse_args()
    config.update_etc()
    bench = measure.Bench(args.database, 1)
    from trytond.pyson import PYSONDecoder
    from trytond.transaction import Transaction, check_access
    pool = bench.pool
    Party = pool.get('party.party')
    ModelData = pool.get('ir.model.data')
    ActWindow = pool.get('ir.action.act_window')
    with Transaction().start(args.database, 0):
        pyson = ActWindow(
            ModelData.get_id('crm_plus', args.action)).pyson_domain
    domain = PYSONDecoder({'context': bench.sales_context}).decode(pyson)
    fields = measure.list_fields()

    def page():
        with check_access():
            Party.search_read(domain, limit=80, fields_names=fields)
    for _ in range(3):
        bench.run(bench.sales_user, bench.sales_context, page, readonly=True)
    queries, restore = capture()
    profile = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profile:
        profile.enable()
    bench.run(bench.sales_user, bench.sales_context, page, readonly=True)
    if profile:
        profile.disable()
    total = (time.perf_counter() - started) * 1000
    restore()
    print(f'search_read: {total:.1f} ms, {len(queries)} statements, '
        f'{sum(q[0] for q in queries):.1f} ms in execute')
    for ms, query, params in queries:
        if not params or not str(query).lstrip().upper().startswith(
                'SELECT'):
            continue
        print(f'\n-- {ms:.1f} ms\n{query}\n-- {params}')
        cursor = bench.conn.cursor()
        cursor.execute(b'EXPLAIN (ANALYZE, BUFFERS) ' + (
                query if isinstance(query, bytes) else query.encode()),
            params)
        print('\n'.join(r[0] for r in cursor))
        bench.conn.rollback()
    if profile:
        pstats.Stats(profile).sort_stats('cumulative').print_stats(20)


if __name__ == '__main__':
    main()
