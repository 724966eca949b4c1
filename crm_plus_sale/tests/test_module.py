# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from lxml import etree

from trytond.modules.company.tests import CompanyTestMixin
from trytond.pool import Pool
from trytond.pyson import PYSONDecoder
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction


class CrmPlusSaleTestCase(CompanyTestMixin, ModuleTestCase):
    "Test crm_plus_sale module"
    module = 'crm_plus_sale'

    @with_transaction()
    def test_party_form_pages_of_crm_groups(self):
        """The customer form hides the accounting and stock pages from the
        CRM groups, unless they work in accounting or stock, and shows them
        to the others"""
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        Party = pool.get('party.party')
        User = pool.get('res.user')
        transaction = Transaction()

        def group(module, name):
            return ModelData.get_id(module, 'group_' + name)
        users = {
            'salesperson': [group('crm_plus', 'crm_user')],
            'crm manager': [group('crm_plus', 'crm_admin')],
            'crm accountant': [group('crm_plus', 'crm_user'),
                group('account', 'account')],
            'stock keeper': [group('stock', 'stock')],
            'outsider': [],
            }
        hidden = {}
        for login, groups in users.items():
            user = User(login=login, name=login, groups=groups)
            user.save()
            with transaction.set_user(user.id), transaction.set_context(
                    User.get_preferences(context_only=True)):
                view = Party.fields_view_get(view_type='form')
                decoder = PYSONDecoder({'context': transaction.context})
            tree = etree.fromstring(view['arch'])
            hidden[login] = [page_id for page_id in ['accounting', 'stock']
                if decoder.decode(tree.xpath(f'//page[@id="{page_id}"]')[0]
                    .get('states', '{}')).get('invisible')]
        self.assertEqual(hidden, {
                'salesperson': ['accounting', 'stock'],
                'crm manager': ['accounting', 'stock'],
                'crm accountant': ['stock'],
                'stock keeper': [],
                'outsider': [],
                })


del ModuleTestCase
