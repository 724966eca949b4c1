# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

import polib

from trytond.pool import Pool
from trytond.tests.test_tryton import RouteTestCase, with_transaction


class TranslationTestMixin:
    "Every user-visible string of the module exists in Simplified Chinese"
    language = 'zh_CN'

    @with_transaction()
    def test_zh_CN_complete(self):
        "The zh_CN catalog translates every string, none fuzzy or empty"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        TranslationUpdate = pool.get('ir.translation.update', type='wizard')
        zh_CN, = Lang.search([('code', '=', 'zh_CN')])
        session_id, _, _ = TranslationUpdate.create()
        TranslationUpdate.execute(
            session_id, {'start': {'language': zh_CN.id}}, 'update')
        catalog = polib.pofile(
            Translation.translation_export('zh_CN', self.module).decode())
        missing = [f'{e.msgctxt}: {e.msgid}' for e in catalog
            if e.msgid and (e.fuzzy or not e.msgstr.strip())]
        self.assertEqual(missing, [])


class CrmPlusTranslationTestCase(TranslationTestMixin, RouteTestCase):
    "Test crm_plus translations"
    module = 'crm_plus'


del RouteTestCase
