# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from sql import Null

from trytond.i18n import gettext
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.pool import Pool
from trytond.transaction import Transaction
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import DataRulesMixin, DataRulesWizardMixin

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


class ConfigurationSetupStart(ModelView):
    __name__ = 'crm.configuration.setup.start'
    __string__ = "Set Up CRM"
    company = fields.Many2One('company.company', "Company", required=True)
    pool_name = fields.Char(
        "Public Pool", required=True,
        help="The pool that the customers without owner enter.\n"
        "More pools can be added later.")
    quota = fields.Integer(
        "Customer Quota", domain=_positive_domain('quota'),
        help="How many customers an employee may own at most.\n"
        "Leave empty for no limit.")
    daily_claim_cap = fields.Integer(
        "Daily Claim Cap", domain=_positive_domain('daily_claim_cap'),
        help="How many customers an employee may claim from the pools "
        "each day. Leave empty for no limit.")
    cooldown_days = fields.Integer(
        "Cooldown (Days)", domain=_positive_domain('cooldown_days'),
        help="Days before the previous owner may claim a released "
        "customer again.")


class ConfigurationSetup(DataRulesWizardMixin, Wizard):
    """Make the CRM of a company ready to use: its default public pool
    and the rules of ownership.  The activation of the module loads the
    stages, the dictionaries and the groups; the administrator runs this
    from the configuration wizard that follows it."""
    __name__ = 'crm.configuration.setup'
    __string__ = "Set Up CRM"
    start = StateView('crm.configuration.setup.start',
        'crm_plus.configuration_setup_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Set Up", 'setup', 'tryton-ok', default=True),
            ])
    setup = StateTransition()

    def default_start(self, fields):
        pool = Pool()
        Company = pool.get('company.company')
        Configuration = pool.get('crm.configuration')
        config = Configuration(1)
        company = Transaction().context.get('company')
        if company is None:
            companies = Company.search([], limit=2)
            if len(companies) == 1:
                company = companies[0].id
        default_pool = config.default_pool
        return {
            'company': company,
            'pool_name': (default_pool.name if default_pool
                else gettext('crm_plus.msg_setup_pool_name')),
            'quota': config.quota,
            'daily_claim_cap': config.daily_claim_cap,
            'cooldown_days': config.cooldown_days,
            }

    def transition_setup(self):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        config = Configuration(1)
        config.default_pool = self.get_pool()
        config.quota = self.start.quota
        config.daily_claim_cap = self.start.daily_claim_cap
        config.cooldown_days = self.start.cooldown_days
        config.save()
        return 'end'

    def get_pool(self):
        "Return the pool of the company named as the start, made if missing"
        CustomerPool = Pool().get('crm.pool')
        pools = CustomerPool.search([
                ('company', '=', self.start.company.id),
                ('name', '=', self.start.pool_name),
                ], limit=1)
        if pools:
            return pools[0]
        customer_pool = CustomerPool(
            company=self.start.company, name=self.start.pool_name)
        customer_pool.save()
        return customer_pool
