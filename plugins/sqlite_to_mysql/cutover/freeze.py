"""Write freezes: BEFORE triggers that fail every INSERT, UPDATE and DELETE of the migrated
tables with a message saying why.

Two kinds, on either side:

- a timed freeze (`_s2m_f_*`) compares the clock with a deadline written into the trigger
  itself: once the deadline passes it lets writes through again, even if the process that
  froze the database died and nobody ever comes back to remove it;
- a guard (`_s2m_g_*`) has no deadline: it keeps the side the application left read-only,
  so a forgotten application instance cannot write where nobody reads any more.

The freeze becomes a guard in one SQLite transaction, and only if the deadline has not
passed and nothing was written since the last change applied: that is the switch's point of
no return, and it is atomic.

On MySQL, where the application runs during a rollback, both are one row that the block
triggers read (mysql_capture.block_triggers, installed with capture): freezing, guarding and
unfreezing update that row, so none of them runs DDL while the application writes. Our own
sessions (`@s2m_sync`) pass both.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
import time

from mysql_common.identifiers import quote
from sqlite_to_mysql.cutover import mysql_capture, sqlite_capture
from sqlite_to_mysql.cutover.sqlite_capture import NOW_SQL, Transaction, sql_text, trigger_name
from sqlite_to_mysql.cutover.errors import CutoverError, FreezeTimeout
from sqlite_to_mysql.plan import Plan
from sqlite_to_mysql.source_schema import qi

log = logging.getLogger(__name__)

# Refusals start with FROZEN while a freeze lasts (an application retries those, after the
# time they give) and say the database moved once it is guarded (retrying cannot help).
FROZEN = "writes are frozen"
SOURCE_GUARD_MESSAGE = "this SQLite database is retired: the application now uses MySQL (cutover done)"
TARGET_GUARD_MESSAGE = "this MySQL database is not in use: the application runs on SQLite (rolled back)"


def utc(epoch: float, *, fraction: bool = False) -> str:
    """An epoch time as operators read it, always in UTC."""
    moment = dt.datetime.fromtimestamp(epoch, dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC" if fraction else "%Y-%m-%d %H:%M:%S UTC")


def freeze_message(deadline: float, what: str = "database cutover to MySQL") -> str:
    """The refusal of a timed freeze: until when (the deadline, rounded up to the second)."""
    return f"{FROZEN} until {utc(math.ceil(deadline))} ({what} in progress): retry after that time"


def target_freeze_message(deadline: float) -> str:
    return freeze_message(deadline, "rollback to SQLite")
EVENTS = (("i", "INSERT"), ("u", "UPDATE"), ("d", "DELETE"))


# --- SQLite -----------------------------------------------------------------------------

def _sqlite_triggers(plan: Plan, kind: str, message: str, deadline: float | None) -> list[str]:
    when = f" WHEN {NOW_SQL} < {deadline!r}" if deadline is not None else ""
    return [f"CREATE TRIGGER {qi(trigger_name(kind, tp.source, op))} BEFORE {event} ON {qi(tp.source)}{when} "
            f"BEGIN SELECT RAISE(ABORT, {sql_text(message)}); END"
            for tp in plan.tables for op, event in EVENTS]


def _drop_sqlite(conn: sqlite3.Connection, kinds: str) -> int:
    dropped = 0
    for kind in kinds:
        for name in sqlite_capture.our_triggers(conn, kind):
            conn.execute(f"DROP TRIGGER {qi(name)}")
            dropped += 1
    return dropped


def freeze_source(conn: sqlite3.Connection, plan: Plan, *, deadline: float, run_id: str) -> None:
    """Refuse writes to every migrated table until `deadline` (epoch seconds)."""
    with Transaction(conn):
        current = sqlite_capture.phase(conn)
        if current != sqlite_capture.CAPTURING:
            raise CutoverError(f"cannot freeze: the cutover is in phase {current}, not {sqlite_capture.CAPTURING}")
        _drop_sqlite(conn, "f")
        for statement in _sqlite_triggers(plan, "f", freeze_message(deadline), deadline):
            conn.execute(statement)
        sqlite_capture.transition(conn, sqlite_capture.FROZEN, freeze_deadline=deadline, frozen_at=time.time(),
                            cutover_run_id=run_id)


def commit_switch(conn: sqlite3.Connection, plan: Plan, *, applied_seq: int) -> None:
    """The point of no return: within the freeze's deadline and with every logged change
    applied, turn the timed freeze into a guard (one transaction, so no write slips between)."""
    with Transaction(conn):
        state = sqlite_capture.read_state(conn)
        if state.get("phase") != sqlite_capture.FROZEN:
            raise CutoverError(f"cannot switch: the cutover is in phase {state.get('phase')}, not frozen")
        deadline = float(state["freeze_deadline"])
        if time.time() >= deadline:
            raise FreezeTimeout(f"the freeze reached its deadline ({utc(deadline)}) before the switch")
        newest = sqlite_capture.changes_after(conn, applied_seq)[2]
        if newest is not None:
            raise CutoverError(f"changes were logged after the last one applied ({applied_seq} < {newest}) "
                               f"while writes were frozen: refusing to switch")
        _drop_sqlite(conn, "f")
        for statement in _sqlite_triggers(plan, "g", SOURCE_GUARD_MESSAGE, None):
            conn.execute(statement)
        sqlite_capture.transition(conn, sqlite_capture.SWITCHING, freeze_deadline=None)


def unfreeze_source(conn: sqlite3.Connection, *, phase: str = sqlite_capture.CAPTURING) -> int:
    """Drop the timed freeze and the guard: the application may write to SQLite again."""
    with Transaction(conn):
        dropped = _drop_sqlite(conn, "fg")
        sqlite_capture.transition(conn, phase, freeze_deadline=None)
    return dropped


# --- MySQL ------------------------------------------------------------------------------

def _block(conn, message: str | None, deadline: float | None) -> int:
    """Set the refusal the block triggers give (None: writes pass); returns whether one was
    lifted. The update waits for the application's transactions in flight (they read the row
    with a shared lock), and every write after it sees it."""
    if message is not None:  # SIGNAL's MESSAGE_TEXT holds 128 characters
        assert len(message) <= 128, message
    cur = conn.cursor()
    cur.execute(f"SELECT message IS NOT NULL FROM {quote(mysql_capture.BLOCK)} WHERE id = 1 FOR UPDATE")
    lifted = int(bool((cur.fetchone() or [0])[0])) if message is None else 0
    cur.execute(f"UPDATE {quote(mysql_capture.BLOCK)} SET message = %s, until = %s WHERE id = 1",
                (message, None if deadline is None else utc(deadline, fraction=True)[:-4]))
    conn.commit()
    return lifted


def freeze_target(conn, plan: Plan, *, deadline: float) -> None:
    """Refuse the application's writes to MySQL until `deadline`; a write committed before
    this takes effect is logged by capture, and the drain that follows applies it."""
    _block(conn, target_freeze_message(deadline), deadline)


def guard_target(conn, plan: Plan) -> None:
    """Guard MySQL for good: the timed freeze becomes the guard in one update."""
    _block(conn, TARGET_GUARD_MESSAGE, None)


def unfreeze_target(conn) -> int:
    """Lift MySQL's timed freeze or guard; returns whether one was in place."""
    return _block(conn, None, None)


def target_blocks(conn) -> dict[str, int]:
    """What refuses the application's writes to MySQL now: a timed freeze (even past its
    deadline: left behind), or the guard."""
    cur = conn.cursor()
    cur.execute(f"SELECT message, until FROM {quote(mysql_capture.BLOCK)} WHERE id = 1")
    message, until = cur.fetchone() or (None, None)
    conn.commit()
    return {"freeze": int(message is not None and until is not None), "guard": int(message is not None and
                                                                                 until is None)}
