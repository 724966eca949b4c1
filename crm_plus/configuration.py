# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from sql import Null

from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction

from .access import DataRulesMixin

# The country of the phone numbers written without their country code, by
# default: the CRM is made for companies in China
DEFAULT_PHONE_COUNTRY = 'CN'


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
    phone_country = fields.Many2One(
        'country.country', "Phone Country", ondelete='SET NULL',
        help="The country of the phone numbers written without their "
        "country code, when the company has no address in a country.")

    @classmethod
    def __register__(cls, module):
        table_h = cls.__table_handler__(module)
        phone_country_exists = table_h.column_exist('phone_country')
        super().__register__(module)
        if not phone_country_exists:
            cls._set_default_phone_country()

    @classmethod
    def _set_default_phone_country(cls):
        "Give the existing configuration the default phone country"
        country = cls.default_phone_country()
        if country:
            table = cls.__table__()
            cursor = Transaction().connection.cursor()
            cursor.execute(*table.update(
                    [table.phone_country], [country],
                    where=table.phone_country == Null))

    @classmethod
    def default_phone_country(cls):
        Country = Pool().get('country.country')
        countries = Country.search(
            [('code', '=', DEFAULT_PHONE_COUNTRY)], limit=1)
        return countries[0].id if countries else None

    @classmethod
    def default_stale_days(cls):
        return 30

    @classmethod
    def default_cooldown_days(cls):
        return 0

    @classmethod
    def default_signing_reminder_days(cls):
        return 3
