#!/usr/bin/env python3
# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Set up and run the crm_plus demo (``make demo``).

Each step is skipped when its result is already there, so a re-run only
starts the processes:

1. unpack the sao web client from npm into var/sao/package, while the
   next steps run;
2. write var/trytond.conf (SQLite in var/db, sao as web root, email to the
   mail sink, a queue worker) and var/logging.conf;
3. create var/db/crmdemo.sqlite from a template database that has the four
   modules and zh_CN activated (var/templates, keyed by a hash of the module
   sources); an existing database is updated with ``-u`` when the sources
   changed since it was made;
4. start the mail sink (aiosmtpd), which keeps every email sent in the
   Maildir var/mail instead of delivering it;
5. seed a company, users, customers, opportunities, leads, approvals,
   targets and a campaign (tools/demo_data.py);
6. start ``trytond``, then ``trytond-cron`` and the queue worker
   (tools/sqlite_worker.py) on the database, and print how to log in.

The processes log into var/log/<name>.log.  Ctrl-C or SIGTERM stops them
all.  ``demo.py --mail`` prints the emails of the sink.

The browser test (crm_plus/tests/test_browser.py) imports this file by path
and reuses install_sao, write_config, ensure_template, copy_database,
run_seed, server_command and clean_env with its own folder and a small data
set.
"""

import argparse
import contextlib
import datetime as dt
import email.policy
import fcntl
import glob
import hashlib
import importlib.metadata
import importlib.util
import mailbox
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tarfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / 'var'
SAO_VERSION = '8.0.11'
SAO_DIR = VAR / 'sao'
TEMPLATE_DIR = VAR / 'templates'
MODULES = ['crm_plus', 'crm_plus_sale', 'crm_plus_service', 'crm_plus_finance']
LANGUAGES = ['zh_CN']
DATABASE = 'crmdemo'
ADMIN_EMAIL = 'admin@crm-demo.example.com'
MAIL_DIR = VAR / 'mail'
LOG_DIR = VAR / 'log'
# Seconds the processes have to stop before they are killed
STOP_TIMEOUT = 15


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


def write_config(path, db_dir, sao_root, listen='127.0.0.1:8000',
        smtp=None, worker=False):
    """Write a trytond configuration for SQLite databases in db_dir.

    The emails go to the SMTP server smtp (host:port); without one they
    fail, each with a logged error.  With worker, the queued tasks wait for
    a queue worker instead of running after each request.

    The SQLite backend takes the folder from [database] path (a path in the
    URI is ignored with a warning)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db_dir.mkdir(parents=True, exist_ok=True)
    if smtp:
        uri, comment = f'smtp://{smtp}', 'The mail sink of tools/demo.py'
    else:
        uri, comment = 'dummy://', 'Nothing is sent: each email logs an error'
    path.write_text(f"""\
# Written by tools/demo.py: changes are overwritten at the next run
[database]
uri = sqlite://
path = {db_dir.resolve()}

[web]
listen = {listen}
root = {sao_root.resolve()}

[email]
# {comment}
uri = {uri}
from = crm-demo@example.com

[queue]
worker = {worker}
""")
    return path


