# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The record rules on every path of RPC.

Tryton applies the record rules of a model to its search, read, write,
delete, create and buttons, but not:

- to the records that a create or a write links to: it checks no rule of
  the target of a relation, so one id links a document to a customer the
  user may not see, whose name then shows through the new document;
- to export_data, which evaluates the rules in Python on the records given
  by id, where the dotted paths of the CRM's rules cannot be evaluated.

DataRulesMixin closes both for the models of the CRM and for the host
models that it extends for the CRM, and the same side door of the
on_change calls, which read the records that the values of the client
link to; it answers a button refused for the state of its record with a
message in the user's language."""

from collections import defaultdict
from functools import wraps

from sql import Literal

from trytond.i18n import gettext
from trytond.model import Model, fields
from trytond.model.exceptions import AccessError
from trytond.model.modelstorage import _record_eval_pyson
from trytond.pool import Pool
from trytond.transaction import (
    Transaction, check_access, inactive_records, without_check_access)
from trytond.wizard import StateView

from .exceptions import ButtonRefusedError, LinkAccessError


def checking():
    "Tell whether the transaction checks the access of a user"
    transaction = Transaction()
    return bool(transaction.user and transaction.check_access)


def excluded(Model, ids, mode='read'):
    """Return the ids of Model that do not exist or that the record rules
    of mode exclude for the user"""
    Rule = Pool().get('ir.rule')
    ids = {i for i in ids if i is not None and i >= 0}
    domain = Rule.domain_get(Model.__name__, mode=mode) if ids else []
    if not domain:
        return set()
    with without_check_access(), inactive_records():
        query = Model.search(
            [('id', 'in', list(ids)), domain], order=[], query=True)
    cursor = Transaction().connection.cursor()
    cursor.execute(*query)
    return ids - {id_ for id_, in cursor}


def check_rule(Model, ids, mode):
    """Refuse the records that the rules of mode exclude, before any other
    check of the operation can name them"""
    if checking() and excluded(Model, ids, mode):
        raise AccessError(gettext(
                f'crm_plus.msg_rule_{mode}_refused', **Model.__names__()))


def readable(table, Model):
    """Return the condition that the row of table, of Model, is one the
    user may read: figures computed in SQL include nothing else"""
    if not checking():
        return Literal(True)
    with check_access():
        return table.id.in_(Model.search([], order=[], query=True))


def _linked_ids(field, value):
    "Yield the (model name, id) that value links to through field"
    if value is None:
        return
    if field._type == 'many2one':
        if isinstance(value, int):
            yield field.model_name, value
    elif field._type == 'reference':
        if isinstance(value, str):
            model, _, id_ = value.partition(',')
            id_ = int(id_) if id_.lstrip('-').isdigit() else None
        else:
            model, id_ = value
        if model and isinstance(id_, int):
            yield model, id_
    elif field._type in {'one2many', 'many2many'}:
        target = field.get_target().__name__
        for action in value:
            if isinstance(action, int):  # the ids of a form or a record
                yield target, action
            elif isinstance(action, (list, tuple)) and action[0] in {
                    'add', 'copy', 'set'}:
                for id_ in action[1]:
                    yield target, id_


def check_links(Model, vlist, skip=()):
    """Refuse the values that link to a record the user may not read, but
    through the fields of skip.

    The refusal names the field but not the record: a record that exists
    but is hidden and one that does not exist get the same answer."""
    if not checking():
        return
    links = defaultdict(dict)
    for values in vlist:
        for name, value in values.items():
            field = Model._fields.get(name)
            if name not in skip and _stored_field(field):
                for target, id_ in _linked_ids(field, value):
                    links[target].setdefault(id_, name)
    pool = Pool()
    for target, names in links.items():
        refused = excluded(pool.get(target), names)
        if refused:
            raise LinkAccessError(gettext(
                    'crm_plus.msg_link_not_readable',
                    **Model.__names__(names[min(refused)])))


def _stored_field(field):
    "Tell whether the values of field are written, not computed"
    return field is not None and (
        not isinstance(field, fields.Function) or field.setter)


def check_create_links(Model, vlist):
    """Refuse the values of the records to create that link, or whose
    defaults link, to a record the user may not read.

    The links of __access__ are left to the create rules of the records,
    which are those of their targets."""
    if checking():
        check_links(Model, _with_defaults(Model, vlist),
            skip=Model.__access__)


def _with_defaults(Model, vlist):
    """Return vlist with the protected relations that create would take
    from the defaults, which may come from the context of the client"""
    Rule = Pool().get('ir.rule')
    context = Transaction().context
    missing = set().union(*(Model._fields.keys() - v.keys() for v in vlist))
    defaults = {}
    for name in sorted(missing - Model.__access__):
        field = Model._fields[name]
        if field._type == 'many2one':
            if not Rule.domain_get(field.model_name, mode='read'):
                continue
        elif field._type != 'reference':
            continue
        if f'default_{name}' in context:
            defaults[name] = context[f'default_{name}']
        elif name in Model._defaults:
            defaults[name] = Model._defaults[name]()
    return [{**defaults, **values} for values in vlist]


def check_exported(Model, records, fields_names):
    """Refuse the export of a record, or of a record its fields lead to,
    that the user may not read"""
    if not checking():
        return
    paths = [name.split('/') for name in fields_names]
    _check_read(Model, records, paths)


