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
no return, and it is atomic. On MySQL our own sessions (`@s2m_sync`) pass both kinds.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import sqlite3
import time

from mysql_common.identifiers import quote
from sqlite_to_mysql import capture, target_capture
from sqlite_to_mysql.capture import NOW_SQL, Transaction, sql_text, trigger_name
from sqlite_to_mysql.cutover_errors import CutoverError, FreezeTimeout
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
        for name in capture.our_triggers(conn, kind):
            conn.execute(f"DROP TRIGGER {qi(name)}")
            dropped += 1
    return dropped


def freeze_source(conn: sqlite3.Connection, plan: Plan, *, deadline: float, run_id: str) -> None:
    """Refuse writes to every migrated table until `deadline` (epoch seconds)."""
    with Transaction(conn):
        current = capture.phase(conn)
        if current != capture.CAPTURING:
            raise CutoverError(f"cannot freeze: the cutover is in phase {current}, not {capture.CAPTURING}")
        _drop_sqlite(conn, "f")
        for statement in _sqlite_triggers(plan, "f", freeze_message(deadline), deadline):
            conn.execute(statement)
        capture.write_state(conn, phase=capture.FROZEN, freeze_deadline=deadline, frozen_at=time.time(),
                            cutover_run_id=run_id)


def commit_switch(conn: sqlite3.Connection, plan: Plan, *, applied_seq: int) -> None:
    """The point of no return: within the freeze's deadline and with every logged change
    applied, turn the timed freeze into a guard (one transaction, so no write slips between)."""
    with Transaction(conn):
        state = capture.read_state(conn)
        if state.get("phase") != capture.FROZEN:
            raise CutoverError(f"cannot switch: the cutover is in phase {state.get('phase')}, not frozen")
        deadline = float(state["freeze_deadline"])
        if time.time() >= deadline:
            raise FreezeTimeout(f"the freeze reached its deadline ({utc(deadline)}) before the switch")
        newest = capture.changes_after(conn, applied_seq)[2]
        if newest is not None:
            raise CutoverError(f"changes were logged after the last one applied ({applied_seq} < {newest}) "
                               f"while writes were frozen: refusing to switch")
        _drop_sqlite(conn, "f")
        for statement in _sqlite_triggers(plan, "g", SOURCE_GUARD_MESSAGE, None):
            conn.execute(statement)
        capture.write_state(conn, phase=capture.SWITCHING, freeze_deadline=None)


def unfreeze_source(conn: sqlite3.Connection, *, phase: str = capture.CAPTURING) -> int:
    """Drop the timed freeze and the guard: the application may write to SQLite again."""
    with Transaction(conn):
        dropped = _drop_sqlite(conn, "fg")
        capture.write_state(conn, phase=phase, freeze_deadline=None)
    return dropped


def guard_source(conn: sqlite3.Connection, plan: Plan, *, phase: str) -> None:
    """Guard SQLite (for good) and record the phase, in one transaction."""
    with Transaction(conn):
        _drop_sqlite(conn, "fg")
        for statement in _sqlite_triggers(plan, "g", SOURCE_GUARD_MESSAGE, None):
            conn.execute(statement)
        capture.write_state(conn, phase=phase, freeze_deadline=None)


# --- MySQL ------------------------------------------------------------------------------

def _mysql_triggers(plan: Plan, kind: str, message: str, deadline: float | None) -> dict[str, str]:
    # SIGNAL takes a literal only, of 128 characters at most: our messages are plain ASCII
    # without quotes or backslashes
    assert message.isascii() and "'" not in message and "\\" not in message and len(message) <= 128
    until = f" AND UTC_TIMESTAMP(6) < '{utc(deadline, fraction=True)[:-4]}'" if deadline is not None else ""
    triggers = {}
    for tp in plan.tables:
        for op, event in EVENTS:
            name = trigger_name(kind, tp.target, op)
            triggers[name] = (f"CREATE TRIGGER {quote(name)} BEFORE {event} ON {quote(tp.target)} FOR EACH ROW "
                              f"BEGIN IF @s2m_sync IS NULL{until} THEN SIGNAL SQLSTATE '45000' "
                              f"SET MESSAGE_TEXT = '{message}'; END IF; END")
    return triggers


def _drop_mysql(conn, kinds: str) -> int:
    have = target_capture.existing_triggers(conn, kinds)
    cur = conn.cursor()
    for name in have:
        cur.execute(f"DROP TRIGGER IF EXISTS {quote(name)}")
    return len(have)


def freeze_target(conn, plan: Plan, *, deadline: float) -> None:
    """Refuse the application's writes to MySQL until `deadline`. Each CREATE TRIGGER commits
    on its own; a write that lands between two of them is still logged by capture, and the
    drain that follows the freeze applies it."""
    _drop_mysql(conn, "f")
    cur = conn.cursor()
    for statement in _mysql_triggers(plan, "f", target_freeze_message(deadline), deadline).values():
        cur.execute(statement)


def guard_target(conn, plan: Plan) -> None:
    """Guard MySQL for good: the guard goes in before the timed freeze comes out, so there is
    no moment without either (MySQL allows several BEFORE triggers per event)."""
    wanted = _mysql_triggers(plan, "g", TARGET_GUARD_MESSAGE, None)
    have = target_capture.existing_triggers(conn, "g")
    cur = conn.cursor()
    for name, statement in wanted.items():
        if name not in have:
            cur.execute(statement)
    _drop_mysql(conn, "f")


def unfreeze_target(conn) -> int:
    """Drop MySQL's timed freeze and guard."""
    return _drop_mysql(conn, "fg")


def target_blocks(conn) -> dict[str, int]:
    have = target_capture.existing_triggers(conn, "fg")
    return {"freeze": sum(1 for n in have if n[5] == "f"), "guard": sum(1 for n in have if n[5] == "g")}
