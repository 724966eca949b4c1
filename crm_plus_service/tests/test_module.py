# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from trytond.modules.company.tests import CompanyTestMixin
from trytond.tests.test_tryton import ModuleTestCase


class CrmPlusServiceTestCase(CompanyTestMixin, ModuleTestCase):
    "Test crm_plus_service module"
    module = 'crm_plus_service'


del ModuleTestCase
