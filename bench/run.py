"""crm_plus performance benchmark on PostgreSQL (see bench/README.md).

    python bench/run.py            # from scratch: temporary cluster, deleted
    python bench/run.py --keep     # keep the cluster and database in
                                   # var/bench and reuse them next time

Steps: start a PostgreSQL cluster, activate crm_plus in a database, fill it
with bench/generate.py (1M customers), then run bench/measure.py twice as
subprocesses (``python -O`` and default mode) and print the table.
"""
import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import cluster  # noqa: E402

DATABASE = 'bench'
TEMPLATE = 'bench_activated'
PYTHON = sys.executable
TRYTOND_ADMIN = os.path.join(os.path.dirname(PYTHON), 'trytond-admin')


def log(*args):
    print(f'[bench {time.strftime("%H:%M:%S")}]', *args, flush=True)


def fingerprint():
    "Hash of the crm_plus sources: the schema a kept database was built for"
    digest = hashlib.sha1()
    base = os.path.join(ROOT, 'crm_plus')
    for folder, dirs, files in sorted(os.walk(base)):
        dirs[:] = sorted(d for d in dirs if d not in {'tests', 'locale',
                '__pycache__'})
        for name in sorted(files):
            if name.endswith(('.py', '.xml', '.cfg')):
                with open(os.path.join(folder, name), 'rb') as f:
                    digest.update(name.encode() + f.read())
    return digest.hexdigest()


def generator():
    "Hash of bench/generate.py: the data a kept database was filled with"
    with open(os.path.join(HERE, 'generate.py'), 'rb') as f:
        return hashlib.sha1(f.read()).hexdigest()


class Database:

    def __init__(self, pg):
        import psycopg
        self.pg = pg
        self.env = dict(os.environ, TRYTOND_DATABASE__URI=pg.uri,
            PYTHONPATH=os.pathsep.join(
                filter(None, [ROOT, os.environ.get('PYTHONPATH')])))
        self.admin = psycopg.connect(pg.uri + 'postgres', autocommit=True)

    def connect(self, name=DATABASE):
        import psycopg
        return psycopg.connect(self.pg.uri + name, autocommit=True)

    def exists(self, name):
        return bool(self.admin.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s",
                (name,)).fetchone())

    def meta(self):
        "Return the bench_meta of the database ({} if unusable)"
        if not self.exists(DATABASE):
            return {}
        with self.connect() as conn:
            if not conn.execute(
                    "SELECT to_regclass('bench_meta')").fetchone()[0]:
                return {}
            return dict(conn.execute("SELECT key, value FROM bench_meta"))

    def set_meta(self, **values):
        with self.connect() as conn:
            for key, value in values.items():
                conn.execute(
                    "INSERT INTO bench_meta VALUES (%s, %s) ON CONFLICT "
                    "(key) DO UPDATE SET value = EXCLUDED.value",
                    (key, str(value)))

    def trytond_admin(self, *args):
        with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
            passfile.write('admin\n')
            passfile.flush()
            subprocess.run([TRYTOND_ADMIN, '-d', DATABASE, *args],
                env=dict(self.env, TRYTONPASSFILE=passfile.name),
                check=True, cwd=ROOT)

    def create(self, customers, keep):
        "Create, activate and fill the database"
        self.admin.execute(f'DROP DATABASE IF EXISTS {DATABASE}')
        if keep and self.exists(TEMPLATE) and self._template_ok():
            log('copying the activated template')
            self.admin.execute(
                f'CREATE DATABASE {DATABASE} TEMPLATE {TEMPLATE}')
        else:
            log('activating crm_plus (takes a few minutes)')
            self.admin.execute(f'CREATE DATABASE {DATABASE}')
            self.trytond_admin('-u', 'crm_plus', '--activate-dependencies',
                '--email', 'admin@bench.test')
            if keep:
                self.admin.execute(f'DROP DATABASE IF EXISTS {TEMPLATE}')
                self.admin.execute(
                    f'CREATE DATABASE {TEMPLATE} TEMPLATE {DATABASE}')
                self.admin.execute(
                    f"COMMENT ON DATABASE {TEMPLATE} IS '{fingerprint()}'")
        log(f'generating {customers} customers')
        subprocess.run([PYTHON, os.path.join(HERE, 'generate.py'),
                DATABASE, str(customers)], env=self.env, check=True)
        self.set_meta(fingerprint=fingerprint(), generator=generator())

    def _template_ok(self):
        comment, = self.admin.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = %s", (TEMPLATE,)).fetchone()
        return comment == fingerprint()

    def refresh(self, meta):
        "Bring a kept database up to date with the sources and the date"
        if meta.get('fingerprint') != fingerprint():
            log('crm_plus changed: updating the kept database')
            self.trytond_admin('-u', 'crm_plus', '--activate-dependencies')
            self.set_meta(fingerprint=fingerprint())
            with self.connect() as conn:
                conn.execute('ANALYZE')
        days = (dt.date.today() - dt.date.fromisoformat(meta['date'])).days
        if days:
            log(f'shifting the dates by {days} days')
            with self.connect() as conn:
                for statement in SHIFT_SQL:
                    conn.execute(statement, {'d': days})
                conn.execute('VACUUM ANALYZE')
            self.set_meta(date=dt.date.today().isoformat())


