# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from lxml import etree

from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction
from trytond.transaction import Transaction

from .tools import CrmTestCase, acting_as, create_customer, create_world


class AddressTestCase(CrmTestCase):
    "Test the addresses of customers in the Chinese order"

    def create_china(self):
        Country = Pool().get('country.country')
        china, = Country.create([{'name': "China", 'code': 'CN',
                    'subdivisions': [('create', [{'name': "Shanghai",
                                    'code': 'CN-SH',
                                    'type': 'municipality'}])]}])
        return china

    def form(self, user=None):
        "Return the labels and fields of the party's address form"
        pool = Pool()
        Address = pool.get('party.address')
        ModelData = pool.get('ir.model.data')
        view_id = ModelData.get_id('party', 'address_view_form_simple')
        if user:
            with acting_as(user):
                view = Address.fields_view_get(view_id=view_id)
        else:
            view = Address.fields_view_get(view_id=view_id)
        tree = etree.fromstring(view['arch'])
        return [(e.tag, e.get('name') or e.get('id'), e.get('string'))
            for e in tree.iter('label', 'field', 'group')]

    @with_transaction()
    def test_crm_address_form_in_chinese_order(self):
        """The CRM groups fill an address by province, city and district,
        the others keep the form of the party module"""
        pool = Pool()
        User = pool.get('res.user')
        world = create_world()
        outsider = User(login='outsider', name="Outsider")
        outsider.save()

        crm_form = self.form(world.users['sales1'])
        labels = [(n, s) for t, n, s in crm_form if t == 'label']
        self.assertEqual(labels[-6:], [('country', None),
                ('subdivision', "Province:"), ('city', None),
                ('district', None), ('postal_code', None),
                ('street', "Detailed Address:")])
        self.assertNotIn(('group', 'street_structured', None), crm_form)
        self.assertEqual(self.form(outsider), self.form())
        self.assertIn(('group', 'street_structured', None), self.form())
        self.assertNotIn(('field', 'district', None), self.form(outsider))

    @with_transaction()
    def test_country_defaults_to_company(self):
        "A new address is in the country of the company"
        pool = Pool()
        Address = pool.get('party.address')
        world = create_world()
        self.assertIsNone(Address.default_country())
        china = self.create_china()
        company_party = world.company.party
        company_party.addresses = [{'city': "Shanghai", 'country': china.id}]
        company_party.save()
        with Transaction().set_context(company=world.company.id):
            self.assertEqual(Address.default_country(), china.id)

    @with_transaction()
    def test_full_address_with_district(self):
        "The district follows the city in the full address"
        pool = Pool()
        Address = pool.get('party.address')
        create_world()
        china = self.create_china()
        shanghai, = china.subdivisions
        customer = create_customer("ACME")
        address = Address(party=customer, country=china,
            subdivision=shanghai, city="上海市", district="浦东新区",
            street="世纪大道 100 号")
        address.save()
        with Transaction().set_context(language='zh_CN'):
            self.assertIn("上海市浦东新区世纪大道 100 号",
                Address(address.id).full_address)
        with Transaction().set_context(language='en'):
            self.assertIn("上海市 浦东新区", Address(address.id).full_address)