def write_logging_config(path):
    """Write the logging configuration of the processes: warnings, plus
    the requests, the cron jobs and the queue tasks"""
    loggers = {'cron': 'trytond.ir.cron', 'worker': 'trytond.worker',
        'requests': 'werkzeug'}
    sections = [
        '[formatters]\nkeys = simple\n',
        '[formatter_simple]\n'
        'format = [%(asctime)s] %(levelname)s %(name)s %(message)s\n',
        '[handlers]\nkeys = console\n',
        '[handler_console]\nclass = StreamHandler\nformatter = simple\n'
        'args = (sys.stderr,)\n',
        f'[loggers]\nkeys = root, {", ".join(loggers)}\n',
        '[logger_root]\nlevel = WARNING\nhandlers = console\n',
        ] + [f'[logger_{key}]\nlevel = INFO\nhandlers =\nqualname = {name}\n'
        for key, name in loggers.items()]
    path.write_text('\n'.join(sections))
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
    sources changed since it was made or last updated; make it again when
    it was seeded by another version of tools/demo_data.py"""
    path = db_dir / f'{database}.sqlite'
    stamp = db_dir / f'{database}.sources'
    seeded = seed_marker(db_dir, database)
    if (path.exists() and seeded.exists()
            and seeded.read_text() != seed_hash()):
        log('The demo data changed: making the database again')
        for suffix in ['', '-wal', '-shm']:
            Path(f'{path}{suffix}').unlink(missing_ok=True)
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
    "Return the file that tells which demo data seeded the database"
    return db_dir / f'{database}.seeded'


def seed_hash():
    "Return a hash of the demo data script"
    return hashlib.sha256(
        Path(__file__).with_name('demo_data.py').read_bytes()).hexdigest()[:16]


def run_seed(config, database, size='full'):
    """Seed the database in a child interpreter (trytond's configuration
    and pools are global to a process)"""
    run([sys.executable, str(Path(__file__).with_name('demo_data.py')),
            '-c', config, '-d', database, '--size', size])


def server_command(config, database, logging_config=None):
    "Return the command that serves the database with sao"
    # Always name the database: a lazily loaded pool breaks the login in
    # trytond 8.0.12 (TRYTON.md, section 15)
    command = [venv_script('trytond'), '-c', str(config), '-d', database]
    if logging_config:
        command += ['--logconf', str(logging_config)]
    return command


def cron_command(config, database, logging_config):
    "Return the command that runs the cron jobs of the database"
    return [venv_script('trytond-cron'), '-c', str(config), '-d', database,
        '-n', '1', '--logconf', str(logging_config)]


def worker_command(config, database, logging_config):
    """Return the command of a queue worker of the SQLite database, which
    looks for new tasks every 2 seconds"""
    return [sys.executable, str(Path(__file__).with_name('sqlite_worker.py')),
        '-c', str(config), '-d', database, '-n', '1', '-t', '2',
        '--logconf', str(logging_config)]


def mail_sink_command(mail_dir, port):
    """Return the command of an SMTP server on port that keeps the emails
    in the Maildir mail_dir (one file per email in its new/ folder)"""
    # A Maildir that was removed by hand is made again
    mailbox.Maildir(mail_dir, create=True)
    return [sys.executable, '-m', 'aiosmtpd', '--nosetuid',
        '--listen', f'127.0.0.1:{port}',
        '--class', 'aiosmtpd.handlers.Mailbox', str(mail_dir)]


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def port_in_use(port):
    with socket.socket() as sock:
        try:
            sock.bind(('127.0.0.1', port))
        except OSError:
            return True
    return False


class Stop(Exception):
    "Raised by SIGTERM, as KeyboardInterrupt by SIGINT"


def raise_stop(signum, frame):
    raise Stop(signum)


def _prepare_child():
    """Let Ctrl-C stop the child even when the demo runs with SIGINT
    ignored (in the background of a script), and have the kernel stop it
    if the demo itself is killed"""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class Processes:
    """The processes of the demo, each in its own session (Ctrl-C reaches
    only the demo, which stops them in order) and with its output in
    log_dir/<name>.log"""

    def __init__(self, log_dir):
        self.log_dir = log_dir
        self.running = {}

    def start(self, name, command):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f'{name}.log', 'ab') as output:
            self.running[name] = subprocess.Popen(command,
                stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT, env=clean_env(),
                start_new_session=True, preexec_fn=_prepare_child)

    def exited(self):
        "Return the name of a process that exited, if any"
        for name, process in self.running.items():
            if process.poll() is not None:
                return name

    def tail(self, name, lines=15):
        text = (self.log_dir / f'{name}.log').read_text(errors='replace')
        return '\n'.join(text.splitlines()[-lines:])

    def wait(self):
        "Wait until a process exits and return its name"
        while True:
            if name := self.exited():
                return name
            time.sleep(0.5)

    def stop(self):
        """Interrupt the processes (and their children) as Ctrl-C would,
        the last started first, and kill those still running after
        STOP_TIMEOUT seconds"""
        for process in reversed(self.running.values()):
            self.signal(process, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name, process in reversed(self.running.items()):
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                log(f'{name} did not stop: killed')
                self.signal(process, signal.SIGKILL)
                process.wait()
            # The children of a process that stopped
            self.signal(process, signal.SIGTERM)
        self.running.clear()

    @staticmethod
    def signal(process, signum):
        "Send signum to the process group of the process"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)


def wait_for(description, ready, processes, timeout=60):
    "Wait until ready() is true; fail if a process exits or on timeout"
    deadline = time.monotonic() + timeout
    while not ready():
        if name := processes.exited():
            sys.exit(f'{name} stopped while waiting for {description}, '
                f'see var/log/{name}.log:\n{processes.tail(name)}')
        if time.monotonic() > deadline:
            sys.exit(f'No {description} after {timeout} s')
        time.sleep(0.2)


def listening(port):
    with contextlib.suppress(OSError), \
            socket.create_connection(('127.0.0.1', port), timeout=1):
        return True
    return False


def answering(url):
    with contextlib.suppress(OSError), \
            urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200
    return False


def inbox_url(url, db_dir, database=DATABASE):
    "Return the URL of the sales inbox of the demo, if it has one"
    with contextlib.closing(sqlite3.connect(
                f'file:{db_dir / database}.sqlite?mode=ro', uri=True)) as db:
        rows = db.execute('SELECT identifier FROM inbound_email_inbox '
            'WHERE identifier IS NOT NULL ORDER BY id LIMIT 1').fetchall()
    if rows:
        return f'{url}{database}/inbound_email/inbox/{rows[0][0]}'


def timezone_note(url, local=None):
    """Return how to see the times of the demo company, in English and in
    Chinese, when this computer is in another time zone, else None.

    The web client shows the times in the time zone of the browser, which
    runs on this computer: the session cookie asks for 127.0.0.1."""
    now = dt.datetime.now(dt.timezone.utc)
    local = now.astimezone(local)
    company = demo_data.COMPANY_TIMEZONE
    if local.utcoffset() == now.astimezone(ZoneInfo(company)).utcoffset():
        return None
    command = f'TZ={company} chromium {url}'
    return (f"""\
