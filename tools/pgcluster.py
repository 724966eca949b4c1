"""Throwaway PostgreSQL cluster for tests.

Tests must not depend on (or damage) a system PostgreSQL, so each run
starts its own cluster in a temporary folder with the durability settings
turned off (fast, and nothing in it is worth keeping), then stops and
deletes it.

    with pgcluster.cluster() as pg:
        pg.uri      # postgresql://postgres@127.0.0.1:<port>/
        pg.bin_dir  # holds pg_dump/pg_restore of the same version

CLI: ``python tools/pgcluster.py`` prints the URI and runs until
interrupted; ``python tools/pgcluster.py CMD ARGS...`` runs CMD with
TRYTOND_DATABASE__URI and CRM_TEST_PG_URI set and PATH extended by the
server binaries, then exits with CMD's status.
"""
import contextlib
import dataclasses
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PG_ROOT = '/usr/lib/postgresql'
OS_USER = 'postgres'
SETTINGS = {
    'listen_addresses': "'127.0.0.1'",
    'fsync': 'off',
    'synchronous_commit': 'off',
    'full_page_writes': 'off',
    'max_connections': '100',
    }


@dataclasses.dataclass(frozen=True)
class Cluster:
    uri: str
    port: int
    bin_dir: str
    directory: str


def bin_dir():
    "Return the bin folder of the newest installed server version."
    versions = [
        v for v in os.listdir(PG_ROOT) if os.path.exists(
            os.path.join(PG_ROOT, v, 'bin', 'initdb'))]
    if not versions:
        raise RuntimeError(
            f"No PostgreSQL server in {PG_ROOT}: run tools/system_packages.sh")
    newest = max(versions, key=lambda v: tuple(map(int, v.split('.'))))
    return os.path.join(PG_ROOT, newest, 'bin')


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _server_user():
    """Return the OS user that runs the server binaries.

    initdb and postgres refuse to run as root, so root delegates to the
    ``postgres`` user (created by the Debian package, or here if absent).
    """
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(
            ['useradd', '--system', '--user-group', '--no-create-home',
                '--shell', '/usr/sbin/nologin', OS_USER], check=True)
        return pwd.getpwnam(OS_USER)


def _terminate(signum, frame):
    sys.exit(128 + signum)


@contextlib.contextmanager
def cluster(timeout=60):
    "Start a cluster, yield a Cluster, then stop and delete it."
    bindir = bin_dir()
    user = _server_user()
    run_as = {'user': user.pw_uid, 'group': user.pw_gid, 'extra_groups': []
        } if user else {}
    directory = tempfile.mkdtemp(prefix='crm-pg-')
    data = os.path.join(directory, 'data')
    port = _free_port()
    # SIGTERM (CI timeout, kill) must also run the cleanup below
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        if user:
            os.chown(directory, user.pw_uid, user.pw_gid)
        subprocess.run(
            [os.path.join(bindir, 'initdb'), '-D', data, '-U', 'postgres',
                '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'],
            cwd=directory, check=True, stdout=subprocess.DEVNULL, **run_as)
        settings = {
            **SETTINGS, 'port': str(port),
            'unix_socket_directories': f"'{directory}'"}
        with open(os.path.join(data, 'postgresql.conf'), 'a') as conf:
            conf.writelines(f'{k} = {v}\n' for k, v in settings.items())
        log_path = os.path.join(directory, 'server.log')
        # The server is our own child (not daemonized by pg_ctl) so that we
        # reap it; its own session keeps Ctrl-C from killing it under us.
        with open(log_path, 'w') as log:
            server = subprocess.Popen(
                [os.path.join(bindir, 'postgres'), '-D', data], cwd=directory,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                **run_as)
        try:
            _wait_ready(server, bindir, directory, port, log_path, timeout)
            yield Cluster(
                uri=f'postgresql://postgres@127.0.0.1:{port}/', port=port,
                bin_dir=bindir, directory=directory)
        finally:
            server.send_signal(signal.SIGQUIT)  # immediate shutdown
            server.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(directory, ignore_errors=True)


def _wait_ready(server, bindir, directory, port, log_path, timeout):
    deadline = time.monotonic() + timeout
    while subprocess.run(
            [os.path.join(bindir, 'pg_isready'), '-q', '-h', directory,
                '-p', str(port)]).returncode:
        if server.poll() is not None or time.monotonic() > deadline:
            with open(log_path) as log:
                raise RuntimeError("PostgreSQL did not start:\n" + log.read())
        time.sleep(0.05)


def main(argv):
    with cluster() as pg:
        if not argv:
            print(pg.uri, flush=True)
            while True:
                signal.pause()  # until SIGINT/SIGTERM unwinds the cluster
        env = dict(os.environ, TRYTOND_DATABASE__URI=pg.uri,
            CRM_TEST_PG_URI=pg.uri,
            PATH=pg.bin_dir + os.pathsep + os.environ['PATH'])
        return subprocess.run(argv, env=env).returncode


if __name__ == '__main__':
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
