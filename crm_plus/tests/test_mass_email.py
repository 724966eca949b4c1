# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from unittest.mock import patch

from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction, inactive_records

from .tools import CrmTestCase, acting_as, create_customer, create_world

SENDER = 'trytond.modules.marketing_email.marketing.send_message_transactional'


def add_email(party, address):
    ContactMechanism = Pool().get('party.contact_mechanism')
    ContactMechanism(party=party, type='email', value=address).save()


def create_contact(customer, name, address):
    pool = Pool()
    Party = pool.get('party.party')
    CustomerContact = pool.get('crm.customer.contact')
    contact = Party(name=name)
    contact.save()
    add_email(contact, address)
    CustomerContact(customer=customer, contact=contact).save()
    return contact


def create_list(name="Newsletter", addresses=(), unsubscribed=()):
    pool = Pool()
    EmailList = pool.get('marketing.email.list')
    Email = pool.get('marketing.email')
    email_list = EmailList(name=name)
    email_list.save()
    Email.create([{'email': a, 'list_': email_list.id} for a in addresses]
        + [{'email': a, 'list_': email_list.id, 'active': False}
            for a in unsubscribed])
    return email_list


def list_addresses(email_list, active=True):
    Email = Pool().get('marketing.email')
    with inactive_records():
        emails = Email.search([
                ('list_', '=', email_list.id),
                ('active', '=', active),
                ])
    return sorted(e.email for e in emails)


def run_wizard(parties, **values):
    "Run the mass email wizard on the parties and return its action"
    MassEmail = Pool().get('crm.mass_email', type='wizard')
    ids = [p.id for p in parties]
    with Transaction().set_context(
            active_model='party.party', active_ids=ids, active_id=ids[0]):
        session_id, _, _ = MassEmail.create()
        start = {'list_': None, 'new_list_name': None,
            'include_contacts': False}
        start.update(values)
        result = MassEmail.execute(session_id, {'start': start}, 'add')
        MassEmail.delete(session_id)
    (action, _), = result['actions']
    return action


class MassEmailTestCase(CrmTestCase):
    "Test mass email to customers and contacts"

    @with_transaction()
    def test_wizard_adds_addresses_once(self):
        """The wizard adds the addresses of the customers and of their
        contacts once, and skips those refusing mass email and those
        already in the list, even unsubscribed"""
        world = create_world()
        sales1 = world.employees['sales1']
        acme = create_customer("Acme", owner=sales1)
        add_email(acme, 'info@acme.example.com')
        add_email(acme, 'old@acme.example.com')
        create_contact(acme, "Li Lei", 'li.lei@acme.example.com')
        create_contact(acme, "Han Meimei", 'INFO@acme.example.com')
        refusing = create_customer(
            "Refusing", owner=sales1, mass_email_opt_out=True)
        add_email(refusing, 'no@refusing.example.com')
        email_list = create_list(unsubscribed=['old@acme.example.com'])

        with acting_as(world.users['sales1']):
            action = run_wizard([acme, refusing],
                list_=email_list.id, include_contacts=True)
            again = run_wizard([acme, refusing],
                list_=email_list.id, include_contacts=True)

        self.assertEqual(list_addresses(email_list), [
                'info@acme.example.com', 'li.lei@acme.example.com'])
        self.assertEqual(list_addresses(email_list, active=False),
            ['old@acme.example.com'])
        self.assertIn('"Newsletter": 2 addresses added, 2 skipped',
            action['name'])
        self.assertIn(str(email_list.id), action['pyson_domain'])
        self.assertIn('0 addresses added, 4 skipped', again['name'])

    @with_transaction()
    def test_wizard_without_contacts_creates_list(self):
        "Without the contacts, only the customers' addresses go to a new list"
        EmailList = Pool().get('marketing.email.list')
        world = create_world()
        acme = create_customer("Acme", owner=world.employees['sales1'])
        add_email(acme, 'info@acme.example.com')
        create_contact(acme, "Li Lei", 'li.lei@acme.example.com')

        with acting_as(world.users['sales1']):
            run_wizard([acme], new_list_name="Spring Fair")

        email_list, = EmailList.search([('name', '=', "Spring Fair")])
        self.assertEqual(
            list_addresses(email_list), ['info@acme.example.com'])

    @with_transaction()
    def test_wizard_refuses_colleague_customer(self):
        "A salesperson cannot mail a colleague's customer selected by id"
        world = create_world()
        acme = create_customer("Acme", owner=world.employees['sales1'])
        add_email(acme, 'info@acme.example.com')
        email_list = create_list()

        with acting_as(world.users['sales2']):
            with self.assertRaises(AccessError):
                run_wizard([acme], list_=email_list.id)
        self.assertEqual(list_addresses(email_list), [])

    @with_transaction()
    def test_opt_out_deactivates_entries(self):
        """Refusing mass email unsubscribes the party's addresses everywhere,
        also those added later"""
        Party = Pool().get('party.party')
        world = create_world()
        acme = create_customer("Acme", owner=world.employees['sales1'])
        add_email(acme, 'info@acme.example.com')
        news = create_list(addresses=[
                'info@acme.example.com', 'other@example.com'])
        fair = create_list("Fair", addresses=['info@acme.example.com'])

        with acting_as(world.users['sales1']):
            Party.write([acme], {'mass_email_opt_out': True})

        self.assertEqual(list_addresses(news), ['other@example.com'])
        self.assertEqual(list_addresses(fair), [])
        self.assertEqual(
            list_addresses(fair, active=False), ['info@acme.example.com'])

        add_email(acme, 'other@example.com')
        self.assertEqual(list_addresses(news), [])

    @with_transaction()
    def test_process_sends_to_active_entries(self):
        "A queued message is sent only to the subscribed addresses"
        Message = Pool().get('marketing.email.message')
        world = create_world()
        email_list = create_list(
            addresses=['a@example.com'], unsubscribed=['b@example.com'])
        with acting_as(world.users['sales1']):
            message = Message(list_=email_list, title="Spring offer",
                content='<p>Hello ${email.email}</p>')
            message.save()
            Message.send([message])

        with patch(SENDER) as send:
            Message.process()

        self.assertEqual(
            [c.args[0]['To'] for c in send.call_args_list], ['a@example.com'])
        self.assertEqual(Message(message.id).state, 'sent')

    @with_transaction()
    def test_salesperson_duplicates_message(self):
        "A salesperson reuses a sent message as the template of a new one"
        Message = Pool().get('marketing.email.message')
        world = create_world()
        email_list = create_list()
        with acting_as(world.users['sales1']):
            message = Message(list_=email_list, title="Spring offer",
                content='<p>Hello</p>', state='sent')
            message.save()
            copy, = Message.copy([message])
            self.assertEqual(
                (copy.state, copy.title), ('draft', "Spring offer"))

    @with_transaction()
    def test_zh_CN_labels(self):
        "The opt-out flag and marketing_email's states are in Chinese"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Party = pool.get('party.party')
        Message = pool.get('marketing.email.message')
        zh_CN, = Lang.search([('code', '=', 'zh_CN')])
        Lang.load_translations([zh_CN])

        with Transaction().set_context(language='zh_CN'):
            opt_out = Party.fields_get(['mass_email_opt_out'])
            state = Message.fields_get(['state'])

        self.assertEqual(
            opt_out['mass_email_opt_out']['string'], "拒收群发邮件")
        self.assertEqual(
            dict(state['state']['selection'])['sent'], "已发送")
