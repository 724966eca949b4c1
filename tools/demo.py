#!/usr/bin/env python3
# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Set up and serve the crm_plus demo (``make demo``).

Each step is skipped when its result is already there, so a re-run only
starts the server:

1. unpack the sao web client from npm into var/sao/package;
2. write var/trytond.conf (SQLite in var/db, sao as web root, no email);
3. create var/db/crmdemo.sqlite from a template database that has the four
   modules and zh_CN activated (var/templates, keyed by a hash of the module
   sources); an existing database is updated with ``-u`` when the sources
   changed since it was made;
4. seed a company, users, pools and customers (tools/demo_data.py);
5. run ``trytond -c var/trytond.conf -d crmdemo`` in the foreground.

The browser test (crm_plus/tests/test_browser.py) imports this file by path
and reuses install_sao, write_config, ensure_template, copy_database and
run_seed with its own folder and a small data set.
"""

import argparse
import contextlib
import fcntl
import glob
import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / 'var'
SAO_VERSION = '8.0.11'
SAO_DIR = VAR / 'sao'
TEMPLATE_DIR = VAR / 'templates'
MODULES = ['crm_plus', 'crm_plus_sale', 'crm_plus_service', 'crm_plus_finance']
LANGUAGES = ['zh_CN']
DATABASE = 'crmdemo'
ADMIN_EMAIL = 'admin@crm-demo.example.com'


def _load(name):
    "Import a module of this folder by path (tools is not a package)"
    spec = importlib.util.spec_from_file_location(
        f'crm_plus_tools_{name}', Path(__file__).with_name(f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo_data = _load('demo_data')
# The password of every demo user, admin included
PASSWORD = demo_data.PASSWORD
SOURCE_SUFFIXES = {'.py', '.xml', '.cfg', '.po', '.svg', '.fodt', '.html'}


def log(message):
    print(f'[demo] {message}', flush=True)


def venv_script(name):
    "Return the path of a console script installed next to the interpreter"
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        sys.exit(f'{name} not found: run `make env` first')
    return found


@contextlib.contextmanager
def file_lock(path):
    "Serialize the setup steps of concurrent runs (demo and tests)"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def clean_env(**extra):
    """Return the environment for trytond commands: without the TRYTOND_*
    variables (a test runner may point them at another database)"""
    env = {k: v for k, v in os.environ.items()
        if not k.startswith(('TRYTOND_', 'TRYTONPASSFILE'))
        and k not in {'DB_NAME', 'DB_CACHE'}}
    env.update(extra)
    return env


def run(args, **kwargs):
    kwargs.setdefault('check', True)
    kwargs.setdefault('env', clean_env())
    return subprocess.run([str(a) for a in args], **kwargs)


def install_sao(sao_dir=SAO_DIR, version=SAO_VERSION):
    """Unpack tryton-sao from npm and install its runtime dependencies
    inside the package folder, and return that folder (the web root).

    A plain `npm install tryton-sao` hoists jquery & co. out of the package,
    where index.html does not find them, hence npm pack."""
    root = sao_dir / 'package'
    stamp = root / '.crm_plus_installed'

    def installed():
        return stamp.exists() and stamp.read_text().strip() == version

    if installed():
        return root
    with file_lock(sao_dir / '.lock'):
        if installed():
            return root
        npm = shutil.which('npm')
        if not npm:
            raise RuntimeError(
                'npm is needed to install the sao web client '
                '(Debian package npm)')
        log(f'Installing the sao web client {version} from npm')
        start = time.monotonic()
        shutil.rmtree(root, ignore_errors=True)
        for old in sao_dir.glob('tryton-sao-*.tgz'):
            old.unlink()
        run([npm, 'pack', '--silent', f'tryton-sao@{version}'],
            cwd=sao_dir, stdout=subprocess.DEVNULL)
        tgz, = sao_dir.glob('tryton-sao-*.tgz')
        with tarfile.open(tgz) as tar:
            tar.extractall(sao_dir, filter='data')
        tgz.unlink()
        run([npm, 'install', '--omit=dev', '--legacy-peer-deps',
                '--no-audit', '--no-fund', '--loglevel=error'], cwd=root)
        # index.html loads these optional hooks: empty files avoid 405s
        for name in ['custom.js', 'custom.css']:
            (root / name).touch()
        stamp.write_text(version)
        log(f'sao installed in {time.monotonic() - start:.0f} s')
    return root


def write_config(path, db_dir, sao_root, listen='127.0.0.1:8000'):
    """Write a trytond configuration for SQLite databases in db_dir.

    The SQLite backend takes the folder from [database] path (a path in the
    URI is ignored with a warning)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(f"""\
# Written by tools/demo.py: changes are overwritten at the next run
[database]
uri = sqlite://
path = {db_dir.resolve()}

[web]
listen = {listen}
root = {sao_root.resolve()}

[email]
# Nothing is sent: reminders fail quietly (logged)
uri = dummy://
from = crm-demo@example.com
""")
    return path


