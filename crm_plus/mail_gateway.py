# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""The mail gateway: emails posted to the sales inbox become leads.

Emails come from the outside world, so every one is parsed completely and
checked before anything is written: a refused email leaves only its
inbound.email row, with the reason."""

import codecs
import datetime as dt
import email
import hashlib
import logging
import re
from email import errors as email_errors
from email.policy import default as default_policy
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

from sql import Literal

from trytond import backend, config
from trytond.exceptions import UserError
from trytond.i18n import gettext
from trytond.model import Index, ModelSQL, ModelView, Unique, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval
from trytond.transaction import Transaction, TransactionError

from .access import DataRulesMixin
from .lead import find_customer_contact
from .model import wait_for_lock

logger = logging.getLogger(__name__)

ACTION = 'crm.lead|from_inbound_email'
LEAD_TOKEN = re.compile(r'\[(LEAD-\d+)\]', re.IGNORECASE)
MESSAGE_ID = re.compile(r'<([^<>\s]{1,250})>')
NO_REPLY_SENDER = re.compile(
    r'^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|bounces?'
    r'|notifications?)([+._-].*)?$', re.IGNORECASE)
BULK_PRECEDENCES = {'bulk', 'junk', 'list', 'auto_reply'}
AUTO_REPLY_HEADERS = ['X-Autoreply', 'X-Autorespond', 'X-Auto-Response']
# MIME defects that mean the structure of the email cannot be trusted
FATAL_DEFECTS = (
    email_errors.NoBoundaryInMultipartDefect,
    email_errors.StartBoundaryNotFoundDefect,
    email_errors.CloseBoundaryNotFoundDefect,
    email_errors.MultipartInvariantViolationDefect,
    email_errors.MissingHeaderBodySeparatorDefect,
    email_errors.InvalidBase64CharactersDefect,
    email_errors.InvalidBase64LengthDefect,
    )
BATCH_SIZE = 50
MAX_PARTS = 100
MAX_DEPTH = 10
SUBJECT_SIZE = 250
NAME_SIZE = 100
# Room for the headers, the text and HTML bodies and the MIME boundaries of
# an email, beside its attachments
MESSAGE_ALLOWANCE = 1024 * 1024


def email_size_limit(attachment_size):
    """Return the size of an email whose attachments total attachment_size
    bytes: base64 writes 4 characters for 3 bytes, in lines of 76 characters
    ended by CRLF"""
    encoded = -(-attachment_size // 3) * 4
    return encoded + -(-encoded // 76) * 2 + MESSAGE_ALLOWANCE


class Rejection(Exception):
    "The email makes no lead, for the reason of an ir.message"

    def __init__(self, reason, **values):
        super().__init__(reason)
        self.reason = reason
        self.values = values

    def __str__(self):
        return gettext(f'crm_plus.msg_mail_{self.reason}', **self.values)


class ParsedEmail:
    "The parts of an email that make or update a lead"
    __slots__ = ('message_id', 'sender', 'sender_name', 'subject', 'date',
        'body', 'attachments', 'references')


def parse_email(data, max_attachment_size):
    "Return the ParsedEmail of the raw data or raise a Rejection"
    if not data or not data.strip():
        raise Rejection('empty')
    message = email.message_from_bytes(data, policy=default_policy)
    _check_structure(message)
    parsed = ParsedEmail()
    parsed.sender, parsed.sender_name = _sender(message)
    _check_automatic(message, parsed.sender)
    parsed.message_id = _message_id(message, data)
    parsed.subject = _clean_line(_header(message, 'Subject'))[:SUBJECT_SIZE]
    parsed.date = _date(message)
    parsed.references = _references(message)
    parsed.body, parsed.attachments = _contents(message, max_attachment_size)
    return parsed


def _check_structure(message):
    parts = 0
    for part, depth in _walk(message):
        parts += 1
        if parts > MAX_PARTS or depth > MAX_DEPTH:
            raise Rejection('too_many_parts', limit=MAX_PARTS)
        for defect in part.defects:
            if isinstance(defect, FATAL_DEFECTS):
                raise Rejection('broken_mime', defect=type(defect).__name__)


def _walk(part, depth=0):
    yield part, depth
    if part.is_multipart():
        payload = part.get_payload()
        if isinstance(payload, list):
            for sub_part in payload:
                yield from _walk(sub_part, depth + 1)


def _header(message, name):
    "Return the decoded header or an empty string, refusing injections"
    try:
        value = message.get(name)
        value = str(value) if value is not None else ''
    except (email_errors.MessageError, ValueError, TypeError, IndexError,
            LookupError, AttributeError) as exception:
        raise Rejection('header_malformed', header=name) from exception
    if '\n' in value or '\r' in value or '\x00' in value:
        raise Rejection('header_injection', header=name)
    return value


def _clean_line(value):
    return ' '.join(''.join(
            c if c.isprintable() else ' ' for c in value).split())


def _sender(message):
    from_ = _header(message, 'From')
    if not from_.strip():
        raise Rejection('no_sender')
    addresses = [a for a in getaddresses([from_]) if a[1]]
    if len(addresses) != 1:
        raise Rejection('sender_invalid', sender=_clean_line(from_)[:100])
    name, address = addresses[0]
    local, _, domain = address.partition('@')
    if (not local or '.' not in domain or len(address) > 254
            or any(c.isspace() or not c.isprintable() for c in address)):
        raise Rejection('sender_invalid', sender=_clean_line(address)[:100])
    return address.lower(), _clean_line(name)[:NAME_SIZE]


def _check_automatic(message, sender):
    "Refuse the messages that no person wrote (RFC 3834) and bounces"
    auto_submitted = _header(message, 'Auto-Submitted').strip().lower()
    if auto_submitted and not auto_submitted.startswith('no'):
        raise Rejection('automatic', header='Auto-Submitted')
    precedence = _header(message, 'Precedence').strip().lower()
    if precedence in BULK_PRECEDENCES:
        raise Rejection('automatic', header='Precedence')
    for name in AUTO_REPLY_HEADERS:
        if _header(message, name):
            raise Rejection('automatic', header=name)
    if (message.get_content_type() == 'multipart/report'
            or _header(message, 'Return-Path').strip() == '<>'):
        raise Rejection('bounce')
    if NO_REPLY_SENDER.match(sender.partition('@')[0]):
        raise Rejection('no_reply', sender=sender)


def _message_id(message, data):
    "Return the Message-ID, or a digest of the data for an email without"
    ids = MESSAGE_ID.findall(_header(message, 'Message-ID'))
    if ids:
        return ids[0]
    return 'sha256-%s@crm-plus.invalid' % hashlib.sha256(data).hexdigest()


def _references(message):
    references = []
    for name in ['In-Reply-To', 'References']:
        references.extend(MESSAGE_ID.findall(_header(message, name)))
    return references


def _date(message):
    value = _header(message, 'Date')
    try:
        date = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if date.tzinfo:
        date = date.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return date


def _contents(message, max_attachment_size):
    "Return the text of the body and the (name, data) attachments"
    plain, html, attachments = [], [], []
    for part, _ in _walk(message):
        if part.is_multipart():
            continue
        if _is_attachment(part):
            attachments.append(_attachment(
                    part, len(attachments) + 1, max_attachment_size))
        elif part.get_content_type() == 'text/plain':
            plain.append(_text(part))
        elif part.get_content_type() == 'text/html':
            html.append(html_to_text(_text(part)))
    body = '\n\n'.join(plain or html)
    body = body.replace('\r\n', '\n').replace('\x00', '')
    return body.strip(), attachments


def _is_attachment(part):
    return (part.get_content_disposition() == 'attachment'
        or part.get_filename() is not None
        or part.get_content_maintype() not in {'text', 'multipart'})


def _payload(part):
    "Return the decoded bytes of the part, refusing a broken encoding"
    payload = part.get_payload(decode=True) or b''
    for defect in part.defects:
        if isinstance(defect, FATAL_DEFECTS):
            raise Rejection('broken_mime', defect=type(defect).__name__)
    return payload


def _text(part):
    payload = _payload(part)
    charset = part.get_content_charset() or 'us-ascii'
    try:
        codecs.lookup(charset)
    except LookupError:
        raise Rejection('charset_unknown', charset=_clean_line(charset)[:50])
    try:
        text = payload.decode(charset)
        # Some codecs, like UTF-7, decode to lone surrogates, which no
        # database column stores
        text.encode('utf-8')
    except UnicodeError:
        raise Rejection('charset_invalid', charset=charset)
    return text


def _attachment(part, index, max_size):
    data = _payload(part)
    try:
        name = part.get_filename() or ''
    except (email_errors.MessageError, ValueError, LookupError):
        name = ''
    # Keep the base name only: no path may come from the sender
    name = _clean_line(re.split(r'[/\\]', name)[-1]).strip(
        '. ')[:NAME_SIZE] or f'attachment-{index}'
    if len(data) > max_size:
        raise Rejection('attachment_too_big',
            name=name, size=len(data), limit=max_size)
    return name, data


class _TextExtractor(HTMLParser):
    "Keep the text of an HTML document, never its scripts or styles"
    SKIPPED = {'script', 'style', 'head', 'title', 'noscript', 'template',
        'iframe', 'object'}
    BREAKS = {'br', 'p', 'div', 'tr', 'li', 'h1', 'h2', 'h3', 'table'}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BREAKS:
            self.chunks.append('\n')

    def handle_endtag(self, tag):
        if tag in self.SKIPPED:
            self.skipping = max(self.skipping - 1, 0)

    def handle_data(self, data):
        if not self.skipping:
            self.chunks.append(data)


def html_to_text(html):
    "Return the readable text of html, without markup or scripts"
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (' '.join(l.split()) for l in ''.join(parser.chunks).splitlines())
    return '\n'.join(l for l in lines if l)


class LeadEmail(DataRulesMixin, ModelSQL, ModelView):
    __name__ = 'crm.lead.email'
    __string__ = "Lead Email"
    _rec_name = 'subject'
    lead = fields.Many2One(
        'crm.lead', "Lead", required=True, ondelete='CASCADE')
    message_id = fields.Char("Message-ID", required=True, readonly=True)
    sender = fields.Char("From", readonly=True)
    subject = fields.Char("Subject", readonly=True)
    date = fields.DateTime("Date", readonly=True)
    body = fields.Text("Body", readonly=True)

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.__access__.add('lead')
        cls._order = [('date', 'DESC'), ('id', 'DESC')]
        t = cls.__table__()
        cls._sql_constraints += [
            ('message_id_unique', Unique(t, t.message_id),
                'crm_plus.msg_lead_email_message_id_unique'),
            ]
        cls._sql_indexes.add(Index(t, (t.lead, Index.Equality())))


class Lead(metaclass=PoolMeta):
    __name__ = 'crm.lead'

    @classmethod
    def from_inbound_email(cls, inbound_email, rule):
        """Make the lead of the email, or, when a queue worker runs, keep the
        email for the leads job of the rule.

        The job runs once the delivery is committed and makes the leads of
        all the pending emails of the rule, so a worker that falls behind
        catches up in batches.  Without a worker, trytond would run the job
        after the request but not the tasks that it queues, like those of
        the triggers on leads."""
        Rule = Pool().get('inbound.email.rule')
        if config.getboolean('queue', 'worker', default=False):
            inbound_email.crm_pending = True
            Rule.__queue__.crm_make_leads([rule])
        else:
            lead, = cls.make_from_emails(rule, [inbound_email])
            return lead

    @classmethod
    def make_from_emails(cls, rule, inbound_emails):
        """Create a lead from each email of the rule, or add the email to
        the lead it answers, in the order received, and return the lead of
        each email; a refused email is logged and its reason stored"""
        pool = Pool()
        InboundEmail = pool.get('inbound.email')
        LeadEmail = pool.get('crm.lead.email')
        Attachment = pool.get('ir.attachment')
        deliveries = cls._parse_inbound_emails(inbound_emails)
        received = cls._received_leads({p.message_id for _, p in deliveries})
        leads = {}  # Message-ID: lead, of the emails accepted so far
        new_leads, accepted, duplicates = [], [], []
        for inbound_email, parsed in deliveries:
            if parsed.message_id in received or parsed.message_id in leads:
                duplicates.append((inbound_email, parsed.message_id))
                continue
            lead = cls._lead_answered(parsed, rule.crm_company, leads)
            if not lead:
                lead = cls._lead_from_email(parsed, rule)
                new_leads.append(lead)
            leads[parsed.message_id] = lead
            accepted.append((inbound_email, parsed, lead))
        cls.save(new_leads)
        LeadEmail.save([cls._lead_email(l, p) for _, p, l in accepted])
        Attachment.save([
                Attachment(resource=lead, name=name, type='data', data=data)
                for _, parsed, lead in accepted
                for name, data in parsed.attachments])
        for inbound_email, parsed, lead in accepted:
            inbound_email.result = lead
            logger.info("inbound email to %s: %s stored on lead %s",
                inbound_email.inbox.rec_name, parsed.message_id, lead.number)
        for inbound_email, message_id in duplicates:
            lead = received.get(message_id) or leads[message_id].rec_name
            cls._reject(inbound_email, Rejection(
                    'duplicate', email=message_id, lead=lead))
        # The route saves the email it delivers in the request
        InboundEmail.save([e for e in inbound_emails if e.id is not None])
        lead_of = {id(e): lead for e, _, lead in accepted}
        return [lead_of.get(id(e)) for e in inbound_emails]

    @classmethod
    def _parse_inbound_emails(cls, inbound_emails):
        """Return the (inbound email, ParsedEmail) of the readable emails,
        marking them all as processed"""
        Configuration = Pool().get('crm.configuration')
        max_size = Configuration(1).lead_attachment_max_size
        deliveries = []
        for inbound_email in inbound_emails:
            inbound_email.crm_pending = False
            inbound_email.crm_reason = None
            try:
                deliveries.append((inbound_email, parse_email(
                            bytes(inbound_email.data or b''), max_size)))
            except Rejection as rejection:
                cls._reject(inbound_email, rejection)
            except (TransactionError, backend.DatabaseOperationalError):
                raise
            except Exception:
                logger.exception("inbound email to %s unreadable",
                    inbound_email.inbox.rec_name)
                cls._reject(inbound_email, Rejection('unreadable'))
        return deliveries

    @classmethod
    def _received_leads(cls, message_ids):
        """Return the name of the lead that already stores each of the
        Message-IDs, by Message-ID.

        On PostgreSQL, a lock on each Message-ID, kept until the end of the
        transaction, makes a concurrent delivery of the same email wait,
        and the search runs in a new transaction to see what that delivery
        committed meanwhile; the unique constraint is the last guard."""
        LeadEmail = Pool().get('crm.lead.email')
        message_ids = sorted(message_ids)
        if not message_ids:
            return {}

        def search():
            return {e.message_id: e.lead.rec_name for e in LeadEmail.search(
                    [('message_id', 'in', message_ids)])}
        locked = [wait_for_lock(f'crm.lead.email,{m}') for m in message_ids]
        if not all(locked):
            return search()
        with Transaction().new_transaction(readonly=True):
            return search()

    @classmethod
    def _reject(cls, inbound_email, rejection):
        inbound_email.crm_reason = str(rejection)[:500]
        logger.warning("inbound email to %s refused: %s (%s)",
            inbound_email.inbox.rec_name, rejection.reason, rejection.values)

    @classmethod
    def _lead_answered(cls, parsed, company, leads):
        """Return the lead that the email answers, if any, looking first at
        the leads by Message-ID of the emails just processed"""
        LeadEmail = Pool().get('crm.lead.email')
        for reference in reversed(parsed.references):
            if reference in leads:
                return leads[reference]
        if parsed.references:
            emails = LeadEmail.search([
                    ('message_id', 'in', parsed.references[-50:]),
                    ('lead.company', '=', company.id),
                    ], limit=1)
            if emails:
                return emails[0].lead
        match = LEAD_TOKEN.search(parsed.subject)
        if match:
            found = cls.search([
                    ('number', '=', match.group(1).upper()),
                    ('company', '=', company.id),
                    ], limit=1)
            if found:
                return found[0]

    @classmethod
    def _lead_from_email(cls, parsed, rule):
        pool = Pool()
        Assignment = pool.get('crm.lead.assignment')
        customer, contact = find_customer_contact(email=parsed.sender)
        employee = customer.owner if customer else None
        if not employee:
            employee = Assignment.assignee(rule.crm_company, parsed.sender)
        return cls(
            company=rule.crm_company,
            name=parsed.subject or parsed.sender,
            source=rule.crm_source,
            party=customer,
            contact=contact,
            contact_name=parsed.sender_name or None,
            email=parsed.sender,
            employee=employee,
            description=parsed.body,
            )

    @classmethod
    def _lead_email(cls, lead, parsed):
        LeadEmail = Pool().get('crm.lead.email')
        return LeadEmail(
            lead=lead, message_id=parsed.message_id, sender=parsed.sender,
            subject=parsed.subject, date=parsed.date, body=parsed.body)


class InboundEmail(metaclass=PoolMeta):
    __name__ = 'inbound.email'
    crm_reason = fields.Char(
        "Refusal Reason", readonly=True,
        help="Why the email made no lead.")
    crm_pending = fields.Boolean(
        "Waiting for the Leads Job", readonly=True,
        help="The email waits for the job that makes the leads.")
    crm_unread = fields.Boolean(
        "Refused Unread", readonly=True,
        help="The email was too big: it was refused before its content was "
        "read and must be sent again.")

    @classmethod
    def __setup__(cls):
        super().__setup__()
        t = cls.__table__()
        cls._sql_indexes.add(Index(t,
                (t.rule, Index.Equality()), (t.id, Index.Range()),
                where=t.crm_pending == Literal(True)))
        cls.data.required = False
        cls.data.states['required'] = ~Eval('crm_unread', False)
        process = cls._buttons['process']
        process['readonly'] |= Eval('crm_unread', False)
        process['depends'] = [*process['depends'], 'crm_unread']
        cls._buttons.update(
            crm_reprocess={
                'invisible': (~Eval('crm_reason')
                    | Eval('crm_pending', False) | Eval('crm_unread', False)),
                'depends': ['crm_reason', 'crm_pending', 'crm_unread'],
                },
            )

    @classmethod
    def default_crm_pending(cls):
        return False

    @classmethod
    def default_crm_unread(cls):
        return False

    @classmethod
    @ModelView.button
    def crm_reprocess(cls, emails):
        """Run the rules of the inbox again on the refused emails, once the
        cause of their refusal is fixed"""
        for inbound_email in emails:
            inbound_email.rule = inbound_email.result = None
            inbound_email.crm_reason = None
        cls.save(emails)
        cls.process(emails)

    @classmethod
    def crm_refuse_pending(cls, emails, rejection):
        "Refuse the emails that wait for the leads job, for the rejection"
        Lead = Pool().get('crm.lead')
        for inbound_email in emails:
            inbound_email.crm_pending = False
            Lead._reject(inbound_email, rejection)
        cls.save(emails)

    @classmethod
    def crm_take_pending(cls, rule, limit, ids=None):
        """Lock and return the oldest pending emails of the rule, at most
        limit and among ids when given, skipping those another job holds"""
        if ids is not None and not ids:
            return []
        transaction = Transaction()
        database = transaction.database
        table = cls.__table__()
        where = (table.rule == rule.id) & (table.crm_pending == Literal(True))
        if ids is not None:
            where &= table.id.in_(ids)
        query = table.select(
            table.id, where=where, order_by=[table.id.asc], limit=limit)
        if database.has_select_for():
            For = database.get_select_for_skip_locked()
            query.for_ = For('UPDATE')
        cursor = transaction.connection.cursor()
        cursor.execute(*query)
        return cls.browse([id_ for id_, in cursor])

    @classmethod
    def crm_max_size(cls, default):
        """Return the size limit of the emails posted to an inbox: big
        enough for the attachments that the CRM configuration accepts, and
        never less than default"""
        Configuration = Pool().get('crm.configuration')
        return max(default, email_size_limit(
                Configuration(1).lead_attachment_max_size))

    @classmethod
    def crm_refuse_unread(cls, inbox, data_type, size, limit):
        """Record the email that the route refused before reading it, being
        bigger than limit, and return the reason; size is None when the
        sender did not announce it"""
        Lead = Pool().get('crm.lead')
        if size is None:
            rejection = Rejection('too_big_streamed', limit=limit)
        else:
            rejection = Rejection('too_big', size=size, limit=limit)
        if data_type not in dict(cls.data_type.selection):
            data_type = 'raw'
        inbound_email = cls(
            inbox=inbox, data_type=data_type, crm_unread=True)
        Lead._reject(inbound_email, rejection)
        inbound_email.save()
        return inbound_email.crm_reason

    def _as_dict(self, raw):
        # The rules match on this dictionary before any action runs: a
        # hostile email must not crash it
        try:
            return super()._as_dict(raw)
        except Exception:
            logger.warning(
                "inbound email to %s: headers unreadable",
                self.inbox.rec_name, exc_info=True)
            return {}


class Rule(metaclass=PoolMeta):
    __name__ = 'inbound.email.rule'
    crm_company = fields.Many2One(
        'company.company', "Lead Company",
        states={
            'invisible': Eval('action') != ACTION,
            'required': Eval('action') == ACTION,
            })
    crm_source = fields.Many2One(
        'crm.customer.source', "Lead Source", ondelete='RESTRICT',
        states={'invisible': Eval('action') != ACTION})

    @classmethod
    def __setup__(cls):
        super().__setup__()
        cls.action.selection.append((ACTION, "Create or Update CRM Lead"))

    @classmethod
    def on_modification(cls, mode, rules, field_names=None):
        super().on_modification(mode, rules, field_names=field_names)
        if mode == 'delete':
            cls._crm_refuse_pending(rules, Rejection('rule_deleted'))
        elif mode == 'write' and 'action' in field_names:
            cls._crm_refuse_pending(
                [r for r in rules if r.action != ACTION],
                Rejection('rule_changed'))

    @classmethod
    def _crm_refuse_pending(cls, rules, rejection):
        """Refuse the emails that wait for the leads job of the rules, which
        will no longer make their leads"""
        InboundEmail = Pool().get('inbound.email')
        if rules:
            InboundEmail.crm_refuse_pending(InboundEmail.search([
                        ('rule', 'in', [r.id for r in rules]),
                        ('crm_pending', '=', True),
                        ]), rejection)

    @classmethod
    def crm_make_leads(cls, rules):
        """Make the leads of the pending emails of the rules, one job at a
        time per rule, committing each batch before taking the next"""
        transaction = Transaction()
        for index, rule in enumerate(rules):
            if index:
                transaction.commit()
            cls._crm_make_leads_of(rule)

    @classmethod
    def _crm_make_leads_of(cls, rule):
        """Make the leads of the pending emails of the rule in batches; a
        batch that fails is taken again one email at a time"""
        Lead = Pool().get('crm.lead')
        transaction = Transaction()
        while emails := cls._crm_take(rule, BATCH_SIZE):
            try:
                Lead.make_from_emails(rule, emails)
            except (TransactionError, backend.DatabaseOperationalError):
                raise
            except Exception:
                transaction.rollback()
                logger.warning("inbound emails to %s: a batch of %s failed, "
                    "taken again one at a time", rule.inbox.rec_name,
                    len(emails), exc_info=True)
                if not cls._crm_make_leads_one_by_one(
                        rule, [e.id for e in emails]):
                    return
            if len(emails) < BATCH_SIZE:
                # The last batch: the transaction of the job commits it
                return
            transaction.commit()

    @classmethod
    def _crm_take(cls, rule, limit, ids=None):
        """Take the oldest pending emails of the rule.

        A concurrent job of the rule waits for the lock, then fails on the
        emails taken here and is run again once they are committed: so
        replies find the leads of the batch before them."""
        InboundEmail = Pool().get('inbound.email')
        wait_for_lock(f'inbound.email.rule,{rule.id}')
        return InboundEmail.crm_take_pending(rule, limit, ids)

    @classmethod
    def _crm_make_leads_one_by_one(cls, rule, ids):
        """Make the lead of each email alone and return whether one did.

        The emails that fail are refused when another succeeds; when none
        does, the error is not theirs (a configuration, a bug) and they
        stay pending for the next run."""
        Lead = Pool().get('crm.lead')
        transaction = Transaction()
        failures, succeeded = {}, False
        for email_id in ids:
            emails = cls._crm_take(rule, 1, [email_id])
            if not emails:
                continue
            try:
                Lead.make_from_emails(rule, emails)
            except (TransactionError, backend.DatabaseOperationalError):
                raise
            except Exception as error:
                transaction.rollback()
                failures[email_id] = error
            else:
                succeeded = True
            transaction.commit()
        if not succeeded:
            logger.error("inbound emails to %s: no lead could be made, "
                "%s emails left pending", rule.inbox.rec_name, len(failures))
            return False
        for email_id, error in failures.items():
            cls._crm_refuse(rule, email_id, error)
        transaction.commit()
        return True

    @classmethod
    def crm_make_pending_leads(cls):
        """Make the leads of the emails that a failed job left pending, in
        a job when a queue worker runs"""
        InboundEmail = Pool().get('inbound.email')
        cls._crm_refuse_orphans()
        if not InboundEmail.search([
                    ('crm_pending', '=', True),
                    ('rule.action', '=', ACTION),
                    ], limit=1):
            return
        # The job finds nothing to do for the rules without pending emails
        rules = cls.search([('action', '=', ACTION)])
        if config.getboolean('queue', 'worker', default=False):
            cls.__queue__.crm_make_leads(rules)
        else:
            cls.crm_make_leads(rules)

    @classmethod
    def _crm_refuse_orphans(cls):
        """Refuse the waiting emails whose rule was deleted or no longer
        makes leads, which older versions left waiting for ever"""
        InboundEmail = Pool().get('inbound.email')
        emails = InboundEmail.search([
                ('crm_pending', '=', True),
                ['OR',
                    ('rule', '=', None),
                    ('rule.action', '=', None),
                    ('rule.action', '!=', ACTION),
                    ],
                ])
        InboundEmail.crm_refuse_pending(
            [e for e in emails if not e.rule], Rejection('rule_deleted'))
        InboundEmail.crm_refuse_pending(
            [e for e in emails if e.rule], Rejection('rule_changed'))

    @classmethod
    def _crm_refuse(cls, rule, email_id, error):
        "Refuse the email whose lead could not be made, saying why"
        Lead = Pool().get('crm.lead')
        if isinstance(error, UserError):
            rejection = Rejection('lead_failed', error=' '.join(
                    filter(None, [error.message, error.description])))
        else:
            rejection = Rejection('unreadable')
        for inbound_email in cls._crm_take(rule, 1, [email_id]):
            inbound_email.crm_pending = False
            Lead._reject(inbound_email, rejection)
            inbound_email.save()
