"""Retrying a write through a database cutover or rollback (docs/cutover.md, "The application").

What a write can meet while its database moves, and what to do:

- `writes are frozen until <time> UTC (...)`: a cutover or rollback holds writes for at most
  its freeze timeout (the time it names); retry the whole transaction, after that time at
  the latest. SQLite raises it as an IntegrityError, MySQL as an OperationalError.
- `database is locked`: SQLite would not turn a deferred transaction's read lock into a
  write lock while another connection held it, and says so at once, without waiting. The
  cutover's own short transactions hold that lock too, as does any other writer of the
  application. With `transaction_mode: IMMEDIATE` (shopconf.database_settings) a transaction
  takes the write lock when it begins and waits up to `timeout` seconds for it instead; an
  application that keeps deferred transactions must retry this error as well.
- `Deadlock found when trying to get lock` / `Lock wait timeout exceeded` (MySQL): InnoDB
  chose the transaction as a victim. The cutover's freeze on MySQL adds none (it is a row
  update, not DDL), but any InnoDB application retries these; do it here too.
- `this SQLite database is retired` / `this MySQL database is not in use`: the database moved.
  Retrying cannot help: load the new settings (the switch's command or webhook restarts the
  application, or it rereads the settings file the switch wrote). DatabaseMoved says so.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from django.db import IntegrityError, OperationalError, transaction

FROZEN = "writes are frozen"
LOCKED = "database is locked"
DEADLOCK = ("Deadlock found", "Lock wait timeout exceeded")
MOVED = ("database is retired", "database is not in use")

T = TypeVar("T")


class DatabaseMoved(Exception):
    """The application's database moved (cutover or rollback done): reload the settings."""


def atomic_with_retry(work: Callable[[], T], *, using: str | None = None, patience: float = 120.0,
                      on_retry: Callable[[str], None] | None = None) -> T:
    """Run `work` in one transaction; retry it while a freeze lasts (or SQLite says locked),
    for `patience` seconds at most. `on_retry(reason)` is told of each retry."""
    started, delay = time.monotonic(), 0.02
    while True:
        try:
            with transaction.atomic(using=using):
                return work()
        except (IntegrityError, OperationalError) as exc:
            text = str(exc)
            if any(moved in text for moved in MOVED):
                raise DatabaseMoved(text) from exc
            reason = ("frozen" if FROZEN in text else "locked" if LOCKED in text
                      else "deadlock" if any(d in text for d in DEADLOCK) else None)
            if reason is None or time.monotonic() - started > patience:
                raise
            if on_retry:
                on_retry(reason)
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
