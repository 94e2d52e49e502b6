"""Read/write splitting for the shop: reads from the 'replica' alias, writes to 'default' (the primary).

A replica is behind the primary by its replication lag, so a read right after a write may not
see that write. Two rules keep read-your-writes where it matters:

- inside a transaction on the primary (transaction.atomic(), ATOMIC_REQUESTS) reads go to the
  primary too: a check-then-write sequence must read what it is about to change;
- `with primary_reads():` pins reads to the primary for a block, e.g. the view that redirects
  after a form submission and shows what was just saved.

Everything else (listings, reports, search) reads from the replica.

settings.py:
    DATABASES = {"default": {...primary...}, "replica": {...replica, a read-only account...}}
    DATABASE_ROUTERS = ["routers.PrimaryReplicaRouter"]
"""
from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator

from django.db import DEFAULT_DB_ALIAS, connections

REPLICA_ALIAS = "replica"

_pinned = contextvars.ContextVar("shop_primary_reads", default=False)


@contextlib.contextmanager
def primary_reads() -> Iterator[None]:
    """Read from the primary inside this block (per thread / per async task)."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


class PrimaryReplicaRouter:
    def db_for_read(self, model, **hints):
        if _pinned.get() or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return REPLICA_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same data: an object read from the replica may point to one
        # saved on the primary.
        return {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA_ALIAS}

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica gets its schema by replication; migrating it directly would break it.
        return db == DEFAULT_DB_ALIAS
