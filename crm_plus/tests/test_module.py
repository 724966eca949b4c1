# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

import datetime as dt
from contextlib import nullcontext

from lxml import etree
from sql import Column

from trytond.exceptions import UserError
from trytond.model.exceptions import AccessError, ValidationError
from trytond.modules.company.tests import (
    CompanyTestMixin, create_company, create_employee, set_company)
from trytond.modules.party.tests import PartyCheckReplaceMixin
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from .tools import acting_as, create_customer, create_world


def today():
    return Pool().get('ir.date').today()


def days_ago(days):
    return today() - dt.timedelta(days=days)


class CrmPlusTestCase(
        PartyCheckReplaceMixin, CompanyTestMixin, ModuleTestCase):
    "Test crm_plus module"
    module = 'crm_plus'

    def owner_and_logs(self, party):
        Party = Pool().get('party.party')
        party = Party(party.id)
        return party.owner, [(l.action, l.to_owner) for l in
            party.ownership_logs]

    @with_transaction()
    def test_list_datetime_columns_split(self):
        "Lists show a datetime as a date and a time column, as sao needs"
        pool = Pool()
        View = pool.get('ir.ui.view')
        for view in View.search([
                    ('module', '=', self.module), ('type', '=', 'tree')]):
            Model = pool.get(view.model)
            for field in etree.fromstring(view.arch).iter('field'):
                with self.subTest(view=view.name, field=field.get('name')):
                    type_ = Model._fields[field.get('name')]._type
                    if type_ in {'datetime', 'timestamp'}:
                        self.assertIn(field.get('widget'), {'date', 'time'})

    @with_transaction()
    def test_list_times_without_fractions(self):
        "The time columns of lists show no fraction of a second"
        pool = Pool()
        View = pool.get('ir.ui.view')
        for view in View.search([
                    ('module', '=', self.module), ('type', '=', 'tree')]):
            Model = pool.get(view.model)
            for field in etree.fromstring(view.arch).iter('field'):
                if field.get('widget') != 'time':
                    continue
                with self.subTest(view=view.name, field=field.get('name')):
                    self.assertNotIn(
                        '%f', Model._fields[field.get('name')].format)

    @with_transaction()
    def test_setup_wizard(self):
        """The setup wizard gives the company its default pool and the rules
        of ownership; run again, it keeps the pool"""
        pool = Pool()
        Setup = pool.get('crm.configuration.setup', type='wizard')
        Configuration = pool.get('crm.configuration')
        CustomerPool = pool.get('crm.pool')
        company = create_company()

        # From the context, or the only company
        for context in [set_company(company), nullcontext()]:
            with context:
                session_id, _, _ = Setup.create()
                start = Setup(session_id).default_start(None)
                self.assertEqual(start['company'], company.id)
                self.assertEqual(start['pool_name'], "Public Pool")
                start.update(quota=100, daily_claim_cap=5)
                Setup.execute(session_id, {'start': start}, 'setup')

        default_pool, = CustomerPool.search([])
        self.assertEqual(default_pool.name, "Public Pool")
        self.assertEqual(default_pool.company, company)
        config = Configuration(1)
        self.assertEqual(
            (config.default_pool, config.quota, config.daily_claim_cap,
                config.cooldown_days),
            (default_pool, 100, 5, 0))

    @with_transaction()
    def test_customer_created_outside_crm_in_default_pool(self):
        """A customer created outside the CRM lands in the default pool; in
        the CRM, its creator owns it"""
        pool = Pool()
        Party = pool.get('party.party')
        User = pool.get('res.user')
        world = create_world()
        employee = create_employee(world.company, "Accountant")
        accountant = User(login='accountant', name="Accountant",
            companies=[world.company], company=world.company,
            employees=[employee], employee=employee)
        accountant.save()

        for user, owner, pool_ in [
                (accountant, None, world.east),
                (world.users['sales1'], world.employees['sales1'], None),
                ]:
            with self.subTest(user=user.login), acting_as(user), \
                    Transaction().set_context(_check_access=False):
                party, = Party.create([{
                            'name': "Made by %s" % user.login,
                            'customer_nature': 'company'}])
                party = Party(party.id)
                self.assertEqual((party.owner, party.pool), (owner, pool_))

    @with_transaction()
    def test_claim_from_pool(self):
        "A salesperson claims a pool customer and the claim is logged"
        Party = Pool().get('party.party')
        world = create_world()
        party = create_customer("ACME", pool=world.east)
        sales1 = world.employees['sales1']

        with acting_as(world.users['sales1']):
            Party.claim([Party(party.id)])

        owner, logs = self.owner_and_logs(party)
        self.assertEqual(owner, sales1)
        self.assertEqual(logs, [('claim', sales1)])
        self.assertEqual(Party(party.id).owner_since, today())

    @with_transaction()
    def test_claim_shows_customers_then_reloads(self):
        """A claim opens a wizard showing the claimed customers, which
        reloads the list of the pool they left when closed"""
        pool = Pool()
        Party = pool.get('party.party')
        Action = pool.get('ir.action')
        Claimed = pool.get('crm.customer.claim', type='wizard')
        world = create_world()
        parties = [create_customer(n, pool=world.east) for n in ["A", "B"]]
        ids = [p.id for p in parties]

        with acting_as(world.users['sales1']):
            action_id = Party.claim(Party.browse(ids))
            action = Action(action_id).get_action_value()
            self.assertEqual(
                (action['type'], action['wiz_name']),
                ('ir.action.wizard', 'crm.customer.claim'))
            with Transaction().set_context(active_model='party.party',
                    active_id=ids[0], active_ids=ids):
                session_id, start, _ = Claimed.create()
                result = Claimed.execute(session_id, {}, start)
                self.assertEqual(
                    result['view']['defaults']['customers'], ids)
                self.assertEqual(Claimed.delete(session_id), 'reload')

    @with_transaction()
    def test_claim_owned_refused(self):
        "A customer owned by someone cannot be claimed"
        Party = Pool().get('party.party')
        world = create_world()
        party = create_customer(
            "ACME", pool=world.east, owner=world.employees['sales2'])

        with acting_as(world.users['manager']):
            with self.assertRaisesRegex(UserError, 'Sales2'):
                Party.take_ownership(
                    [Party(party.id)], world.employees['manager'], 'claim')

    @with_transaction()
    def test_claim_beyond_quota_refused(self):
        "A claim beyond the quota names the limit and writes nothing"
        Party = Pool().get('party.party')
        world = create_world(quota=1)
        create_customer("Owned", pool=world.east,
            owner=world.employees['sales1'])
        party = create_customer("ACME", pool=world.east)

        with acting_as(world.users['sales1']):
            with self.assertRaisesRegex(UserError, 'quota is 1 customers'):
                Party.claim([Party(party.id)])

        self.assertEqual(self.owner_and_logs(party), (None, []))

    @with_transaction()
    def test_create_beyond_quota_refused(self):
        """A salesperson at his quota can neither create a customer that he
        would own nor convert a lead into one"""
        pool = Pool()
        Party = pool.get('party.party')
        Lead = pool.get('crm.lead')
        world = create_world(quota=1)
        with acting_as(world.users['sales1']):
            Party.create([{'name': "Owned", 'customer_nature': 'company'}])
            with self.assertRaisesRegex(UserError, 'quota is 1 customers'):
                Party.create([{'name': "New", 'customer_nature': 'company'}])
            lead = Lead(name="Pumps", company_name="Pump Buyers")
            lead.save()
            with self.assertRaisesRegex(UserError, 'quota is 1 customers'):
                Lead.convert([lead])
            # in a pool, nobody owns it
            Party.create([{'name': "Pooled", 'customer_nature': 'company',
                        'pool': world.east.id}])

    @with_transaction()
    def test_employee_quota_overrides_configuration(self):
        "The quota of the employee replaces the default quota"
        Party = Pool().get('party.party')
        world = create_world(quota=0)
        sales1 = world.employees['sales1']
        sales1.crm_quota = 1
        sales1.save()
        party = create_customer("ACME", pool=world.east)

        with acting_as(world.users['sales1']):
            Party.claim([Party(party.id)])

        self.assertEqual(Party(party.id).owner, sales1)

    @with_transaction()
    def test_daily_claim_cap(self):
        "The daily claim cap refuses the claim that exceeds it"
        Party = Pool().get('party.party')
        world = create_world(daily_claim_cap=1)
        first = create_customer("First", pool=world.east)
        second = create_customer("Second", pool=world.east)

        with acting_as(world.users['sales1']):
            Party.claim([Party(first.id)])
            with self.assertRaisesRegex(UserError, 'daily claim cap is 1'):
                Party.claim([Party(second.id)])

        self.assertIsNone(Party(second.id).owner)

    @with_transaction()
    def test_daily_claim_cap_from_company_midnight(self):
        """The claims of the day count from midnight in the company's time
        zone, not in UTC"""
        pool = Pool()
        Party = pool.get('party.party')
        OwnershipLog = pool.get('crm.ownership.log')
        Date = pool.get('ir.date')
        world = create_world(daily_claim_cap=1)
        world.company.timezone = 'Asia/Shanghai'
        world.company.save()
        first = create_customer("First", pool=world.east)
        second = create_customer("Second", pool=world.east)
        with acting_as(world.users['sales1']):
            Party.claim([Party(first.id)])
            today = Date.today()
        # claimed at 00:30 in Shanghai, 16:30 UTC the day before
        log = OwnershipLog.__table__()
        Transaction().connection.cursor().execute(*log.update(
                [log.date],
                [dt.datetime.combine(today, dt.time(0, 30))
                    - dt.timedelta(hours=8)]))

        with acting_as(world.users['sales1']):
            with self.assertRaisesRegex(UserError, 'daily claim cap is 1'):
                Party.claim([Party(second.id)])

    @with_transaction()
    def test_cooldown_after_release(self):
        "The previous owner waits for the cooldown, a colleague does not"
        Party = Pool().get('party.party')
        world = create_world(cooldown_days=7)
        party = create_customer(
            "ACME", pool=world.east, owner=world.employees['sales1'])

        with acting_as(world.users['sales1']):
            Party.release([Party(party.id)])
            with self.assertRaisesRegex(UserError, 'cooldown of 7 days'):
                Party.claim([Party(party.id)])
        with acting_as(world.users['sales2']):
            Party.claim([Party(party.id)])

        party = Party(party.id)
        self.assertEqual(party.owner, world.employees['sales2'])
        self.assertEqual(party.previous_owner, world.employees['sales1'])

        with acting_as(world.users['sales2']):
            Party.release([party])
        self.assertEqual(
            Party(party.id).previous_owner, world.employees['sales2'])
        with acting_as(world.users['sales1']):
            Party.claim([Party(party.id)])

    @with_transaction()
    def test_previous_owner_column_moved_to_the_log(self):
        "Updating the module logs the previous owners its old column kept"
        Party = Pool().get('party.party')
        world = create_world()
        sales1 = world.employees['sales1']
        kept = create_customer("Kept", pool=world.east)
        logged = create_customer(
            "Logged", pool=world.east, owner=world.employees['sales2'])
        with acting_as(world.users['sales2']):
            Party.release([logged])
        table_h = Party.__table_handler__('crm_plus')
        table_h.add_column('previous_owner', 'INTEGER')
        table = Party.__table__()
        Transaction().connection.cursor().execute(*table.update(
                [Column(table, 'previous_owner'), table.released_date],
                [sales1.id, days_ago(3)]))

        Party.__register__('crm_plus')

        self.assertFalse(table_h.column_exist('previous_owner'))
        kept, logged = Party.browse([kept, logged])
        self.assertEqual(
            [(l.action, l.from_owner, l.date) for l in kept.ownership_logs],
            [('release', sales1, dt.datetime.combine(days_ago(3), dt.time()))])
        self.assertEqual(
            [(l.action, l.from_owner) for l in logged.ownership_logs
                if l.action == 'release'],
            [('release', world.employees['sales2'])])

    @with_transaction()
    def test_pool_claimers(self):
        "Only the claimers of a pool may claim from it"
        Party = Pool().get('party.party')
        world = create_world()
        world.south.claimers = [world.employees['sales2']]
        world.south.save()
        party = create_customer("ACME", pool=world.south)

        with acting_as(world.users['sales1']):
            with self.assertRaisesRegex(UserError, 'may not claim'):
                Party.claim([Party(party.id)])

    @with_transaction()
    def test_release_by_colleague_refused(self):
        "A salesperson cannot release a colleague's customer"
        Party = Pool().get('party.party')
        world = create_world()
        party = create_customer(
            "ACME", pool=world.east, owner=world.employees['sales2'])

        with acting_as(world.users['manager']):
            Party.release([Party(party.id)])
        self.assertIsNone(Party(party.id).owner)

        party = create_customer(
            "Other", pool=world.east, owner=world.employees['sales2'])
        with acting_as(world.users['sales1']):
            with self.assertRaises(UserError):
                Party.release([Party(party.id)])

    @with_transaction()
    def test_assign_in_bulk(self):
        "A manager assigns pool customers and transfers owned ones"
        Party = Pool().get('party.party')
        world = create_world()
        sales1, junior = world.employees['sales1'], world.employees['junior']
        free = create_customer("Free", pool=world.east)
        owned = create_customer("Owned", pool=world.east, owner=sales1)

        with acting_as(world.users['manager']):
            Party.assign_to(Party.browse([free, owned]), junior, "Coverage")

        self.assertEqual(self.owner_and_logs(free),
            (junior, [('assign', junior)]))
        owner, logs = self.owner_and_logs(owned)
        self.assertEqual(owner, junior)
        self.assertEqual(logs[0], ('transfer', junior))

    @with_transaction()
    def test_assign_beyond_quota_refused(self):
        "An assignment beyond the quota of the employee writes nothing"
        Party = Pool().get('party.party')
        world = create_world(quota=1)
        parties = [create_customer(n, pool=world.east) for n in "AB"]

        with acting_as(world.users['manager']):
            with self.assertRaisesRegex(UserError, 'quota is 1 customers'):
                Party.assign_to(
                    Party.browse(parties), world.employees['sales1'])

        self.assertEqual(
            [p.owner for p in Party.browse(parties)], [None, None])

    @with_transaction()
    def test_assign_to_colleague_refused(self):
        "A salesperson cannot assign customers to a colleague"
        Party = Pool().get('party.party')
        world = create_world()
        party = create_customer("ACME", pool=world.east)

        with acting_as(world.users['sales1']):
            with self.assertRaisesRegex(UserError, 'Sales2'):
                Party.assign_to([Party(party.id)], world.employees['sales2'])

    @with_transaction()
    def test_owner_not_writable(self):
        "The owner changes only through the ownership actions"
        Party = Pool().get('party.party')
        world = create_world()
        party = create_customer(
            "ACME", pool=world.east, owner=world.employees['sales1'])

        with acting_as(world.users['sales1']):
            with self.assertRaises(AccessError):
                Party.write([Party(party.id)],
                    {'owner': world.employees['sales2'].id})

    @with_transaction()
    def test_lock_request_approved_by_supervisor(self):
        "Only the supervisor of the requester approves a lock request"
        pool = Pool()
        LockRequest = pool.get('crm.lock.request')
        world = create_world()
        party = create_customer("ACME", pool=world.east)

        with acting_as(world.users['junior']):
            request = LockRequest(
                party=party, employee=world.employees['junior'])
            request.save()
        # a colleague does not even see it, the supervisor's own manager
        # sees it but does not decide: the button is hidden from both
        with acting_as(world.users['sales2']):
            with self.assertRaises(AccessError):
                LockRequest.approve([LockRequest(request.id)])
        with acting_as(world.users['manager']):
            self.assertFalse(LockRequest(request.id).can_decide)
            with self.assertRaises(UserError):
                LockRequest.approve([LockRequest(request.id)])
        # and the approval engine says who decides
        with acting_as(world.users['manager']), \
                Transaction().set_context(_check_access=False):
            with self.assertRaisesRegex(UserError, 'Sales1'):
                LockRequest.approve([LockRequest(request.id)])
        with acting_as(world.users['sales1']):
            LockRequest.approve([LockRequest(request.id)])

        request = LockRequest(request.id)
        self.assertEqual(request.state, 'approved')
        self.assertEqual(request.decided_by, world.employees['sales1'])
        self.assertEqual(self.owner_and_logs(party), (
                world.employees['junior'],
                [('lock', world.employees['junior'])]))

    @with_transaction()
    def test_lock_request_beyond_quota_refused(self):
        "Approving a lock request beyond the quota is refused"
        pool = Pool()
        LockRequest = pool.get('crm.lock.request')
        world = create_world(quota=0)
        party = create_customer("ACME", pool=world.east)
        request = LockRequest(party=party, employee=world.employees['junior'])
        request.save()

        with acting_as(world.users['sales1']):
            with self.assertRaisesRegex(UserError, 'quota is 0 customers'):
                LockRequest.approve([LockRequest(request.id)])

        self.assertEqual(LockRequest(request.id).state, 'requested')

    def create_aged_customer(self, name, world, owner, days, **values):
        "Create a customer owned and last contacted days ago"
        Party = Pool().get('party.party')
        party = create_customer(name, pool=world.east, owner=owner, **values)
        with Transaction().set_user(0):
            Party.write([party], {
                    'owner_since': days_ago(days),
                    'last_contact_date': days_ago(days),
                    })
        return party

    @with_transaction()
    def test_release_job(self):
        "The release job releases expired customers once and logs it"
        pool = Pool()
        Party = pool.get('party.party')
        FollowUp = pool.get('crm.follow_up')
        Notification = pool.get('res.notification')
        world = create_world()
        sales1 = world.employees['sales1']
        expired = self.create_aged_customer("Expired", world, sales1, 40)
        FollowUp(company=world.company, party=expired, employee=sales1,
            date=days_ago(40), subject="Old call").save()
        with Transaction().set_user(0):
            Party.write([expired], {'owner_since': days_ago(40)})
        recent = self.create_aged_customer("Recent", world, sales1, 5)
        deal = self.create_aged_customer(
            "Deal", world, sales1, 40, customer_status='deal')
        warned = self.create_aged_customer("Soon", world, sales1, 28)

        Party.release_customers()

        self.assertEqual(
            [p.owner for p in Party.browse([expired, recent, deal, warned])],
            [None, sales1, sales1, sales1])
        expired = Party(expired.id)
        self.assertEqual(expired.previous_owner, sales1)
        self.assertEqual(expired.released_date, today())
        self.assertEqual(len(expired.follow_ups), 1)
        self.assertEqual(
            [(l.action, l.from_owner) for l in expired.ownership_logs],
            [('auto_release', sales1), ('assign', None)])
        self.assertEqual(Party(warned.id).release_warned, today())
        self.assertEqual(Party(recent.id).release_warned, None)
        self.assertEqual(len(Notification.search([
                        ('user', '=', world.users['sales1'].id)])), 1)

        Party.release_customers()

        self.assertEqual(len(Party(expired.id).ownership_logs), 2)
        self.assertEqual(len(Notification.search([
                        ('user', '=', world.users['sales1'].id)])), 1)

    @with_transaction()
    def test_release_rule_per_customer_type(self):
        "A rule for a customer type replaces the pool's default rule"
        pool = Pool()
        Party = pool.get('party.party')
        ReleaseRule = pool.get('crm.pool.release_rule')
        ModelData = pool.get('ir.model.data')
        CustomerType = pool.get('crm.customer.type')
        world = create_world()
        key = CustomerType(ModelData.get_id('crm_plus', 'customer_type_key'))
        ReleaseRule(pool=world.east, customer_type=key,
            no_follow_up_days=60).save()
        sales1 = world.employees['sales1']
        plain = self.create_aged_customer("Plain", world, sales1, 40)
        keyed = self.create_aged_customer(
            "Keyed", world, sales1, 40, customer_type=key)

        Party.release_customers()

        self.assertEqual([p.owner for p in Party.browse([plain, keyed])],
            [None, sales1])

    @with_transaction()
    def test_follow_up_proposes_next_contact(self):
        "The next contact follows the frequency of the customer type"
        pool = Pool()
        Party = pool.get('party.party')
        FollowUp = pool.get('crm.follow_up')
        ModelData = pool.get('ir.model.data')
        world = create_world()
        key = ModelData.get_id('crm_plus', 'customer_type_key')
        party = create_customer("ACME", pool=world.east, customer_type=key,
            owner=world.employees['sales1'])

        follow_up = FollowUp(company=world.company, party=party,
            employee=world.employees['sales1'], date=days_ago(1),
            subject="Call")
        follow_up.save()

        self.assertEqual(follow_up.next_contact_date, days_ago(-1))
        party = Party(party.id)
        self.assertEqual(
            (party.follow_up_count, party.last_contact_date,
                party.next_contact_date),
            (1, days_ago(1), days_ago(-1)))

        # moved to another customer, it no longer counts for this one
        other = create_customer("Other", pool=world.east)
        FollowUp.write([follow_up], {'party': other.id})
        self.assertEqual(
            [(p.follow_up_count, p.last_contact_date)
                for p in Party.browse([party, other])],
            [(0, None), (1, days_ago(1))])

        FollowUp.delete([follow_up])
        other = Party(other.id)
        self.assertEqual(
            (other.follow_up_count, other.last_contact_date), (0, None))

    @with_transaction()
    def test_follow_up_moved_by_its_lead(self):
        "A follow-up put on the lead of another customer moves to it"
        pool = Pool()
        Party = pool.get('party.party')
        FollowUp = pool.get('crm.follow_up')
        Lead = pool.get('crm.lead')
        world = create_world()
        first = create_customer("First", pool=world.east)
        second = create_customer("Second", pool=world.east)
        lead = Lead(company=world.company, name="Enquiry", party=second)
        lead.save()
        follow_up = FollowUp(company=world.company, party=first,
            employee=world.employees['sales1'], date=days_ago(1),
            subject="Call")
        follow_up.save()

        FollowUp.write([follow_up], {'lead': lead.id})
        self.assertEqual(FollowUp(follow_up.id).party, second)
        self.assertEqual(
            [(p.follow_up_count, p.last_contact_date)
                for p in Party.browse([first, second])],
            [(0, None), (1, days_ago(1))])

    @with_transaction()
    def test_duplicate_customer_refused(self):
        "A customer with the name, phone or email of another is refused"
        pool = Pool()
        Party = pool.get('party.party')
        world = create_world()
        create_customer("ACME", pool=world.east, contact_mechanisms=[
                {'type': 'phone', 'value': '+86 21 5555 0100'},
                {'type': 'email', 'value': 'info@acme.example'},
                ])

        for values in [
                {'name': "acme "},
                {'name': "Other", 'contact_mechanisms': [('create', [
                                {'type': 'phone',
                                    'value': '+86 21 5555 0100'}])]},
                {'name': "Other", 'contact_mechanisms': [('create', [
                                {'type': 'email',
                                    'value': 'info@acme.example'}])]},
                {'name': "Other", 'contact_mechanisms': [('create', [
                                {'type': 'email',
                                    'value': 'Info@ACME.example'}])]},
                ]:
            with self.subTest(values=values):
                with self.assertRaisesRegex(ValidationError, '"ACME"'):
                    Party.create([{'customer_nature': 'company', **values}])

        # A party that is not a CRM customer is not checked
        Party.create([{'name': "ACME"}])

    @with_transaction()
    def test_duplicate_tax_identifier_refused(self):
        """A customer with the tax identifier of another, in any case, is
        refused"""
        world = create_world()
        create_customer("ACME", pool=world.east, identifiers=[
                {'type': None, 'code': '91310000MA1FL0001X'}])

        for i, code in enumerate(['91310000MA1FL0001X', '91310000ma1fl0001x']):
            with self.subTest(code=code):
                with self.assertRaisesRegex(ValidationError, '"ACME"'):
                    create_customer(f"Other {i}", pool=world.east,
                        identifiers=[{'type': None, 'code': code}])

        # the same code typed as a unified social credit code
        create_customer("Beijing", pool=world.east, identifiers=[
                {'type': 'cn_vat', 'code': '91110000802100433B'}])
        with self.assertRaisesRegex(ValidationError, '"Beijing"'):
            create_customer("Other", pool=world.east, identifiers=[
                    {'type': None, 'code': '91110000802100433B'}])

    @with_transaction()
    def test_duplicate_on_import_refused(self):
        "A CSV import with a duplicate customer imports nothing"
        Party = Pool().get('party.party')
        world = create_world()
        create_customer("ACME", pool=world.east)

        with self.assertRaisesRegex(ValidationError, '"ACME"'):
            Party.import_data(['name', 'customer_nature'], [
                    ['New One', 'company'],
                    ['ACME', 'company'],
                    ])

    @with_transaction()
    def test_plan_one_open_per_contact(self):
        "A customer and contact have one open plan; executing records it"
        pool = Pool()
        Plan = pool.get('crm.plan')
        world = create_world()
        sales1 = world.employees['sales1']
        party = create_customer("ACME", pool=world.east, owner=sales1)
        planned = dt.datetime.combine(days_ago(-1), dt.time(10))

        plan = Plan(company=world.company, party=party, employee=sales1,
            planned=planned, subject="Demo")
        plan.save()
        Plan.execute([plan])
        self.assertEqual(plan.state, 'done')
        self.assertEqual(plan.follow_up.subject, "Demo")
        self.assertEqual(plan.follow_up.party, party)

        Plan(company=world.company, party=party, employee=sales1,
            planned=planned, subject="Next").save()
        with self.assertRaisesRegex(ValidationError, 'open follow-up plan'):
            Plan(company=world.company, party=party, employee=sales1,
                planned=planned, subject="Again").save()

    @with_transaction()
    def test_key_customer_only_by_owner(self):
        "Only the owner marks a key customer"
        Party = Pool().get('party.party')
        world = create_world()
        party = create_customer(
            "ACME", pool=world.east, owner=world.employees['sales1'])

        with acting_as(world.users['manager']):
            with self.assertRaises(AccessError):
                Party.toggle_key([Party(party.id)])
        with acting_as(world.users['sales1']):
            Party.toggle_key([Party(party.id)])
        self.assertTrue(Party(party.id).key_customer)

    @with_transaction()
    def test_watch(self):
        "Open and subordinates' customers can be watched, not a colleague's"
        pool = Pool()
        Party = pool.get('party.party')
        Share = pool.get('crm.customer.share')
        world = create_world()
        owned = create_customer(
            "Owned", pool=world.east, owner=world.employees['sales1'])
        free = create_customer("Free", pool=world.east)

        with acting_as(world.users['manager']):
            Party.watch(Party.browse([owned, free]))
        Share(party=owned, employee=world.employees['sales2']).save()
        with acting_as(world.users['sales2']):
            Party.watch([Party(free.id)])
            with self.assertRaisesRegex(ValidationError, 'Owned'):
                Party.watch([Party(owned.id)])

        self.assertEqual(len(Party(free.id).watchers), 2)

    @with_transaction()
    def test_rules_salesperson_sees_own_pool_and_shared(self):
        "Salespeople see their, their subordinates', pool, shared customers"
        pool = Pool()
        Party = pool.get('party.party')
        Share = pool.get('crm.customer.share')
        FollowUp = pool.get('crm.follow_up')
        world = create_world()
        emp = world.employees
        mine = create_customer("Mine", pool=world.east, owner=emp['sales1'])
        junior = create_customer("Junior's", pool=world.east,
            owner=emp['junior'])
        other = create_customer("Other's", pool=world.east,
            owner=emp['sales2'])
        shared = create_customer("Shared", pool=world.east,
            owner=emp['sales2'])
        free = create_customer("Free", pool=world.east)
        Share(party=shared, employee=emp['sales1'], mode='read').save()
        FollowUp(company=world.company, party=other, employee=emp['sales2'],
            subject="Secret").save()
        customers = [('customer_nature', '!=', None)]

        def visible():
            return {p.name for p in Party.search(customers)}

        with acting_as(world.users['sales1']):
            self.assertEqual(visible(),
                {"Mine", "Junior's", "Shared", "Free"})
            self.assertEqual(FollowUp.search([]), [])
            with self.assertRaises(AccessError):
                Party.read([other.id], ['name'])
            with self.assertRaises(AccessError):
                Party.write([Party(shared.id)], {'name': "Renamed"})
        with acting_as(world.users['junior']):
            self.assertEqual(visible(), {"Junior's", "Free"})
        with acting_as(world.users['director']):
            self.assertEqual(visible(),
                {"Mine", "Junior's", "Other's", "Shared", "Free"})

        Share.write(Share.search([]), {'mode': 'write'})
        with acting_as(world.users['sales1']):
            Party.write([Party(shared.id)], {'name': "Renamed"})
        Share.write(Share.search([]), {'until': days_ago(1)})
        with acting_as(world.users['sales1']):
            self.assertNotIn("Renamed", visible())
        del mine, junior, free

    @with_transaction()
    def test_rules_team_leader_and_crm_manager(self):
        "A team leader sees the team, the CRM manager sees everything"
        pool = Pool()
        Party = pool.get('party.party')
        Team = pool.get('crm.team')
        User = pool.get('res.user')
        ModelData = pool.get('ir.model.data')
        world = create_world()
        emp = world.employees
        create_customer("Other's", pool=world.east, owner=emp['sales2'])
        Team(name="East", company=world.company, leader=emp['sales1'],
            members=[emp['sales2']]).save()
        customers = [('customer_nature', '!=', None)]

        with acting_as(world.users['sales1']):
            self.assertEqual(Party.search_count(customers), 1)
        with acting_as(world.users['junior']):
            self.assertEqual(Party.search_count(customers), 0)
        admin = ModelData.get_id('crm_plus', 'group_crm_admin')
        User.write([world.users['junior']], {'groups': [('add', [admin])]})
        with acting_as(world.users['junior']):
            self.assertEqual(Party.search_count(customers), 1)

    @with_transaction()
    def test_rules_follow_the_organisation(self):
        "A new supervisor or team shows or hides the customers at once"
        pool = Pool()
        Employee = pool.get('company.employee')
        Party = pool.get('party.party')
        Team = pool.get('crm.team')
        world = create_world()
        emp = world.employees
        create_customer("Other's", pool=world.east, owner=emp['sales2'])
        supervisor = emp['sales2'].supervisor

        def seen():
            with acting_as(world.users['sales1']):
                return Party.search_count([('customer_nature', '!=', None)])
        self.assertEqual(seen(), 0)
        Employee.write([emp['sales2']], {'supervisor': emp['sales1'].id})
        self.assertEqual(seen(), 1)
        Employee.write([emp['sales2']], {'supervisor': supervisor})
        self.assertEqual(seen(), 0)
        team = Team(name="East", company=world.company, leader=emp['sales1'],
            members=[emp['sales2']])
        team.save()
        self.assertEqual(seen(), 1)
        Team.write([team], {'members': [('remove', [emp['sales2'].id])]})
        self.assertEqual(seen(), 0)
        Team.write([team], {'members': [('add', [emp['sales2'].id])]})
        self.assertEqual(seen(), 1)
        Team.write([team], {'leader': None})
        self.assertEqual(seen(), 0)


del ModuleTestCase
