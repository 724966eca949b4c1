# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from trytond.model import ModelSingleton, ModelSQL, ModelView, fields

from .access import DataRulesMixin


def _positive_domain(name):
    return ['OR', (name, '=', None), (name, '>=', 0)]


class Configuration(DataRulesMixin, ModelSingleton, ModelSQL, ModelView):
    __name__ = 'crm.configuration'
    __string__ = "CRM Configuration"
    default_pool = fields.Many2One(
        'crm.pool', "Default Pool",
        help="The pool that new customers without owner enter.")
    quota = fields.Integer(
        "Customer Quota", domain=_positive_domain('quota'),
        help="How many customers an employee may own at most.\n"
        "Leave empty for no limit. Employees may override it.")
    daily_claim_cap = fields.Integer(
        "Daily Claim Cap", domain=_positive_domain('daily_claim_cap'),
        help="How many customers an employee may claim from the pools "
        "each day. Leave empty for no limit.")
    cooldown_days = fields.Integer(
        "Cooldown (Days)", domain=_positive_domain('cooldown_days'),
        help="Days before the previous owner may claim a released "
        "customer again.")
    stale_days = fields.Integer(
        "Days Without Contact", required=True,
        domain=[('stale_days', '>', 0)],
        help="Days without contact after which a customer is listed as "
        "not contacted recently.")
    signing_reminder_days = fields.Integer(
        "Signing Reminder (Days)",
        domain=_positive_domain('signing_reminder_days'),
        help="Days before the expected signing date of an opportunity to "
        "remind its owner. Leave empty for no reminder.")

    @classmethod
    def default_stale_days(cls):
        return 30

    @classmethod
    def default_cooldown_days(cls):
        return 0

    @classmethod
    def default_signing_reminder_days(cls):
        return 3