# Keep the data relative to today when a kept database is reused later
SHIFT_SQL = [
    "UPDATE party_party SET last_contact_date = last_contact_date + %(d)s, "
    "next_contact_date = next_contact_date + %(d)s, "
    "owner_since = owner_since + %(d)s, "
    "released_date = released_date + %(d)s, "
    "last_deal_date = last_deal_date + %(d)s, "
    "release_warned = release_warned + %(d)s "
    "WHERE customer_nature IS NOT NULL",
    "UPDATE crm_follow_up SET date = date + %(d)s, "
    "next_contact_date = next_contact_date + %(d)s",
    "UPDATE crm_ownership_log SET date = date + %(d)s * interval '1 day'",
    "UPDATE crm_opportunity SET start_date = start_date + %(d)s, "
    "expected_date = expected_date + %(d)s, "
    "reactivation_date = reactivation_date + %(d)s, "
    "close_date = close_date + %(d)s",
    ]


def measure(db, args):
    "Run measure.py with -O and without; return {mode: results}"
    results = {}
    for mode, flags in [('python -O', ['-O']), ('default', [])]:
        with tempfile.NamedTemporaryFile(suffix='.json') as output:
            command = [PYTHON, *flags, os.path.join(HERE, 'measure.py'),
                DATABASE, output.name, '--reps', str(args.reps),
                '--import-rows', str(args.import_rows)]
            if args.only:
                command += ['--only', *args.only]
            log('running', ' '.join(command[1:]))
            subprocess.run(command, env=db.env, check=True)
            with open(output.name) as f:
                results[mode] = json.load(f)
    return results


def verdict(ok):
    return 'PASS' if ok else 'MISS'


