# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Leads: their workflow, their conversion and who sees them over RPC."""

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.tests.test_tryton import RouteTestCase, with_transaction

from .tools import (
    CommittedDataMixin, RPCError, acting_as, create_customer, create_world,
    rpc)


class CrmPlusLeadTestCase(CommittedDataMixin, RouteTestCase):
    "Test leads"
    module = 'crm_plus'

    @classmethod
    def create_data(cls):
        pool = Pool()
        Lead = pool.get('crm.lead')
        FollowUp = pool.get('crm.follow_up')
        world = create_world(passwords=True)
        emp = world.employees
        cls.users = {n: u.id for n, u in world.users.items()}
        cls.employees = {n: e.id for n, e in emp.items()}
        cls.company = world.company.id
        cls.currency = world.company.currency.id
        locked = create_customer("Locked Co", pool=world.east,
            owner=emp['sales2'])
        cls.locked = locked.id
        cls.leads = {}
        for name, employee, party in [
                ("Mine", 'sales1', None),
                ("Junior's", 'junior', None),
                ("Colleague's", 'sales2', None),
                ("Unassigned", None, None),
                ("On locked customer", 'sales1', locked),
                ]:
            lead = Lead(company=world.company, name=name, party=party,
                employee=emp[employee] if employee else None)
            lead.save()
            cls.leads[name] = lead.id
        # as the mail gateway makes it: a pool customer, an assignee
        pool_lead = Lead(company=world.company, name="On pool customer",
            party=create_customer("Pool Co", pool=world.east),
            employee=emp['sales1'])
        pool_lead.save()
        cls.pool_lead = pool_lead.id
        FollowUp(company=world.company, lead=cls.leads["Colleague's"],
            employee=emp['sales2'], subject="Secret call").save()
        FollowUp(company=world.company, lead=cls.leads["Mine"],
            employee=emp['sales1'], subject="First call").save()

    def rpc(self, login, method, *params):
        return rpc(self, login, method, *params)

    def lead_names(self, login):
        "Return the names of the leads of the fixture that login sees"
        return {r['name'] for r in self.rpc(login,
                'model.crm.lead.search_read', [], 0, None, None, ['name'])
            } & set(self.leads)

    def test_assignee_works_lead_of_pool_customer(self):
        "Only its assignee's side works a lead on a pool customer"
        with self.assertRaisesRegex(RPCError, 'but not change it'):
            self.rpc('sales2', 'model.crm.lead.follow', [self.pool_lead])
        self.rpc('sales1', 'model.crm.lead.follow', [self.pool_lead])
        self.assertEqual(self.rpc('sales1', 'model.crm.lead.read',
                [self.pool_lead], ['state'])[0]['state'], 'following')

    def test_salesperson_sees_own_subordinates_and_unassigned(self):
        "A salesperson sees own, subordinates' and unassigned leads"
        self.assertEqual(self.lead_names('sales1'),
            {"Mine", "Junior's", "Unassigned"})
        self.assertEqual(self.lead_names('junior'), {"Junior's", "Unassigned"})
        with self.assertRaisesRegex(RPCError, 'not allowed to read'):
            self.rpc('sales1', 'model.crm.lead.read',
                [self.leads["Colleague's"]], ['name'])

    def test_lead_with_customer_follows_customer(self):
        "A lead on a colleague's customer is as hidden as the customer"
        self.assertIn("On locked customer", self.lead_names('sales2'))
        self.assertNotIn("On locked customer", self.lead_names('sales1'))

    def test_manager_sees_every_lead(self):
        "The supervisors and the CRM manager see every lead"
        self.assertEqual(len(self.lead_names('manager')), 5)

    def test_follow_ups_do_not_leak(self):
        "The follow-ups of a colleague's lead are invisible"
        subjects = {r['subject'] for r in self.rpc('sales1',
                'model.crm.follow_up.search_read', [], 0, None, None,
                ['subject'])}
        self.assertEqual(subjects, {"First call"})
        self.assertEqual(len(self.rpc('manager',
                    'model.crm.follow_up.search_read', [], 0, None, None,
                    ['subject'])), 2)

    def test_export_obeys_rules(self):
        "Exporting a colleague's lead by id is refused"
        with self.assertRaisesRegex(RPCError, 'not allowed to read'):
            self.rpc('sales1', 'model.crm.lead.export_data',
                [self.leads["Colleague's"]], ['name'], {})

    def test_refused_conversion_leaves_nothing(self):
        """Converting a lead whose company duplicates a hidden customer
        names it and leaves nothing behind"""
        lead_id, = self.rpc('sales1', 'model.crm.lead.create', [{
                    'company': self.company, 'name': "Again",
                    'company_name': "LOCKED CO", 'contact_name': "Zoe",
                    'email': 'zoe@locked.test'}])
        before = self.counts()
        with self.assertRaisesRegex(RPCError, 'Locked Co'):
            self.rpc('sales1', 'model.crm.lead.convert', [lead_id])
        self.assertEqual(self.counts(), before)
        self.assertEqual(self.rpc('sales1', 'model.crm.lead.read',
                [lead_id], ['state'])[0]['state'], 'new')

    def test_conversion_over_rpc(self):
        "A salesperson converts a lead and gets the opportunity"
        lead_id, = self.rpc('sales1', 'model.crm.lead.create', [{
                    'company': self.company, 'name': "Fans",
                    'company_name': "Fan Buyer Ltd"}])
        action = self.rpc('sales1', 'model.crm.lead.convert', [lead_id])
        lead, = self.rpc('sales1', 'model.crm.lead.read', [lead_id],
            ['state', 'opportunity', 'party'])
        self.assertEqual(lead['state'], 'converted')
        self.assertEqual(action['res_id'], [lead['opportunity']])

    @with_transaction()
    def counts(self):
        pool = Pool()
        return tuple(pool.get(m).search_count([]) for m in [
                'party.party', 'crm.opportunity', 'crm.customer.contact'])

    @with_transaction()
    def test_workflow(self):
        "A lead is numbered, followed, invalidated and recycled"
        Lead = Pool().get('crm.lead')
        User = Pool().get('res.user')
        with acting_as(User(self.users['sales2'])):
            lead = Lead(name="Website form")
            lead.save()
            self.assertRegex(lead.number, r'^LEAD-\d{5}$')
            self.assertEqual(lead.employee.id, self.employees['sales2'])
            Lead.follow([lead])
            self.assertEqual(lead.state, 'following')
            Lead.invalidate([lead])
            self.assertEqual(lead.state, 'invalid')
            Lead.recycle([lead])
            self.assertEqual((lead.state, lead.employee), ('new', None))

    @with_transaction()
    def test_state_changes_only_by_buttons(self):
        """A salesperson cannot write the state or the opportunity of a lead,
        nor create one past new: conversion makes both"""
        pool = Pool()
        Lead = pool.get('crm.lead')
        User = pool.get('res.user')
        with acting_as(User(self.users['sales1'])):
            lead = Lead(self.leads["Mine"])
            for values in [{'state': 'converted'}, {'state': 'following'}]:
                with self.subTest(values=values), \
                        self.assertRaisesRegex(AccessError, 'buttons'):
                    Lead.write([lead], values)
            with self.assertRaisesRegex(AccessError, 'buttons'):
                Lead.create([{'name': "Won already", 'state': 'converted'}])
            Lead.write([lead], {'description': "Wants pumps"})
            Lead.follow([lead])
        self.assertEqual(lead.state, 'following')

    @with_transaction()
    def test_delete_keeps_customer_history(self):
        """Deleting a lead deletes its own follow-ups but keeps those of its
        customer; a converted lead cannot be deleted"""
        pool = Pool()
        Lead = pool.get('crm.lead')
        FollowUp = pool.get('crm.follow_up')
        User = pool.get('res.user')
        pool_lead = Lead(self.pool_lead)
        kept = FollowUp(company=self.company, lead=pool_lead,
            employee=self.employees['sales1'], subject="Visit")
        kept.save()
        customer = pool_lead.party
        self.assertEqual(kept.party, customer)
        own, = FollowUp.search([('lead', '=', self.leads["Mine"])])
        with acting_as(User(self.users['sales1'])):
            Lead.delete([pool_lead, Lead(self.leads["Mine"])])
        self.assertEqual(FollowUp.search([('id', '=', own.id)]), [])
        kept = FollowUp(kept.id)
        self.assertEqual((kept.party, kept.lead), (customer, None))

        with acting_as(User(self.users['sales1'])):
            lead = Lead(name="Pumps", company_name="Pump Buyers")
            lead.save()
            Lead.convert([lead])
            with self.assertRaisesRegex(AccessError, 'converted'):
                Lead.delete([lead])

    @with_transaction()
    def test_follow_unassigned_takes_it(self):
        "Following an unassigned lead makes the salesperson its owner"
        pool = Pool()
        Lead = pool.get('crm.lead')
        User = pool.get('res.user')
        with acting_as(User(self.users['sales2'])):
            lead, = Lead.search([('name', '=', "Unassigned")])
            Lead.follow([lead])
            self.assertEqual(lead.employee.id, self.employees['sales2'])

    @with_transaction()
    def test_convert_creates_customer_and_contact(self):
        "Conversion creates the customer and its contact, keeps follow-ups"
        pool = Pool()
        Lead = pool.get('crm.lead')
        User = pool.get('res.user')
        FollowUp = pool.get('crm.follow_up')
        with acting_as(User(self.users['sales1'])):
            lead = Lead(name="Pumps", company_name="Pump Buyers",
                contact_name="Ada", email='ada@pumps.test',
                phone='+86 10 6552 9988')
            lead.save()
            follow_up = FollowUp(lead=lead, subject="Call")
            follow_up.save()
            Lead.convert([lead])
        self.assertEqual(lead.state, 'converted')
        customer, opportunity = lead.party, lead.opportunity
        self.assertEqual(
            (customer.name, customer.customer_nature, customer.owner.id),
            ("Pump Buyers", 'company', self.employees['sales1']))
        self.assertEqual(lead.contact.name, "Ada")
        self.assertEqual(
            [c.contact for c in customer.customer_contacts], [lead.contact])
        self.assertEqual(
            {m.value for m in lead.contact.contact_mechanisms},
            {'ada@pumps.test', '+86 10 6552 9988'})
        self.assertEqual((opportunity.party, opportunity.contact,
                opportunity.state, opportunity.lead),
            (customer, lead.contact, 'draft', lead))
        follow_up = FollowUp(follow_up.id)
        self.assertEqual((follow_up.party, follow_up.lead), (customer, lead))

    @with_transaction()
    def test_convert_links_existing_contact(self):
        "A lead with the email of a known contact converts to its customer"
        pool = Pool()
        Lead = pool.get('crm.lead')
        Party = pool.get('party.party')
        Mechanism = pool.get('party.contact_mechanism')
        CustomerContact = pool.get('crm.customer.contact')
        customer = create_customer("Known Co")
        contact = Party(name="Bo", contact_mechanisms=[
                Mechanism(type='email', value='bo@known.test')])
        contact.save()
        CustomerContact(customer=customer, contact=contact).save()
        parties = Party.search_count([])
        lead = Lead(company=self.company, name="More", email='BO@known.test',
            employee=self.employees['sales1'])
        lead.save()
        Lead.convert([lead])
        self.assertEqual((lead.party, lead.contact), (customer, contact))
        self.assertEqual(Party.search_count([]), parties)

    @with_transaction()
    def test_convert_adds_missing_contact(self):
        """A lead on a known company customer adds its contact person to the
        customer, once"""
        pool = Pool()
        Lead = pool.get('crm.lead')
        customer = create_customer("Known Co")
        for name in ["Pumps", "More pumps"]:
            lead = Lead(company=self.company, name=name, party=customer,
                contact_name="Cai", email='cai@known.test',
                employee=self.employees['sales1'])
            lead.save()
            Lead.convert([lead])
            self.assertEqual(lead.contact.name, "Cai")
        self.assertEqual(
            [(c.contact.name, [m.value for m in c.contact.contact_mechanisms])
                for c in customer.customer_contacts],
            [("Cai", ['cai@known.test'])])
        self.assertEqual(lead.opportunity.contact, lead.contact)

        # but not to a customer the salesperson may only read
        Share = pool.get('crm.customer.share')
        User = pool.get('res.user')
        Employee = pool.get('company.employee')
        shared = create_customer(
            "Shared Co", owner=Employee(self.employees['sales2']))
        Share(party=shared, employee=self.employees['sales1'],
            mode='read').save()
        with acting_as(User(self.users['sales1'])):
            lead = Lead(name="Valves", company_name="Shared Co",
                contact_name="Du")
            lead.save()
            Lead.convert([lead])
        self.assertEqual((lead.contact, shared.customer_contacts), (None, ()))

    @with_transaction()
    def test_convert_individual(self):
        "A lead without company name becomes an individual customer"
        Lead = Pool().get('crm.lead')
        lead = Lead(company=self.company, name="Sofa", contact_name="Li Lei",
            email='li@home.test', employee=self.employees['sales1'])
        lead.save()
        Lead.convert([lead])
        self.assertEqual(
            (lead.party.name, lead.party.customer_nature, lead.contact),
            ("Li Lei", 'individual', None))

    @with_transaction()
    def test_convert_without_customer_data_refused(self):
        "A lead with nothing to make a customer from cannot be converted"
        Lead = Pool().get('crm.lead')
        lead = Lead(company=self.company, name="Vague",
            employee=self.employees['sales1'])
        lead.save()
        with self.assertRaisesRegex(UserError, "Vague"):
            Lead.convert([lead])

    def set_phone_country(self, code):
        "Set the phone country of the CRM configuration, created if missing"
        pool = Pool()
        Country = pool.get('country.country')
        Configuration = pool.get('crm.configuration')
        country = None
        if code:
            country, = (Country.search([('code', '=', code)])
                or [Country(name=code, code=code)])
            country.save()
        Configuration.write(
            [Configuration(1)], {'phone_country': country})
        return country

    @with_transaction()
    def test_convert_mobile_without_country_code(self):
        """A Chinese mobile number without country code converts, read in
        the phone country of the CRM when the company has no address; it is
        stored in international form, as the duplicate check compares it"""
        pool = Pool()
        Lead = pool.get('crm.lead')
        User = pool.get('res.user')
        Mechanism = pool.get('party.contact_mechanism')
        Configuration = pool.get('crm.configuration')
        china = self.set_phone_country('CN')
        self.assertEqual(Configuration.default_phone_country(), china.id)
        known = create_customer("Known Mobile", contact_mechanisms=[
                Mechanism(type='mobile', value='+86 138 0013 8000')])
        with acting_as(User(self.users['sales1'])):
            new, again = leads = [
                Lead(name="Phones", company_name="Phone Buyers",
                    contact_name="Wang", phone='13900139000'),
                Lead(name="More phones", phone='13800138000'),
                ]
            Lead.save(leads)
            Lead.convert(leads)
        mechanism, = new.contact.contact_mechanisms
        self.assertEqual((mechanism.value, mechanism.value_compact),
            ('+86 139 0013 9000', '+8613900139000'))
        self.assertEqual(again.party, known)
        with self.assertRaisesRegex(UserError, "Known Mobile"):
            create_customer("Copy", contact_mechanisms=[
                    Mechanism(type='phone', value='13800138000')])

    @with_transaction()
    def test_phone_read_in_company_country_first(self):
        """A number without country code is read in the country of the
        company first, then in the phone country of the CRM; without any,
        it is refused with how to write it"""
        pool = Pool()
        Company = pool.get('company.company')
        Address = pool.get('party.address')
        Mechanism = pool.get('party.contact_mechanism')
        User = pool.get('res.user')
        self.set_phone_country('CN')
        britain = self.set_phone_country('GB')
        company = Company(self.company)
        Address(party=company.party, country=britain).save()
        self.set_phone_country('CN')
        with acting_as(User(self.users['sales1'])):
            customer = create_customer("London Co", contact_mechanisms=[
                    Mechanism(type='phone', value='020 7946 0958'),
                    Mechanism(type='mobile', value='13800138000')])
            self.assertEqual(
                [m.value for m in customer.contact_mechanisms],
                ['+44 20 7946 0958', '+86 138 0013 8000'])
            with self.assertRaisesRegex(UserError,
                    r'"138001380001" .* valid number of GB, CN: .* '
                    r'country code'):
                Mechanism(party=customer, type='mobile',
                    value='138001380001').save()

        Address.delete(company.party.addresses)
        self.set_phone_country(None)
        with acting_as(User(self.users['sales1'])):
            with self.assertRaisesRegex(UserError,
                    r'"13800138000" .* no country code'):
                create_customer("Nowhere Co", contact_mechanisms=[
                        Mechanism(type='mobile', value='13800138000')])

    @with_transaction()
    def test_campaign_leads(self):
        "A campaign lists its leads"
        pool = Pool()
        Campaign = pool.get('crm.campaign')
        Lead = pool.get('crm.lead')
        Date = pool.get('ir.date')
        campaign = Campaign(company=self.company, name="Fair",
            employee=self.employees['manager'], start_date=Date.today(),
            end_date=Date.today(), currency=self.currency)
        campaign.save()
        lead = Lead(company=self.company, name="From the fair",
            campaign=campaign)
        lead.save()
        self.assertEqual(list(campaign.leads), [lead])


del RouteTestCase