def sources_hash(modules=MODULES):
    """Return a hash of the files of the modules that an update would load
    and of the versions of the installed Tryton modules"""
    digest = hashlib.sha256()
    for dist in sorted(f'{d.name}=={d.version}'
            for d in importlib.metadata.distributions()
            if d.name.lower().startswith('trytond')):
        digest.update(dist.encode())
    for module in modules:
        base = ROOT / module
        for path in sorted(base.rglob('*')):
            relative = path.relative_to(base)
            if (not path.is_file() or path.suffix not in SOURCE_SUFFIXES
                    or relative.parts[0] == 'tests'):
                continue
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def trytond_admin(config, database, *args, passfile=None):
    env = clean_env(**({'TRYTONPASSFILE': str(passfile)} if passfile else {}))
    run([venv_script('trytond-admin'), '-c', config, '-d', database, *args],
        env=env)


def copy_database(source, target):
    "Copy a SQLite database file consistently (WAL included)"
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ['', '-wal', '-shm']:
        Path(f'{target}{suffix}').unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def ensure_template(modules=MODULES, languages=LANGUAGES,
        template_dir=TEMPLATE_DIR):
    """Return a SQLite database file where the modules (with their
    dependencies) and the languages are activated and nothing else is done.

    It is built once per state of the module sources: a stale template of
    the same modules is updated with -u rather than rebuilt."""
    tag = '+'.join(modules)
    name = f'{tag}-{sources_hash(modules)}'
    path = template_dir / f'{name}.sqlite'
    if path.exists():
        return path
    with file_lock(template_dir / '.lock'):
        if path.exists():
            return path
        start = time.monotonic()
        work = template_dir / 'build'
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        config = write_config(work / 'trytond.conf', work, work)
        stale = sorted(template_dir.glob(f'{glob.escape(tag)}-*.sqlite'),
            key=lambda p: p.stat().st_mtime)
        if stale:
            log(f'Updating the template database {stale[-1].name}')
            copy_database(stale[-1], work / f'{name}.sqlite')
            trytond_admin(config, name, '-u', *modules,
                '--activate-dependencies')
        else:
            log(f'Creating the template database {name}: activates '
                f'{", ".join(modules)}, their dependencies and '
                f'{", ".join(languages)} (1 to 4 minutes)')
            (work / f'{name}.sqlite').touch()
            passfile = work / 'passfile'
            passfile.write_text(PASSWORD + '\n')
            # One run initializes the database, activates the modules and
            # loads the .po files of every module it activates
            trytond_admin(config, name, '--all', '-u', *modules,
                '--activate-dependencies', '--email', ADMIN_EMAIL,
                '-l', *languages,
                passfile=passfile)
        copy_database(work / f'{name}.sqlite', path)
        shutil.rmtree(work)
        for old in stale:
            old.unlink()
        log(f'Template {path.name} ready in {time.monotonic() - start:.0f} s')
    return path


def prepare_database(config, db_dir, database=DATABASE):
    """Create the database from the template or update it when the module
    sources changed since it was made or last updated"""
    path = db_dir / f'{database}.sqlite'
    stamp = db_dir / f'{database}.sources'
    if not path.exists():
        for marker in [stamp, seed_marker(db_dir, database)]:
            marker.unlink(missing_ok=True)
        copy_database(ensure_template(), path)
        stamp.write_text(sources_hash())
        log(f'Created {path.relative_to(ROOT)}')
    elif not stamp.exists() or stamp.read_text() != sources_hash():
        log('The module sources changed: updating the database')
        trytond_admin(config, database, '-u', *MODULES,
            '--activate-dependencies')
        stamp.write_text(sources_hash())
    return path


def seed_marker(db_dir, database):
    return db_dir / f'{database}.seeded'


def run_seed(config, database, size='full'):
    """Seed the database in a child interpreter (trytond's configuration
    and pools are global to a process)"""
    run([sys.executable, str(Path(__file__).with_name('demo_data.py')),
            '-c', config, '-d', database, '--size', size])


def server_command(config, database):
    "Return the command that serves the database with sao"
    return [venv_script('trytond'), '-c', str(config), '-d', database]


def print_logins(url, database):
    print(f"""
crm_plus demo: open {url} (database "{database}", chromium/firefox)
Users (password "{PASSWORD}" for all):""")
    print(f'  {"admin":<8} Administrator, CRM Manager (en)')
    for user in demo_data.USERS:
        print(f'  {user.login:<8} {user.name} - {user.role} '
            f'({user.language})')
    print('Ctrl-C stops the server.\n', flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int,
        default=int(os.environ.get('CRM_DEMO_PORT', 8000)))
    parser.add_argument('--no-serve', action='store_true',
        help="set everything up but do not start the server")
    options = parser.parse_args()

    start = time.monotonic()
    sao_root = install_sao()
    db_dir = VAR / 'db'
    config = write_config(VAR / 'trytond.conf', db_dir, sao_root,
        listen=f'127.0.0.1:{options.port}')
    prepare_database(config, db_dir)
    marker = seed_marker(db_dir, DATABASE)
    if not marker.exists():
        log('Seeding the demo data')
        run_seed(config, DATABASE)
        marker.touch()
    log(f'Ready in {time.monotonic() - start:.1f} s')
    if options.no_serve:
        return
    print_logins(f'http://127.0.0.1:{options.port}/', DATABASE)
    # Always name the database: a lazily loaded pool breaks the login in
    # trytond 8.0.12 (TRYTON.md, section 15)
    command = server_command(config, DATABASE)
    os.execve(command[0], command, clean_env())


if __name__ == '__main__':
    main()
