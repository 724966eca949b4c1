# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.

from trytond.cache import Cache
from trytond.pool import Pool, PoolMeta
from trytond.transaction import (
    Transaction, inactive_records, without_check_access)

from .access import DataRulesMixin
from .company import managed_employees

# Models whose record rules depend on the user's employees
EMPLOYEE_RULE_MODELS = {
    'party.party',
    'crm.follow_up',
    'crm.plan',
    'crm.lock.request',
    'crm.opportunity',
    'crm.approval.request',
    'crm.expense',
    'crm.lead',
    'crm.target',
    'crm.campaign',
    'crm.customer.share',
    }


class Rule(metaclass=PoolMeta):
    __name__ = 'ir.rule'
    _crm_owners_cache = Cache('ir.rule.crm_owners', context=False)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.domain.help += (
            '\n- "employees" as list of ids of the employees of the user'
            '\n- "crm_owners" as list of ids of the employees whose '
            'customers the user sees by the organisation: the user\'s, '
            'their subordinates and the members of the teams they lead'
            '\n- "today" as the current date'
            '\n- "user" as the id of the user')

    @classmethod
    def crm_owners(cls):
        """Return the ids of the employees whose customers the employees of
        the user see: themselves, their subordinates at every level and the
        members of the teams they lead, computed once for all the rules"""
        User = Pool().get('res.user')
        employees = tuple(sorted(User.get_employees()))
        owners = cls._crm_owners_cache.get(employees)
        if owners is None:
            owners = cls._get_crm_owners(employees)
            cls._crm_owners_cache.set(employees, owners)
        return owners

    @classmethod
    def _get_crm_owners(cls, employees):
        pool = Pool()
        Employee = pool.get('company.employee')
        TeamMember = pool.get('crm.team-company.employee')
        with without_check_access(), inactive_records():
            owners = set().union(*map(
                    managed_employees, Employee.browse(employees)))
            owners.update(m.employee.id for m in TeamMember.search([
                        ('team.leader', 'in', list(employees)),
                        ], order=[]))
        return tuple(sorted(owners))

    @classmethod
    def clear_crm_owners(cls):
        "Forget who sees whose customers, after a change of the organisation"
        cls._crm_owners_cache.clear()

    @classmethod
    def _get_context(cls, model_name):
        pool = Pool()
        User = pool.get('res.user')
        Date = pool.get('ir.date')
        context = super()._get_context(model_name)
        context['employees'] = list(User.get_employees())
        context['crm_owners'] = list(cls.crm_owners())
        context['today'] = Date.today()
        context['user'] = Transaction().user
        return context

    @classmethod
    def _get_cache_key(cls, model_names):
        pool = Pool()
        User = pool.get('res.user')
        Date = pool.get('ir.date')
        key = super()._get_cache_key(model_names)
        if EMPLOYEE_RULE_MODELS & set(model_names):
            key = (*key, Transaction().user, User.get_employees(),
                cls.crm_owners(), Date.today())
        return key


class Attachment(DataRulesMixin, metaclass=PoolMeta):
    __name__ = 'ir.attachment'


class Note(DataRulesMixin, metaclass=PoolMeta):
    __name__ = 'ir.note'


class Cron(metaclass=PoolMeta):
    __name__ = 'ir.cron'

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.method.selection.extend([
                ('party.party|release_customers',
                    "Release Customers to the Pools"),
                ('crm.plan|send_reminders', "Send Follow-up Plan Reminders"),
                ('crm.approval.request|send_reminders',
                    "Remind Approvers of Pending Approvals"),
                ('crm.opportunity|reactivate_suspended',
                    "Reactivate Suspended Opportunities"),
                ('crm.opportunity|remind_signing',
                    "Remind Opportunity Signing Dates"),
                ('crm.campaign|remind_participants',
                    "Remind Campaign Participants"),
                ('inbound.email.rule|crm_make_pending_leads',
                    "Make the Leads of Pending Emails"),
                ])
