# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The CRM speaks Chinese to its users.

The catalog of the module translates all its strings, and a salesperson
and a CRM manager working in zh_CN find no English on any menu, view,
tab, button or selection they can reach, those of the host modules
included: the menus they see, the actions of these menus, of the toolbars
and of the buttons of their views, the views of these actions and of
their one2many and many2many fields, and the forms of their wizards."""

import inspect
import json
import re

import polib
from lxml import etree

from trytond.pool import Pool
from trytond.pyson import PYSONDecoder
from trytond.tests.test_tryton import RouteTestCase, with_transaction
from trytond.transaction import Transaction, check_access
from trytond.wizard import StateAction, StateView

from .tools import create_world

# Names and abbreviations that Chinese users read as they are
PROPER_NAMES = ['Message-ID', 'CRM', 'ID', 'XML', 'SMS', 'CSV', 'URL',
    'VIES', 'SIP', 'Skype', 'WeChat']
LATIN_WORD = re.compile(r'[A-Za-z]{2,}')
# The attributes of view elements that the client shows as text
SHOWN_ATTRIBUTES = ['string', 'sum', 'confirm']


def english(text):
    "Tell whether the text has a word of Latin letters not a proper name"
    text = text or ''
    for name in PROPER_NAMES:
        text = re.sub(r'\b%s\b' % re.escape(name), '', text)
    return bool(LATIN_WORD.search(text))


def button_action(Model, name):
    """Return the xml id of the action that the button name of Model opens,
    from the closure of ModelView.button_action, if any"""
    for klass in Model.__mro__:
        method = klass.__dict__.get(name)
        method = getattr(method, '__func__', method)
        while method is not None:
            action = inspect.getclosurevars(method).nonlocals.get('action')
            if isinstance(action, str) and '.' in action:
                return action
            method = getattr(method, '__wrapped__', None)


def shown(tree):
    """Yield the elements of the view that the user sees: not those hidden
    by states that depend on the context only, as the groups of the user"""
    decoder = PYSONDecoder({'context': Transaction().context})
    elements = [tree]
    while elements:
        element = elements.pop(0)
        states = element.get('states') or '{}'
        if (context_only(json.loads(states))
                and decoder.decode(states).get('invisible')):
            continue
        yield element
        elements.extend(element)


def context_only(value):
    "Tell whether the encoded PYSON value evaluates the context only"
    if isinstance(value, dict):
        if value.get('__class__') == 'Eval' and value['v'] != 'context':
            return False
        return all(context_only(v) for v in value.values())
    if isinstance(value, list):
        return all(context_only(v) for v in value)
    return True


class Reach:
    """Walk what a user reaches in the client and collect the English
    strings shown, with where they are"""

    def __init__(self):
        self.english = set()
        self.actions = set()
        self.views = set()
        self.toolbars = set()

    def add(self, where, text):
        if english(text):
            self.english.add((where, text))

    def menus(self):
        pool = Pool()
        Menu = pool.get('ir.ui.menu')
        with check_access():
            menus = Menu.search([('parent', '=', None)])
            while menus:
                menu = menus.pop()
                self.add('menu', menu.name)
                if menu.action:
                    self.action(menu.action.action.id)
                menus.extend(Menu.search([('parent', '=', menu.id)]))

    def action(self, action_id):
        "Walk the action of ir.action of id action_id"
        pool = Pool()
        Action = pool.get('ir.action')
        if action_id in self.actions:
            return
        self.actions.add(action_id)
        action = Action(action_id)
        record, = pool.get(action.type).search([('action', '=', action_id)])
        where = f'action {record.xml_id or action.id}'
        self.add(where, action.name)
        if action.type == 'ir.action.act_window':
            self.act_window(record, where)
        elif action.type == 'ir.action.wizard':
            self.wizard(record.wiz_name)

    def act_window(self, act_window, where):
        for domain in act_window.act_window_domains:
            self.add(where, domain.name)
        views = [(v.view.id, v.view.real_type)
            for v in act_window.act_window_views]
        if not views:
            views = [(None, 'tree'), (None, 'form')]
        for view_id, view_type in views:
            self.view(act_window.res_model, view_id, view_type)

    def wizard(self, wiz_name):
        Wizard = Pool().get(wiz_name, type='wizard')
        for name, state in Wizard.states.items():
            if isinstance(state, StateView):
                view = state.get_view(Wizard, name)
                self.view(state.model_name, view['view_id'], 'form')
                for button in state.get_buttons(Wizard, name):
                    self.add(f'wizard {wiz_name}', button['string'])
            elif isinstance(state, StateAction):
                self.action(state.get_action()['id'])

    def view(self, model, view_id, view_type):
        "Walk the view of model, its buttons, toolbar and relation fields"
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        key = (model, view_id, view_type)
        if key in self.views:
            return
        self.views.add(key)
        Model = pool.get(model)
        view = Model.fields_view_get(view_id=view_id, view_type=view_type)
        where = f'{model} {view_type} view {view["view_id"]}'
        tree = etree.fromstring(view['arch'])
        for element in shown(tree):
            for attribute in SHOWN_ATTRIBUTES:
                self.add(where, element.get(attribute))
            name = element.get('name')
            if element.tag == 'button':
                action = button_action(Model, name)
                if action:
                    self.action(ModelData.get_id(*action.split('.')))
            elif element.tag == 'action':
                self.action(ModelData.get_id(*name.split('.')))
            elif element.tag == 'link':
                # parse_view set the id of the action the user may open
                self.action(int(element.get('id')))
            elif element.tag in {'field', 'label'} and name in view['fields']:
                self.field(where, view['fields'][name], element)
        if view['type'] == 'graph':
            for field in tree.xpath('x/field'):
                if view['fields'][field.get('name')]['type'] == 'selection':
                    self.add(where, 'the keys of %s on the x axis'
                        % field.get('name'))
        self.toolbar(model)

    def field(self, where, definition, element):
        where = f'{where} {definition["name"]}'
        self.add(where, definition['string'])
        if definition['type'] in {'selection', 'multiselection'} and (
                isinstance(definition['selection'], list)):
            for _, label in definition['selection']:
                self.add(where, label)
        if (definition['type'] in {'one2many', 'many2many'}
                and element.tag == 'field'):
            self.relation(definition, element)

    def relation(self, definition, element):
        "Walk the views that the widget of the relation field opens"
        View = Pool().get('ir.ui.view')
        model = definition['relation']
        # parse_view replaced the xml ids of view_ids by ids
        view_ids = {View(int(i)).real_type: int(i)
            for i in filter(None, (element.get('view_ids') or '').split(','))}
        modes = (element.get('mode') or 'tree,form').split(',')
        for mode in map(str.strip, modes):
            self.view(model, view_ids.get(mode), mode)

    def toolbar(self, model):
        if model in self.toolbars:
            return
        self.toolbars.add(model)
        toolbar = Pool().get(model).view_toolbar_get()
        for key in ['print', 'action', 'relate']:
            for action in toolbar[key]:
                self.action(action['id'])
        for email in toolbar['emails']:
            self.add(f'{model} toolbar', email['name'])


class TranslationTestMixin:
    "Every user-visible string of the module exists in Simplified Chinese"
    language = 'zh_CN'

    @with_transaction()
    def test_zh_CN_complete(self):
        "The zh_CN catalog translates every string, none fuzzy or empty"
        pool = Pool()
        Lang = pool.get('ir.lang')
        Translation = pool.get('ir.translation')
        TranslationUpdate = pool.get('ir.translation.update', type='wizard')
        zh_CN, = Lang.search([('code', '=', 'zh_CN')])
        session_id, _, _ = TranslationUpdate.create()
        TranslationUpdate.execute(
            session_id, {'start': {'language': zh_CN.id}}, 'update')
        exported = Translation.translation_export('zh_CN', self.module)
        # Nothing is exported for a module that only overrides others
        catalog = polib.pofile(exported.decode()) if exported else []
        missing = [f'{e.msgctxt}: {e.msgid}' for e in catalog
            if e.msgid and (e.fuzzy or not e.msgstr.strip())]
        self.assertEqual(missing, [])

    @with_transaction()
    def test_zh_CN_reached_without_english(self):
        """A salesperson and a CRM manager working in zh_CN reach no English
        label, tab, button or selection"""
        pool = Pool()
        Lang = pool.get('ir.lang')
        ModelData = pool.get('ir.model.data')
        User = pool.get('res.user')
        world = create_world()
        zh_CN, = Lang.search([('code', '=', 'zh_CN')])
        Lang.load_translations([zh_CN])
        manager = world.users['manager']
        manager.groups += (ModelData.get_id('crm_plus', 'group_crm_admin'),)
        manager.save()
        User.write([world.users['sales1'], manager], {'language': zh_CN.id})
        transaction = Transaction()
        for login in ['sales1', 'manager']:
            reach = Reach()
            with transaction.set_user(world.users[login].id), \
                    transaction.set_context(
                        User.get_preferences(context_only=True)):
                reach.menus()
            with self.subTest(login=login):
                self.assertEqual(sorted(reach.english), [])


class CrmPlusTranslationTestCase(TranslationTestMixin, RouteTestCase):
    "Test crm_plus translations"
    module = 'crm_plus'


del RouteTestCase