The web client shows the times in the time zone of the browser's computer,
here {local.tzname()}; to see them in the company's, {company}, start the
browser in it: {command}""", f"""\
网页客户端按浏览器所在电脑的时区显示时间（此处为 {local.tzname()}）；要按公司
所在时区 {company} 显示，请在该时区启动浏览器：{command}""")


def print_instructions(url, database, inbox=None):
    "Print how to log in, in English and in Chinese, and what runs"
    note = timezone_note(url)
    users = [('admin', 'Administrator, CRM Manager', '系统管理员、CRM 经理',
            'en')] + [(u.login, f'{u.name} - {u.role}',
            f'{u.name} - {u.role_zh}', u.language) for u in demo_data.USERS]
    mail = MAIL_DIR.relative_to(ROOT)
    print(f"""
crm_plus demo: open {url} in chromium or firefox and log in in two steps:
  1. Database "{database}" (already chosen), User name, e.g. "sales1",
     then Login;
  2. the password "{PASSWORD}" (the same for every user), then OK.
Users:""")
    for login, role, _, language in users:
        print(f'  {login:<8} {role} ({language})')
    print(f"""\
Beside the server run trytond-cron (reminders, releases to the pools,
reactivations) and a queue worker (leads from emails). Emails are not
delivered: each one is a file in {mail}/new; `make demo-mail` prints
them.""")
    if inbox:
        print(f"""\
Email a lead: curl -H 'Content-Type: message/rfc822' \\
  --data-binary @crm_plus/tests/emails/accepted/plain_inquiry.eml \\
  {inbox}""")
    if note:
        print(note[0])
    print(f"""\
Logs: var/log/. Ctrl-C stops everything.

crm_plus 演示：用 chromium 或 firefox 打开 {url}，
分两步登录：
  1. 数据库"{database}"（已选好），用户名，例如"sales1"，
     再点"登录"；
  2. 密码"{PASSWORD}"（所有用户相同），再点"确定"。
用户：""")
    for login, _, role, language in users:
        print(f'  {login:<8} {role}（{language}）')
    print(f"""\
服务器旁还运行着 trytond-cron（提醒、退回公海、
恢复暂缓的商机）和队列 worker（由邮件生成线索）。
邮件不会真正发出：每封邮件是 {mail}/new 中的
一个文件，`make demo-mail` 可将其打印出来。""")
    if note:
        print(note[1])
    print("""\
