# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Smoke test of the web client (sao) in a real browser.

A throwaway SQLite database (the template of the four modules of
tools/demo.py plus the small demo data set, whose emails go to the mail
sink of the demo) is served by trytond on a free port of 127.0.0.1, and
Debian's chromium, driven by Playwright, plays a salesperson: claim a
customer from the public pool, record a follow-up, find the customer among
"My Customers"; the zh_CN manager opens the approval he is notified of and
approves it; a user reads the times of the plans in the company's time
zone; a zh_CN user checks that the menu is in Chinese, and spends the first
hour of a Chinese salesperson: claims a customer and logs a follow-up in a
few clicks (写跟进), then reads the customer's form and the dashboard
without English.

The browser runs in the time zone of the demo company (Asia/Shanghai), as
the browser of its users would: sao shows the times in the time zone of the
browser.

It runs only in the SQLite pass (CRM_TEST_BACKEND unset or sqlite) and
needs /usr/bin/chromium (tools/system_packages.sh) and npm (for sao).
Screenshots are left in var/test_browser_*.png.
"""

import contextlib
import datetime as dt
import importlib.util
import io
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from pathlib import Path
from zoneinfo import ZoneInfo

from crm_plus.tests.test_translation import english as is_english

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect, sync_playwright
except ImportError:
    sync_playwright = None

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path('/usr/bin/chromium')
CHROMIUM_ARGS = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--disable-dev-shm-usage']
DATABASE = 'crmbrowser'
BACKEND = os.environ.get('CRM_TEST_BACKEND') or 'sqlite'
TIMEOUT = 20_000  # ms, for each browser step
SUBJECT = 'Browser test follow-up'
# The clicks a salesperson may spend, from the menu, to claim a customer of
# the pool and log a follow-up: 16 (18 with the next date picked) with the
# pool's Claim button, its list of claimed customers and a new follow-up
MAX_CLICKS = 8
PO = ROOT / 'crm_plus' / 'locale' / 'zh_CN.po'


def load_demo():
    "Import tools/demo.py by path (tools is not a package)"
    spec = importlib.util.spec_from_file_location(
        'crm_plus_demo_tools', ROOT / 'tools' / 'demo.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def po_labels(path, contexts):
    "Return the translated msgstr of the .po entries with these msgctxt"
    labels = {}
    if not path.exists():
        return labels
    text = path.read_text(encoding='utf-8')
    for context in contexts:
        match = re.search(
            r'msgctxt "%s"\nmsgid "[^\n]*"\nmsgstr "([^"\n]+)"'
            % re.escape(context), text)
        if match:
            labels[context] = match.group(1)
    return labels


class BrowserTestCase(unittest.TestCase):
    """Base of the tests that drive the sao web client with chromium
    against a trytond server they start on a database of cls.database
    in the file cls.db_path (it has no test of its own)"""
    database = DATABASE
    # The screenshots are var/<screenshots>_<name>.png
    screenshots = 'test_browser'
    setup_time = 0
    # The time zone of the browser, the machine's by default
    timezone = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not CHROMIUM.exists():
            raise cls.failureException(
                f'{CHROMIUM} is missing: install Debian chromium with '
                '`bash tools/system_packages.sh` (make test does)')
        if sync_playwright is None:
            raise cls.failureException(
                'Playwright for Python is missing: run `make env`')
        cls.started_class = time.monotonic()
        cls.demo = load_demo()
        cls.tmp = Path(tempfile.mkdtemp(prefix='crm-browser-'))
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)

    @classmethod
    def start_server(cls, config):
        cls.server_log = open(cls.tmp / 'trytond.log', 'wb')
        cls.addClassCleanup(cls.server_log.close)
        cls.server = subprocess.Popen(
            cls.demo.server_command(config, cls.database),
            stdout=cls.server_log, stderr=subprocess.STDOUT,
            env=cls.demo.clean_env())
        cls.addClassCleanup(cls.stop_server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if cls.server.poll() is not None:
                raise cls.failureException(
                    'trytond stopped:\n' + cls.server_tail())
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(cls.url, timeout=2) as response:
                    if b'<title>Tryton</title>' in response.read():
                        return
            time.sleep(0.3)
        raise cls.failureException(
            'trytond does not answer:\n' + cls.server_tail())

    @classmethod
    def stop_server(cls):
        cls.server.terminate()
        try:
            cls.server.wait(10)
        except subprocess.TimeoutExpired:
            cls.server.kill()
            cls.server.wait()

    @classmethod
    def server_tail(cls, lines=30):
        cls.server_log.flush()
        text = (cls.tmp / 'trytond.log').read_text(errors='replace')
        return '\n'.join(text.splitlines()[-lines:])

    def setUp(self):
        self.started = time.monotonic()
        self.playwright = sync_playwright().start()
        self.addCleanup(self.playwright.stop)
        profile = tempfile.mkdtemp(prefix='profile-', dir=self.tmp)
        self.browser = self.playwright.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={'width': 1400, 'height': 900},
            locale='en-US', timezone_id=self.timezone)
        self.addCleanup(self.browser.close)
        self.page = (self.browser.pages[0] if self.browser.pages
            else self.browser.new_page())
        self.page.set_default_timeout(TIMEOUT)
        self.page_errors = []
        self.page.on('pageerror', lambda e: self.page_errors.append(str(e)))

    def tearDown(self):
        print(f'\n{self.id()}: {time.monotonic() - self.started:.1f} s '
            f'(server setup {self.setup_time:.1f} s)',
            file=sys.stderr, flush=True)

    # Helpers

    @staticmethod
    def db_rows(path, query, *args):
        with contextlib.closing(sqlite3.connect(
                    f'file:{path}?mode=ro', uri=True)) as conn:
            return conn.execute(query, args).fetchall()

    def db(self, query, *args):
        "Read the database afresh (read-only, beside the running server)"
        return self.db_rows(self.db_path, query, *args)

    def local_time(self, value):
        "Return the UTC datetime value of the database as the browser shows it"
        value = dt.datetime.fromisoformat(value).replace(
            tzinfo=dt.timezone.utc)
        return value.astimezone(ZoneInfo(self.timezone))

    def wait_db(self, query, *args, timeout=10):
        "Return the first non-empty result of query within timeout"
        deadline = time.monotonic() + timeout
        while not (result := self.db(query, *args)):
            if time.monotonic() > deadline:
                break
            time.sleep(0.2)
        return result

    def step(self, description, action, *args):
        """Run a browser action or expectation; on a timeout fail with what
        the page reported (JavaScript errors), the server log and a
        screenshot"""
        try:
            return action(*args)
        except PlaywrightTimeout as error:
            message = error.message.splitlines()[0]
        except AssertionError as error:  # of expect()
            message = '\n'.join(str(error).splitlines()[:2])
        path = self.screenshot('failure')
        self.fail(f'{description}: {message}\n'
            f'JavaScript errors: {self.page_errors}\n'
            f'Screenshot: {path.relative_to(ROOT)}\n'
            f'Server log:\n{self.server_tail(10)}')

    def idle(self):
        "Wait until sao has no RPC pending"
        self.step('requests of the web client', self.page.wait_for_function,
            '() => window.jQuery !== undefined && jQuery.active === 0')
        time.sleep(0.2)

    def screenshot(self, name):
        path = ROOT / 'var' / f'{self.screenshots}_{name}.png'
        path.parent.mkdir(exist_ok=True)
        self.page.screenshot(path=str(path))
        return path

    def login(self, login):
        page = self.page
        page.goto(self.url)
        self.step('login dialog', lambda: page.fill('#login', login))
        page.click('.login-dialog button[type=submit]')
        self.step('password dialog', lambda: page.fill(
                '#ask-dialog-entry', self.demo.PASSWORD))
        page.keyboard.press('Enter')
        self.step('menu after login',
            lambda: page.wait_for_selector('#menu tbody tr'))
        self.idle()

    def open_menu(self, *path):
        """Open the action of the menu path and return its tab.

        Clicking the text of a menu row expands it (never collapses) or
        opens its action."""
        page = self.page
        for title in path:
            self.step(f'menu {title}', page.locator(
                    f'#menu div.column-char[title="{title}"]').first.click)
            self.idle()
        tab = page.locator(
            f'#tablist li.active span[title="{" / ".join(path)}"]')
        try:
            tab.wait_for(timeout=5000)
        except PlaywrightTimeout:
            # The click may land while the row is redrawn: try once more
            page.locator(
                f'#menu div.column-char[title="{path[-1]}"]').first.click()
            self.step(f'tab {" / ".join(path)}', tab.wait_for)
        self.idle()
        return page.locator('#tabcontent > .tab-pane.active')

    def select_completion(self, entry, text):
        "Type text in a many2one entry and pick it from the completion"
        item = self.page.locator('.dropdown-menu:visible').get_by_text(
            text, exact=True)
        for _ in range(2):
            entry.fill('')
            entry.fill(text)
            try:
                item.click(timeout=8000)
                break
            except PlaywrightTimeout:
                continue
        else:
            self.step(f'completion of {text}', item.click)
        self.idle()
        self.step(f'{text} selected', expect(entry).to_have_value, text)

    def row(self, tab, name):
        return tab.locator(f'tr:has(div.column-char[title="{name}"])')


@unittest.skipUnless(BACKEND == 'sqlite',
    'the browser test runs once, in the SQLite pass')
class WebClientTestCase(BrowserTestCase):
    "Drive the sao web client with chromium"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sao_root = cls.demo.install_sao()
        # The four modules, as make demo: the customer form with the pages
        # of sale, accounting and stock
        template = cls.demo.ensure_template()
        cls.db_path = cls.tmp / 'db' / f'{DATABASE}.sqlite'
        cls.demo.copy_database(template, cls.db_path)
        port = free_port()
        smtp_port = free_port()
        cls.start_mail_sink(smtp_port)
        config = cls.demo.write_config(cls.tmp / 'trytond.conf',
            cls.tmp / 'db', sao_root, listen=f'127.0.0.1:{port}',
            smtp=f'127.0.0.1:{smtp_port}')
        cls.demo.run_seed(config, DATABASE, size='small')
        cls.url = f'http://127.0.0.1:{port}/'
        (cls.timezone,), = cls.db_rows(
            cls.db_path, 'SELECT timezone FROM company_company')
        cls.start_server(config)
        cls.setup_time = time.monotonic() - cls.started_class

    @classmethod
    def start_mail_sink(cls, port):
        cls.mail_dir = cls.tmp / 'mail'
        sink = subprocess.Popen(
            cls.demo.mail_sink_command(cls.mail_dir, port),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env=cls.demo.clean_env())
        cls.addClassCleanup(sink.wait)
        cls.addClassCleanup(sink.terminate)
        deadline = time.monotonic() + 20
        while not cls.demo.listening(port):
            if sink.poll() is not None or time.monotonic() > deadline:
                raise cls.failureException('the mail sink does not start')
            time.sleep(0.1)

    def employee(self, login):
        (employee,), = self.db(
            'SELECT employee FROM res_user WHERE login = ?', login)
        return employee

    def wizard_ok(self):
        "Click the default button of the wizard dialog and wait it closes"
        dialog = self.page.locator('.wizard-dialog')
        dialog.locator('.modal-footer button[type=submit]').click()
        self.step('the wizard closes', expect(dialog).to_have_count, 0)
        self.idle()

    def notifications(self):
        "Open the notifications and return their items"
        self.page.click('#user-preferences > a.dropdown-toggle')
        self.idle()
        return self.page.locator('.notification-menu li.notification-item')

    def count_clicks(self):
        "Count from now the clicks of the user on the page"
        self.page.evaluate("""() => {
            window.crmClicks = [];
            document.addEventListener('click', event => window.crmClicks.push(
                (event.target.innerText || event.target.name
                    || event.target.tagName).slice(0, 20)), true);
            }""")

    def clicks(self):
        return self.page.evaluate('() => window.crmClicks')

    def shown_labels(self, scope):
        "Return the texts of the labels, tabs, headers and buttons shown"
        return sorted(set(filter(None, (t.strip().rstrip(':') for t in
                        scope.locator('label:visible, .nav-tabs a:visible, '
                            'th:visible, button:visible').all_inner_texts()))))

    def claimable(self, login, last=True):
        """Return the id and name of a customer of the pool that login may
        claim, the last by name or the first"""
        employee = self.employee(login)
        candidates = self.db(
            'SELECT p.id, p.name FROM party_party AS p '
            'WHERE p.customer_nature IS NOT NULL AND p.owner IS NULL '
            'AND p.pool IS NOT NULL AND (NOT EXISTS ('
                'SELECT 1 FROM "crm_pool-company_employee" AS c '
                'WHERE c.pool = p.pool) OR EXISTS ('
                'SELECT 1 FROM "crm_pool-company_employee" AS c '
                'WHERE c.pool = p.pool AND c.employee = ?)) '
            'AND NOT EXISTS (SELECT 1 FROM crm_ownership_log AS l '
                'WHERE l.party = p.id AND l.from_owner = ?) '
            'ORDER BY p.name', employee, employee)
        self.assertTrue(candidates, 'no customer in the pools to claim')
        return candidates[-1 if last else 0]

    # Scenarios

    def test_salesperson_claims_and_follows_up(self):
        "A salesperson claims a pool customer and records a follow-up"
        employee = self.employee('sales1')
        party_id, name = self.claimable('sales1', last=False)

        self.login('sales1')
        tab = self.open_menu('CRM', 'Customers', 'Public Pool')
        row = self.row(tab, name)
        self.step(f'{name} in the public pool', lambda: row.locator(
                f'div.column-char[title="{name}"]').click())
        self.idle()
        claim = row.locator('button[name=claim]')
        confirm = self.page.locator('.confirmation-dialog .btn-primary')
        for _ in range(2):
            # A click on the button of a row that is not selected yet only
            # selects it
            claim.click()
            try:
                confirm.wait_for(timeout=5000)
                break
            except PlaywrightTimeout:
                continue
        self.step('claim confirmation', confirm.click)
        self.idle()
        # The claimed customers are shown, then leave the list of the pool
        claimed = self.page.locator('.wizard-dialog')
        self.step('claimed customers shown', lambda: expect(
                claimed.locator(f'div.column-char[title="{name}"]')
                ).to_be_visible())
        self.screenshot('claimed')
        self.step('claimed customers closed', self.wizard_ok)
        self.step(f'{name} out of the public pool',
            lambda: expect(row).to_have_count(0))
        self.assertEqual(self.db(
                'SELECT owner FROM party_party WHERE id = ?', party_id),
            [(employee,)])
        self.assertEqual(self.db(
                'SELECT action, to_owner, employee FROM crm_ownership_log '
                'WHERE party = ? ORDER BY id DESC LIMIT 1', party_id),
            [('claim', employee, employee)])

        tab = self.open_menu('CRM', 'Follow-ups')
        tab.locator('button#new_').click()
        self.idle()
        # The defaults are displayed once the new record is ready
        self.step('follow-up form', expect(
                tab.locator('input[name=date]')).not_to_have_value, '')
        self.select_completion(tab.locator('input[name=party]'), name)
        tab.locator('input[name=subject]').fill(SUBJECT)
        tab.locator('textarea[name=content]').fill(
            'Called the purchasing manager about the new quotation.')
        tab.locator('button#save').click()
        self.idle()
        follow_ups = self.wait_db(
            'SELECT employee, date FROM crm_follow_up '
            'WHERE party = ? AND subject = ?', party_id, SUBJECT)
        self.assertEqual(len(follow_ups), 1,
            f'follow-up not saved; JavaScript errors: {self.page_errors}')
        (follow_up_employee, date), = follow_ups
        self.assertEqual(follow_up_employee, employee)
        # The follow-up updated the contact dates of the customer
        self.assertEqual(self.db(
                'SELECT last_contact_date FROM party_party WHERE id = ?',
                party_id), [(date,)])

        tab = self.open_menu('CRM', 'Customers', 'My Customers')
        row = self.row(tab, name)
        self.step(f'{name} in My Customers', expect(row).to_be_visible)
        self.assertTrue(
            row.locator('td[data-title="Last Contact: "]').inner_text()
            .strip(), 'the last contact date is not shown')
        self.screenshot('sales1')
        self.assertEqual(self.page_errors, [])

    def test_approver_decides_from_notification(self):
        """The manager opens the approval he is notified of, approves it and
        is told where it stands; its notification is gone"""
        (manager,), = self.db(
            'SELECT id FROM res_user WHERE login = ?', 'manager')
        notifications = self.db('SELECT id, label, records '
            'FROM res_notification WHERE "user" = ? '
            "AND model = 'crm.approval.request' ORDER BY id DESC", manager)
        self.assertTrue(notifications, 'no approval notified to the manager')
        notification, label, records = notifications[0]
        request, = json.loads(records)

        self.login('manager')
        item = self.notifications().filter(has_text=label).first
        self.step('approval notification', item.locator('a').first.click)
        self.idle()
        tab = self.page.locator('#tabcontent > .tab-pane.active')
        decide = tab.locator('button[name=decide]')
        self.step('approval request opened', expect(decide).to_be_visible)
        decide.click()
        self.idle()
        dialog = self.page.locator('.wizard-dialog')
        self.step('decision form', lambda: dialog.locator(
                'textarea[name=comment]').wait_for())
        dialog.locator('.modal-footer button[type=submit]').click()
        self.idle()
        self.step('outcome of the decision', lambda: expect(
                dialog.locator('textarea[name=outcome]')).to_have_value(
                re.compile(re.escape(label.split('：', 1)[-1]))))
        self.screenshot('approval')
        self.step('outcome closed', self.wizard_ok)

        self.assertEqual(self.db('SELECT action FROM crm_approval_history '
                'WHERE request = ? ORDER BY id DESC LIMIT 1', request),
            [('approve',)])
        self.assertEqual(self.db(
                'SELECT id FROM res_notification WHERE id = ?',
                notification), [])
        self.assertEqual(self.page_errors, [])

    def test_plan_times_in_company_timezone(self):
        "A salesperson reads the times of his plans in the company's time"
        plans = self.db('SELECT p.planned, c.name, p.subject '
            'FROM crm_plan AS p JOIN party_party AS c ON c.id = p.party '
            'JOIN res_user AS u ON u.employee = p.employee '
            "WHERE u.login = ? AND p.state = 'open' ORDER BY p.planned",
            'sales1')
        self.assertTrue(plans, 'sales1 has no plan in the demo data')
        planned, customer, subject = plans[0]
        local = self.local_time(planned)

        self.login('sales1')
        tab = self.open_menu('CRM', 'Follow-up Plans')
        row = self.row(tab, subject).filter(has_text=customer).first
        self.step(f'plan with {customer}', expect(row).to_be_visible)
        self.assertEqual(
            [c.strip() for c in row.locator(
                    'td[data-title="Planned At: "]').all_inner_texts()],
            [local.strftime('%m/%d/%Y'), local.strftime('%H:%M:%S')])
        self.screenshot('plans')
        self.assertEqual(self.page_errors, [])

    def test_emails_in_mail_sink(self):
        "The emails sent while seeding are kept, readable, in the sink"
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            self.demo.print_mail(self.mail_dir)
        text = output.getvalue()
        # the manager is asked, in Chinese, to approve the filings
        self.assertIn('To: wang.jianguo@yuntu.example.com', text)
        self.assertIn('Subject: 待审批：', text)

    def test_chinese_menu(self):
        "A zh_CN user gets the menu in Chinese"
        contexts = ['model:ir.ui.menu,name:menu_crm',
            'model:ir.ui.menu,name:menu_customers',
            'model:ir.ui.menu,name:menu_customer_pool']
        labels = po_labels(
            ROOT / 'crm_plus' / 'locale' / 'zh_CN.po', contexts)
        self.login('sales2')
        # From the party module, translated upstream
        self.step('Chinese Parties menu', lambda: self.page.locator(
                '#menu div.column-char[title="参与者"]').wait_for())
        if len(labels) == len(contexts):
            path = [labels[c] for c in contexts]
            tab = self.open_menu(*path)
            self.step('pool customers listed', lambda: tab.locator(
                    'button[name=claim]').first.wait_for())
        self.screenshot('zh_CN')
        self.assertEqual(self.page_errors, [])

    def test_chinese_salesperson_first_hour(self):
        """A zh_CN salesperson claims a customer of the pool and logs a
        follow-up in a few clicks, then reads the customer's form and the
        dashboard: no English, no accounting or stock page, a Chinese
        address"""
        crm, customers, pool, mine, log, dashboard, statuses = po_labels(PO, [
                'model:ir.ui.menu,name:menu_crm',
                'model:ir.ui.menu,name:menu_customers',
                'model:ir.ui.menu,name:menu_customer_pool',
                'model:ir.ui.menu,name:menu_customer_mine',
                'model:ir.model.button,string:party_log_follow_up_button',
                'model:ir.ui.menu,name:menu_dashboard',
                'model:ir.ui.menu,name:menu_report_customer_status',
                ]).values()
        employee = self.employee('sales2')
        party_id, name = self.claimable('sales2')
        content = '电话联系采购经理，客户对新报价感兴趣\n下周上门拜访'
        self.login('sales2')

        self.count_clicks()
        tab = self.open_menu(crm, customers, pool)
        row = self.row(tab, name)
        self.step(f'{name} in the public pool', row.locator(
                f'div.column-char[title="{name}"]').click)
        self.idle()
        dialog = self.page.locator('.wizard-dialog')
        for _ in range(2):
            # A click on the button of a row that is not selected yet only
            # selects it
            row.locator('button[name=log_follow_up]').click()
            try:
                dialog.locator('textarea[name=content]').wait_for(
                    timeout=5000)
                break
            except PlaywrightTimeout:
                continue
        self.idle()
        self.assertTrue(dialog.locator('.modal-header').inner_text()
            .startswith(log))
        # The cursor is in the content, once the dialog has put it there
        textarea = dialog.locator('textarea[name=content]')
        self.step('the cursor in the content', expect(textarea).to_be_focused)
        self.page.keyboard.type(content)
        self.step('the content typed', expect(textarea).to_have_value,
            content)
        dialog.locator('input[name=claim]').click()
        english = [t for t in self.shown_labels(dialog) if is_english(t)]
        self.wizard_ok()
        clicks = self.clicks()
        print(f'\n{len(clicks)} clicks: {clicks}', file=sys.stderr)
        self.assertLessEqual(len(clicks), MAX_CLICKS, clicks)
        self.assertEqual(english, [])
        self.assertEqual(self.wait_db(
                'SELECT employee, subject, content FROM crm_follow_up '
                'WHERE party = ? AND content = ?', party_id, content),
            [(employee, content.splitlines()[0], content)])
        self.assertEqual(self.db(
                'SELECT owner FROM party_party WHERE id = ?', party_id),
            [(employee,)])

        tab = self.open_menu(crm, customers, mine)
        self.step(f'{name} in my customers', self.row(tab, name).locator(
                f'div.column-char[title="{name}"]').dblclick)
        self.idle()
        pages = tab.locator('.nav-tabs a:visible')
        self.step('customer form', pages.first.wait_for)
        names = pages.all_inner_texts()
        shown = set()
        for page in range(len(names)):
            pages.nth(page).click()
            self.idle()
            shown.update(self.shown_labels(tab))
        self.screenshot('zh_CN_customer')
        self.assertTrue({'销售', '基本情况'} <= set(names), names)
        self.assertFalse({'会计', '库存'} & set(names), names)
        self.assertTrue({'省份', '城市', '区县', '详细地址'} <= shown, shown)
        self.assertEqual([t for t in shown if is_english(t)], [])

        # The statuses of the customers in the legend of their graph
        tab = self.open_menu(crm, dashboard, statuses)
        legend = tab.locator('.bb-legend-item')
        self.step('legend of the graph', legend.first.wait_for)
        legend = legend.all_text_contents()
        self.assertTrue(legend)
        self.assertEqual([t for t in legend if is_english(t)], [])
        self.assertEqual(self.page_errors, [])
