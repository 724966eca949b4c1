# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Who owns a customer: the public pool (公海), claims, assignments,
releases, lock requests and the ownership log."""

import datetime as dt
from collections import Counter

from sql import Literal, Null
from sql.aggregate import Count, Max
from sql.operators import Equal, Exists, Or

from trytond import backend
from trytond.i18n import gettext
from trytond.model import Exclude, Index, ModelSQL, ModelView, Workflow, fields
from trytond.model.exceptions import AccessError
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval
from trytond.tools import grouped_slice, reduce_ids
from trytond.tools.timezone import get_tzinfo
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import DataRulesMixin, DataRulesWizardMixin
from .approval import ApprovalMixin
from .company import (
    current_employee, is_crm_admin, is_crm_user, managed_employees)
from .exceptions import ApprovalError, OwnershipError, QuotaError
from .model import check_write_rule, forget_cached, local_midnight, touch_rows
from .notify import notify_each

ACTIONS = [
    ('create', "Create"),
    ('claim', "Claim"),
    ('assign', "Assign"),
    ('transfer', "Transfer"),
    ('lock', "Lock Request Approved"),
    ('lock_reversed', "Lock Request Reversed"),
    ('release', "Release"),
    ('auto_release', "Automatic Release"),
    ]
RELEASES = ['release', 'auto_release']


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    pool = fields.Many2One(
        'crm.pool', "Pool", ondelete='RESTRICT',
        states={'invisible': ~Bool(Eval('customer_nature'))},
        help="The public pool the customer belongs to when no one owns it.")
    owner = fields.Many2One(
        'company.employee', "Owner", readonly=True, ondelete='RESTRICT',
        states={'invisible': ~Bool(Eval('customer_nature'))})
    owner_since = fields.Date(
        "Owner Since", readonly=True,
        states={'invisible': ~Bool(Eval('owner'))})
    previous_owner = fields.Function(fields.Many2One(
            'company.employee', "Previous Owner",
            states={'invisible': ~Bool(Eval('previous_owner'))}),
        'get_previous_owner')
    released_date = fields.Date(
        "Released On", readonly=True,
        states={'invisible': ~Bool(Eval('released_date'))})
    release_warned = fields.Date(
        "Release Warning Date", readonly=True,
        states={'invisible': ~Bool(Eval('release_warned'))},
        help="When the owner was warned that the customer is about to "
        "return to the pool.")
    ownership_logs = fields.One2Many(
        'crm.ownership.log', 'party', "Ownership Log", readonly=True,
        states={'invisible': ~Bool(Eval('customer_nature'))})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        # include: the quota counts an owner's parties from the index alone
        cls._sql_indexes.add(
            Index(t,
                (t.owner, Index.Equality()),
                (t.next_contact_date, Index.Range()),
                include=[t.active],
                where=t.owner != Null))
        owned = Bool(Eval('owner'))
        cls._buttons.update({
                'claim': {
                    'invisible': owned | ~Bool(Eval('pool')),
                    'depends': ['owner', 'pool'],
                    },
                'release': {
                    'invisible': ~owned | ~Bool(Eval('pool')),
                    'depends': ['owner', 'pool'],
                    },
                'request_lock': {
                    'invisible': owned | ~Bool(Eval('customer_nature')),
                    'depends': ['owner', 'customer_nature'],
                    },
                'assign': {
                    'invisible': ~Bool(Eval('customer_nature')),
                    'depends': ['customer_nature'],
                    },
                'watch': {
                    'invisible': (Eval('watched', False)
                        | ~Bool(Eval('customer_nature'))),
                    'depends': ['watched', 'customer_nature'],
                    },
                'unwatch': {
                    'invisible': ~Eval('watched', False),
                    'depends': ['watched'],
                    },
                'toggle_key': {
                    'invisible': ~owned,
                    'depends': ['owner'],
                    },
                })

    @classmethod
    def __register__(cls, module):
        super().__register__(module)
        table_h = cls.__table_handler__(module)
        # The previous owner is read from the ownership log, so that the
        # release job does not check a foreign key for every customer
        if table_h.column_exist('previous_owner'):
            cls._log_previous_owners()
            table_h.drop_column('previous_owner')

    @classmethod
    def _log_previous_owners(cls):
        "Log as a release the previous owner that only the party column kept"
        pool = Pool()
        OwnershipLog = pool.get('crm.ownership.log')
        party = cls.__table__()
        log = OwnershipLog.__table__()
        cursor = Transaction().connection.cursor()
        cursor.execute(*party.select(
                party.id, party.previous_owner, party.released_date,
                where=(party.previous_owner != Null)
                & ~Exists(log.select(Literal(1),
                        where=(log.party == party.id)
                        & log.action.in_(RELEASES)))))
        now = dt.datetime.now()
        rows = [[
                party_id, owner, 'release',
                dt.datetime.combine(date, dt.time()) if date else now,
                0, now]
            for party_id, owner, date in cursor]
        columns = [log.party, log.from_owner, log.action, log.date,
            log.create_uid, log.create_date]
        for sub_rows in grouped_slice(
                rows, backend.MAX_QUERY_PARAMS // len(columns)):
            cursor.execute(*log.insert(columns, list(sub_rows)))

    @classmethod
    def default_pool(cls):
        if Transaction().context.get('default_customer_nature'):
            config = Pool().get('crm.configuration')(1)
            return config.default_pool.id if config.default_pool else None

    @classmethod
    def preprocess_values(cls, mode, values):
        pool = Pool()
        Date = pool.get('ir.date')
        values = super().preprocess_values(mode, values)
        if (mode == 'create' and values.get('customer_nature')
                and not values.get('owner') and not values.get('pool')):
            values.update(cls._default_ownership())
        if values.get('owner'):
            values.setdefault('owner_since', Date.today())
        elif mode == 'write' and 'owner' in values:
            values.setdefault('owner_since', None)
            values.setdefault('released_date', Date.today())
        return values

    @classmethod
    def _default_ownership(cls):
        """Return the owner or the pool of a customer created without
        either: its creator in the CRM owns it, else the default pool has
        it, so that someone may claim it"""
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        employee = current_employee()
        if employee and is_crm_user():
            return {'owner': employee.id}
        default_pool = Configuration(1).default_pool
        return {'pool': default_pool.id} if default_pool else {}

    @classmethod
    def on_write(cls, parties, values):
        callbacks = super().on_write(parties, values)
        if 'owner' in values:
            owner = values['owner']
            owner = int(owner) if owner is not None else None
            changed = [p for p in parties
                if (p.owner.id if p.owner else None) != owner]
            if changed:
                callbacks.append(cls._owners_changed(changed, owner))
        return callbacks

    @classmethod
    def _owners_changed(cls, parties, owner_id):
        """Return the function that logs the change of owner of the parties
        to owner_id, by the action and reason of the context, and ends
        their shares"""
        pool = Pool()
        Employee = pool.get('company.employee')
        OwnershipLog = pool.get('crm.ownership.log')
        Share = pool.get('crm.customer.share')
        context = Transaction().context
        owner = Employee(owner_id) if owner_id is not None else None
        logs = OwnershipLog.changes(parties, owner,
            context.get('_crm_owner_action'), context.get('_crm_owner_reason'))

        def changed():
            with without_check_access():
                OwnershipLog.save(logs)
                Share.delete(Share.search([
                            ('party', 'in', [p.id for p in parties]),
                            ]))
        return changed

    @classmethod
    def check_modification(cls, mode, parties, values=None, external=False):
        super().check_modification(
            mode, parties, values=values, external=external)
        if (mode == 'write' and external
                and 'owner' in values and not is_crm_admin()):
            raise AccessError(gettext(
                    'crm_plus.msg_customer_owner_write',
                    customer=parties[0].rec_name if parties else ''))
        if mode == 'create' and Transaction().user:
            cls.check_owners_quota(parties)

    @classmethod
    def check_owners_quota(cls, parties):
        """The new customers count in the quota of their owners, as claims
        do: creating or converting a lead cannot go around it"""
        Employee = Pool().get('company.employee')
        owners = sorted({p.owner for p in parties if p.owner}, key=int)
        if not owners:
            return
        # Serialize with the claims and creations for the same owners
        Employee.touch(owners)
        for owner in owners:
            cls.check_quota([p for p in parties if p.owner == owner], owner)

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'create':
            OwnershipLog = Pool().get('crm.ownership.log')
            OwnershipLog.record(
                [p for p in parties if p.owner], 'create',
                lambda p: p.owner)

    @classmethod
    def get_previous_owner(cls, parties, name):
        OwnershipLog = Pool().get('crm.ownership.log')
        return OwnershipLog.released_by(parties)

    @classmethod
    def copy(cls, parties, default=None):
        default = default.copy() if default is not None else {}
        for name in ['owner', 'owner_since',
                'released_date', 'release_warned', 'ownership_logs',
                'watchers', 'shares', 'follow_up_count',
                'last_contact_date', 'next_contact_date',
                'last_opportunity_date', 'last_deal_date']:
            default.setdefault(name, None)
        return super().copy(parties, default=default)

    @classmethod
    @ModelView.button_action('crm_plus.wizard_claim')
    def claim(cls, parties):
        """Take customers from their pool for the user, and show them to him
        in a wizard that refreshes the list of the pool"""
        employee = cls._acting_employee()
        cls.take_ownership(parties, employee, 'claim')

    @classmethod
    @ModelView.button
    def release(cls, parties, reason=None):
        "Give customers back to their pool"
        touch_rows(cls, parties)
        owned = [p for p in parties if p.owner]
        cls.check_releasable(owned)
        cls._set_owner(owned, None, 'release', reason=reason)

    @classmethod
    def check_releasable(cls, parties):
        "The owner or a manager of the owner releases a customer to its pool"
        managed = managed_employees(current_employee())
        admin = is_crm_admin()
        for party in parties:
            if not admin and party.owner.id not in managed:
                raise OwnershipError(gettext(
                        'crm_plus.msg_customer_release_not_owner',
                        customer=party.rec_name,
                        owner=party.owner.rec_name))
            if not party.pool:
                raise OwnershipError(gettext(
                        'crm_plus.msg_customer_release_no_pool',
                        customer=party.rec_name))

    @classmethod
    def refuse_hidden_button(cls, name):
        if name == 'claim':
            raise OwnershipError(gettext(
                    'crm_plus.msg_customer_claimed_hidden'))
        super().refuse_hidden_button(name)

    @classmethod
    def refuse_button(cls, name, party):
        "Say why the customer may not be claimed, released or marked"
        employee = current_employee()
        if name in {'claim', 'request_lock'} and employee:
            cls.check_claimable([party], employee)
        elif name == 'release' and party.owner:
            cls.check_releasable([party])
        elif name == 'toggle_key':
            cls.check_key_customer_owner([party])
        super().refuse_button(name, party)

    @classmethod
    @ModelView.button_action('crm_plus.act_lock_request_new')
    def request_lock(cls, parties):
        pass

    @classmethod
    @ModelView.button_action('crm_plus.wizard_assign')
    def assign(cls, parties):
        pass

    @classmethod
    def _acting_employee(cls):
        employee = current_employee()
        if not employee:
            raise OwnershipError(gettext('crm_plus.msg_no_employee'))
        return employee

    @classmethod
    def take_ownership(cls, parties, employee, action, reason=None):
        """Make employee the owner of the parties after checking the pool,
        cooldown, daily cap and quota rules under row locks"""
        pool = Pool()
        Employee = pool.get('company.employee')
        # Concurrent claims of a customer or by the employee wait for each
        # other; the one that waited restarts and sees what was claimed
        touch_rows(cls, parties)
        Employee.touch([employee])
        parties = [p for p in parties if p.owner != employee]
        if action in {'claim', 'lock'}:
            cls.check_claimable(parties, employee)
        if action == 'claim':
            cls.check_daily_cap(parties, employee)
        cls.check_quota(parties, employee)
        cls._set_owner(parties, employee, action, reason=reason)

    @classmethod
    def check_claimable(cls, parties, employee):
        pool = Pool()
        Configuration = pool.get('crm.configuration')
        Date = pool.get('ir.date')
        cooldown = Configuration(1).cooldown_days or 0
        today = Date.today()
        for party in parties:
            if party.owner:
                raise OwnershipError(gettext(
                        'crm_plus.msg_customer_already_owned',
                        customer=party.rec_name,
                        owner=party.owner.rec_name))
            if not party.pool or not party.pool.may_claim(employee):
                raise OwnershipError(gettext(
                        'crm_plus.msg_customer_pool_not_allowed',
                        customer=party.rec_name,
                        pool=party.pool.rec_name if party.pool else '',
                        employee=employee.rec_name))
            if (cooldown and party.previous_owner == employee
                    and party.released_date
                    and party.released_date + dt.timedelta(days=cooldown)
                    > today):
                raise OwnershipError(gettext(
                        'crm_plus.msg_customer_cooldown',
                        customer=party.rec_name,
                        days=cooldown,
                        date=party.released_date
                        + dt.timedelta(days=cooldown)))

    @classmethod
    def check_quota(cls, parties, employee):
        quota = employee.get_crm_quota()
        if quota is None or not parties:
            return
        # not counting the parties themselves: new ones are already owned
        owned = cls.search_count([
                ('owner', '=', employee.id),
                ('id', 'not in', [p.id for p in parties]),
                ])
        if owned + len(parties) > quota:
            raise QuotaError(gettext(
                    'crm_plus.msg_customer_quota_exceeded',
                    employee=employee.rec_name, quota=quota, owned=owned,
                    count=len(parties)))

    @classmethod
    def check_daily_cap(cls, parties, employee):
        pool = Pool()
        OwnershipLog = pool.get('crm.ownership.log')
        cap = employee.get_crm_daily_claim_cap()
        if cap is None or not parties:
            return
        claimed = OwnershipLog.claims_today(employee)
        if claimed + len(parties) > cap:
            raise QuotaError(gettext(
                    'crm_plus.msg_customer_daily_cap_exceeded',
                    employee=employee.rec_name, cap=cap, claimed=claimed,
                    count=len(parties)))

    @classmethod
    def _set_owner(cls, parties, employee, action, reason=None):
        "Make employee the owner of the parties, logged as action"
        if not parties:
            return
        values = {'owner': employee.id if employee else None,
            'release_warned': None}
        if not employee:
            values['key_customer'] = False
        with without_check_access(), Transaction().set_context(
                _crm_owner_action=action, _crm_owner_reason=reason):
            cls.write(parties, values)

    @classmethod
    def assign_to(cls, parties, employee, reason=None):
        "Assign or transfer customers to employee, in bulk"
        Employee = Pool().get('company.employee')
        # Checked and split on the owners of locked rows
        touch_rows(cls, parties)
        Employee.touch([employee])
        if not is_crm_admin():
            managed = managed_employees(current_employee())
            if employee.id not in managed:
                raise OwnershipError(gettext(
                        'crm_plus.msg_assign_employee_not_managed',
                        employee=employee.rec_name))
            for party in parties:
                if party.owner and party.owner.id not in managed:
                    raise OwnershipError(gettext(
                            'crm_plus.msg_assign_customer_not_managed',
                            customer=party.rec_name,
                            owner=party.owner.rec_name))
        transfers = [p for p in parties if p.owner]
        assigns = [p for p in parties if not p.owner]
        cls.take_ownership(transfers, employee, 'transfer', reason=reason)
        cls.take_ownership(assigns, employee, 'assign', reason=reason)

    @classmethod
    def release_customers(cls):
        """Release to their pool the customers the release rules expire and
        warn the owners of those about to be released.

        Each rule is one set-based statement, so the job does not depend on
        the number of customers. Running it twice releases nothing more."""
        pool = Pool()
        Date = pool.get('ir.date')
        CustomerPool = pool.get('crm.pool')
        party = cls.__table__()
        today = Date.today()
        for customer_pool in CustomerPool.search([]):
            rules = customer_pool.release_rules
            for rule in rules:
                cls._release_matching(
                    party, rule.get_condition(party, today, rules))
            if customer_pool.warning_days:
                later = today + dt.timedelta(days=customer_pool.warning_days)
                cls._warn_matching(party, customer_pool, [
                        rule.get_condition(party, later, rules)
                        for rule in rules])
        cls.clear_record_cache()

    @classmethod
    def _release_matching(cls, party, condition):
        pool = Pool()
        Date = pool.get('ir.date')
        OwnershipLog = pool.get('crm.ownership.log')
        Share = pool.get('crm.customer.share')
        log = OwnershipLog.__table__()
        share = Share.__table__()
        cursor = Transaction().connection.cursor()
        today = Date.today()
        user = Transaction().user
        now = dt.datetime.now()
        cursor.execute(*log.insert(
                [log.party, log.date, log.action, log.from_owner,
                    log.create_uid, log.create_date],
                party.select(party.id, Literal(now), Literal('auto_release'),
                    party.owner, Literal(user), Literal(now),
                    where=condition)))
        cursor.execute(*share.delete(where=Exists(party.select(Literal(1),
                        where=(party.id == share.party) & condition))))
        cursor.execute(*party.update(
                [party.owner, party.owner_since, party.released_date,
                    party.key_customer, party.release_warned],
                [Null, Null, today, Literal(False), Null],
                where=condition))
        forget_cached(cls)

    @classmethod
    def _warn_matching(cls, party, customer_pool, conditions):
        pool = Pool()
        Date = pool.get('ir.date')
        cursor = Transaction().connection.cursor()
        if not conditions:
            return
        condition = Or(conditions) & (party.release_warned == Null)
        warn = party.update(
            [party.release_warned], [Date.today()], where=condition)
        if Transaction().database.has_returning():
            warn.returning = [party.owner]
            cursor.execute(*warn)
            counts = Counter(owner for owner, in cursor)
        else:
            cursor.execute(*party.select(party.owner, Count(Literal(1)),
                    where=condition, group_by=[party.owner]))
            counts = dict(cursor)
            cursor.execute(*warn)
        if not counts:
            return
        forget_cached(cls)
        cls.notify_release_warning(customer_pool, counts)

    @classmethod
    def notify_release_warning(cls, customer_pool, counts):
        "Notify each owner how many customers return to the pool soon"
        pool = Pool()
        Employee = pool.get('company.employee')
        ModelData = pool.get('ir.model.data')
        action_id = ModelData.get_id('crm_plus', 'act_customer_releasing')
        notify_each([(employee, {
                        'count': counts[employee.id],
                        'pool': customer_pool.rec_name,
                        'days': customer_pool.warning_days,
                        })
                for employee in Employee.browse(list(counts))],
            'crm_plus.msg_release_warning_label',
            'crm_plus.msg_release_warning', action=action_id)


class OwnershipLog(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.ownership.log'
    __string__ = "Ownership Log"
    party = fields.Many2One(
        'party.party', "Customer", required=True, readonly=True,
        ondelete='CASCADE')
    date = fields.DateTime("Date", required=True, readonly=True)
    action = fields.Selection(ACTIONS, "Action", required=True, readonly=True)
    from_owner = fields.Many2One(
        'company.employee', "From Owner", readonly=True, ondelete='SET NULL')
    to_owner = fields.Many2One(
        'company.employee', "To Owner", readonly=True, ondelete='SET NULL')
    employee = fields.Many2One(
        'company.employee', "Changed By", readonly=True, ondelete='SET NULL')
    reason = fields.Char("Reason", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('party')
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.party, Index.Equality())),
                Index(t,
                    (t.employee, Index.Equality()),
                    (t.date, Index.Range()),
                    where=t.action == 'claim'),
                })

    @classmethod
    def default_date(cls):
        return dt.datetime.now()

    @classmethod
    def check_modification(cls, mode, logs, values=None, external=False):
        super().check_modification(
            mode, logs, values=values, external=external)
        if external and mode in {'write', 'delete'}:
            raise AccessError(gettext('crm_plus.msg_ownership_log_readonly'))

    @classmethod
    def record(cls, parties, action, new_owner, reason=None):
        "Log the change of owner of parties to new_owner(party)"
        employee = current_employee()
        with without_check_access():
            cls.save([cls(
                        party=p, action=action, from_owner=p.owner
                        if action != 'create' else None,
                        to_owner=new_owner(p), employee=employee,
                        reason=reason)
                    for p in parties])

    @classmethod
    def changes(cls, parties, owner, action=None, reason=None):
        """Return the unsaved logs of the change of owner of the parties to
        owner, by action or else by the kind of change"""
        employee = current_employee()
        return [cls(party=p, from_owner=p.owner, to_owner=owner,
                action=action or cls._change_action(p.owner, owner),
                employee=employee, reason=reason)
            for p in parties]

    @classmethod
    def _change_action(cls, from_owner, to_owner):
        if not to_owner:
            return 'release'
        return 'transfer' if from_owner else 'assign'

    @classmethod
    def released_by(cls, parties):
        "Return the owner each party was last released by, by party id"
        log = cls.__table__()
        last = cls.__table__()
        cursor = Transaction().connection.cursor()
        owners = dict.fromkeys(map(int, parties))
        for sub_ids in grouped_slice(list(owners), backend.MAX_QUERY_PARAMS):
            cursor.execute(*log.select(log.party, log.from_owner,
                    where=log.id.in_(last.select(Max(last.id),
                            where=reduce_ids(last.party, sub_ids)
                            & last.action.in_(RELEASES),
                            group_by=[last.party]))))
            owners.update(cursor)
        return owners

    @classmethod
    def claims_today(cls, employee):
        """Return how many customers the employee claimed since midnight in
        the time zone of his company"""
        Date = Pool().get('ir.date')
        timezone = employee.company.timezone
        today = Date.today(get_tzinfo(timezone) if timezone else None)
        start = local_midnight(today, timezone)
        return cls.search_count([
                ('employee', '=', employee.id),
                ('action', '=', 'claim'),
                ('date', '>=', start),
                ])


class LockRequest(
        DataRulesMixin, ApprovalMixin, Workflow, ModelSQL, ModelView):
    __name__ = 'crm.lock.request'
    __string__ = "Lock Request"
    _states = {'readonly': Eval('state') != 'requested'}
    _requested = {
        'readonly': (_states['readonly']
            | (Eval('approval_state') == 'pending')),
        }
    party = fields.Many2One(
        'party.party', "Customer", required=True, ondelete='CASCADE',
        domain=[('customer_nature', '!=', None)], states=_requested)
    employee = fields.Many2One(
        'company.employee', "Requester", required=True, states=_requested)
    approver = fields.Function(
        fields.Many2One('company.employee', "Approver"),
        'on_change_with_approver')
    can_decide = fields.Function(
        fields.Boolean("Can Decide"), 'get_can_decide')
    reason = fields.Text("Reason", states=_requested)
    comment = fields.Text(
        "Comment", states=_states,
        help="The comment of the approver, kept in the approval history.")
    decided_by = fields.Many2One(
        'company.employee', "Decided By", readonly=True)
    state = fields.Selection([
            ('requested', "Requested"),
            ('approved', "Approved"),
            ('rejected', "Rejected"),
            ('cancelled', "Cancelled"),
            ], "State", required=True, readonly=True, sort=False)
    del _states, _requested

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_constraints += [
            ('party_employee_requested',
                Exclude(t, (t.party, Equal), (t.employee, Equal),
                    where=t.state == 'requested'),
                'crm_plus.msg_lock_request_pending'),
            ]
        cls._order.insert(0, ('create_date', 'DESC'))
        # Listed as when requested: to the second, as the other times
        cls.create_date.format = '%H:%M:%S'
        cls._transitions |= {
            ('requested', 'approved'),
            ('requested', 'rejected'),
            ('requested', 'cancelled'),
            ('approved', 'requested'),
            }
        requested = Eval('state') == 'requested'
        pending = requested & (Eval('approval_state') == 'pending')
        deciding = pending & Eval('can_decide', False)
        depends = ['state', 'approval_state']
        cls._buttons.update({
                'approve': {
                    'invisible': ~deciding,
                    'depends': depends + ['can_decide'],
                    },
                'reject': {
                    'invisible': ~deciding,
                    'depends': depends + ['can_decide'],
                    },
                'cancel': {'invisible': ~requested, 'depends': ['state']},
                'submit': {
                    'invisible': ~requested | pending,
                    'icon': 'tryton-forward',
                    'depends': depends,
                    },
                })

    @classmethod
    def default_state(cls):
        return 'requested'

    @classmethod
    def default_employee(cls):
        return Transaction().context.get('employee')

    @classmethod
    def default_party(cls):
        context = Transaction().context
        if context.get('active_model') == 'party.party':
            return context.get('active_id')

    @fields.depends('employee', 'approval')
    def on_change_with_approver(self, name=None):
        if self.approval:
            return self.approval.approver
        if self.employee and self.employee.supervisor:
            return self.employee.supervisor

    def get_rec_name(self, name):
        return '%s (%s)' % (self.party.rec_name, self.employee.rec_name)

    def get_can_decide(self, name):
        return bool(self.approval and self.approval.can_decide)

    @classmethod
    def refuse_button(cls, name, request):
        if name in {'approve', 'reject'}:
            request.pending_approvals()[0].check_decidable()
        super().refuse_button(name, request)

    def get_approval_company(self):
        return self.employee.company

    @classmethod
    def _approved_fields(cls):
        return super()._approved_fields() | {'party', 'employee', 'reason'}

    @classmethod
    def _approval_transitions(cls):
        return {
            ('requested', 'approved'),
            ('requested', 'rejected'),
            ('approved', 'requested'),
            }

    @classmethod
    def on_modification(cls, mode, requests, field_names=None):
        super().on_modification(mode, requests, field_names=field_names)
        if mode == 'create':
            cls.request_approval(requests)

    @classmethod
    @ModelView.button
    def approve(cls, requests):
        "Approve the current step of the approval of the requests"
        Approval = Pool().get('crm.approval.request')
        for request in requests:
            Approval.approve(request.pending_approvals(), request.comment)

    @classmethod
    @ModelView.button
    def reject(cls, requests):
        "Reject the approval of the requests"
        Approval = Pool().get('crm.approval.request')
        for request in requests:
            Approval.reject(request.pending_approvals(), request.comment)

    @classmethod
    @check_write_rule
    @ModelView.button
    def submit(cls, requests):
        "Ask again for the approval of the requests whose one was reversed"
        cls.request_approval([r for r in requests
                if r.state == 'requested' and r.approval_state != 'pending'])

    def pending_approvals(self):
        if self.approval and self.approval.state == 'pending':
            return [self.approval]
        raise ApprovalError(gettext(
                'crm_plus.msg_approval_not_pending',
                request=self.rec_name, state=self.state_string))

    state_string = state.translated('state')

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('cancelled')
    def cancel(cls, requests):
        cls.cancel_approval(requests)

    @classmethod
    @Workflow.transition('approved')
    def approval_approved(cls, requests):
        "Make the requesters the owners of the customers"
        Party = Pool().get('party.party')
        for request in requests:
            Party.take_ownership(
                [request.party], request.employee, 'lock',
                reason=request.reason)
        cls.write(requests, {'decided_by': current_employee()})

    @classmethod
    @Workflow.transition('rejected')
    def approval_rejected(cls, requests):
        cls.write(requests, {'decided_by': current_employee()})

    @classmethod
    def _reversible_states(cls):
        return super()._reversible_states() | {'approved'}

    @classmethod
    @Workflow.transition('requested')
    def approval_reversed(cls, requests):
        """Give back to their pool the customers that the requesters still
        own, without the cooldown of a release: the lock never was"""
        pool = Pool()
        Party = pool.get('party.party')
        for request in requests:
            party = request.party
            if party.owner == request.employee:
                with without_check_access(), Transaction().set_context(
                        _crm_owner_action='lock_reversed',
                        _crm_owner_reason=(
                            request.approval.history[-1].comment)):
                    Party.write([party], {
                            'owner': None, 'key_customer': False,
                            'release_warned': None,
                            'released_date': party.released_date,
                            })
        cls.write(requests, {'decided_by': None})


class ClaimDone(ModelView):
    __name__ = 'crm.customer.claim.done'
    __string__ = "Customers Claimed"
    customers = fields.Many2Many(
        'party.party', None, None, "Customers", readonly=True)


class Claim(DataRulesWizardMixin, Wizard):
    "Show the customers that the user just claimed"
    __name__ = 'crm.customer.claim'
    __string__ = "Customers Claimed"
    start_state = 'done'
    done = StateView('crm.customer.claim.done',
        'crm_plus.customer_claim_done_view_form', [
            Button("OK", 'end', 'tryton-ok', default=True),
            ])

    def default_done(self, fields):
        return {'customers': [r.id for r in self.records]}

    def end(self):
        # The customers leave the list of the pool
        return 'reload'


class AssignStart(ModelView):
    __name__ = 'crm.customer.assign.start'
    __string__ = "Assign Customers"
    employee = fields.Many2One(
        'company.employee', "Employee", required=True,
        domain=[('company', '=', Eval('company', -1))])
    company = fields.Many2One('company.company', "Company", readonly=True)
    reason = fields.Char("Reason")

    @classmethod
    def default_company(cls):
        return Transaction().context.get('company')


class Assign(DataRulesWizardMixin, Wizard):
    __name__ = 'crm.customer.assign'
    __string__ = "Assign Customers"
    start = StateView('crm.customer.assign.start',
        'crm_plus.customer_assign_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Assign", 'assign', 'tryton-ok', default=True),
            ])
    assign = StateTransition()

    def transition_assign(self):
        self.model.assign_to(
            list(self.records), self.start.employee, self.start.reason)
        return 'end'

    def end(self):
        # The customers leave the list of the pool
        return 'reload'
