# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
from trytond.pool import PoolMeta
from trytond.pyson import Eval, Id


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'

    @classmethod
    def view_attributes(cls):
        "Hide from the CRM groups the pages of the modules they do not use"
        groups = Eval('context', {}).get('groups', [])
        crm = (Id('crm_plus', 'group_crm_user').in_(groups)
            | Id('crm_plus', 'group_crm_admin').in_(groups))
        return super().view_attributes() + [
            ('/form/notebook/page[@id="accounting"]', 'states', {
                    'invisible': (
                        crm & ~Id('account', 'group_account').in_(groups)),
                    }),
            ('/form/notebook/page[@id="stock"]', 'states', {
                    'invisible': (
                        crm & ~Id('stock', 'group_stock').in_(groups)),
                    }),
            ]
