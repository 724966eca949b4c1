#!/usr/bin/env python3
# This file is part of crm_plus.  The COPYRIGHT file at the top level of
# this repository contains the full copyright notices and license terms.
"""A queue worker for a SQLite database, as ``make demo`` runs it.

    sqlite_worker.py -c var/trytond.conf -d crmdemo [-t 2] [--logconf FILE]

trytond-worker does not work on SQLite in trytond 8.0: it waits for new
tasks on the database connection, which only PostgreSQL can wake
("ValueError: Invalid file object"), and ir.queue's pull fails on SQLite
after marking the task taken ("no such table"), so the task is lost.
This worker takes the tasks of ir.queue in the same order, one at a time,
looks for new ones every --timeout seconds, and runs each with trytond's
own worker.run_task (its transactions, retries, errors and logs).  It takes
the options of trytond-worker; -n is ignored.
"""

import sys
import time


def pull(pool, name=None):
    """Take the next task due (scheduled first, then expected first) and
    return its id, or None"""
    from sql import Literal, Null
    from sql.functions import CurrentTimestamp

    from trytond.transaction import Transaction
    Queue = pool.get('ir.queue')
    queue = Queue.__table__()
    with Transaction().start(pool.database_name, 0) as transaction:
        cursor = transaction.connection.cursor()
        cursor.execute(*queue.select(queue.id,
                where=((queue.name == name) if name else Literal(True))
                & (queue.dequeued_at == Null)
                & ((queue.scheduled_at == Null)
                    | (queue.scheduled_at <= CurrentTimestamp())),
                order_by=[queue.scheduled_at.nulls_first,
                    queue.expected_at.nulls_first, queue.id.asc],
                limit=1))
        row = cursor.fetchone()
        if row:
            cursor.execute(*queue.update(
                    [queue.dequeued_at], [CurrentTimestamp()],
                    where=queue.id == row[0]))
        transaction.commit()
    return row[0] if row else None


def work(options):
    from sql import Flavor

    from trytond import backend, config
    from trytond.pool import Pool
    from trytond.transaction import Transaction
    from trytond.worker import run_task
    Flavor.set(backend.Database.flavor)
    if not config.getboolean('queue', 'worker', default=False):
        sys.exit('[queue] worker is not set in the configuration')
    database, = options.database_names
    pool = Pool(database)
    with Transaction().start(database, 0, readonly=True):
        pool.init()
    while True:
        try:
            task_id = pull(pool, options.name)
        except backend.DatabaseOperationalError:
            # The database is locked by another writer: try again
            task_id = None
        if task_id:
            run_task(pool, task_id)
        else:
            time.sleep(options.timeout)


def main():
    import trytond.commandline as commandline
    from trytond import config
    parser = commandline.get_parser_worker()
    options = parser.parse_args()
    config.update_etc(options.configfile)
    commandline.config_log(options)
    from trytond.pool import Pool
    Pool.start()
    try:
        work(options)
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
