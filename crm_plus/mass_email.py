# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""Mass email (群发邮件) through the mailing lists of marketing_email.

The wizard fills a mailing list with the email addresses of the selected
customers (and of their contacts); the user then writes the message of
the list, which marketing_email's cron sends to the active entries only.
A party that refuses mass email is never added, and refusing deactivates
the entries it already has, as unsubscribing through the link does."""

from sql import Null
from sql.functions import CurrentTimestamp, Lower

from trytond import backend
from trytond.i18n import gettext
from trytond.model import ModelView, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Bool, Eval, PYSONEncoder
from trytond.tools import grouped_slice, reduce_ids
from trytond.tools.email_ import normalize_email
from trytond.transaction import Transaction, check_access
from trytond.wizard import Button, StateAction, StateView, Wizard

from .access import DataRulesWizardMixin


def _slices(values):
    return map(list, grouped_slice(list(values), backend.MAX_QUERY_PARAMS))


def _clear_record_cache(Model):
    "Forget the cached values of Model that a direct SQL update made stale"
    transaction = Transaction()
    transaction.counter += 1
    for cache in transaction.cache.values():
        if Model.__name__ in cache:
            cache[Model.__name__].clear()


def _email_mechanisms():
    "Return the contact mechanism table and its email condition"
    ContactMechanism = Pool().get('party.contact_mechanism')
    mechanism = ContactMechanism.__table__()
    return mechanism, ((mechanism.type == 'email') & mechanism.active
        & (mechanism.value != Null) & (mechanism.value != ''))


class Party(metaclass=PoolMeta):
    __name__ = 'party.party'
    mass_email_opt_out = fields.Boolean(
        "No Mass Email",
        help="The party refuses mass email: it is never added to a mailing "
        "list and its addresses are unsubscribed from every list.")

    @classmethod
    def default_mass_email_opt_out(cls):
        return False

    @classmethod
    def on_modification(cls, mode, parties, field_names=None):
        super().on_modification(mode, parties, field_names=field_names)
        if mode == 'create' or (
                mode == 'write' and 'mass_email_opt_out' in field_names):
            cls.unsubscribe_mass_email(
                [p for p in parties if p.mass_email_opt_out])

    @classmethod
    def unsubscribe_mass_email(cls, parties):
        """Deactivate the mailing list entries of the email addresses of
        the parties, in every list, with one UPDATE per slice of parties"""
        pool = Pool()
        Email = pool.get('marketing.email')
        email = Email.__table__()
        mechanism, is_email = _email_mechanisms()
        cursor = Transaction().connection.cursor()
        for sub_ids in _slices(p.id for p in parties):
            addresses = mechanism.select(Lower(mechanism.value),
                where=is_email & reduce_ids(mechanism.party, sub_ids))
            cursor.execute(*email.update(
                    [email.active, email.write_date, email.write_uid],
                    [False, CurrentTimestamp(), Transaction().user],
                    where=email.active & email.email.in_(addresses)))
        if parties:
            _clear_record_cache(Email)


class ContactMechanism(metaclass=PoolMeta):
    __name__ = 'party.contact_mechanism'

    @classmethod
    def on_modification(cls, mode, mechanisms, field_names=None):
        super().on_modification(mode, mechanisms, field_names=field_names)
        if mode == 'create' or (mode == 'write'
                and field_names & {'value', 'type', 'party', 'active'}):
            Party = Pool().get('party.party')
            Party.unsubscribe_mass_email(list({
                        m.party for m in mechanisms
                        if m.type == 'email' and m.party.mass_email_opt_out}))


class MassEmailStart(ModelView):
    __name__ = 'crm.mass_email.start'
    __string__ = "Mass Email"
    list_ = fields.Many2One(
        'marketing.email.list', "Mailing List",
        states={'required': ~Eval('new_list_name')},
        help="The list to add the email addresses to.")
    new_list_name = fields.Char(
        "New List Name",
        states={
            'invisible': Bool(Eval('list_')),
            'required': ~Eval('list_'),
            },
        help="Create a mailing list with this name.")
    include_contacts = fields.Boolean(
        "Include Contacts",
        help="Add also the addresses of the contacts of the selected "
        "customers.")

    @classmethod
    def default_include_contacts(cls):
        return False


class MassEmail(DataRulesWizardMixin, Wizard):
    __name__ = 'crm.mass_email'
    __string__ = "Mass Email"
    start = StateView('crm.mass_email.start',
        'crm_plus.mass_email_start_view_form', [
            Button("Cancel", 'end', 'tryton-cancel'),
            Button("Add to List", 'add', 'tryton-ok', default=True),
            ])
    add = StateAction('crm_plus.act_mass_email_message')

    def do_add(self, action):
        with check_access():
            email_list = self._get_list()
            added, skipped = self.add_addresses(
                email_list, self._get_party_ids())
        encoder = PYSONEncoder()
        action['name'] = gettext('crm_plus.msg_mass_email_result',
            list=email_list.rec_name, added=added, skipped=skipped)
        action['pyson_domain'] = encoder.encode(
            [('list_', '=', email_list.id)])
        action['pyson_context'] = encoder.encode(
            {'default_list_': email_list.id})
        return action, {}

    def _get_list(self):
        EmailList = Pool().get('marketing.email.list')
        if self.start.list_:
            return self.start.list_
        email_list = EmailList(name=self.start.new_list_name)
        email_list.save()
        return email_list

    def _get_party_ids(self):
        "Return the ids of the selected parties the user may read"
        pool = Pool()
        Party = pool.get('party.party')
        CustomerContact = pool.get('crm.customer.contact')
        parties = Party.search([('id', 'in', list(map(int, self.records)))])
        party_ids = {p.id for p in parties}
        if self.start.include_contacts:
            party_ids.update(c.contact.id for c in CustomerContact.search([
                        ('customer', 'in', list(party_ids)),
                        ]))
        return party_ids

    @classmethod
    def add_addresses(cls, email_list, party_ids):
        """Add the email addresses of the parties to the list, except those
        of parties that refuse mass email and those already in the list,
        even unsubscribed. Return the numbers of added and skipped ones."""
        Email = Pool().get('marketing.email')
        addresses = cls._party_addresses(party_ids)
        refused = cls._refused_addresses(addresses)
        listed = cls._listed_addresses(email_list, addresses)
        new = sorted(addresses - refused - listed)
        Email.create([{'email': a, 'list_': email_list.id} for a in new])
        return len(new), len(addresses) - len(new)

    @classmethod
    def _party_addresses(cls, party_ids):
        mechanism, is_email = _email_mechanisms()
        cursor = Transaction().connection.cursor()
        addresses = set()
        for sub_ids in _slices(party_ids):
            cursor.execute(*mechanism.select(mechanism.value,
                    where=is_email & reduce_ids(mechanism.party, sub_ids)))
            addresses.update(normalize_email(v).lower() for v, in cursor)
        return addresses

    @classmethod
    def _refused_addresses(cls, addresses):
        "Return the addresses that belong to a party refusing mass email"
        Party = Pool().get('party.party')
        party = Party.__table__()
        mechanism, is_email = _email_mechanisms()
        cursor = Transaction().connection.cursor()
        refused = set()
        for sub_addresses in _slices(addresses):
            cursor.execute(*mechanism.join(party,
                    condition=mechanism.party == party.id
                    ).select(Lower(mechanism.value),
                    where=is_email & party.mass_email_opt_out
                    & Lower(mechanism.value).in_(sub_addresses)))
            refused.update(a for a, in cursor)
        return refused

    @classmethod
    def _listed_addresses(cls, email_list, addresses):
        "Return the addresses in the list, active or unsubscribed"
        Email = Pool().get('marketing.email')
        email = Email.__table__()
        cursor = Transaction().connection.cursor()
        listed = set()
        for sub_addresses in _slices(addresses):
            cursor.execute(*email.select(email.email,
                    where=(email.list_ == email_list.id)
                    & email.email.in_(sub_addresses)))
            listed.update(a for a, in cursor)
        return listed