def _check_read(Model, records, paths):
    ids = [r.id for r in records if r.id is not None and r.id >= 0]
    if ids:
        with check_access():
            Model.read(ids, ['id'])
    following = defaultdict(list)
    for path in paths:
        name = path[0].split('.')[0].split(':')[0]
        field = Model._fields.get(name)
        if field is not None and field._type in {
                'many2one', 'one2one', 'reference', 'one2many',
                'many2many'}:
            following[name].append(path[1:] or ['id'])
    for name, sub_paths in following.items():
        for Target, targets in _related(records, name).items():
            _check_read(Target, targets, sub_paths)


def _related(records, name):
    "Return the records that name relates records to, grouped by model"
    related = defaultdict(set)
    with without_check_access(), inactive_records():
        for record in records:
            value = getattr(record, name)
            if value is None:
                continue
            for target in (value if isinstance(value, tuple) else [value]):
                if hasattr(target, 'id'):
                    related[target.__class__].add(target)
    return related


def values_checked(func):
    """Refuse a call on a record built from the values of the client that
    links to a record the user may not read, as an on_change would read
    it: the values of the record and those it gives to its parents"""
    @wraps(func)
    def wrapper(record, *args, **kwargs):
        _check_record_links(record, depth=2)
        return func(record, *args, **kwargs)
    return wrapper


def _check_record_links(record, depth):
    if record is None or not depth or record._values is None:
        return
    values = {}
    fields_ = record._fields
    for name, value in record._values._items():
        if isinstance(value, Model):
            _check_record_links(value, depth - 1)
            value = (str(value) if fields_[name]._type == 'reference'
                else value.id)
        elif isinstance(value, (list, tuple)):
            value = [getattr(v, 'id', v) for v in value]
            value = [v for v in value if isinstance(v, int)]
        values[name] = value
    check_links(record.__class__, [values])


def button_explained(func):
    """Explain in the user's language why the button is refused for the
    records the user may not read or in a state it is hidden in"""
    Model = func.__self__

    @wraps(func)
    def wrapper(records, *args, **kwargs):
        Model.explain_button_refusal(func.__name__, records)
        return func(records, *args, **kwargs)
    return wrapper


class DataRulesMixin:
    """Apply the record rules to the relations that a create or a write
    sets and to exports, and explain the buttons they refuse"""
    __slots__ = ()

    @classmethod
    def __post_setup__(cls):
        super().__post_setup__()
        for name in getattr(cls, '_buttons', {}):
            rpc = cls.__rpc__.get(name)
            if rpc is not None and rpc.decorator is None:
                rpc.decorator = button_explained
        for name, rpc in cls.__rpc__.items():
            if name.startswith('on_change') and rpc.decorator is None:
                rpc.decorator = values_checked

    @classmethod
    def _before_create(cls, vlist):
        check_create_links(cls, vlist)
        return super()._before_create(vlist)

    @classmethod
    def _before_write(cls, *args):
        check_rule(cls, [r.id for rs in args[::2] for r in rs], 'write')
        check_links(cls, args[1::2])
        return super()._before_write(*args)

    @classmethod
    def _before_delete(cls, records):
        check_rule(cls, [r.id for r in records], 'delete')
        return super()._before_delete(records)

    @classmethod
    def export_data(cls, records, fields_names, header=False):
        check_exported(cls, records, fields_names)
        return super().export_data(records, fields_names, header=header)

    @classmethod
    def explain_button_refusal(cls, name, records):
        "Raise the reason why the user may not click the button of records"
        if not checking():
            return
        hidden = excluded(cls, [r.id for r in records])
        if hidden:
            cls.refuse_hidden_button(name)
        User = Pool().get('res.user')
        states = cls._buttons.get(name, {})
        with Transaction().set_context(groups=User.get_groups()):
            for record in records:
                if any(_record_eval_pyson(record, states[s])
                        for s in {'invisible', 'readonly'} & states.keys()):
                    cls.refuse_button(name, record)

    @classmethod
    def refuse_hidden_button(cls, name):
        "Refuse the button on a record that the user may not read"
        raise ButtonRefusedError(gettext(
                'crm_plus.msg_button_record_hidden',
                button=button_string(cls, name), **cls.__names__()))

    @classmethod
    def refuse_button(cls, name, record):
        "Refuse the button where its states hide it for the record"
        raise ButtonRefusedError(gettext(
                'crm_plus.msg_button_refused',
                button=button_string(cls, name),
                **cls.__names__(record=record)))


def button_string(Model, name):
    "Return the label of the button of Model in the user's language"
    Button = Pool().get('ir.model.button')
    with without_check_access():
        buttons = Button.search([
                ('model', '=', Model.__name__),
                ('name', '=', name),
                ], limit=1)
    return buttons[0].string if buttons and buttons[0].string else name


class DataRulesWizardMixin:
    """Refuse the values of the wizard's forms that link to a record the
    user may not read"""
    __slots__ = ()

    @classmethod
    def execute(cls, session_id, data, state_name):
        pool = Pool()
        with check_access():
            for state_name_, values in data.items():
                state = cls.states.get(state_name_)
                if isinstance(state, StateView):
                    check_links(pool.get(state.model_name), [values])
        return super().execute(session_id, data, state_name)
