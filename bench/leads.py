"""Email → lead throughput through the real HTTP route of the mail gateway
(see bench/README.md).

    python bench/leads.py [--emails 1000] [--customers 100000]

Starts a throwaway PostgreSQL cluster, activates crm_plus and fills it with
bench/generate.py (customers with an email each, teams), adds a sales inbox
whose rule turns emails into leads (round-robin in "Team 1"), then serves
the database with ``python -O trytond`` (the werkzeug server of
``trytond``, threaded) and posts RFC 822 messages to
``/<db>/inbound_email/inbox/<identifier>``, one message per request.  One
email in five comes from a known customer, the others from new senders,
each with a new Message-ID.

Two configurations:

- with a worker (``[queue] worker = True`` and ``python -O trytond-worker``
  beside the server), as in production: the route stores the email and
  queues the leads job of its rule, which makes the leads of all the
  pending emails; 1, 2 and 4 parallel senders; the time runs from the
  first post until the last lead is made;
- without (the default): the route makes the lead in the request; 1
  sender.

Raw: the same work by hand-written SQL over one connection, one
transaction per email: the Message-ID lock and check, the inbound email,
the sender lookup, the round-robin turn (row lock), the lead number, the
lead and its email, commit.

Target: ≥ 50 leads/s sequential through the HTTP route (with a worker).
"""
import argparse
import email
import email.policy
import email.utils
import hashlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from email.message import EmailMessage

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import cluster  # noqa: E402

DATABASE = 'bench_leads'
SENDERS = [1, 2, 4]
BODY = (
    "Hello,\n\nWe are looking for a supplier of industrial sensors for our "
    "new production line in Suzhou. Could you send us a quotation for 200 "
    "units, with delivery terms and the warranty conditions?\n\n"
    "您好，我们正在为苏州的新生产线寻找工业传感器供应商，请报价 200 台，"
    "并说明交货条件和质保条款。\n\nBest regards,\n") * 2


def log(*args):
    print(f'[leads {time.strftime("%H:%M:%S")}]', *args, flush=True)


def message(run, index):
    "Return the index-th email of the run: one in five from a customer"
    msg = EmailMessage()
    if index % 5 == 0:
        msg['From'] = f'c{index + 1}@customer.test'
    else:
        msg['From'] = f'Buyer {index} <buyer{index}@company{index % 500}.test>'
    msg['To'] = 'sales@crm-plus.test'
    msg['Subject'] = f'Inquiry {run}-{index}: industrial sensors'
    msg['Message-ID'] = f'<{run}-{index}@bench.test>'
    msg['Date'] = email.utils.formatdate()
    msg.set_content(BODY)
    return msg.as_bytes()


def configure(env):
    "Create the sales inbox and its lead rule; return its identifier"
    code = '''
from trytond.pool import Pool
from trytond.transaction import Transaction
Pool.start()
pool = Pool(%r)
pool.init()
with Transaction().start(%r, 0) as transaction:
    ModelData = pool.get('ir.model.data')
    Company = pool.get('company.company')
    Inbox = pool.get('inbound.email.inbox')
    Rule = pool.get('inbound.email.rule')
    Team = pool.get('crm.team')
    Assignment = pool.get('crm.lead.assignment')
    company, = Company.search([])
    team, = Team.search([('name', '=', 'Team 1')])
    inbox = Inbox(name="Sales")
    inbox.save()
    Inbox.new_identifier([inbox])
    Rule(inbox=inbox, action='crm.lead|from_inbound_email',
        crm_company=company, crm_source=ModelData.get_id(
            'crm_plus', 'customer_source_email')).save()
    Assignment(company=company, team=team).save()
    print(inbox.identifier)
    transaction.commit()
''' % (DATABASE, DATABASE)
    output = subprocess.run([sys.executable, '-c', code], env=env,
        check=True, capture_output=True, text=True).stdout
    return output.strip().splitlines()[-1]


