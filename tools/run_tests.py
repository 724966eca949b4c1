"""Run the tests of every module on SQLite and/or PostgreSQL.

unittest, not pytest: pytest ignores the load_tests protocol, so Tryton's
scenario .rst doctests would silently not run.

Each module runs in its own subprocess (its own Pool and database), which
re-invokes this file with --child to run unittest in-process and write the
outcome as JSON: the parent never parses test output.  PostgreSQL runs in a
throwaway cluster (pgcluster.py).  Activated databases are cached with
Tryton's DB_CACHE in .cache/db/<backend>/<hash>; the hash covers the
modules' sources and the installed trytond distributions, because Tryton
keys its cache by module names only and would restore a stale schema.

Tests can read CRM_TEST_BACKEND (sqlite or postgresql) and, on PostgreSQL,
CRM_TEST_PG_URI (the cluster, for a second connection or a server).

Ends with one line ``N passed, N failed[, N skipped]``; exits non-zero on
any failure or when no test ran.
"""
import argparse
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import warnings
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pgcluster

ROOT = Path(__file__).resolve().parent.parent
MODULES = ['crm_plus', 'crm_plus_sale', 'crm_plus_service', 'crm_plus_finance']
SOURCE_SUFFIXES = {'.py', '.xml', '.cfg', '.po'}
CACHE = ROOT / '.cache' / 'db'
# Any PYTHONWARNINGS stops unittest from showing every warning of every
# dependency; deprecations caused by our modules are re-enabled in run_child.
WARNINGS = ('ignore::DeprecationWarning,ignore::PendingDeprecationWarning,'
    'ignore::ResourceWarning')


