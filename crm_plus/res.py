# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from trytond.pool import PoolMeta


class Notification(metaclass=PoolMeta):
    __name__ = 'res.notification'

    @property
    def _action_value(self):
        """Give the client the values of the action, not its id: sao 8.0
        takes an id without context for the context of the call that reads
        the action, which then fails with "list index out of range"."""
        value = super()._action_value
        if isinstance(value, int):
            value = self.action.get_action_value()
        return value
