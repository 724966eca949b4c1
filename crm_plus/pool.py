# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Public pools (公海) and their automatic release rules."""

import datetime as dt
from functools import reduce
from operator import or_

from sql import Literal, Null

from trytond.model import DeactivableMixin, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.transaction import Transaction

from .access import DataRulesMixin
from .opportunity import OPEN_STATES


class CustomerPool(DataRulesMixin, DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'crm.pool'
    __string__ = "Customer Pool"
    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One('company.company', "Company", required=True)
    claimers = fields.Many2Many(
        'crm.pool-company.employee', 'pool', 'employee',
        "Employees Who May Claim",
        domain=[('company', '=', Eval('company', -1))],
        help="The employees who may claim customers from this pool.\n"
        "Leave empty to let every employee claim.")
    release_rules = fields.One2Many(
        'crm.pool.release_rule', 'pool', "Release Rules")
    warning_days = fields.Integer(
        "Warning Days",
        domain=['OR', ('warning_days', '=', None), ('warning_days', '>=', 0)],
        help="How many days before an automatic release the owner is "
        "warned.")
    exempt_deal = fields.Boolean(
        "Never Release Customers with a Deal",
        help="Customers with a deal are never released automatically.")
    exempt_open_opportunity = fields.Boolean(
        "Never Release Customers with an Open Opportunity",
        help="Customers with an opportunity not yet won or lost are never "
        "released automatically.")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')

    @classmethod
    def default_warning_days(cls):
        return 3

    @classmethod
    def default_exempt_deal(cls):
        return True

    def may_claim(self, employee):
        return not self.claimers or employee in self.claimers


class CustomerPoolClaimer(DataRulesMixin, ModelSQL):
    __name__ = 'crm.pool-company.employee'
    __string__ = "Pool Claimer"
    pool = fields.Many2One(
        'crm.pool', "Pool", required=True, ondelete='CASCADE')
    employee = fields.Many2One(
        'company.employee', "Employee", required=True, ondelete='CASCADE')


class ReleaseRule(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.pool.release_rule'
    __string__ = "Pool Release Rule"
    pool = fields.Many2One(
        'crm.pool', "Pool", required=True, ondelete='CASCADE')
    customer_type = fields.Many2One(
        'crm.customer.type', "Customer Type",
        help="Leave empty to apply to the customers of every type "
        "that has no rule of its own in the pool.")
    no_follow_up_days = fields.Integer(
        "Without Follow-up",
        domain=['OR',
            ('no_follow_up_days', '=', None),
            ('no_follow_up_days', '>', 0),
            ],
        help="Release after this many days without follow-up "
        "(counted from the later of the last follow-up and the claim).")
    no_opportunity_days = fields.Integer(
        "Without Opportunity",
        domain=['OR',
            ('no_opportunity_days', '=', None),
            ('no_opportunity_days', '>', 0),
            ],
        help="Release after this many days without a new opportunity.")
    no_deal_days = fields.Integer(
        "Without Deal",
        domain=['OR', ('no_deal_days', '=', None), ('no_deal_days', '>', 0)],
        help="Release after this many days without a deal.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('pool_type_unique', Unique(t, t.pool, t.customer_type),
                'crm_plus.msg_release_rule_unique'),
            ]

    def _criteria(self):
        "Yield (days, date column name) for each criterion set on the rule"
        for days, column in [
                (self.no_follow_up_days, 'last_contact_date'),
                (self.no_opportunity_days, 'last_opportunity_date'),
                (self.no_deal_days, 'last_deal_date'),
                ]:
            if days:
                yield days, column

    @staticmethod
    def _open_opportunity_parties():
        Opportunity = Pool().get('crm.opportunity')
        opportunity = Opportunity.__table__()
        return opportunity.select(
            opportunity.party,
            where=opportunity.state.in_(OPEN_STATES))

    def get_condition(self, party, today, rules):
        """Return the SQL condition of the party table for the locked
        customers this rule releases on the date `today`.

        `rules` are all the rules of the pool, so that a rule without
        customer type leaves out the types that have a rule of their own.
        """
        scope = (party.pool == self.pool.id) & (party.owner != Null)
        if self.pool.exempt_deal:
            scope &= (party.customer_status != 'deal') | (
                party.customer_status == Null)
        if self.pool.exempt_open_opportunity:
            scope &= ~party.id.in_(self._open_opportunity_parties())
        if self.customer_type:
            scope &= party.customer_type == self.customer_type.id
        else:
            own = [r.customer_type.id for r in rules if r.customer_type]
            if own:
                scope &= (party.customer_type == Null) | ~(
                    party.customer_type.in_(own))
        expired = []
        for days, column in self._criteria():
            cutoff = today - dt.timedelta(days=days)
            date = getattr(party, column)
            expired.append((party.owner_since <= cutoff)
                & ((date == Null) | (date <= cutoff)))
        if not expired:
            return Literal(False)
        return scope & reduce(or_, expired)
