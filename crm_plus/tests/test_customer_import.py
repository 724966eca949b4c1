# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import PYSONEncoder
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from ..exceptions import CustomerImportError
from .tools import CrmTestCase, acting_as, create_customer, create_world


def run_wizard(data, pool):
    "Import the CSV data into pool with the wizard; return its done values"
    Import = Pool().get('crm.customer.import', type='wizard')
    session_id, start, _ = Import.create()
    defaults = Import.execute(session_id, {}, start)['view']['defaults']
    values = {k: v for k, v in defaults.items() if '.' not in k}
    values.update({'file_': data, 'pool': pool.id})
    try:
        result = Import.execute(session_id, {'start': values}, 'import_')
    finally:
        Import.delete(session_id)
    return result['view']['defaults'], values


def load_zh_CN():
    Lang = Pool().get('ir.lang')
    zh_CN, = Lang.search([('code', '=', 'zh_CN')])
    Lang.load_translations([zh_CN])


def customers(names):
    Party = Pool().get('party.party')
    return {p.name: p for p in Party.search([('name', 'in', names)])}


class CustomerImportTestCase(CrmTestCase):
    "Test the batch import of customers"

    @with_transaction()
    def test_import_into_pool(self):
        """A salesperson imports a file made from the template, in the
        user's language, into a pool: with English or Chinese column names,
        in UTF-8 or GB18030"""
        world = create_world()
        load_zh_CN()
        english = (
            b"Name,Nature,Type,Phone,Mobile,Email,Tax ID\n"
            b"Acme,Company,Direct Customer,+86 21 5555 0100,,"
            b"Info@Acme.example,91310000MA1FL0001X\n"
            b"\n"
            b"Li Lei,individual,,,+86 139 1234 5678,,\n")
        chinese = ("客户名称,客户性质,客户类型,电话\n"
            "华东贸易,单位客户,直接客户,+86 10 6555 0100\n").encode('gb18030')

        with acting_as(world.users['sales1']):
            done, start = run_wizard(english, world.east)
            chinese_done, _ = run_wizard(chinese, world.south)

        self.assertEqual(done['imported'], 2)
        self.assertEqual(chinese_done['imported'], 1)
        self.assertTrue(start['template'].startswith(
                '\ufeffName,Nature,Type'.encode()))
        Start = Pool().get('crm.customer.import.start')
        with Transaction().set_context(language='zh_CN'):
            header = Start.default_template().decode('utf-8-sig')
        self.assertEqual(header.strip(),
            "客户名称,客户性质,客户类型,电话,手机,邮箱,税号")
        found = customers(["Acme", "Li Lei", "华东贸易"])
        acme, li_lei, east_trade = (
            found["Acme"], found["Li Lei"], found["华东贸易"])
        self.assertEqual(
            [(p.customer_nature, p.customer_status, p.pool, p.owner)
                for p in [acme, li_lei]],
            [('company', 'potential', world.east, None),
                ('individual', 'potential', world.east, None)])
        self.assertEqual(east_trade.pool, world.south)
        self.assertEqual(acme.customer_type.name, "Direct Customer")
        self.assertEqual(east_trade.customer_type, acme.customer_type)
        self.assertTrue(acme.code and acme.code != li_lei.code)
        self.assertEqual(
            sorted((m.type, m.value, m.value_compact)
                for m in acme.contact_mechanisms),
            [('email', 'Info@Acme.example', 'Info@Acme.example'),
                ('phone', '+86 21 5555 0100', '+862155550100')])
        self.assertEqual(
            [(m.type, m.value_compact) for m in li_lei.contact_mechanisms],
            [('mobile', '+8613912345678')])
        self.assertEqual([i.code for i in acme.identifiers],
            ['91310000MA1FL0001X'])
        Party = Pool().get('party.party')
        self.assertEqual(
            Party.search([('rec_name', '=', '91310000MA1FL0001X')]), [acme])

    @with_transaction()
    def test_wrong_lines_import_nothing(self):
        """A file with wrong lines imports nothing and names each line and
        why, up to the existing customer it duplicates"""
        Party = Pool().get('party.party')
        world = create_world()
        create_customer("ACME", pool=world.east, contact_mechanisms=[
                {'type': 'email', 'value': 'info@acme.example'},
                ])
        data = (
            b"name,nature,phone,email\n"
            b"Good One,company,,good@one.example\n"
            b"acme,company,,\n"
            b"Other,company,,INFO@acme.example\n"
            b"Third,company,+86 21 5555 0199,\n"
            b"Fourth,company,+86-21-5555-0199,\n"
            b"Fifth,club,,\n"
            b",company,,\n"
            b"Sixth,company,12,not-an-email\n")
        count = Party.search_count([])

        with acting_as(world.users['sales1']):
            with self.assertRaises(CustomerImportError) as cm:
                run_wizard(data, world.east)

        self.assertEqual(Party.search_count([]), count)
        self.assertIn('7 errors', cm.exception.message)
        for expected in [
                'Line 3: customer "ACME" already has "acme"',
                'Line 4: customer "ACME" already has "INFO@acme.example"',
                'Line 6: "+86 21 5555 0199" is already on line 5',
                'Line 7: "club" is not a customer nature '
                '(Company, Individual)',
                'Line 8: the customer name is missing',
                'Line 9: "12" is not a valid phone number',
                'Line 9: "not-an-email" is not a valid email address',
                ]:
            self.assertIn(expected, cm.exception.description)
        self.assertNotIn('Line 2', cm.exception.description)
        self.assertTrue(cm.exception.description.startswith('Line 3:'))

    @with_transaction()
    def test_unreadable_files_refused(self):
        "A file that is not a CSV file of the template is refused"
        world = create_world()
        for data, message in [
                (b'', "holds no customer"),
                (b'name\n\n', "holds no customer"),
                (b'name,colour\nAcme,red\n', 'unknown column "colour"'),
                (b'phone\n+86 21 5555 0100\n', 'no "Name" column'),
                (b'name\nAcme,extra\n', "Line 2 has values in columns"),
                (b'name,Name\nAcme,Acme\n', 'column "Name" twice'),
                (b'name,,phone\nAcme,x,\n', "Line 2 has values in columns"),
                ('name\nAcme\n'.encode('utf-16'), "cannot be read"),
                ]:
            with self.subTest(data=data):
                with self.assertRaisesRegex(CustomerImportError, message):
                    run_wizard(data, world.east)

    @with_transaction()
    def test_spreadsheet_trailing_cells(self):
        """The empty cells that a spreadsheet saves beyond the last column
        and in the columns without a name are ignored"""
        world = create_world()
        data = b"name,,phone,\nAcme,,,\nBeta,,,,,\n"

        done, _ = run_wizard(data, world.east)

        self.assertEqual(done['imported'], 2)
        self.assertEqual(sorted(customers(["Acme", "Beta"])), ["Acme", "Beta"])

    @with_transaction()
    def test_unified_social_credit_code(self):
        """A valid unified social credit code is imported as a tax
        identifier of its type, compacted; another code keeps no type"""
        world = create_world()
        data = (b"name,tax_id\n"
            b"Acme, 91110000802100433b\n"
            b"Beta,DE123456789\n")

        run_wizard(data, world.east)

        found = customers(["Acme", "Beta"])
        acme, beta = found["Acme"], found["Beta"]
        self.assertEqual(
            [(i.type, i.code) for i in acme.identifiers],
            [('cn_vat', '91110000802100433B')])
        self.assertEqual(acme.tax_identifier, acme.identifiers[0])
        self.assertEqual(
            [(i.type, i.code) for i in beta.identifiers],
            [(None, 'DE123456789')])
        for data in [b"name,tax_id\nGamma,91110000802100433B\n",
                b"name,tax_id\nGamma,de123456789\n",
                b"name,tax_id\nGamma,FR1\nDelta,fr1\n"]:
            with self.subTest(data=data):
                with self.assertRaisesRegex(
                        CustomerImportError, 'already'):
                    run_wizard(data, world.east)

    @with_transaction()
    def test_access_checked(self):
        """The import checks that the record rules admit each imported
        customer, and that the user may create customers"""
        pool = Pool()
        ModelAccess = pool.get('ir.model.access')
        RuleGroup = pool.get('ir.rule.group')
        world = create_world()
        RuleGroup.create([{
                    'name': "No reserved names",
                    'model': 'party.party',
                    'global_p': True,
                    'perm_read': False,
                    'perm_write': False,
                    'perm_create': True,
                    'perm_delete': False,
                    'rules': [('create', [{
                                    'domain': PYSONEncoder().encode(
                                        [('name', 'not like', 'Reserved%')]),
                                    }])],
                    }])

        with acting_as(world.users['sales1']):
            with self.assertRaisesRegex(AccessError, '"Reserved Ltd"'):
                run_wizard(b"name\nAcme\nReserved Ltd\n", world.east)
            done, _ = run_wizard(b"name\nBeta\n", world.east)
        self.assertEqual(done['imported'], 1)

        ModelAccess.create([{
                    'model': 'party.party',
                    'perm_read': True,
                    'perm_write': True,
                    'perm_create': False,
                    'perm_delete': False,
                    }])
        with acting_as(world.users['sales1']):
            with self.assertRaisesRegex(AccessError, 'access "Party"'):
                run_wizard(b"name\nGamma\n", world.east)

    @with_transaction()
    def test_rules_checked_on_every_record_created(self):
        """The create rules of the contact mechanisms and identifiers are
        checked as those of the customers: a refused one stops the import"""
        pool = Pool()
        RuleGroup = pool.get('ir.rule.group')
        world = create_world()
        for model, domain in [
                ('party.contact_mechanism',
                    [('value', 'not like', '%@blocked.test')]),
                ('party.identifier', [('code', 'not like', 'BLOCKED%')]),
                ]:
            RuleGroup.create([{
                        'name': "Not blocked",
                        'model': model,
                        'global_p': True,
                        'perm_read': False,
                        'perm_write': False,
                        'perm_create': True,
                        'perm_delete': False,
                        'rules': [('create', [{
                                        'domain': PYSONEncoder().encode(
                                            domain),
                                        }])],
                        }])

        with acting_as(world.users['sales1']):
            for data, refused in [
                    (b"name,email\nAcme,sales@blocked.test\n",
                        'Contact Mechanism "Acme <sales@blocked.test>"'),
                    (b"name,tax_id\nBeta,BLOCKED-1\n",
                        'Identifier "BLOCKED-1"'),
                    ]:
                with self.subTest(data=data), \
                        self.assertRaisesRegex(AccessError, refused):
                    run_wizard(data, world.east)
            done, _ = run_wizard(
                b"name,email,tax_id\nGamma,info@gamma.test,G-1\n",
                world.east)
        self.assertEqual(done['imported'], 1)

    @with_transaction()
    def test_no_party_sequence(self):
        """Without a party sequence to number the customers, the import is
        refused with a message, and nothing is written"""
        pool = Pool()
        Configuration = pool.get('party.configuration')
        Party = pool.get('party.party')
        world = create_world()
        Configuration.write([Configuration(1)], {'party_sequence': None})
        count = Party.search_count([])

        with self.assertRaisesRegex(CustomerImportError, 'party sequence'):
            run_wizard(b"name\nAcme\n", world.east)

        self.assertEqual(Party.search_count([]), count)