日志在 var/log/。按 Ctrl-C 全部停止。
""", flush=True)


def print_mail(mail_dir=MAIL_DIR):
    "Print the emails of the sink, oldest first, decoded"
    if not (mail_dir / 'new').exists():
        print(f'No email in {mail_dir} yet')
        return
    box = mailbox.Maildir(mail_dir, factory=None, create=False)
    messages = sorted((m for m in box), key=lambda m: m.get_date())
    for message in messages:
        message = email.message_from_bytes(
            message.as_bytes(), policy=email.policy.default)
        print('-' * 72)
        for header in ['Date', 'From', 'To', 'Subject']:
            print(f'{header}: {message[header]}')
        body = message.get_body(preferencelist=('plain', 'html'))
        print()
        print(body.get_content().strip() if body else '')
    print('-' * 72)
    print(f'{len(messages)} emails in {mail_dir}')


def write_demo_config(var, port, smtp_port):
    """Write the configuration of the demo in the folder var: served on
    port, its emails sent to the mail sink on smtp_port, its queued tasks
    left to the queue worker"""
    return write_config(var / 'trytond.conf', var / 'db',
        var / 'sao' / 'package', listen=f'127.0.0.1:{port}',
        smtp=f'127.0.0.1:{smtp_port}', worker=True)


def setup(port):
    """Prepare the configuration, the web client and the database; return
    the configuration, the logging configuration and the SMTP port"""
    db_dir = VAR / 'db'
    smtp_port = free_port()
    config = write_demo_config(VAR, port, smtp_port)
    logging_config = write_logging_config(VAR / 'logging.conf')
    # npm downloads while trytond-admin works
    with ThreadPoolExecutor(1) as executor:
        sao = executor.submit(install_sao)
        prepare_database(config, db_dir)
        sao.result()
    return config, logging_config, smtp_port


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--port', type=int,
        default=int(os.environ.get('CRM_DEMO_PORT', 8000)))
    parser.add_argument('--no-serve', action='store_true',
        help="set everything up but do not start the server")
    parser.add_argument('--mail', action='store_true',
        help="print the emails caught by the mail sink and exit")
    options = parser.parse_args()
    if options.mail:
        return print_mail()
    if not options.no_serve and port_in_use(options.port):
        sys.exit(f'Port {options.port} is in use (another demo?): '
            f'choose another one, e.g. CRM_DEMO_PORT={options.port + 1} '
            'make demo')
    signal.signal(signal.SIGTERM, raise_stop)
    start = time.monotonic()
    processes = Processes(LOG_DIR)
    try:
        run_demo(options, processes, start)
    except (KeyboardInterrupt, Stop):
        pass
    finally:
        if processes.running:
            log('Stopping')
            processes.stop()
            log('Stopped')


def run_demo(options, processes, start):
    config, logging_config, smtp_port = setup(options.port)
    db_dir = VAR / 'db'
    marker = seed_marker(db_dir, DATABASE)
    if options.no_serve and marker.exists():
        log(f'Ready in {time.monotonic() - start:.1f} s')
        return
    processes.start('mail', mail_sink_command(MAIL_DIR, smtp_port))
    wait_for('mail sink', lambda: listening(smtp_port), processes)
    if not marker.exists():
        log('Seeding the demo data')
        run_seed(config, DATABASE)
        marker.write_text(seed_hash())
    if options.no_serve:
        log(f'Ready in {time.monotonic() - start:.1f} s')
        return
    url = f'http://127.0.0.1:{options.port}/'
    processes.start('trytond',
        server_command(config, DATABASE, logging_config))
    wait_for(f'answer from {url}', lambda: answering(url), processes)
    log(f'Ready in {time.monotonic() - start:.1f} s')
    processes.start('cron', cron_command(config, DATABASE, logging_config))
    processes.start('worker',
        worker_command(config, DATABASE, logging_config))
    print_instructions(url, DATABASE, inbox_url(url, db_dir))
    name = processes.wait()
    sys.exit(f'{name} stopped, see var/log/{name}.log:\n'
        f'{processes.tail(name)}')


if __name__ == '__main__':
    main()
