"""PostgreSQL clusters for the benchmark.

``temporary()`` is tools/pgcluster.py's throwaway cluster (deleted on exit)
with the benchmark's memory settings added; ``persistent(directory)`` keeps
the data folder between runs (``bench/run.py --keep``) and only stops the
server on exit.
"""
import contextlib
import os
import signal
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))

import pgcluster  # noqa: E402

# Sized for a machine with a few GB of RAM to spare: the 1M customers and
# 5M follow-ups (about 2 GB with indexes) stay in the page cache.
SETTINGS = {
    'shared_buffers': '1GB',
    'effective_cache_size': '4GB',
    'work_mem': '32MB',
    'maintenance_work_mem': '512MB',
    'max_wal_size': '8GB',
    'checkpoint_timeout': '30min',
    'wal_level': 'minimal',
    'max_wal_senders': '0',
    'jit': 'off',
    }


@contextlib.contextmanager
def temporary():
    previous = pgcluster.SETTINGS
    pgcluster.SETTINGS = {**previous, **SETTINGS}
    try:
        with pgcluster.cluster(timeout=120) as pg:
            yield pg
    finally:
        pgcluster.SETTINGS = previous


@contextlib.contextmanager
def persistent(directory):
    "Start (creating it the first time) the cluster kept in directory"
    bindir = pgcluster.bin_dir()
    user = pgcluster._server_user()
    run_as = {'user': user.pw_uid, 'group': user.pw_gid,
        'extra_groups': []} if user else {}
    directory = os.path.abspath(directory)
    data = os.path.join(directory, 'data')
    os.makedirs(directory, exist_ok=True)
    if user:
        os.chown(directory, user.pw_uid, user.pw_gid)
    port = pgcluster._free_port()
    if not os.path.exists(os.path.join(data, 'PG_VERSION')):
        subprocess.run(
            [os.path.join(bindir, 'initdb'), '-D', data, '-U', 'postgres',
                '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8',
                '--no-sync'],
            cwd=directory, check=True, stdout=subprocess.DEVNULL, **run_as)
        settings = {**pgcluster.SETTINGS, **SETTINGS}
        with open(os.path.join(data, 'postgresql.conf'), 'a') as conf:
            conf.writelines(f'{k} = {v}\n' for k, v in settings.items())
    # port and socket change per run: pass them on the command line
    log_path = os.path.join(directory, 'server.log')
    with open(log_path, 'a') as log:
        server = subprocess.Popen(
            [os.path.join(bindir, 'postgres'), '-D', data,
                '-p', str(port), '-k', directory],
            cwd=directory, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, **run_as)
    try:
        pgcluster._wait_ready(
            server, bindir, directory, port, log_path, 300)
        yield pgcluster.Cluster(
            uri=f'postgresql://postgres@127.0.0.1:{port}/', port=port,
            bin_dir=bindir, directory=directory)
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown: keep the data
        server.wait()


def new_database(pg, name, customers, log):
    """Create the database name in the cluster, activate crm_plus and fill
    it with bench/generate.py; return the environment of trytond commands"""
    import psycopg
    python = sys.executable
    env = dict(os.environ, TRYTOND_DATABASE__URI=pg.uri,
        PYTHONPATH=os.pathsep.join(
            filter(None, [ROOT, os.environ.get('PYTHONPATH')])))
    with psycopg.connect(pg.uri + 'postgres', autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE {name}')
    log('activating crm_plus')
    with tempfile.NamedTemporaryFile('w', suffix='.pass') as passfile:
        passfile.write('admin\n')
        passfile.flush()
        subprocess.run([os.path.join(os.path.dirname(python), 'trytond-admin'),
                '-d', name, '-u', 'crm_plus', '--activate-dependencies',
                '--email', 'admin@bench.test'],
            env=dict(env, TRYTONPASSFILE=passfile.name), check=True,
            cwd=ROOT)
    log(f'generating {customers} customers')
    subprocess.run([python, os.path.join(ROOT, 'bench', 'generate.py'), name,
            str(customers)], env=env, check=True)
    return env


def _stop(signum, frame):
    raise SystemExit(0)


if __name__ == '__main__':
    # Serve the kept cluster (bench/run.py --keep) until SIGINT/SIGTERM
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    with persistent(sys.argv[1] if len(sys.argv) > 1 else os.path.join(
                ROOT, 'var', 'bench', 'pg')) as pg:
        print(pg.uri, flush=True)
        signal.pause()
