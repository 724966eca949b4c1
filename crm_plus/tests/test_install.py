# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Installing the CRM from the modules list of the web client.

A new SQLite database has only the base modules (ir and res, from
``trytond-admin --all``) with Chinese loaded; its administrator works in
Chinese and has gone through the configuration of the first login.  It is
served with sao on a free port of 127.0.0.1, and Debian's chromium, driven
by Playwright, plays the administrator: open Administration › Modules,
activate crm_plus, go through the configuration wizard that follows (the
company, then the CRM setup wizard, which must speak Chinese) and check over
JSON-RPC that the CRM works: its pool, stages, dictionaries and groups, and
a salesperson created afterwards claims a customer of the pool.  Then
crm_plus_sale, crm_plus_finance and crm_plus_service are activated the same
way, one after the other.

A second run, in English, stops after crm_plus: the activations take
most of the time (about 2 minutes in Chinese with the siblings, 1 in
English), and the siblings bring no text of their own.  It runs in the
SQLite pass only, as test_browser.py, whose helpers it reuses.  Screenshots
are left in var/test_install_*.png.
"""

import base64
import contextlib
import json
import re
import sqlite3
import time
import unittest
import urllib.request
from pathlib import Path

import polib

import trytond

from .test_browser import BACKEND, BrowserTestCase, free_port

try:
    from playwright.sync_api import expect
except ImportError:
    pass

ROOT = Path(__file__).resolve().parents[2]
TRYTOND = Path(trytond.__file__).parent
DATABASE = 'crminstall'
# The longest an activation may take (ms)
ACTIVATION_TIMEOUT = 600_000
DICTIONARIES = ['crm.customer.type', 'crm.customer.level', 'crm.industry',
    'crm.region', 'crm.customer.source', 'crm.follow_up.method']
# A word in Latin letters on a screen in Chinese, but for these
LATIN = re.compile(r'[A-Za-z]{2,}')
LATIN_ALLOWED = {'CRM'}


class RPCError(Exception):
    pass


class Client:
    "A user logged in over the JSON-RPC of a running server"

    def __init__(self, url, login, password):
        self.url = url
        self.headers = {}
        user_id, session = self.post(
            'common.db.login', login, {'password': password}, 'en')[:2]
        self.user_id = user_id
        token = base64.b64encode(
            f'{login}:{user_id}:{session}'.encode()).decode()
        self.headers = {'Authorization': f'Session {token}'}
        self.context = self.post('model.res.user.get_preferences', True, {})

    def post(self, method, *params):
        request = urllib.request.Request(self.url, method='POST',
            data=json.dumps({'id': 0, 'method': method,
                    'params': list(params)}).encode(),
            headers={'Content-Type': 'application/json', **self.headers})
        with urllib.request.urlopen(request, timeout=60) as response:
            payload = json.load(response)
        if 'error' in payload:
            raise RPCError(payload['error'])
        return payload['result']

    def __call__(self, method, *params):
        "Call method with the user's context and return its result"
        return self.post(method, *params, self.context)


class Catalogs:
    "The texts of the screens in the language of the administrator"

    def __init__(self, language, sao_root):
        self.language = language
        self.sao_root = sao_root
        self.catalogs = {}

    def _catalog(self, module):
        if module not in self.catalogs:
            if module in {'ir', 'res'}:
                path = TRYTOND / module / 'locale' / f'{self.language}.po'
            elif module.startswith('crm_plus'):
                path = ROOT / module / 'locale' / f'{self.language}.po'
            else:
                path = (TRYTOND / 'modules' / module / 'locale'
                    / f'{self.language}.po')
            self.catalogs[module] = {(e.msgctxt, e.msgid): e.msgstr
                for e in polib.pofile(str(path))
                if e.msgstr and not e.fuzzy}
        return self.catalogs[module]

    def text(self, module, context, msgid):
        "Return the translation of msgid; fail if it has none"
        if self.language == 'en':
            return msgid
        return self._catalog(module)[context, msgid]

    def sao(self, msgid):
        "Return the translation of a text of the web client itself"
        if self.language == 'en':
            return msgid
        path = self.sao_root / 'locale' / f'{self.language}.json'
        return json.loads(path.read_text(encoding='utf-8'))[msgid][1]


@unittest.skipUnless(BACKEND == 'sqlite',
    'the browser test runs once, in the SQLite pass')
class InstallTestCase(BrowserTestCase):
    "An administrator installs the CRM from the modules list"
    database = DATABASE
    screenshots = 'test_install'
    language = 'zh_CN'
    siblings = ['crm_plus_sale', 'crm_plus_finance', 'crm_plus_service']

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sao_root = cls.demo.install_sao()
        cls.texts = Catalogs(cls.language, sao_root)
        port = free_port()
        config = cls.demo.write_config(cls.tmp / 'trytond.conf',
            cls.tmp / 'db', sao_root, listen=f'127.0.0.1:{port}')
        cls.db_path = cls.tmp / 'db' / f'{cls.database}.sqlite'
        cls.create_database(config)
        cls.url = f'http://127.0.0.1:{port}/'
        cls.start_server(config)
        cls.setup_time = time.monotonic() - cls.started_class

    @classmethod
    def create_database(cls, config):
        """Create a database with the base modules, whose administrator
        works in the language and passed the configuration of the first
        login (languages, users, modules)"""
        cls.db_path.touch()
        passfile = cls.tmp / 'passfile'
        passfile.write_text(cls.demo.PASSWORD + '\n')
        languages = ['-l', cls.language] if cls.language != 'en' else []
        cls.demo.trytond_admin(config, cls.database, '--all',
            '--email', cls.demo.ADMIN_EMAIL, *languages, passfile=passfile)
        with contextlib.closing(sqlite3.connect(cls.db_path)) as conn:
            conn.execute('UPDATE res_user SET language = '
                '(SELECT id FROM ir_lang WHERE code = ?) '
                "WHERE login = 'admin'", (cls.language,))
            conn.execute("UPDATE ir_module_config_wizard_item "
                "SET state = 'done'")
            conn.commit()

    # Helpers

    def client(self, login):
        return Client(f'{self.url}{self.database}/rpc/', login,
            self.demo.PASSWORD)

    def active_tab(self):
        return self.page.locator('#tabcontent > .tab-pane.active')

    def tab_title(self):
        return self.page.locator('#tablist li.active span[title]')

    def click_default(self, description, where=None):
        "Click the default button of the active tab or of where"
        where = where if where is not None else self.active_tab()
        self.step(description, where.locator('button.btn-primary').last.click)
        self.idle()

    def wait_tab(self, title):
        self.step(f'tab {title}', expect(self.tab_title()).to_have_attribute,
            'title', title)
        self.idle()

    def to_tab(self, title):
        "Bring the tab forward"
        self.step(f'tab {title}', self.page.locator(
                f'#tablist span[title="{title}"]').click)
        self.wait_tab(title)

    def config_title(self):
        "Return the title of the tab of the configuration wizard"
        return self.texts.text('ir',
            'model:ir.action,name:act_module_config_wizard',
            'Module Configuration')

    def untranslated(self, where,
            texts='label, .nav-tabs a, th, button, .modal-title'):
        """Return the visible texts of where (by default its labels, tabs,
        headers, buttons and titles) that have a word in Latin letters"""
        texts = where.locator(texts).evaluate_all(
            'els => els.filter(e => e.offsetParent !== null)'
            '.map(e => e.innerText)')
        return sorted({t.strip() for t in texts
                if set(LATIN.findall(t)) - LATIN_ALLOWED})

    def assertTranslated(self, where, screen, **kwargs):
        if self.language != 'en':
            self.assertEqual(self.untranslated(where, **kwargs), [],
                f'English on the screen {screen}')

    def module_states(self):
        return dict(self.db('SELECT name, state FROM ir_module'))

    def open_modules(self):
        "Open Administration › Modules › Modules and return its tab"
        page = self.page
        texts = self.texts
        path = [texts.text('ir', 'model:ir.ui.menu,name:menu_administration',
                'Administration'),
            texts.text('ir', 'model:ir.ui.menu,name:menu_modules', 'Modules'),
            texts.text('ir', 'model:ir.ui.menu,name:menu_module_form',
                'Modules')]
        row = page.locator(f'#menu div.column-char[title="{path[0]}"]').first
        for i, title in enumerate(path):
            if i:
                # below the previous one: Modules is in Modules
                row = row.locator('xpath=following::div[contains(@class, '
                    f'"column-char")][@title="{title}"]').first
            self.step(f'menu {title}', row.click)
            self.idle()
        self.step('modules list', self.active_tab().locator(
                'tr:has(div.column-char[title="crm_plus"])').wait_for)
        self.modules_tab = self.tab_title().get_attribute('title')
        return self.active_tab()

    def activate(self, name):
        """Mark the module for activation in the modules list and run the
        pending activation; return the dialog that says it is done"""
        page = self.page
        self.to_tab(self.modules_tab)
        tab = self.active_tab()
        tab.locator('button#reload').click()
        self.idle()
        row = self.row(tab, name)
        self.step(f'{name} in the modules list', row.locator(
                f'div.column-char[title="{name}"]').click)
        self.idle()
        # A click on the button of a row that is not selected only selects it
        button = row.locator('button[name=activate]')
        for _ in range(2):
            self.step(f'activate {name}', button.click)
            with contextlib.suppress(AssertionError):
                expect(button).to_be_hidden(timeout=5000)
                break
        self.idle()
        self.assertEqual(self.module_states()[name], 'to activate')
        if name != 'crm_plus':
            # crm_plus translates the buttons of the list (from the next
            # login: the web client keeps the views of its session)
            self.assertTranslated(tab, 'modules list')
        tab.locator('button[name=apply]').click()
        self.idle()
        dialog = page.locator('.modal.in').last
        self.step('activation dialog', expect(
                dialog.locator('[name=module_info]')).to_be_visible)
        start = time.monotonic()
        # sao waits for the activation to answer
        self.step('start the activation',
            dialog.locator('button.btn-primary').last.click)
        self.step(f'activation of {name}', lambda: expect(
                dialog.locator('[name=module_info]')).to_have_count(
                0, timeout=ACTIVATION_TIMEOUT))
        self.idle()
        print(f'\n{name} activated in {time.monotonic() - start:.0f} s',
            flush=True)
        self.assertEqual(self.module_states()[name], 'activated')
        return dialog

    def create_from_entry(self, field, values):
        """Create the record of the many2one field of the active tab from
        its search dialog"""
        page = self.page
        entry = self.active_tab().locator(f'input[name={field}]')
        entry.fill(values['name'])
        entry.press('Tab')
        self.idle()
        search = page.locator('.modal.in').last
        self.step(f'search dialog of {field}', search.get_by_role(
                'button', name=self.texts.sao('New')).click)
        self.idle()
        form = page.locator('.modal.in').last
        self.step(f'form of the new {field}',
            form.locator('input[name=name]').wait_for)
        self.idle()
        # The defaults of the new record may arrive after the first values
        for _ in range(3):
            for name, value in values.items():
                entry = form.locator(f'input[name={name}]')
                if entry.input_value() != value:
                    entry.fill(value)
                    # the value is set on change
                    entry.press('Tab')
                    self.idle()
            if all(form.locator(f'input[name={n}]').input_value() == v
                    for n, v in values.items()):
                break
        title = form.locator('.modal-title').inner_text()
        self.assertTranslated(form, field)
        self.click_default(f'save the {field}', form)
        self.step(f'{field} chosen', expect(
                self.active_tab().locator(f'input[name={field}]')
                ).to_have_value, values['name'])
        return title

    # Scenario

    def test_install_from_modules_list(self):
        "The administrator activates the CRM and sets it up in the browser"
        self.login('admin')
        self.open_modules()
        crm_plus = self.activate('crm_plus')
        # every dependency came along
        self.assertLessEqual({'company', 'party', 'product', 'inbound_email',
                'marketing_email'}, {name for name, state
                in self.module_states().items() if state == 'activated'})
        self.click_default('activation done', crm_plus)

        self.configure_company()
        self.set_up_crm()
        self.check_crm()
        if self.siblings:
            self.activate_siblings()
        self.screenshot(self.language)
        self.assertEqual(self.page_errors, [])
        self.assertNotIn('Traceback', self.server_tail(10_000))

    def activate_siblings(self):
        "Activate the other modules of the suite from the modules list"
        # Another day: the views of the new session are those of crm_plus
        self.browser.clear_cookies()
        self.login('admin')
        self.open_modules()
        for name in self.siblings:
            self.click_default(f'{name} activated', self.activate(name))
            self.finish_configuration()
        self.assertTrue(all(self.module_states()[m] == 'activated'
                for m in self.siblings))
        # The menu of a new session has Financial, Sales (which crm_plus_sale
        # translates) and Stock
        self.browser.clear_cookies()
        self.login('admin')
        self.assertTranslated(self.page.locator('#menu'), 'menu',
            texts='div.column-char')

    def configure_company(self):
        "Create the company in the wizard of the company module"
        texts = self.texts
        self.wait_tab(self.config_title())
        self.click_default('first step of the configuration')
        self.wait_tab(texts.text('company',
                'model:ir.action,name:act_company_config',
                'Configure Company'))
        self.click_default('company wizard')
        self.create_from_entry('party', {'name': '云图科技有限公司'})
        currency = self.create_from_entry('currency',
            {'name': '人民币', 'symbol': '¥', 'code': 'CNY'})
        self.assertEqual(currency, texts.text('crm_plus',
                'model:currency.currency,string:currency.', 'Currency'))
        self.active_tab().locator('select[name=timezone]').select_option(
            'Asia/Shanghai')
        self.assertTranslated(self.active_tab(), 'company')
        self.click_default('add the company')

    def set_up_crm(self):
        "The CRM setup wizard follows, in the language of the administrator"
        texts = self.texts
        # the configuration wizard says there is more to configure
        self.to_tab(self.config_title())
        self.click_default('next configuration')
        self.wait_tab(texts.text('crm_plus',
                'model:ir.action,name:wizard_configuration_setup',
                'Set Up CRM'))
        tab = self.active_tab()
        self.step('setup wizard', expect(
                tab.locator('input[name=pool_name]')).to_have_value,
            texts.text('crm_plus', 'model:ir.message,text:msg_setup_pool_name',
                'Public Pool'))
        expect(tab.locator('input[name=company]')).to_have_value(
            '云图科技有限公司')
        self.assertTranslated(tab, 'CRM setup')
        self.screenshot(f'setup_{self.language}')
        # The visible input of a number is replaced by another on focus
        tab.locator('input[name=quota]').first.click()
        tab.locator('input[type=number][name=quota]').fill('200')
        self.click_default('set up the CRM')
        # The end of the configuration reloads the menu, with the CRM
        self.to_tab(self.config_title())
        self.click_default('end of the configuration')
        self.wait_menu(texts.text('crm_plus', 'model:ir.ui.menu,name:menu_crm',
                'CRM'))

    def wait_menu(self, title):
        """Wait until the menu is loaded again with the new top menu title,
        and check it"""
        self.step(f'menu {title}', self.page.locator(
                f'#menu div.column-char[title="{title}"]').wait_for)
        self.idle()
        self.assertTranslated(self.page.locator('#menu'), 'menu',
            texts='div.column-char')

    def finish_configuration(self):
        """Go through the configuration wizard that may follow the
        activation of a sibling, cancelling the wizards of other modules
        (the chart of accounts)"""
        page = self.page
        config = page.locator(f'#tablist span[title="{self.config_title()}"]')
        for _ in range(10):
            self.idle()
            dialog = page.locator('.modal.in')
            if dialog.count():
                dialog.last.locator(
                    '.modal-footer button:not(.btn-primary)').first.click()
            elif config.count():
                self.to_tab(self.config_title())
                self.click_default('configuration wizard')
            else:
                break
        else:
            self.fail('the configuration wizard does not end')

    def check_crm(self):
        "The CRM is ready: pool, stages, dictionaries, groups, a claim"
        admin = self.client('admin')
        company, = admin('model.company.company.search', [], 0, None, None)
        config, = admin('model.crm.configuration.read', [1],
            ['default_pool', 'quota'])
        pool_name = self.texts.text('crm_plus',
            'model:ir.message,text:msg_setup_pool_name', 'Public Pool')
        self.assertEqual(
            admin('model.crm.pool.search_read', [], 0, None, None,
                ['name', 'company']),
            [{'id': config['default_pool'], 'name': pool_name,
                    'company': company}])
        self.assertEqual(config['quota'], 200)
        stages = admin('model.crm.opportunity.stage.search_read', [],
            0, None, None, ['name'])
        self.assertGreaterEqual(len(stages), 5)
        for model in DICTIONARIES:
            with self.subTest(model=model):
                self.assertTrue(admin(f'model.{model}.search_count', []))
        if self.language != 'en':
            # loaded with their translations
            self.assertFalse([s['name'] for s in stages
                    if LATIN.search(s['name'])])
        names = [self.texts.text('crm_plus', f'model:res.group,name:{g}', n)
            for g, n in [('group_crm_user', "CRM Salesperson"),
                ('group_crm_admin', "CRM Manager")]]
        groups = admin('model.res.group.search_read',
            [('name', 'in', names)], 0, None, [('name', 'ASC')],
            ['name', 'users'])
        self.assertEqual(sorted(g['name'] for g in groups), sorted(names))
        salesperson, manager = sorted(
            groups, key=lambda g: names.index(g['name']))
        self.assertIn(admin.user_id, manager['users'])
        self.salesperson_claims(admin, company, salesperson['id'])

    def salesperson_claims(self, admin, company, group):
        "A salesperson made now claims a customer that entered the pool"
        party, = admin('model.party.party.create', [{'name': '李娜'}])
        employee, = admin('model.company.employee.create',
            [{'party': party, 'company': company}])
        admin('model.res.user.create', [{
                    'login': 'sales1', 'name': '李娜',
                    'password': self.demo.PASSWORD,
                    'groups': [['add', [group]]],
                    'companies': [['add', [company]]], 'company': company,
                    'employees': [['add', [employee]]],
                    'employee': employee}])
        customer, = admin('model.party.party.create', [{
                    'name': '上海星辰贸易有限公司',
                    'customer_nature': 'company'}])
        config, = admin('model.crm.configuration.read', [1],
            ['default_pool'])
        sales1 = self.client('sales1')
        self.assertEqual(
            sales1('model.party.party.read', [customer], ['pool', 'owner']),
            [{'id': customer, 'pool': config['default_pool'],
                    'owner': None}])
        sales1('model.party.party.claim', [customer])
        self.assertEqual(
            sales1('model.party.party.read', [customer], ['owner']),
            [{'id': customer, 'owner': employee}])


class InstallEnglishTestCase(InstallTestCase):
    "An administrator working in English installs crm_plus"
    language = 'en'
    # Their activation does not depend on the language
    siblings = []
