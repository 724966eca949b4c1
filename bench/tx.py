"""Run a function in a Tryton transaction the way the RPC dispatcher does.

``Model.lock()`` raises a TransactionError the first time it is called in
a transaction: the dispatcher (trytond/protocols/dispatcher.py) rolls back,
lets the error add the locks to the transaction "extras" and starts again,
this time taking the row/table locks when the transaction starts.
"""
from trytond.transaction import Transaction, TransactionError


def run(database, user, func, context=None, commit=False, readonly=False):
    "Call func() in a transaction, retrying on TransactionError"
    extras = {}
    while True:
        with Transaction().start(database, user, readonly=readonly,
                context=context or {}, **extras) as transaction:
            try:
                result = func()
            except TransactionError as e:
                transaction.rollback()
                transaction.tasks.clear()
                e.fix(extras)
                continue
            if commit:
                transaction.commit()
            else:
                transaction.rollback()
            return result
