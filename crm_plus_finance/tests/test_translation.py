# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from crm_plus.tests.test_translation import TranslationTestMixin
from trytond.tests.test_tryton import RouteTestCase


class CrmPlusFinanceTranslationTestCase(TranslationTestMixin, RouteTestCase):
    """Test the translations of the whole suite: crm_plus_finance activates
    the other modules and their hosts (sale, account, stock, payments)"""
    module = 'crm_plus_finance'


del RouteTestCase
