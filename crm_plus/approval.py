# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The approval engine (审批流程): flows of steps per document type, the
requests that run them, their history and the reminders to approvers."""

import datetime as dt
import json
from collections import defaultdict
from email.message import EmailMessage

from trytond import backend, config
from trytond.i18n import gettext
from trytond.model import (
    DeactivableMixin, Index, ModelSQL, ModelView, Workflow, fields,
    sequence_ordered)
from trytond.model.exceptions import AccessError
from trytond.pool import Pool
from trytond.pyson import Eval
from trytond.sendmail import send_message_transactional
from trytond.tools import grouped_slice, reduce_ids
from trytond.transaction import Transaction, without_check_access
from trytond.wizard import Button, StateTransition, StateView, Wizard

from .access import DataRulesMixin, DataRulesWizardMixin
from .company import current_employee, employee_users, is_crm_admin
from .exceptions import ApprovalError
from .model import check_write_rule
from .notify import notify_employees

REMINDER_INTERVAL = dt.timedelta(days=1)


def document_models():
    "Return the (model, name) couples of the documents that need approval"
    IrModel = Pool().get('ir.model')
    return IrModel.get_name_items(ApprovalMixin)


class ApprovalMixin:
    """A document that takes effect only once its approval flow approves it.

    The document has a company, an employee (the requester) and a Workflow
    state with a wait transition to its waiting state.  Its submit button
    calls submit_drafts; with a transition from waiting back to draft, its
    withdraw button takes the document back.  It implements the
    approval_approved and approval_rejected hooks, which the engine runs
    without access checks when the flow ends, and approval_reversed, which
    it runs when an approver reverses the approval (反审核) of a document in
    one of its _reversible_states."""
    __slots__ = ()
    approval = fields.Many2One(
        'crm.approval.request', "Approval", readonly=True,
        ondelete='RESTRICT',
        states={'invisible': ~Eval('approval')})
    approval_state = fields.Function(fields.Selection(
            'get_approval_states', "Approval State",
            states={'invisible': ~Eval('approval')}),
        'on_change_with_approval_state', searcher='search_approval_state')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        state = cls._transition_state
        cls._buttons.update({
                'reverse_approval': {
                    'invisible': (
                        ~Eval(state).in_(sorted(cls._reversible_states()))
                        | (Eval('approval_state') != 'approved')),
                    'icon': 'tryton-undo',
                    'depends': [state, 'approval_state'],
                    },
                })

    @classmethod
    def get_approval_states(cls):
        Request = Pool().get('crm.approval.request')
        return [(None, '')] + Request.fields_get(
            ['state'])['state']['selection']

    @fields.depends('approval')
    def on_change_with_approval_state(self, name=None):
        return self.approval.state if self.approval else None

    @classmethod
    def search_approval_state(cls, name, clause):
        _, operator, *value = clause
        return [('approval.state', operator, *value)]

    @classmethod
    def _approval_transitions(cls):
        """Return the (from, to) state changes that a write may not do:
        by default, every change goes through a button or the flow"""
        return set(cls._transitions)

    @classmethod
    def _approved_fields(cls):
        """Return the names of the fields that the approval decides on:
        they change only in the initial state, and not while an approval
        is pending"""
        return set()

    @classmethod
    def submit_drafts(cls, records):
        "Move the draft records to waiting and start their approval flow"
        drafts = [r for r in records
            if getattr(r, cls._transition_state) == 'draft']
        cls.wait(drafts)
        cls.request_approval(drafts)

    @classmethod
    @check_write_rule
    @ModelView.button
    @Workflow.transition('draft')
    def withdraw(cls, records):
        """Take the waiting records back to draft and cancel their approval
        (撤回), so that the requester can change them and submit again"""
        cls.check_withdrawer(records)
        cls.cancel_approval(records)

    @classmethod
    def check_withdrawer(cls, records):
        "Only the requester of the approval or a CRM manager withdraws it"
        if is_crm_admin():
            return
        employee = current_employee()
        for record in records:
            requester = (record.approval.requester if record.approval
                else record.get_approval_requester())
            if requester != employee:
                raise ApprovalError(gettext(
                        'crm_plus.msg_approval_withdraw_not_requester',
                        document=record.rec_name,
                        requester=requester.rec_name if requester else ''))

    @classmethod
    def request_approval(cls, records):
        """Start the approval flow of the records.

        The records that no step applies to are approved at once."""
        Request = Pool().get('crm.approval.request')
        Request.submit(records)

    @classmethod
    def cancel_approval(cls, records):
        "Cancel the pending approval requests of the records"
        Request = Pool().get('crm.approval.request')
        Request.cancel([r.approval for r in records
                if r.approval and r.approval.state == 'pending'])

    @classmethod
    def approval_approved(cls, records):
        "Hook run when the approval flow of the records ends approved"

    @classmethod
    def approval_rejected(cls, records):
        "Hook run when an approver rejects the records"

    @classmethod
    def _reversible_states(cls):
        """Return the states in which the approval of a document may be
        reversed: those its approval leads to, before anything came of it"""
        return set()

    @classmethod
    @ModelView.button_action('crm_plus.wizard_approval_reverse')
    def reverse_approval(cls, records):
        "Ask for the reason to reverse the approval of the records (反审核)"

    @classmethod
    def approved_requests(cls, records):
        "Return the approved requests of the records, whose approval reverses"
        for record in records:
            if not record.approval or record.approval.state != 'approved':
                raise ApprovalError(gettext(
                        'crm_plus.msg_approval_reverse_no_request',
                        document=record.rec_name))
        return [r.approval for r in records]

    @classmethod
    def check_approval_reversible(cls, records):
        "Refuse to reverse the approval of what came of it (spent, won…)"
        name = cls._transition_state
        states = cls._reversible_states()
        for record in records:
            if getattr(record, name) not in states:
                raise ApprovalError(gettext(
                        'crm_plus.msg_approval_reverse_state',
                        document=record.rec_name,
                        state=cls.__names__(name, record)['value']))

    @classmethod
    def approval_reversed(cls, records):
        """Hook run when the approval of the records is reversed: take them
        back to a state in which they are changed and submitted again"""

    def get_approval_company(self):
        return self.company

    def get_approval_requester(self):
        "Return the employee whose supervisors approve the document"
        return self.employee

    def get_approval_amount(self):
        "Return the amount the step thresholds compare with, if any"

    @classmethod
    def check_modification(cls, mode, records, values=None, external=False):
        super().check_modification(
            mode, records, values=values, external=external)
        if external and mode == 'create':
            cls.check_approval_create(records)
        elif external and mode == 'write':
            cls.check_approval_write(records, values)
        elif mode == 'delete':
            cls.check_approval_delete(records)

    @classmethod
    def check_approval_delete(cls, records):
        "Refuse to delete a document that its approvers are deciding on"
        for record in records:
            if record.approval and record.approval.state == 'pending':
                raise AccessError(gettext(
                        'crm_plus.msg_approval_delete_pending',
                        document=record.rec_name))

    @classmethod
    def check_approval_create(cls, records):
        "Refuse to create (or import) a document past its approval"
        name = cls._transition_state
        initial = cls._defaults[name]()
        for record in records:
            if getattr(record, name) != initial or record.approval:
                raise AccessError(gettext(
                        'crm_plus.msg_approval_create_state',
                        document=record.rec_name))

    @classmethod
    def check_approval_write(cls, records, values):
        """Refuse to link an approval or to write a state that skips one.

        Buttons write the state through their workflow transitions; only
        the engine, which runs without access checks, does the transitions
        of _approval_transitions."""
        name = cls._transition_state
        cls.check_approved_fields(records, values)
        if 'approval' in values:
            raise AccessError(gettext(
                    'crm_plus.msg_approval_link_write',
                    document=records[0].rec_name if records else ''))
        if name not in values:
            return
        state = values[name]
        for record in records:
            current = getattr(record, name)
            transition = (current, state)
            if current != state and (
                    transition in cls._approval_transitions()
                    or transition not in cls._transitions):
                raise AccessError(gettext(
                        'crm_plus.msg_approval_state_write',
                        document=record.rec_name))

    @classmethod
    def check_approved_fields(cls, records, values):
        "Refuse to change what the approval decided on once submitted"
        name = cls._transition_state
        initial = cls._defaults[name]()
        changed = sorted(cls._approved_fields() & values.keys())
        if not changed:
            return
        for record in records:
            pending = record.approval and record.approval.state == 'pending'
            if getattr(record, name) != initial or pending:
                names = cls.__names__(changed[0], record)
                raise AccessError(gettext(
                        'crm_plus.msg_approval_field_write',
                        field=names['field'],
                        document=names['record'],
                        state=cls.__names__(name, record)['value']))

    @classmethod
    def copy(cls, records, default=None):
        default = default.copy() if default is not None else {}
        default.setdefault('approval', None)
        return super().copy(records, default=default)


class ApprovalFlow(DataRulesMixin, DeactivableMixin, ModelSQL, ModelView):
    __name__ = 'crm.approval.flow'
    __string__ = "Approval Flow"
    name = fields.Char("Name", required=True, translate=True)
    company = fields.Many2One(
        'company.company', "Company",
        help="Leave empty to use the flow in every company.")
    model = fields.Selection(
        'get_models', "Document", required=True,
        help="The type of document the flow approves.")
    steps = fields.One2Many('crm.approval.step', 'flow', "Steps")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('model', 'ASC'))

    @classmethod
    def get_models(cls):
        return document_models()

    @classmethod
    def get_flow(cls, document):
        "Return the flow of the document, the company's one first"
        company = document.get_approval_company()
        flows = cls.search([
                ('model', '=', document.__name__),
                ('company', 'in', [company.id if company else None, None]),
                ])
        flows.sort(key=lambda f: f.company is None)
        return flows[0] if flows else None


class ApprovalStep(
        DataRulesMixin, sequence_ordered(), ModelSQL, ModelView):
    __name__ = 'crm.approval.step'
    __string__ = "Approval Step"
    flow = fields.Many2One(
        'crm.approval.flow', "Flow", required=True, ondelete='CASCADE')
    name = fields.Char("Name", required=True, translate=True)
    approver_kind = fields.Selection([
            ('supervisor', "Supervisor of the Requester"),
            ('group', "Group"),
            ('user', "User"),
            ], "Approver", required=True, sort=False)
    level = fields.Integer(
        "Level",
        domain=['OR', ('level', '=', None), ('level', '>=', 1)],
        states={
            'invisible': Eval('approver_kind') != 'supervisor',
            'required': Eval('approver_kind') == 'supervisor',
            },
        help="1 for the direct supervisor, 2 for the supervisor's "
        "supervisor and so on.")
    group = fields.Many2One(
        'res.group', "Group", ondelete='RESTRICT',
        states={
            'invisible': Eval('approver_kind') != 'group',
            'required': Eval('approver_kind') == 'group',
            },
        help="Any user of the group may decide.")
    user = fields.Many2One(
        'res.user', "User", ondelete='RESTRICT',
        states={
            'invisible': Eval('approver_kind') != 'user',
            'required': Eval('approver_kind') == 'user',
            })
    min_amount = fields.Numeric(
        "Minimal Amount", digits=(16, 2),
        help="The step applies only to documents of at least this amount.")

    @classmethod
    def default_approver_kind(cls):
        return 'supervisor'

    @classmethod
    def default_level(cls):
        return 1

    def applies_to(self, amount):
        return self.min_amount is None or (
            amount is not None and amount >= self.min_amount)

    def get_approver(self, requester):
        "Return the employee who approves for requester, if any"
        if self.approver_kind != 'supervisor':
            return None
        employee = requester
        for _ in range(self.level or 1):
            employee = employee.supervisor if employee else None
        return employee


class ApprovalRequest(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.approval.request'
    __string__ = "Approval Request"
    company = fields.Many2One(
        'company.company', "Company", required=True, readonly=True)
    document = fields.Reference(
        "Document", selection='get_documents', required=True, readonly=True)
    flow = fields.Many2One(
        'crm.approval.flow', "Flow", required=True, readonly=True,
        ondelete='RESTRICT')
    step = fields.Many2One(
        'crm.approval.step', "Current Step", readonly=True,
        ondelete='RESTRICT')
    approver = fields.Many2One(
        'company.employee', "Approver", readonly=True,
        help="The supervisor who approves the current step.")
    approvers = fields.Function(
        fields.Char("Waiting For"), 'get_approvers')
    requester = fields.Many2One(
        'company.employee', "Requester", required=True, readonly=True)
    amount = fields.Numeric("Amount", digits=(16, 2), readonly=True)
    state = fields.Selection([
            ('pending', "Pending"),
            ('approved', "Approved"),
            ('rejected', "Rejected"),
            ('cancelled', "Cancelled"),
            ('reversed', "Reversed"),
            ], "State", required=True, readonly=True, sort=False)
    state_string = state.translated('state')
    history = fields.One2Many(
        'crm.approval.history', 'request', "History", readonly=True)
    notified_date = fields.DateTime(
        "Notified On", readonly=True,
        help="When the approvers were last notified.")
    to_approve = fields.Function(
        fields.Boolean("To Approve"), 'get_to_approve',
        searcher='search_to_approve')
    can_decide = fields.Function(
        fields.Boolean("Can Decide"), 'get_can_decide')

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls._order.insert(0, ('create_date', 'DESC'))
        # Listed as when requested: to the second, as the other times
        cls.create_date.format = '%H:%M:%S'
        t = cls.__table__()
        cls._sql_indexes.update({
                Index(t, (t.document, Index.Equality())),
                Index(t, (t.approver, Index.Equality()),
                    where=t.state == 'pending'),
                Index(t, (t.notified_date, Index.Range()),
                    where=t.state == 'pending'),
                })
        cls._buttons.update({
                'decide': {
                    'invisible': ~Eval('can_decide', False),
                    'depends': ['can_decide'],
                    },
                'reverse_approval': {
                    'invisible': Eval('state') != 'approved',
                    'icon': 'tryton-undo',
                    'depends': ['state'],
                    },
                })

    @classmethod
    def default_state(cls):
        return 'pending'

    @classmethod
    def get_documents(cls):
        return document_models()

    def get_rec_name(self, name):
        return self.document.rec_name if self.document else str(self.id)

    def get_approvers(self, name):
        if self.state != 'pending' or not self.step:
            return None
        step = self.step
        if step.approver_kind == 'group':
            return step.group.rec_name
        if step.approver_kind == 'user':
            return step.user.rec_name
        if self.approver:
            return self.approver.rec_name
        return gettext('crm_plus.msg_approval_crm_managers')

    def is_approver(self):
        "Tell whether the user approves the current step"
        User = Pool().get('res.user')
        step = self.step
        if self.state != 'pending' or not step:
            return False
        if step.approver_kind == 'group':
            return step.group.id in User.get_groups()
        if step.approver_kind == 'user':
            return step.user.id == Transaction().user
        return bool(self.approver
            and self.approver.id in User.get_employees())

    def get_to_approve(self, name):
        return self.is_approver()

    def get_can_decide(self, name):
        "Tell whether the user may approve or reject the current step"
        try:
            self.check_decidable()
        except ApprovalError:
            return False
        return True

    def check_decidable(self):
        """Raise why the user may not decide on the request: it is not
        pending, the user requested it, or does not approve its step"""
        User = Pool().get('res.user')
        if self.state != 'pending':
            raise ApprovalError(gettext(
                    'crm_plus.msg_approval_not_pending',
                    request=self.rec_name, state=self.state_string))
        if self.requester.id in User.get_employees():
            raise ApprovalError(gettext(
                    'crm_plus.msg_approval_own_request',
                    request=self.rec_name))
        if not is_crm_admin() and not self.is_approver():
            raise ApprovalError(gettext(
                    'crm_plus.msg_approval_not_approver',
                    request=self.rec_name, approvers=self.approvers))

    @classmethod
    def search_to_approve(cls, name, clause):
        User = Pool().get('res.user')
        _, operator, value = clause
        domain = [
            ('state', '=', 'pending'),
            ['OR',
                ('approver', 'in', list(User.get_employees())),
                [('step.approver_kind', '=', 'group'),
                    ('step.group', 'in', list(User.get_groups()))],
                [('step.approver_kind', '=', 'user'),
                    ('step.user', '=', Transaction().user)],
                ],
            ]
        if (operator == '=') == bool(value):
            return domain
        return [('id', 'not in', [r.id for r in cls.search(domain)])]

    @classmethod
    def check_modification(cls, mode, requests, values=None, external=False):
        super().check_modification(
            mode, requests, values=values, external=external)
        if external:
            raise AccessError(gettext('crm_plus.msg_approval_readonly'))

    @classmethod
    @ModelView.button_action('crm_plus.wizard_approval_decide')
    def decide(cls, requests):
        pass

    @classmethod
    @ModelView.button_action('crm_plus.wizard_approval_reverse')
    def reverse_approval(cls, requests):
        "Ask for the reason to reverse the approval of the requests (反审核)"

    def next_step(self):
        "Return the step after the current one that applies to the amount"
        steps = list(self.flow.steps)
        if self.step:
            steps = steps[steps.index(self.step) + 1:]
        for step in steps:
            if step.applies_to(self.amount):
                return step

    def enter(self, step):
        self.step = step
        self.approver = step.get_approver(self.requester)

    def history_line(self, action, comment=None):
        History = Pool().get('crm.approval.history')
        return History(
            request=self, step=self.step, action=action, comment=comment,
            user=Transaction().user, employee=current_employee())

    @classmethod
    def submit(cls, documents):
        "Start the flow of each document, approving at once those with none"
        pool = Pool()
        Flow = pool.get('crm.approval.flow')
        History = pool.get('crm.approval.history')
        requests, approved = [], []
        for document in documents:
            if document.approval and document.approval.state == 'pending':
                raise ApprovalError(gettext(
                        'crm_plus.msg_approval_already_pending',
                        document=document.rec_name))
            request = cls(
                company=document.get_approval_company(), document=document,
                flow=Flow.get_flow(document), step=None,
                requester=document.get_approval_requester(),
                amount=document.get_approval_amount())
            step = request.next_step() if request.flow else None
            if step:
                request.enter(step)
                requests.append(request)
            else:
                approved.append(document)
        with without_check_access():
            cls.save(requests)
            History.save([r.history_line('submit') for r in requests])
            for request in requests:
                request.document.approval = request
            if requests:
                Document = type(requests[0].document)
                Document.save([r.document for r in requests])
        cls.notify(requests)
        if approved:
            with without_check_access():
                type(approved[0]).approval_approved(approved)

    @classmethod
    def lock_pending(cls, requests):
        """Lock the requests and return them read again, so that two
        approvers deciding at once wait for each other and the second sees
        the decision of the first"""
        return cls._lock_in_state(
            requests, 'pending', 'crm_plus.msg_approval_not_pending')

    @classmethod
    def lock_approved(cls, requests):
        "Lock the requests as lock_pending does, the approved ones"
        return cls._lock_in_state(
            requests, 'approved', 'crm_plus.msg_approval_not_approved')

    @classmethod
    def _lock_in_state(cls, requests, state, message):
        cls.lock(requests)
        requests = cls.browse([r.id for r in requests])
        for request in requests:
            if request.state != state:
                raise ApprovalError(gettext(message,
                        request=request.rec_name,
                        state=request.state_string))
        return requests

    @classmethod
    def check_decider(cls, requests):
        """Only the approvers of the current step and CRM managers decide,
        never on their own requests"""
        for request in requests:
            request.check_decidable()

    @classmethod
    def refuse_button(cls, name, request):
        request.check_decidable()
        super().refuse_button(name, request)

    @classmethod
    def approve(cls, requests, comment=None):
        """Approve the current step of the requests.

        The document hook runs first so that its refusal (a quota, a
        budget) leaves the request pending."""
        History = Pool().get('crm.approval.history')
        requests = cls.lock_pending(requests)
        cls.check_decider(requests)
        history = [r.history_line('approve', comment) for r in requests]
        advanced, finished = [], []
        for request in requests:
            step = request.next_step()
            if step:
                request.enter(step)
                advanced.append(request)
            else:
                request.state = 'approved'
                finished.append(request)
        cls.run_hook(finished, 'approval_approved')
        with without_check_access():
            History.save(history)
            cls.save(requests)
        cls.forget_notifications(requests)
        cls.notify(advanced)

    @classmethod
    def reject(cls, requests, comment=None):
        "Reject the requests, which ends their flow"
        History = Pool().get('crm.approval.history')
        requests = cls.lock_pending(requests)
        cls.check_decider(requests)
        history = [r.history_line('reject', comment) for r in requests]
        for request in requests:
            request.state = 'rejected'
        cls.run_hook(requests, 'approval_rejected')
        with without_check_access():
            History.save(history)
            cls.save(requests)
        cls.forget_notifications(requests)

    @classmethod
    def cancel(cls, requests):
        "Cancel the requests of documents withdrawn by their requester"
        History = Pool().get('crm.approval.history')
        if not requests:
            return
        requests = cls.lock_pending(requests)
        history = [r.history_line('cancel') for r in requests]
        for request in requests:
            request.state = 'cancelled'
        with without_check_access():
            History.save(history)
            cls.save(requests)
        cls.forget_notifications(requests)

    @classmethod
    def reverse(cls, requests, reason):
        """Reverse the approval of the requests for the reason (反审核): their
        documents go back to be changed and submitted again.

        Only an approver of the request or a CRM manager reverses it, and
        only before anything came of the document (spent, won…)."""
        History = Pool().get('crm.approval.history')
        reason = (reason or '').strip()
        if not reason:
            raise ApprovalError(gettext(
                    'crm_plus.msg_approval_reverse_reason',
                    requests=', '.join(r.rec_name for r in requests)))
        requests = cls.lock_approved(requests)
        cls.check_reverser(requests)
        cls.run_hook(requests, 'check_approval_reversible')
        history = [r.history_line('reverse', reason) for r in requests]
        for request in requests:
            request.state = 'reversed'
        with without_check_access():
            History.save(history)
            cls.save(requests)
        cls.run_hook(requests, 'approval_reversed')
        cls.notify_reversed(requests, reason)

    def approved_by_user(self):
        "Tell whether the user approved a step of the request"
        User = Pool().get('res.user')
        user, employees = Transaction().user, User.get_employees()
        with without_check_access():
            return any(h.action == 'approve' and (
                    (h.user and h.user.id == user)
                    or (h.employee and h.employee.id in employees))
                for h in self.history)

    @classmethod
    def check_reverser(cls, requests):
        "Only an approver of the request or a CRM manager reverses it"
        if is_crm_admin():
            return
        for request in requests:
            if not request.approved_by_user():
                with without_check_access():
                    approvers = {h.employee or h.user for h in request.history
                        if h.action == 'approve' and (h.employee or h.user)}
                raise ApprovalError(gettext(
                        'crm_plus.msg_approval_reverse_not_approver',
                        request=request.rec_name,
                        approvers=', '.join(sorted(
                                a.rec_name for a in approvers))))

    @classmethod
    def notify_reversed(cls, requests, reason):
        "Tell the requesters that the approval of their document is reversed"
        User = Pool().get('res.user')
        reverser = current_employee() or User(Transaction().user)
        with without_check_access():
            for request in requests:
                notify_employees(
                    [request.requester],
                    'crm_plus.msg_approval_reversed_label',
                    'crm_plus.msg_approval_reversed', {
                        'document': request.rec_name,
                        'reverser': reverser.rec_name,
                        'reason': reason,
                        },
                    model=request.document.__name__,
                    records=[request.document.id])

    @classmethod
    def run_hook(cls, requests, hook):
        "Run the hook of the documents of the requests, per document model"
        pool = Pool()
        documents = defaultdict(list)
        for request in requests:
            documents[request.document.__name__].append(request.document.id)
        with without_check_access():
            for model, ids in documents.items():
                Document = pool.get(model)
                getattr(Document, hook)(Document.browse(ids))

    def get_approver_users(self):
        "Return the users who approve the current step"
        pool = Pool()
        Group = pool.get('res.group')
        ModelData = pool.get('ir.model.data')
        step = self.step
        if step.approver_kind == 'group':
            return list(step.group.users)
        if step.approver_kind == 'user':
            return [step.user]
        if self.approver:
            return employee_users(self.approver)
        return list(Group(
                ModelData.get_id('crm_plus', 'group_crm_admin')).users)

    @classmethod
    def notify(cls, requests):
        "Notify the approvers of the requests by email and in the client"
        Notification = Pool().get('res.notification')
        notifications = []
        with without_check_access():
            for request in requests:
                for user in request.get_approver_users():
                    notifications.append(request.notify_user(user))
            Notification.save(notifications)
        cls.set_notified(requests)

    def notify_user(self, user):
        "Email the user about the request and return his notification"
        Notification = Pool().get('res.notification')
        language = user.language.code if user.language else None
        with Transaction().set_context(language=language):
            # read again, for the names in the user's language
            request = self.__class__(self.id)
            values = {
                'document': request.rec_name,
                'requester': request.requester.rec_name,
                'step': request.step.rec_name,
                }
            subject = gettext('crm_plus.msg_approval_email_subject', **values)
            if user.email:
                msg = EmailMessage()
                msg['From'] = config.get('email', 'from')
                msg['To'] = user.email
                msg['Subject'] = subject
                msg.set_content(gettext(
                        'crm_plus.msg_approval_email_body', **values))
                send_message_transactional(msg)
            return Notification(
                user=user, label=subject,
                description=gettext(
                    'crm_plus.msg_approval_notification', **values),
                model=self.__name__, records=json.dumps([self.id]))

    def get_outcome(self):
        "Return where the request stands, once decided"
        values = {'document': self.rec_name}
        if self.state == 'pending':
            return gettext('crm_plus.msg_approval_outcome_next',
                step=self.step.rec_name, approvers=self.approvers, **values)
        return gettext('crm_plus.msg_approval_outcome',
            state=self.state_string, **values)

    @classmethod
    def forget_notifications(cls, requests):
        "Remove the notifications that ask to decide on the requests"
        Notification = Pool().get('res.notification')
        with without_check_access():
            Notification.delete(Notification.search([
                        ('model', '=', cls.__name__),
                        ('records', 'in',
                            [json.dumps([r.id]) for r in requests]),
                        ]))

    @classmethod
    def set_notified(cls, requests):
        table = cls.__table__()
        cursor = Transaction().connection.cursor()
        now = dt.datetime.now()
        for sub_ids in grouped_slice(
                [r.id for r in requests], backend.MAX_QUERY_PARAMS):
            cursor.execute(*table.update([table.notified_date], [now],
                    where=reduce_ids(table.id, sub_ids)))

    @classmethod
    def send_reminders(cls):
        "Remind again the approvers of the requests pending for a day"
        requests = cls.search([
                ('state', '=', 'pending'),
                ('notified_date', '<=',
                    dt.datetime.now() - REMINDER_INTERVAL),
                ])
        cls.notify(requests)


class ApprovalHistory(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.approval.history'
    __string__ = "Approval History"
    request = fields.Many2One(
        'crm.approval.request', "Request", required=True, readonly=True,
        ondelete='CASCADE')
    date = fields.DateTime("Date", required=True, readonly=True)
    step = fields.Many2One(
        'crm.approval.step', "Step", readonly=True, ondelete='SET NULL')
    action = fields.Selection([
            ('submit', "Submitted"),
            ('approve', "Approved"),
            ('reject', "Rejected"),
            ('cancel', "Cancelled"),
            ('reverse', "Approval Reversed"),
            ], "Action", required=True, readonly=True)
    user = fields.Many2One('res.user', "User", readonly=True)
    employee = fields.Many2One(
        'company.employee', "Employee", readonly=True)
    comment = fields.Text("Comment", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('request')
        cls._order = [('date', 'ASC'), ('id', 'ASC')]
        t = cls.__table__()
        cls._sql_indexes.add(Index(t, (t.request, Index.Equality())))

    @classmethod
    def default_date(cls):
        return dt.datetime.now()

    @classmethod
    def check_modification(cls, mode, lines, values=None, external=False):
        super().check_modification(
            mode, lines, values=values, external=external)
        if external:
            raise AccessError(gettext('crm_plus.msg_approval_readonly'))


class DecideStart(ModelView):
    __name__ = 'crm.approval.decide.start'
    __string__ = "Decide on Approval"
    comment = fields.Text("Comment")


class DecideDone(ModelView):
    __name__ = 'crm.approval.decide.done'
    __string__ = "Decision Recorded"
    outcome = fields.Text("Outcome", readonly=True)


class Decide(DataRulesWizardMixin, Wizard):
    __name__ = 'crm.approval.decide'
    __string__ = "Decide on Approval"
    start = StateView('crm.approval.decide.start',
        'crm_plus.approval_decide_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reject", 'reject', 'tryton-back'),
            Button("Approve", 'approve', 'tryton-ok', default=True),
            ])
    approve = StateTransition()
    reject = StateTransition()
    done = StateView('crm.approval.decide.done',
        'crm_plus.approval_decide_done_view_form', [
            Button("OK", 'end', 'tryton-ok', default=True),
            ])

    def transition_approve(self):
        self.model.approve(list(self.records), self.start.comment)
        return 'done'

    def transition_reject(self):
        self.model.reject(list(self.records), self.start.comment)
        return 'done'

    def default_done(self, fields):
        # The decider may no longer read a request he approved for a group
        with without_check_access():
            requests = self.model.browse([r.id for r in self.records])
            return {'outcome': '\n'.join(r.get_outcome() for r in requests)}

    def end(self):
        # The decided requests leave the list of those to approve
        return 'reload'


class ReverseStart(ModelView):
    __name__ = 'crm.approval.reverse.start'
    __string__ = "Reverse Approval"
    reason = fields.Text(
        "Reason", required=True,
        help="Why the approval is reversed, kept in the approval history.")


class Reverse(Wizard):
    """Reverse the approval (反审核) of approval requests or of the
    documents they approved"""
    __name__ = 'crm.approval.reverse'
    __string__ = "Reverse Approval"
    start = StateView('crm.approval.reverse.start',
        'crm_plus.approval_reverse_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Reverse Approval", 'reverse', 'tryton-undo',
                default=True),
            ])
    reverse = StateTransition()

    def transition_reverse(self):
        Request = Pool().get('crm.approval.request')
        records = list(self.records)
        if self.model.__name__ == Request.__name__:
            requests = records
        else:
            requests = self.model.approved_requests(records)
        Request.reverse(requests, self.start.reason)
        return 'end'
