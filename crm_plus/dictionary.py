# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Bilingual dictionaries that classify customers and follow-ups."""

from trytond.model import (
    DeactivableMixin, ModelSQL, ModelView, fields, sequence_ordered)

from .access import DataRulesMixin


class DictionaryMixin(
        DataRulesMixin, DeactivableMixin, sequence_ordered()):
    __slots__ = ()
    name = fields.Char("Name", required=True, translate=True)
    code = fields.Char("Code")


class CustomerType(DictionaryMixin, ModelSQL, ModelView):
    __name__ = 'crm.customer.type'
    __string__ = "Customer Type"
    follow_up_days = fields.Integer(
        "Follow-up Frequency",
        domain=['OR',
            ('follow_up_days', '=', None),
            ('follow_up_days', '>', 0),
            ],
        help="Days until the next contact proposed after a follow-up.")
    competitor = fields.Boolean(
        "Competitor", help="Customers of this type are competitors.")


class CustomerLevel(DictionaryMixin, ModelSQL, ModelView):
    __name__ = 'crm.customer.level'
    __string__ = "Customer Level"


class Industry(DictionaryMixin, ModelSQL, ModelView):
    __name__ = 'crm.industry'
    __string__ = "Industry"


class Region(DictionaryMixin, ModelSQL, ModelView):
    __name__ = 'crm.region'
    __string__ = "Region"


class CustomerSource(DictionaryMixin, ModelSQL, ModelView):
    __name__ = 'crm.customer.source'
    __string__ = "Customer Source"


class FollowUpMethod(DictionaryMixin, ModelSQL, ModelView):
    __name__ = 'crm.follow_up.method'
    __string__ = "Follow-up Method"


class LostReason(DictionaryMixin, ModelSQL, ModelView):
    __name__ = 'crm.opportunity.lost_reason'
    __string__ = "Lost Reason"
