"""A row held exclusively while a block runs, even when the block calls Xero."""

import threading
from contextlib import contextmanager

from django.db import connection, transaction

_registry_lock = threading.Lock()
_process_locks: dict = {}


@contextmanager
def locked_row(queryset, **lookup):
    """Yield the row matching `lookup` (or None), fresh, held until the block ends.

    On PostgreSQL this is SELECT … FOR UPDATE inside a transaction, which serialises
    every process. SQLite has no row locks: its transaction would hold the whole file
    for the block, and a block that calls Xero would then stall the embedded sandbox
    sharing that file. There (the one-process demo) a process-wide lock per row
    serialises instead, and the block's writes commit as they go.
    """
    if connection.vendor == "sqlite":
        key = (queryset.model._meta.label, tuple(sorted((k, str(v)) for k, v in lookup.items())))
        with _registry_lock:
            lock = _process_locks.setdefault(key, threading.Lock())
        with lock:
            yield queryset.filter(**lookup).first()
    else:
        with transaction.atomic():
            yield queryset.select_for_update().filter(**lookup).first()