def rows(results):
    "Yield the table rows (what, target, ORM, raw, ratio, verdict)"
    release = results.get('release')
    if release:
        ratio = release['orm_ms'] / release['raw_ms']
        yield ('release_customers (%d released)' % release['released'],
            '<=1.5x raw, <5 s', ms(release['orm_ms']),
            ms(release['raw_ms']), f'{ratio:.2f}x',
            verdict(ratio <= 1.5 and release['orm_ms'] < 5000))
    for name in ['act_tracking_today', 'act_tracking_week',
            'act_tracking_overdue', 'act_tracking_stale',
            'act_tracking_never', 'act_customer_mine', 'act_customer_pool']:
        if name not in results:
            continue
        r = results[name]
        ratio = r['orm_ms'] / r['raw_ms']
        ok = r['orm_ms'] <= 25 and (r['raw_ms'] < 5 or ratio <= 3)
        yield (f"{name[4:]} ({r['rows']} rows)",
            '<=25 ms' + (', <=3x raw' if r['raw_ms'] >= 5 else ''),
            ms(r['orm_ms']), ms(r['raw_ms']), f'{ratio:.1f}x',
            verdict(ok and r['same_rows']))
    claim = results.get('claim')
    if claim:
        yield ('claim 1 customer', '<=50 ms', ms(claim['orm_ms']),
            ms(claim['raw_ms']),
            f"{claim['orm_ms'] / claim['raw_ms']:.1f}x",
            verdict(claim['orm_ms'] <= 50 and claim['claimed']))
    assign = results.get('assign')
    if assign:
        yield ('assign_to %d customers' % assign['count'], '(none)',
            ms(assign['orm_ms']), ms(assign['raw_ms']),
            f"{assign['orm_ms'] / assign['raw_ms']:.1f}x", 'info')
    reactivate = results.get('reactivate')
    if reactivate:
        ratio = reactivate['orm_ms'] / reactivate['raw_ms']
        yield ('reactivate_suspended (%d opportunities)'
            % reactivate['reactivated'], 'one set-based pass',
            ms(reactivate['orm_ms']), ms(reactivate['raw_ms']),
            f'{ratio:.2f}x',
            verdict(reactivate['reactivated']
                == reactivate['reactivated_raw']))
    guard = results.get('guard')
    for name, what in [('follow_up', 'create a follow-up'),
            ('opportunity', 'create an opportunity with 10 lines')]:
        if guard and name in guard:
            r = guard[name]
            ratio = r['guarded_ms'] / r['unguarded_ms']
            yield (f'{what}, guard on / off', '<=1.2x',
                ms(r['guarded_ms']), ms(r['unguarded_ms']),
                f'{ratio:.2f}x', verdict(ratio <= 1.2))
    imp = results.get('import')
    if imp:
        yield (f"import {imp['rows']} customers (+2 contacts), wizard",
            '>=1000 rows/s', rate(imp['orm_rows_s']),
            rate(imp['raw_rows_s']),
            f"{imp['raw_rows_s'] / imp['orm_rows_s']:.1f}x",
            verdict(imp['orm_rows_s'] >= 1000))
        sample = imp['create_rows']
        what = (f"Party.create {imp['rows']} customers"
            if sample >= imp['rows'] else
            f"Party.create: {sample}-row sample (extrapolated)")
        yield (what, '(none)', rate(imp['create_rows_s']),
            rate(imp['raw_rows_s']),
            f"{imp['raw_rows_s'] / imp['create_rows_s']:.1f}x", 'info')


def rate(value):
    return f'{value:.2f} rows/s' if value < 10 else f'{value:.0f} rows/s'


def ms(value):
    return f'{value / 1000:.2f} s' if value >= 1000 else f'{value:.1f} ms'


def table(all_results):
    header = ('measurement', 'target', 'ORM', 'raw SQL', 'ratio', 'result')
    lines = []
    for mode, results in all_results.items():
        body = list(rows(results))
        widths = [max(len(str(r[i])) for r in [header, *body])
            for i in range(len(header))]

        def fmt(row, widths=widths):
            return '| ' + ' | '.join(
                str(c).ljust(w) for c, w in zip(row, widths)) + ' |'
        lines += [f'trytond under {mode}:', fmt(header),
            '|' + '|'.join('-' * (w + 2) for w in widths) + '|']
        lines += [fmt(r) for r in body]
        if results.get('release', {}).get('workaround'):
            lines.append('(release: measured with the shared-table '
                'workaround, the unpatched job fails; see README)')
        lines.append('')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--keep', action='store_true',
        help="keep the cluster and database in --dir and reuse them")
    parser.add_argument('--dir', default=os.path.join(ROOT, 'var', 'bench'))
    parser.add_argument('--customers', type=int, default=1_000_000)
    parser.add_argument('--reps', type=int, default=7)
    parser.add_argument('--import-rows', type=int, default=100_000,
        help="customers imported through the wizard (Party.create is "
        "measured on a sample and extrapolated)")
    parser.add_argument('--only', nargs='*',
        choices=['release', 'lists', 'claim', 'assign', 'import',
            'reactivate', 'guard'])
    args = parser.parse_args()
    started = time.monotonic()
    context = (cluster.persistent(os.path.join(args.dir, 'pg'))
        if args.keep else cluster.temporary())
    with context as pg:
        log('PostgreSQL at', pg.uri)
        db = Database(pg)
        meta = db.meta()
        if (args.keep and meta.get('customers') == str(args.customers)
                and meta.get('generator') == generator()):
            log('reusing the kept database')
            db.refresh(meta)
        else:
            db.create(args.customers, args.keep)
        db.admin.close()
        all_results = measure(db, args)
    text = table(all_results)
    print(text)
    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, 'last.txt'), 'w') as f:
        f.write(text)
    with open(os.path.join(args.dir, 'last.json'), 'w') as f:
        json.dump(all_results, f, indent=1)
    log(f'done in {time.monotonic() - started:.0f} s')


if __name__ == '__main__':
    main()