class Result(unittest.TextTestResult):
    """Count outcomes per test rather than per report.

    A test with failing subtests is reported several times, and a failing
    setUpClass is reported although it is not a test.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.started = set()

    def startTest(self, test):
        super().startTest(test)
        self.started.add(test.id())

    def counts(self):
        def test_id(test):
            return getattr(test, 'test_case', test).id()  # subtest -> test

        failed = {test_id(t) for t, _ in self.failures + self.errors}
        failed.update(t.id() for t in self.unexpectedSuccesses)
        skipped = {t.id() for t, _ in self.skipped} & (self.started - failed)
        return {
            'run': self.testsRun,
            'passed': len(self.started - failed - skipped),
            'failed': len(failed),
            'skipped': len(skipped),
            }


def run_child(module, patterns, verbosity, result_path):
    "Run the tests of module in this process and write the counts."
    warnings.filterwarnings('default', category=DeprecationWarning,
        module='crm_plus')  # a prefix: all our modules
    loader = unittest.TestLoader()
    if patterns:  # same semantics as unittest's -k
        loader.testNamePatterns = [
            p if '*' in p else f'*{p}*' for p in patterns]
    suite = loader.discover(str(ROOT / module), top_level_dir=str(ROOT))
    runner = unittest.TextTestRunner(resultclass=Result, verbosity=verbosity)
    Path(result_path).write_text(json.dumps(runner.run(suite).counts()))


def source_hash():
    "Hash what defines the activated databases: sources and dependencies."
    digest = hashlib.sha256()
    for module in MODULES:
        for path in sorted((ROOT / module).rglob('*')):
            if path.suffix in SOURCE_SUFFIXES and path.is_file():
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    dists = importlib.metadata.distributions()
    for dist in sorted(f'{d.name}=={d.version}' for d in dists
            if d.name.lower().startswith('trytond')):
        digest.update(dist.encode())
    return digest.hexdigest()[:16]


@contextmanager
def locked_cache(backend):
    """Yield this source state's cache folder after dropping the older ones.

    Tryton writes cache entries without locking, so a concurrent run in the
    same checkout could corrupt them (or we could prune its folder): while
    one run holds the lock, any other runs without cache and yields None.
    """
    base = CACHE / backend
    base.mkdir(parents=True, exist_ok=True)
    with open(base / '.lock', 'w') as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"Another test run uses {base}: no DB cache", flush=True)
            yield None
            return
        folder = base / source_hash()
        for old in base.iterdir():
            if old.is_dir() and old != folder:
                shutil.rmtree(old)
        yield folder


def backend_env(backend, cache, pg):
    env = dict(os.environ)
    env.pop('TRYTOND_CONFIG', None)  # a config file would override the env
    env.pop('CRM_TEST_PG_URI', None)
    env.update({
        'CRM_TEST_BACKEND': backend,
        'TRYTOND_EMAIL__URI': 'smtp://127.0.0.1:1',  # refused, never sent
        'PYTHONWARNINGS': WARNINGS,
        'PYTHONUNBUFFERED': '1',  # keep child and parent output in order
        })
    if cache:
        env['DB_CACHE'] = str(cache)
    if pg:
        env.update({
            'TRYTOND_DATABASE__URI': pg.uri,
            'CRM_TEST_PG_URI': pg.uri,
            'PATH': pg.bin_dir + os.pathsep + env['PATH'],  # pg_dump/restore
            })
    else:
        env.update(TRYTOND_DATABASE__URI='sqlite://', DB_NAME=':memory:',
            # The transactions of a thread share one SQLite connection, and
            # the cache's periodic clean reads on it in autocommit, which
            # commits the transaction of the test that a nested one (a
            # new_transaction, a route) started in: its records stayed for
            # the next tests.  One process alone needs no clean.
            TRYTOND_CACHE__CLEAN_TIMEOUT=str(10 ** 9))
    return env


def run_module(module, env, args, cache, tmp):
    "Run module's tests in a subprocess; return its counts."
    result = Path(tmp, f'{module}.json')
    cmd = [sys.executable, __file__, '--child', str(result), '-m', module]
    cmd += [f'-k{p}' for p in args.k] + (['-q'] if args.quiet else [])
    if env['CRM_TEST_BACKEND'] == 'postgresql':
        env = dict(env, DB_NAME=f'test_{module}')
    print(f"\n=== {env['CRM_TEST_BACKEND']}: {module}", flush=True)
    finished = False
    try:
        returncode = subprocess.run(cmd, cwd=ROOT, env=env).returncode
        finished = not returncode and result.exists()
    finally:
        if not finished and cache:
            # it may have died while writing a cache entry
            shutil.rmtree(cache, ignore_errors=True)
    if not finished:
        print(f"*** {module}: test process failed ({returncode})", flush=True)
        return {'run': 0, 'passed': 0, 'failed': 1, 'skipped': 0}
    return json.loads(result.read_text())


def run_backend(backend, args):
    "Run the selected modules on backend; return (backend, module, counts)."
    caching = nullcontext() if args.no_cache else locked_cache(backend)
    cluster = pgcluster.cluster if backend == 'postgresql' else nullcontext
    rows = []
    with caching as cache, cluster() as pg, tempfile.TemporaryDirectory(
            ) as tmp:
        env = backend_env(backend, cache, pg)
        for module in args.module or MODULES:
            start = time.monotonic()
            counts = run_module(module, env, args, cache, tmp)
            counts['time'] = time.monotonic() - start
            rows.append((backend, module, counts))
    return rows


def summary(rows):
    "Print a table and the final line; return the exit status."
    columns = ('run', 'passed', 'failed', 'skipped')
    print(f"\n{'backend':<11}{'module':<18}"
        + ''.join(f'{c:>8}' for c in columns) + f"{'time':>9}")
    for backend, module, counts in rows:
        print(f'{backend:<11}{module:<18}'
            + ''.join(f'{counts[c]:>8}' for c in columns)
            + f"{counts['time']:>8.1f}s")
    total = {c: sum(r[2][c] for r in rows) for c in columns}
    line = f"{total['passed']} passed, {total['failed']} failed"
    if total['skipped']:
        line += f", {total['skipped']} skipped"
    print(line)
    return int(bool(total['failed']) or not total['run'])


def _terminate(signum, frame):
    sys.exit(128 + signum)  # unwinds: kills the child, removes the cluster


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--backend', default='all',
        choices=['sqlite', 'postgresql', 'all'])
    parser.add_argument('-m', '--module', action='append', choices=MODULES,
        help="restrict to this module (repeatable)")
    parser.add_argument('-k', action='append', default=[], metavar='PATTERN',
        help="only run tests matching PATTERN, as unittest -k")
    parser.add_argument('-q', '--quiet', action='store_true',
        help="print dots instead of test names")
    parser.add_argument('--no-cache', action='store_true',
        help="do not use the DB_CACHE of activated databases")
    parser.add_argument('--child', metavar='RESULT', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    if args.child:
        return run_child(args.module[0], args.k, 1 if args.quiet else 2,
            args.child)
    signal.signal(signal.SIGTERM, _terminate)
    backends = ['sqlite', 'postgresql'] if args.backend == 'all' else [
        args.backend]
    rows = []
    for backend in backends:
        rows += run_backend(backend, args)
    return summary(rows)


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
