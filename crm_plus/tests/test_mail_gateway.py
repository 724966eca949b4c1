# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Emails posted to the real inbound_email route of the sales inbox."""

import http.client
import io
import threading
import time
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from unittest.mock import patch

from werkzeug.serving import make_server

from trytond import config
from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.pool import Pool
from trytond.tests.test_tryton import RouteTestCase, with_transaction
from trytond.transaction import Transaction
from trytond.wsgi import app

from .. import mail_gateway
from .tools import (
    CHECK_DELAY, CommittedDataMixin, acting_as, create_customer, create_world,
    postgresql_only, run_at_once, slowed)

EMAILS = Path(__file__).parent / 'emails'
LOGGER = 'crm_plus.mail_gateway'


def message(message_id, subject, sender='carol@unknown.test', body="Hi",
        **headers):
    "Return an RFC 822 message as bytes"
    msg = EmailMessage()
    msg['From'] = sender
    msg['To'] = 'sales@crm-plus.test'
    msg['Subject'] = subject
    msg['Message-ID'] = f'<{message_id}>'
    for name, value in headers.items():
        msg[name.replace('_', '-')] = value
    msg.set_content(body)
    return msg.as_bytes()


def message_with_attachment(message_id, size, total=None):
    """Return a message with CRLF lines and an attachment of size bytes,
    padded to total bytes after its last part"""
    msg = EmailMessage(policy=SMTP)
    msg['From'] = 'erin@buyer.test'
    msg['To'] = 'sales@crm-plus.test'
    msg['Subject'] = "Drawings"
    msg['Message-ID'] = f'<{message_id}>'
    msg.set_content("Please see the drawings.")
    msg.add_attachment(bytes(range(256)) * (size // 256) + b'!' * (size % 256),
        maintype='application', subtype='octet-stream',
        filename='drawing.dwg')
    data = msg.as_bytes()
    if total is not None:
        assert total >= len(data)
        data += b' ' * (total - len(data))
    return data


class UnreadableStream(io.BytesIO):
    "A request body of size bytes that fails the test when it is read"

    def __init__(self, size):
        super().__init__(b' ' * size)

    def read(self, size=-1):
        raise AssertionError("the body was read")
    read1 = readinto = readline = read


@contextmanager
def queue_worker():
    "Configure trytond as when a queue worker runs the queued tasks"
    if not config.has_section('queue'):
        config.add_section('queue')
    worker = config.get('queue', 'worker')
    config.set('queue', 'worker', 'True')
    try:
        yield
    finally:
        config.set('queue', 'worker', worker or 'False')


class CrmPlusMailGatewayTestCase(CommittedDataMixin, RouteTestCase):
    "Test the mail gateway that turns emails into leads"
    module = 'crm_plus'

    @classmethod
    def create_data(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Configuration = pool.get('crm.configuration')
        Inbox = pool.get('inbound.email.inbox')
        Rule = pool.get('inbound.email.rule')
        Team = pool.get('crm.team')
        Assignment = pool.get('crm.lead.assignment')
        Party = pool.get('party.party')
        CustomerContact = pool.get('crm.customer.contact')
        Mechanism = pool.get('party.contact_mechanism')
        User = pool.get('res.user')
        world = create_world()
        emp = world.employees
        crm_admin = ModelData.get_id('crm_plus', 'group_crm_admin')
        User.write([world.users['manager']], {
                'groups': [('add', [crm_admin])]})
        cls.employees = {n: e.id for n, e in emp.items()}
        Configuration.write([Configuration(1)], {
                'lead_attachment_max_size': 2000})
        inbox = Inbox(name="Sales")
        inbox.save()
        Inbox.new_identifier([inbox])
        cls.identifier = inbox.identifier
        cls.email_source = ModelData.get_id(
            'crm_plus', 'customer_source_email')
        Rule(inbox=inbox, action='crm.lead|from_inbound_email',
            crm_company=world.company, crm_source=cls.email_source).save()
        team = Team(name="Inside Sales", company=world.company,
            members=[emp['sales1'], emp['sales2']])
        team.save()
        Assignment.save([
                Assignment(company=world.company, sequence=10,
                    sender_domain='bigcorp.test', employee=emp['sales2']),
                Assignment(company=world.company, sequence=20, team=team),
                ])
        factory = create_customer(
            "Factory Ltd", pool=world.east, owner=emp['junior'])
        wang = Party(name="Wang", contact_mechanisms=[
                Mechanism(type='email', value='wang@factory.test')])
        wang.save()
        CustomerContact(customer=factory, contact=wang).save()
        cls.factory, cls.wang = factory.id, wang.id

    def post(self, data, identifier=None, client=None):
        client = client or self.client()
        response = client.post(
            f'/{self.db_name}/inbound_email/inbox/'
            f'{identifier or self.identifier}',
            data=data, headers={'Content-Type': 'message/rfc822'})
        return response.status_code

    def post_chunked(self, data, chunk_size=64 * 1024):
        """POST data to the sales inbox with Transfer-Encoding: chunked and
        return the status, from a client thread to a real server of trytond
        on a free port of 127.0.0.1 that this thread runs"""
        server = make_server('127.0.0.1', 0, app)
        self.addCleanup(server.server_close)
        statuses = []

        def send():
            connection = http.client.HTTPConnection(
                '127.0.0.1', server.server_port, timeout=60)
            connection.putrequest('POST', f'/{self.db_name}'
                f'/inbound_email/inbox/{self.identifier}')
            connection.putheader('Content-Type', 'message/rfc822')
            connection.putheader('Transfer-Encoding', 'chunked')
            connection.endheaders()
            try:
                for start in range(0, len(data), chunk_size):
                    chunk = data[start:start + chunk_size]
                    connection.send(b'%x\r\n%s\r\n' % (len(chunk), chunk))
                connection.send(b'0\r\n\r\n')
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server answered before the end of the body
            statuses.append(connection.getresponse().status)
            connection.close()
        client = threading.Thread(target=send)
        client.start()
        server.timeout = 60
        server.handle_request()
        client.join()
        return statuses[0]

    @contextmanager
    def attachment_limit(self, size):
        "Set the attachment size limit of the CRM configuration for a while"
        @with_transaction()
        def write(size):
            Configuration = Pool().get('crm.configuration')
            configuration = Configuration(1)
            previous = configuration.lead_attachment_max_size
            Configuration.write([configuration], {
                    'lead_attachment_max_size': size})
            Transaction().commit()
            return previous
        previous = write(size)
        try:
            yield mail_gateway.email_size_limit(size)
        finally:
            write(previous)

    def post_file(self, name):
        self.assertEqual(self.post((EMAILS / name).read_bytes()), 204)

    @with_transaction()
    def lead_of(self, message_id):
        "Return the values of the lead that stores message_id"
        pool = Pool()
        LeadEmail = pool.get('crm.lead.email')
        Attachment = pool.get('ir.attachment')
        email, = LeadEmail.search([('message_id', '=', message_id)])
        lead = email.lead
        return {
            'id': lead.id, 'number': lead.number, 'name': lead.name,
            'email': lead.email, 'contact_name': lead.contact_name,
            'description': lead.description, 'state': lead.state,
            'source': lead.source.id if lead.source else None,
            'party': lead.party.id if lead.party else None,
            'contact': lead.contact.id if lead.contact else None,
            'employee': lead.employee.id if lead.employee else None,
            'emails': len(lead.emails),
            'attachments': {a.name: bytes(a.data) for a in
                Attachment.search([('resource', '=', str(lead))])},
            }

    @with_transaction()
    def counts(self):
        pool = Pool()
        return tuple(pool.get(m).search_count(d) for m, d in [
                ('crm.lead', []),
                ('crm.lead.email', []),
                ('ir.attachment', [('resource', 'like', 'crm.lead,%')]),
                ('party.party', []),
                ])

    @with_transaction()
    def last_inbound_email(self):
        Email = Pool().get('inbound.email')
        email, = Email.search([], order=[('id', 'DESC')], limit=1)
        return email.crm_reason, str(email.result) if email.result else None

    @with_transaction()
    def last_unread(self):
        """Return the reason and the data type of the last inbound email,
        refused unread, or fail"""
        Email = Pool().get('inbound.email')
        email, = Email.search([], order=[('id', 'DESC')], limit=1)
        self.assertTrue(email.crm_unread)
        self.assertEqual((email.data, email.rule, email.result),
            (None, None, None))
        return email.crm_reason, email.data_type

    def test_inquiry_creates_lead(self):
        "An inquiry becomes a new lead with its subject, sender and body"
        self.post_file('accepted/plain_inquiry.eml')
        lead = self.lead_of('plain_inquiry@buyer.test')
        self.assertEqual(lead['name'], "Quote for 50 widgets")
        self.assertEqual(lead['email'], 'alice@buyer.test')
        self.assertEqual(lead['contact_name'], "Alice Buyer")
        self.assertIn("we need 50 widgets by March", lead['description'])
        self.assertEqual(lead['state'], 'new')
        self.assertEqual(lead['source'], self.email_source)
        self.assertRegex(lead['number'], r'^LEAD-\d{5}$')
        self.assertEqual(self.last_inbound_email(),
            (None, f"crm.lead,{lead['id']}"))

    def test_attachment_kept(self):
        "Attachments are kept on the lead, without the sender's path"
        self.post_file('accepted/with_attachment.eml')
        lead = self.lead_of('with_attachment@buyer.test')
        self.assertEqual(list(lead['attachments']), ['spec.pdf'])
        self.assertTrue(lead['attachments']['spec.pdf'].startswith(b'%PDF'))

    def test_html_sanitised(self):
        "An HTML body is stored as text, without scripts"
        self.post_file('accepted/html_with_script.eml')
        description = self.lead_of('html_with_script@buyer.test')[
            'description']
        self.assertEqual(
            description, "We would like to resell your products.")

    def test_known_contact_matched(self):
        "A known contact's email links the lead to the customer and owner"
        self.post_file('accepted/chinese_gbk.eml')
        lead = self.lead_of('chinese_gbk@buyer.test')
        self.assertEqual(lead['name'], "询价:工业风扇")
        self.assertEqual(
            lead['description'], "您好,我们需要采购200台工业风扇。")
        self.assertEqual(
            (lead['party'], lead['contact'], lead['employee']),
            (self.factory, self.wang, self.employees['junior']))

    def test_known_contact_matched_in_any_case(self):
        "The sender's address matches a known contact whatever its case"
        self.assertEqual(self.post(message(
                    'case@buyer.test', "Quote", sender='WANG@Factory.TEST')),
            204)
        lead = self.lead_of('case@buyer.test')
        self.assertEqual((lead['party'], lead['contact']),
            (self.factory, self.wang))

    def test_reply_by_references_attaches(self):
        "A reply is added to the lead it answers, by In-Reply-To"
        self.post(message('ref-1@a.test', "Need pumps"))
        before = self.counts()
        self.post(message('ref-2@a.test', "Re: Need pumps",
                In_Reply_To='<ref-1@a.test>',
                References='<x@a.test> <ref-1@a.test>'))
        lead = self.lead_of('ref-2@a.test')
        self.assertEqual(lead['id'], self.lead_of('ref-1@a.test')['id'])
        self.assertEqual(lead['emails'], 2)
        self.assertEqual(self.counts()[0], before[0])

    def test_reply_by_token_attaches(self):
        "A reply with the lead number in the subject joins the lead"
        self.post(message('token-1@a.test', "Need valves"))
        number = self.lead_of('token-1@a.test')['number']
        self.post(message('token-2@b.test', f"Re: [{number}] Need valves",
                sender='dave@other.test'))
        self.assertEqual(self.lead_of('token-2@b.test')['number'], number)

    def test_same_message_id_twice(self):
        "The same Message-ID posted twice creates one lead"
        data = message('twice@a.test', "Twice")
        self.assertEqual(self.post(data), 204)
        before = self.counts()
        with self.assertLogs(LOGGER, 'WARNING') as logs:
            self.assertEqual(self.post(data), 204)
        self.assertEqual(self.counts(), before)
        self.assertIn('duplicate', logs.output[0])
        reason, result = self.last_inbound_email()
        self.assertIn("already received", reason)
        self.assertIsNone(result)

    def test_no_message_id_twice(self):
        "An email without Message-ID is recognised by its content"
        self.post_file('accepted/no_message_id.eml')
        before = self.counts()
        self.post_file('accepted/no_message_id.eml')
        self.assertEqual(self.counts(), before)

    def test_assignment_by_sender_domain(self):
        "The sender's domain, or a subdomain, selects the employee"
        self.post(message('dom-1@a.test', "Big deal", sender='x@bigcorp.test'))
        self.post(message('dom-2@a.test', "Big deal",
                sender='y@eu.bigcorp.test'))
        for message_id in ['dom-1@a.test', 'dom-2@a.test']:
            self.assertEqual(self.lead_of(message_id)['employee'],
                self.employees['sales2'])

    def test_assignment_round_robin(self):
        "Other senders go to the members of the team in turn"
        employees = []
        for i in range(3):
            self.post(message(
                    f'rr-{i}@a.test', "Offer", sender=f'p{i}@x.test'))
            employees.append(self.lead_of(f'rr-{i}@a.test')['employee'])
        team = {self.employees['sales1'], self.employees['sales2']}
        self.assertEqual(set(employees[:2]), team)
        self.assertEqual(employees[2], employees[0])

    def test_rejected_corpus(self):
        "Malformed, hostile or automatic emails make no record and say why"
        files = sorted((EMAILS / 'rejected').glob('*.eml'))
        self.assertGreaterEqual(len(files), 30)
        for path in files:
            reason = path.name.split('--')[0]
            with self.subTest(email=path.name):
                before = self.counts()
                with self.assertLogs(LOGGER, 'WARNING') as logs:
                    self.assertEqual(self.post(path.read_bytes()), 204)
                self.assertEqual(self.counts(), before)
                self.assertIn(f"refused: {reason} ", logs.output[-1])
                stored, result = self.last_inbound_email()
                self.assertTrue(stored)
                self.assertIsNone(result)

    def test_empty_post_refused(self):
        "An empty post is a bad request and stores nothing"
        before = self.counts()
        self.assertEqual(self.post(b''), 400)
        self.assertEqual(self.counts(), before)

    def test_email_as_big_as_the_limit_accepted(self):
        """An email of the size limit, which follows the attachment limit,
        makes its lead with the attachment; one byte more is too big"""
        with self.attachment_limit(3 * 1024 * 1024) as limit:
            self.assertGreater(limit, 2 * 1024 * 1024)
            self.assertEqual(self.post(message_with_attachment(
                        'at-limit@buyer.test', 3 * 1024 * 1024, limit)), 204)
            self.assertEqual(self.post(message_with_attachment(
                        'over-limit@buyer.test', 1024, limit + 1)), 413)
        attachment = self.lead_of('at-limit@buyer.test')['attachments'][
            'drawing.dwg']
        self.assertEqual(len(attachment), 3 * 1024 * 1024)

    def test_email_over_the_limit_refused_unread(self):
        """An email announced bigger than the limit is refused before it is
        read, and recorded with the reason"""
        with self.attachment_limit(3 * 1024 * 1024) as limit, \
                self.assertLogs(LOGGER, 'WARNING') as logs:
            response = self.client().post(
                f'/{self.db_name}/inbound_email/inbox/{self.identifier}'
                '?type=postmark', input_stream=UnreadableStream(limit + 1),
                headers={'Content-Type': 'message/rfc822'})
        self.assertEqual(response.status_code, 413)
        self.assertIn('refused: too_big ', logs.output[0])
        reason, data_type = self.last_unread()
        self.assertEqual(response.get_data(as_text=True), reason)
        self.assertIn(f"has {limit + 1} bytes", reason)
        self.assertIn(f"limit of {limit} bytes", reason)
        self.assertEqual(data_type, 'postmark')

    def test_chunked_email_accepted_whole(self):
        "A chunked email bigger than trytond's limit is read whole"
        with self.attachment_limit(3 * 1024 * 1024):
            self.assertEqual(self.post_chunked(message_with_attachment(
                        'chunked@buyer.test', 3 * 1024 * 1024)), 204)
        attachment = self.lead_of('chunked@buyer.test')['attachments'][
            'drawing.dwg']
        self.assertEqual(len(attachment), 3 * 1024 * 1024)

    def test_chunked_email_over_the_limit_refused(self):
        "A chunked email is refused as soon as it passes the limit"
        before = self.counts()
        with self.attachment_limit(3 * 1024 * 1024) as limit, \
                self.assertLogs(LOGGER, 'WARNING') as logs:
            self.assertEqual(self.post_chunked(message_with_attachment(
                        'chunked-over@buyer.test', 1024, limit + 1)), 413)
        self.assertEqual(self.counts(), before)
        self.assertIn('refused: too_big_streamed ', logs.output[0])
        reason, _ = self.last_unread()
        self.assertIn(f"more than the limit of {limit} bytes", reason)

    def test_form_email_over_werkzeug_form_limit_accepted(self):
        """An email posted in a multipart form field, as SendGrid does, is
        not held to werkzeug's limit of 500 kB"""
        response = self.client().post(
            f'/{self.db_name}/inbound_email/inbox/{self.identifier}'
            '?type=sendgrid', content_type='multipart/form-data',
            data={'email': message_with_attachment(
                    'form@buyer.test', 600 * 1024).decode()})
        self.assertEqual(response.status_code, 204)

    @with_transaction()
    def last_email_id(self):
        Email = Pool().get('inbound.email')
        email, = Email.search([], order=[('id', 'DESC')], limit=1)
        return email.id

    @with_transaction()
    def click(self, login, button, email_id):
        "Click the button of the inbound email as the user login"
        pool = Pool()
        User = pool.get('res.user')
        Email = pool.get('inbound.email')
        user, = User.search([('login', '=', login)])
        with acting_as(user):
            getattr(Email, button)([Email(email_id)])
        Transaction().commit()

    def test_refused_email_reprocessed(self):
        """The CRM manager reprocesses an email refused for its attachment
        once the limit is raised; a salesperson may not"""
        with self.assertLogs(LOGGER, 'WARNING'):
            self.assertEqual(self.post(message_with_attachment(
                        'reprocessed@buyer.test', 3000)), 204)
        email_id = self.last_email_id()
        reason, = self.outcomes([email_id])[0][1:2]
        self.assertIn("more than the limit of 2000 bytes", reason)
        with self.attachment_limit(4000):
            with self.assertRaises(AccessError):
                self.click('sales1', 'crm_reprocess', email_id)
            self.click('manager', 'crm_reprocess', email_id)
        lead = self.lead_of('reprocessed@buyer.test')
        self.assertEqual(len(lead['attachments']['drawing.dwg']), 3000)
        self.assertEqual(self.outcomes([email_id]),
            [(False, None, f"crm.lead,{lead['id']}")])
        with self.assertRaises(AccessButtonError):
            self.click('manager', 'crm_reprocess', email_id)

    def test_unread_email_not_processed(self):
        "An email refused unread has nothing to process: it is sent again"
        with self.attachment_limit(3 * 1024 * 1024) as limit, \
                self.assertLogs(LOGGER, 'WARNING'):
            self.client().post(
                f'/{self.db_name}/inbound_email/inbox/{self.identifier}',
                input_stream=UnreadableStream(limit + 1),
                headers={'Content-Type': 'message/rfc822'})
        email_id = self.last_email_id()
        for button in ['crm_reprocess', 'process']:
            with self.subTest(button=button), \
                    self.assertRaises(AccessButtonError):
                self.click('admin', button, email_id)
        reason, _ = self.last_unread()
        self.assertIn("refused without being read", reason)

    def test_unknown_inbox(self):
        "An unknown inbox identifier is not found"
        self.assertEqual(self.post(message('x@a.test', "x"), 'unknown'), 404)

    @with_transaction(user=0)
    def store_pending(self, *messages, rule=None):
        """Store the messages as the route does, waiting for the leads job
        of the rule, by default of the sales inbox; return their ids"""
        pool = Pool()
        Email = pool.get('inbound.email')
        Rule = pool.get('inbound.email.rule')
        if rule is None:
            rule, = Rule.search([('inbox.identifier', '=', self.identifier)])
        else:
            rule = Rule(rule)
        emails = [Email(inbox=rule.inbox, rule=rule, data=m, data_type='raw',
                crm_pending=True) for m in messages]
        Email.save(emails)
        Transaction().commit()
        return [e.id for e in emails]

    @with_transaction(user=0)
    def make_leads(self):
        "Run the leads job of the sales inbox, as a worker does"
        Rule = Pool().get('inbound.email.rule')
        Rule.crm_make_leads(
            Rule.search([('inbox.identifier', '=', self.identifier)]))
        Transaction().commit()

    @with_transaction()
    def outcomes(self, ids):
        "Return the (pending, refusal reason, result) of the inbound emails"
        Email = Pool().get('inbound.email')
        return [(e.crm_pending, e.crm_reason, str(e.result or '') or None)
            for e in Email.browse(ids)]

    def test_pending_emails_made_in_one_batch(self):
        "The job makes the leads of the waiting emails in the order received"
        before = self.counts()
        ids = self.store_pending(
            message('batch-1@a.test', "Need motors", sender='m@one.test'),
            message('batch-2@a.test', "Re: Need motors", sender='m@one.test',
                In_Reply_To='<batch-1@a.test>'),
            message('batch-1@a.test', "Need motors", sender='m@one.test'),
            message('batch-3@a.test', "Need belts", sender='b@two.test'))
        with self.assertLogs(LOGGER, 'WARNING') as logs:
            self.make_leads()
        first = self.lead_of('batch-1@a.test')
        self.assertEqual(self.lead_of('batch-2@a.test')['id'], first['id'])
        self.assertEqual(first['emails'], 2)
        last = self.lead_of('batch-3@a.test')
        self.assertLess(first['number'], last['number'])
        self.assertEqual(self.counts()[:2], (before[0] + 2, before[1] + 3))
        outcomes = self.outcomes(ids)
        self.assertEqual([o[0] for o in outcomes], [False] * 4)
        self.assertEqual([o[2] for o in outcomes], [
                f"crm.lead,{first['id']}", f"crm.lead,{first['id']}", None,
                f"crm.lead,{last['id']}"])
        self.assertIn(first['number'], outcomes[2][1])
        self.assertEqual(len(logs.output), 1)
        self.assertIn('refused: duplicate', logs.output[0])

    def test_email_failing_its_batch_refused_alone(self):
        """An email whose lead cannot be saved is refused, the others of its
        batch and of the next one make their leads"""
        Lead = Pool(self.db_name).get('crm.lead')
        lead_from_email = Lead._lead_from_email

        def unsavable_for_poison(cls, parsed, rule):
            lead = lead_from_email(parsed, rule)
            if parsed.sender.startswith('poison@'):
                lead.name = None
            return lead
        ids = self.store_pending(
            message('fine-1@a.test', "Need gears", sender='g@one.test'),
            message('poison@a.test', "Need nothing", sender='poison@x.test'),
            message('fine-2@a.test', "Need chains", sender='c@two.test'))
        with patch.object(Lead, '_lead_from_email',
                    classmethod(unsavable_for_poison)), \
                patch.object(mail_gateway, 'BATCH_SIZE', 2), \
                self.assertLogs(LOGGER, 'WARNING') as logs:
            self.make_leads()
        self.assertIn('taken again one at a time', logs.output[0])
        self.assertIn('refused: lead_failed', logs.output[1])
        fine_1, poison, fine_2 = self.outcomes(ids)
        self.assertEqual(fine_1,
            (False, None, f"crm.lead,{self.lead_of('fine-1@a.test')['id']}"))
        self.assertEqual(fine_2,
            (False, None, f"crm.lead,{self.lead_of('fine-2@a.test')['id']}"))
        pending, reason, result = poison
        self.assertEqual((pending, result), (False, None))
        self.assertIn("No lead could be made", reason)
        self.assertIn('"Title"', reason)

    def test_error_of_every_email_leaves_them_pending(self):
        """When no email of a batch makes its lead, the error is not theirs:
        they wait for the cron job"""
        Lead = Pool(self.db_name).get('crm.lead')

        def broken(cls, parsed, rule):
            raise RuntimeError("broken")
        ids = self.store_pending(
            message('later-1@a.test', "Need rails", sender='r@one.test'),
            message('later-2@a.test', "Need bolts", sender='b@two.test'))
        with patch.object(Lead, '_lead_from_email', classmethod(broken)), \
                self.assertLogs(LOGGER, 'ERROR') as logs:
            self.make_leads()
        self.assertIn('2 emails left pending', logs.output[-1])
        self.assertEqual(self.outcomes(ids), [(True, None, None)] * 2)
        self.run_cron()
        self.assertEqual([o[:2] for o in self.outcomes(ids)],
            [(False, None)] * 2)
        self.assertNotEqual(self.lead_of('later-1@a.test')['id'],
            self.lead_of('later-2@a.test')['id'])

    @with_transaction(user=0)
    def run_cron(self):
        "Run the method of the cron job of the pending emails"
        Pool().get('inbound.email.rule').crm_make_pending_leads()
        Transaction().commit()

    @with_transaction(user=0)
    def add_rule(self):
        """Add to the sales inbox a rule that makes leads, after its first
        rule; return its id"""
        Rule = Pool().get('inbound.email.rule')
        first, = Rule.search([('inbox.identifier', '=', self.identifier)])
        rule = Rule(inbox=first.inbox, sequence=1000,
            action=mail_gateway.ACTION, crm_company=first.crm_company)
        rule.save()
        Transaction().commit()
        return rule.id

    @with_transaction(user=0)
    def change_rule(self, rule_id, values):
        "Write the values on the rule, or delete it when values is None"
        Rule = Pool().get('inbound.email.rule')
        if values is None:
            Rule.delete([Rule(rule_id)])
        else:
            Rule.write([Rule(rule_id)], values)
        Transaction().commit()

    def test_pending_emails_of_deleted_rule_refused(self):
        """The emails waiting for the leads job of a deleted rule are refused
        and make their leads under the other rules once reprocessed"""
        rule = self.add_rule()
        ids = self.store_pending(message(
                'gone@a.test', "Need springs", sender='s@one.test'), rule=rule)
        with self.assertLogs(LOGGER, 'WARNING') as logs:
            self.change_rule(rule, None)
        self.assertIn('refused: rule_deleted', logs.output[0])
        (pending, reason, result), = self.outcomes(ids)
        self.assertEqual((pending, result), (False, None))
        self.assertIn("was deleted before its lead was made", reason)
        self.click('manager', 'crm_reprocess', ids[0])
        lead = self.lead_of('gone@a.test')
        self.assertEqual(self.outcomes(ids),
            [(False, None, f"crm.lead,{lead['id']}")])

    def test_pending_emails_of_changed_rule_refused(self):
        "The emails waiting for the leads job of a rule changed are refused"
        rule = self.add_rule()
        self.addCleanup(self.change_rule, rule, None)
        ids = self.store_pending(message(
                'moved@a.test', "Need hinges", sender='h@one.test'), rule=rule)
        with self.assertLogs(LOGGER, 'WARNING') as logs:
            self.change_rule(rule, {'action': None})
        self.assertIn('refused: rule_changed', logs.output[0])
        (pending, reason, result), = self.outcomes(ids)
        self.assertEqual((pending, result), (False, None))
        self.assertIn("action of the rule of the email changed", reason)

    @with_transaction(user=0)
    def detach(self, ids):
        "Take the rule away from the inbound emails, without the ORM"
        Email = Pool().get('inbound.email')
        table = Email.__table__()
        Transaction().connection.cursor().execute(*table.update(
                [table.rule], [None], where=table.id.in_(ids)))
        Transaction().commit()

    def test_cron_refuses_orphaned_pending_emails(self):
        """The cron job refuses the emails left waiting by a rule deleted
        before crm_plus refused them"""
        ids = self.store_pending(message(
                'orphan@a.test', "Need nails", sender='n@one.test'))
        self.detach(ids)
        with self.assertLogs(LOGGER, 'WARNING') as logs:
            self.run_cron()
        self.assertIn('refused: rule_deleted', logs.output[0])
        (pending, reason, result), = self.outcomes(ids)
        self.assertEqual((pending, result), (False, None))
        self.assertIn("was deleted before its lead was made", reason)

    @with_transaction(user=0)
    def take_queued_jobs(self):
        "Return the (model, method, records) of the queued tasks, removed"
        Queue = Pool().get('ir.queue')
        tasks = Queue.search([('dequeued_at', '=', None)])
        jobs = [(t.data['model'], t.data['method'], len(t.data['instances']))
            for t in tasks]
        Queue.delete(tasks)
        Transaction().commit()
        return jobs

    def test_email_queued_for_a_worker(self):
        "With a queue worker, the route keeps the email for the leads job"
        before = self.counts()
        with queue_worker():
            self.assertEqual(self.post(message(
                        'queued@a.test', "Need cables", sender='q@one.test')),
                204)
        self.assertEqual(self.counts(), before)
        self.assertEqual(self.last_inbound_email(), (None, None))
        self.assertEqual(self.take_queued_jobs(), [
                ('inbound.email.rule', 'crm_make_leads', 1)])
        self.make_leads()
        lead = self.lead_of('queued@a.test')
        self.assertEqual(self.last_inbound_email(),
            (None, f"crm.lead,{lead['id']}"))

    @postgresql_only
    def test_concurrent_jobs_share_the_emails(self):
        "Two leads jobs at once take each waiting email once, in one of them"
        Lead = Pool(self.db_name).get('crm.lead')
        make_from_emails = Lead.make_from_emails
        taken = []

        def record_and_wait(cls, rule, emails):
            taken.extend(e.id for e in emails)
            make_from_emails(rule, emails)
            time.sleep(CHECK_DELAY)
        ids = self.store_pending(*(message(
                    f'job-{i}@a.test', "Need pipes", sender=f'j{i}@x.test')
                for i in range(6)))

        def make_leads():
            Rule = Pool().get('inbound.email.rule')
            Rule.crm_make_leads(Rule.search([]))
        with patch.object(Lead, 'make_from_emails',
                classmethod(record_and_wait)):
            self.assertEqual(run_at_once(
                    (0, make_leads, {}), (0, make_leads, {})),
                ['done', 'done'])
        self.assertEqual(sorted(taken), ids)
        outcomes = self.outcomes(ids)
        self.assertEqual([o[:2] for o in outcomes], [(False, None)] * 6)
        self.assertEqual(len({o[2] for o in outcomes}), 6)

    @postgresql_only
    def test_concurrent_jobs_keep_replies_with_their_lead(self):
        "A reply taken while another job makes its lead joins that lead"
        Lead = Pool(self.db_name).get('crm.lead')
        self.store_pending(
            message('thread-1@a.test', "Need tubes", sender='t@one.test'),
            message('thread-2@a.test', "Re: Need tubes", sender='t@one.test',
                In_Reply_To='<thread-1@a.test>'))

        def make_leads():
            Rule = Pool().get('inbound.email.rule')
            Rule.crm_make_leads(Rule.search([]))
        with slowed(Lead, 'make_from_emails'), \
                patch.object(mail_gateway, 'BATCH_SIZE', 1):
            self.assertEqual(run_at_once(
                    (0, make_leads, {}), (0, make_leads, {})),
                ['done', 'done'])
        self.assertEqual(self.lead_of('thread-2@a.test')['id'],
            self.lead_of('thread-1@a.test')['id'])

    def post_at_once(self, messages):
        "Post the messages together, each from its own thread"
        barrier = threading.Barrier(len(messages))
        statuses = []

        def post(data):
            client = self.client()
            barrier.wait()
            statuses.append(self.post(data, client=client))
        threads = [threading.Thread(target=post, args=(m,)) for m in messages]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return statuses

    @postgresql_only
    def test_concurrent_same_message_id(self):
        "The same email posted twice at once creates one lead"
        data = message('race@a.test', "Race")
        before = self.counts()
        self.assertEqual(self.post_at_once([data, data]), [204, 204])
        self.assertEqual(self.counts()[:2], (before[0] + 1, before[1] + 1))

    @postgresql_only
    def test_concurrent_round_robin(self):
        "Two emails at once go to two different members of the team"
        self.assertEqual(self.post_at_once([
                    message('turn-1@a.test', "Turn", sender='t1@x.test'),
                    message('turn-2@a.test', "Turn", sender='t2@y.test'),
                    ]), [204, 204])
        self.assertNotEqual(self.lead_of('turn-1@a.test')['employee'],
            self.lead_of('turn-2@a.test')['employee'])


del RouteTestCase
