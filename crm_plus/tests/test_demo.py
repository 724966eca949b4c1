# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The demo of ``make demo`` (tools/demo.py, demo_data.py and
sqlite_worker.py): its configuration, its queue worker on SQLite and the
consistency of its data with the rules of the CRM."""

import configparser
import importlib.util
import os
import random
import tempfile
import unittest
from pathlib import Path
from unittest.mock import patch
from zoneinfo import ZoneInfo

from trytond import config
from trytond.pool import Pool
from trytond.tests.test_tryton import DB_NAME, with_transaction
from trytond.transaction import Transaction

from .tools import CrmTestCase

ROOT = Path(__file__).resolve().parents[2]


def load_tool(name):
    "Import tools/<name>.py by path (tools is not a package)"
    spec = importlib.util.spec_from_file_location(
        f'crm_plus_test_{name}', ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class DemoConfigTestCase(unittest.TestCase):
    "The configuration that make demo writes"

    def test_demo_config(self):
        "The demo sends its emails to the sink and queues its tasks"
        demo = load_tool('demo')
        with tempfile.TemporaryDirectory() as tmp:
            path = demo.write_demo_config(Path(tmp), 8123, 2525)
            conf = configparser.ConfigParser()
            conf.read(path)
        self.assertEqual(conf.get('web', 'listen'), '127.0.0.1:8123')
        self.assertEqual(conf.get('email', 'uri'), 'smtp://127.0.0.1:2525')
        self.assertTrue(conf.getboolean('queue', 'worker'))

    def test_timezone_note(self):
        """The demo tells how to see the times of the company from a
        computer in another time zone"""
        demo = load_tool('demo')
        url = 'http://127.0.0.1:8000/'
        english, chinese = demo.timezone_note(url, ZoneInfo('UTC'))
        for note in [english, chinese]:
            self.assertIn('TZ=Asia/Shanghai chromium ' + url, note)
        self.assertIsNone(demo.timezone_note(url, ZoneInfo('Asia/Shanghai')))

    def test_commands(self):
        "The server, cron and worker serve the demo database"
        demo = load_tool('demo')
        conf, logging_conf = Path('trytond.conf'), Path('logging.conf')
        for command, program in [
                (demo.server_command(conf, 'crmdemo', logging_conf),
                    'trytond'),
                (demo.cron_command(conf, 'crmdemo', logging_conf),
                    'trytond-cron'),
                (demo.worker_command(conf, 'crmdemo', logging_conf),
                    'sqlite_worker.py'),
                ]:
            with self.subTest(program=program):
                self.assertTrue(
                    any(Path(a).name == program for a in command[:2]))
                self.assertIn('-d', command)
                self.assertEqual(command[command.index('-d') + 1], 'crmdemo')
                self.assertEqual(
                    command[command.index('--logconf') + 1], 'logging.conf')


# The demo runs on SQLite; on PostgreSQL, the seeding would restart its
# transaction to take the locks it asks for, as tools/demo_data.py does
sqlite_only = unittest.skipUnless(
    (os.environ.get('CRM_TEST_BACKEND') or 'sqlite') == 'sqlite',
    'the demo runs on SQLite')


@sqlite_only
class SQLiteWorkerTestCase(CrmTestCase):
    "The queue worker of the demo on SQLite"

    def setUp(self):
        super().setUp()
        worker = config.get('queue', 'worker')
        config.set('queue', 'worker', 'True')
        self.addCleanup(config.set, 'queue', 'worker', worker)

    def test_pull_and_run(self):
        "The worker takes the queued tasks in order, once, and runs them"
        pool = Pool(DB_NAME)
        Party = pool.get('party.party')
        worker = load_tool('sqlite_worker')
        from trytond.worker import run_task

        with Transaction().start(DB_NAME, 0):
            first, second = Party.create([{'name': "A"}, {'name': "B"}])
            Party.__queue__.write([first], {'name': "A queued"})
            Party.__queue__.write([second], {'name': "B queued"})
            first, second = first.id, second.id

        tasks = [worker.pull(pool), worker.pull(pool)]
        self.assertIsNone(worker.pull(pool))
        for task_id in tasks:
            run_task(pool, task_id)

        with Transaction().start(DB_NAME, 0):
            Queue = pool.get('ir.queue')
            self.assertEqual(
                [(list(t.data['instances']), bool(t.finished_at))
                    for t in Queue.browse(tasks)],
                [([first], True), ([second], True)])
            self.assertEqual(
                [p.name for p in Party.browse([first, second])],
                ["A queued", "B queued"])


@sqlite_only
class DemoDataTestCase(CrmTestCase):
    "The demo data follows the rules of the CRM"

    @with_transaction(user=0, context={'language': 'en'})
    def test_demo_data(self):
        "Opportunities, leads, approvals, targets and campaign are coherent"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Date = pool.get('ir.date')
        Opportunity = pool.get('crm.opportunity')
        demo_data = load_tool('demo_data')
        # The demo users work in English and Chinese
        Lang.write(Lang.search([('code', '=', 'zh_CN')]),
            {'translatable': True})
        with patch('crm_plus.approval.send_message_transactional') as send:
            demo_data._seed(pool, 'small', random.Random(8))
        today = Date.today()
        # The manager is emailed about the filings to approve
        self.assertIn('wang.jianguo@yuntu.example.com',
            {c.args[0]['To'] for c in send.call_args_list})

        self.check_company()
        self.check_opportunities()
        self.check_leads()
        self.check_approvals()
        self.check_targets(today)
        self.check_campaign(today)

        # The first run of the cron reactivates an opportunity
        in_progress = Opportunity.search_count([('state', '=', 'in_progress')])
        Opportunity.reactivate_suspended()
        self.assertEqual(
            Opportunity.search_count([('state', '=', 'in_progress')]),
            in_progress + 1)

    def check_company(self):
        "The company is in China, where phone numbers are read by default"
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('crm.configuration')
        company, = Company.search([])
        address, = company.party.addresses
        self.assertEqual(
            (address.subdivision.code, address.city, address.country.code),
            ('CN-SH', '上海市', 'CN'))
        self.assertEqual(Configuration(1).phone_country, address.country)

    def check_opportunities(self):
        "Won ones at the last stage at 100 %, lost ones with a reason"
        pool = Pool()
        Opportunity = pool.get('crm.opportunity')
        Stage = pool.get('crm.opportunity.stage')
        last = Stage.search([])[-1]
        opportunities = Opportunity.search([])
        states = {o.state for o in opportunities}
        self.assertEqual(states, {
                'draft', 'waiting', 'in_progress', 'suspended', 'won',
                'lost'})
        for opportunity in opportunities:
            with self.subTest(opportunity=opportunity.rec_name,
                    state=opportunity.state):
                if opportunity.state == 'won':
                    self.assertEqual(opportunity.stage, last)
                    self.assertEqual(opportunity.probability, 100)
                    self.assertTrue(opportunity.close_date)
                elif opportunity.state == 'lost':
                    self.assertTrue(opportunity.lost_reason)
                    self.assertEqual(opportunity.probability, 0)
                    self.assertTrue(opportunity.close_date)
                else:
                    self.assertEqual(
                        opportunity.probability,
                        opportunity.stage.probability)
                    self.assertFalse(opportunity.close_date)
                if opportunity.state not in {'draft', 'waiting'}:
                    self.assertEqual(opportunity.approval.state, 'approved')

    def check_leads(self):
        "Leads in every state; converted ones have their opportunity"
        Lead = Pool().get('crm.lead')
        leads = Lead.search([])
        self.assertEqual({l.state for l in leads},
            {'new', 'following', 'converted', 'invalid'})
        for lead in leads:
            with self.subTest(lead=lead.rec_name, state=lead.state):
                self.assertEqual(
                    bool(lead.opportunity), lead.state == 'converted')
                if lead.state in {'following', 'converted'}:
                    self.assertTrue(lead.employee)
                if lead.state == 'following':
                    self.assertTrue(lead.follow_ups)

    def check_approvals(self):
        "Filed opportunities and an expense wait for the manager"
        Request = Pool().get('crm.approval.request')
        pending = Request.search([('state', '=', 'pending')])
        self.assertEqual({r.approver.party.name for r in pending}, {'王建国'})
        self.assertEqual({r.document.__name__ for r in pending},
            {'crm.opportunity', 'crm.expense'})
        for request in pending:
            self.assertEqual(request.document.state, 'waiting')

    def check_targets(self, today):
        "The targets of the month are confirmed and partly completed"
        Target = Pool().get('crm.target')
        targets = Target.search([])
        self.assertTrue(targets)
        for target in targets:
            with self.subTest(target=target.rec_name):
                self.assertEqual(target.state, 'confirmed')
                self.assertTrue(
                    target.start_date <= today <= target.end_date)
                self.assertTrue(0 < target.progress < 1)
                if target.children:
                    self.assertEqual(
                        sum(c.value for c in target.children), target.value)

    def check_campaign(self, today):
        "The campaign runs today"
        Campaign = Pool().get('crm.campaign')
        campaign, = Campaign.search([])
        self.assertEqual(campaign.state, 'in_progress')
        self.assertTrue(campaign.start_date <= today <= campaign.end_date)
        self.assertTrue(campaign.leads)