def serve(env, directory, worker):
    """Start trytond under python -O, and trytond-worker when worker;
    return the processes and the port of the server"""
    port = cluster.pgcluster._free_port()
    bin_ = os.path.dirname(sys.executable)
    log_file = open(os.path.join(directory, 'trytond.log'), 'ab')
    env = dict(env, TRYTOND_WEB__LISTEN=f'127.0.0.1:{port}',
        TRYTOND_DATABASE__PATH=directory,
        TRYTOND_QUEUE__WORKER=str(worker))
    processes = [subprocess.Popen(
            [sys.executable, '-O', os.path.join(bin_, 'trytond')],
            env=env, stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT)]
    if worker:
        processes.append(subprocess.Popen([sys.executable, '-O',
                    os.path.join(bin_, 'trytond-worker'), '-d', DATABASE,
                    '-n', '1'],
                env=env, stdout=log_file, stderr=subprocess.STDOUT,
                cwd=ROOT))
    for _ in range(600):
        try:
            socket.create_connection(('127.0.0.1', port), 1).close()
            return processes, port
        except OSError:
            if any(p.poll() is not None for p in processes):
                break
            time.sleep(0.1)
    stop(processes)
    raise SystemExit('trytond did not start, see ' + log_file.name)


def stop(processes):
    for process in processes:
        process.terminate()
        process.wait()


def post_all(port, path, messages, senders, conn):
    """Post the messages with that many parallel senders; return the emails
    per second taken by the route and the leads per second made, from the
    first post until the last lead"""
    chunks = [messages[i::senders] for i in range(senders)]
    errors = []
    expected = count_leads(conn) + len(messages)

    def send(chunk):
        connection = http.client.HTTPConnection('127.0.0.1', port)
        for data in chunk:
            connection.request('POST', path, body=data,
                headers={'Content-Type': 'message/rfc822'})
            response = connection.getresponse()
            response.read()
            if response.status != 204:
                errors.append(response.status)
        connection.close()
    threads = [threading.Thread(target=send, args=(c,)) for c in chunks]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    posted = time.perf_counter() - started
    if errors:
        raise SystemExit(f'{len(errors)} emails refused: {errors[:5]}')
    deadline = time.perf_counter() + 300
    while (made := count_leads(conn)) < expected:
        if time.perf_counter() > deadline:
            raise SystemExit(f'{expected - made} leads missing after 5 min, '
                'see trytond.log and the refused inbound emails')
        time.sleep(0.005)
    made = time.perf_counter() - started
    return len(messages) / posted, len(messages) / made


def raw_insert_all(conn, messages, inbox):
    "Write the same rows by hand, one transaction per email; return rows/s"
    ids = dict(zip(['source', 'company', 'rule', 'assignment', 'sequence'],
            conn.execute(RAW_IDS_SQL, {'inbox': inbox}).fetchone()))
    members = [r[0] for r in conn.execute(RAW_MEMBERS_SQL, ids)]
    started = time.perf_counter()
    for data in messages:
        raw_insert(conn, data, ids, members)
    return len(messages) / (time.perf_counter() - started)


def raw_insert(conn, data, ids, members):
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    message_id = parsed['Message-ID'].strip('<>')
    sender = parsed['From'].addresses[0]
    key = int.from_bytes(
        hashlib.sha1(message_id.encode()).digest()[:4], 'big') >> 1
    body = parsed.get_body(('plain',)).get_content()
    with conn.transaction():
        conn.execute('SELECT pg_advisory_xact_lock(%s)', (key,))
        if conn.execute('SELECT 1 FROM crm_lead_email WHERE message_id = %s',
                (message_id,)).fetchone():
            return
        email_id, = conn.execute(RAW_INBOUND_SQL, {
                'rule': ids['rule'], 'data': data}).fetchone()
        customer = conn.execute(RAW_SENDER_SQL,
            {'email': sender.addr_spec}).fetchone()
        party, employee = customer or (None, None)
        if not employee:
            last, = conn.execute(RAW_TURN_SQL, ids).fetchone()
            employee = next((m for m in members if m > (last or 0)),
                members[0])
            conn.execute('UPDATE crm_lead_assignment SET last_employee = '
                '%(employee)s WHERE id = %(assignment)s',
                dict(ids, employee=employee))
        number, = conn.execute(RAW_NUMBER_SQL, ids).fetchone()
        lead, = conn.execute(RAW_LEAD_SQL, dict(ids,
                number=f'LEAD{number}', name=str(parsed['Subject']),
                party=party, email=sender.addr_spec,
                contact_name=sender.display_name or None,
                employee=employee, description=body)).fetchone()
        conn.execute(RAW_LEAD_EMAIL_SQL, {'lead': lead,
                'message_id': message_id, 'sender': sender.addr_spec,
                'subject': str(parsed['Subject']), 'body': body})
        conn.execute('UPDATE inbound_email SET rule = %s, result = %s '
            'WHERE id = %s', (ids['rule'], f'crm.lead,{lead}', email_id))


RAW_IDS_SQL = """
SELECT r.crm_source, r.crm_company, r.id, a.id, c.lead_sequence
FROM inbound_email_rule AS r
JOIN inbound_email_inbox AS i ON i.id = r.inbox
JOIN crm_lead_assignment AS a ON a.company = r.crm_company
CROSS JOIN crm_configuration AS c
WHERE i.identifier = %(inbox)s
"""
RAW_MEMBERS_SQL = """
SELECT m.employee FROM "crm_team-company_employee" AS m
JOIN crm_lead_assignment AS a ON a.team = m.team
WHERE a.id = %(assignment)s ORDER BY m.employee
"""
RAW_INBOUND_SQL = """
INSERT INTO inbound_email (inbox, data, data_type, create_uid, create_date)
SELECT inbox, %(data)s, 'raw', 0, now() FROM inbound_email_rule
WHERE id = %(rule)s RETURNING id
"""
RAW_SENDER_SQL = """
SELECT p.id, p.owner FROM party_contact_mechanism AS m
JOIN party_party AS p ON p.id = m.party
WHERE m.type = 'email' AND m.value = %(email)s AND m.active
    AND p.customer_nature IS NOT NULL
LIMIT 1
"""
RAW_TURN_SQL = """
SELECT last_employee FROM crm_lead_assignment WHERE id = %(assignment)s
FOR UPDATE
"""
# The lead sequence is incremental: Tryton uses a PostgreSQL sequence
RAW_NUMBER_SQL = "SELECT nextval('ir_sequence_' || %(sequence)s)"
RAW_LEAD_SQL = """
INSERT INTO crm_lead (company, number, name, source, party, email,
    contact_name, employee, description, state, create_uid, create_date)
VALUES (%(company)s, %(number)s, %(name)s, %(source)s, %(party)s, %(email)s,
    %(contact_name)s, %(employee)s, %(description)s, 'new', 0, now())
RETURNING id
"""
RAW_LEAD_EMAIL_SQL = """
INSERT INTO crm_lead_email (lead, message_id, sender, subject, date, body,
    create_uid, create_date)
VALUES (%(lead)s, %(message_id)s, %(sender)s, %(subject)s, now(), %(body)s,
    0, now())
"""


def count_leads(conn):
    return conn.execute('SELECT count(*) FROM crm_lead_email').fetchone()[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--customers', type=int, default=100_000)
    parser.add_argument('--emails', type=int, default=1000,
        help="emails posted per measurement")
    args = parser.parse_args()
    import psycopg
    results = []
    with cluster.temporary() as pg, \
            tempfile.TemporaryDirectory() as directory:
        env = cluster.new_database(pg, DATABASE, args.customers, log)
        inbox = configure(env)
        path = f'/{DATABASE}/inbound_email/inbox/{inbox}'
        conn = psycopg.connect(pg.uri + DATABASE, autocommit=True)
        for worker, senders_list in [(True, SENDERS), (False, [1])]:
            processes, port = serve(env, directory, worker)
            try:
                post_all(port, path,
                    [message(f'warm{worker}', i) for i in range(20)], 1, conn)
                for senders in senders_list:
                    run = f'http{senders}{worker}'
                    messages = [message(run, i) for i in range(args.emails)]
                    log(f'posting {len(messages)} emails, {senders} '
                        f'sender(s), worker: {worker}')
                    posted, made = post_all(
                        port, path, messages, senders, conn)
                    name = (f'{senders} sender(s), '
                        + ('worker' if worker else 'no worker'))
                    results.append((name, posted, made))
            finally:
                stop(processes)
        messages = [message('raw', i) for i in range(args.emails)]
        before = count_leads(conn)
        log(f'inserting {len(messages)} emails by hand-written SQL')
        raw_rate = raw_insert_all(conn, messages, inbox)
        if count_leads(conn) - before != len(messages):
            raise SystemExit('the hand-written SQL missed leads')
        conn.close()
    print(f'| HTTP route | emails/s taken | leads/s made '
        f'| raw SQL ({raw_rate:.0f}/s) is | result |')
    print('|---|---|---|---|---|')
    for name, posted, made in results:
        result = 'info'
        if name == '1 sender(s), worker':
            result = 'PASS' if made >= 50 else 'MISS'
        print(f'| {name} | {posted:.1f} | {made:.1f} '
            f'| {raw_rate / made:.1f}× faster | {result} |')


if __name__ == '__main__':
    main()
