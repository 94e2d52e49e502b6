"""Change capture on the SQLite source, and the cutover's state kept next to it.

Triggers record the key of every row inserted, updated or deleted in a migrated table into
`_s2m_changelog`, inside the application's own transaction: a write that commits is logged,
a write that rolls back is not, and nothing committed after capture starts can be missed.
The catch-up re-reads each logged row, so keys are all the log needs.

The triggers use only SQLite built-ins (the application's connections know none of ours)
and store key values as they are (the key columns have no type, so integer, text and blob
keys stay exact). Our objects are named `_s2m_*`, which `read_schema` ignores.

`_s2m_state` holds the plan the target was built with and the cutover phase, so every later
task, whichever DAG runs it, reads one truth from the file the application writes to.
"""
from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time

from mysql_common.errors import TransientError
from sqlite_to_mysql.cutover.errors import CutoverError
from sqlite_to_mysql.keys import rowid_expr
from sqlite_to_mysql.plan import Plan, TablePlan
from sqlite_to_mysql.source_schema import INTERNAL_TRIGGER_PREFIX, qi

log = logging.getLogger(__name__)

CHANGELOG = "_s2m_changelog"
STATE = "_s2m_state"
# Seconds since the epoch, in SQL: triggers stamp each change, freeze triggers compare deadlines.
NOW_SQL = "((julianday('now') - 2440587.5) * 86400.0)"

# Cutover phases, in the order a cutover and a rollback walk through them.
CAPTURING = "capturing"  # application on SQLite, changes logged
FROZEN = "frozen"  # SQLite writes refused until a deadline (timed freeze)
SWITCHING = "switching"  # decision taken: SQLite refuses writes for good, the app is being pointed at MySQL
SWITCHED = "switched"  # application on MySQL; SQLite kept read-only as a guard
ROLLING_BACK = "rolling_back"  # MySQL refuses writes for good, the app is being pointed back at SQLite
# The cutover's state machine: where each phase may go next (staying put is always allowed).
# transition() is the one writer of the phase; release.release() resolves each phase a step
# cut short may leave behind.
TRANSITIONS: dict[str | None, set[str | None]] = {
    None: {CAPTURING},  # the migration arms capture
    CAPTURING: {FROZEN, None},  # the timed freeze; cleanup
    FROZEN: {CAPTURING, SWITCHING},  # unfrozen (rehearsal, failure, release); the switch decided
    SWITCHING: {SWITCHED, ROLLING_BACK},  # the application on MySQL; the switch undone
    SWITCHED: {ROLLING_BACK},  # a rollback past its point of no return
    ROLLING_BACK: {CAPTURING, SWITCHED},  # back on SQLite; or staying on MySQL
}


def trigger_name(kind: str, table: str, op: str) -> str:
    """`_s2m_<kind>_<hash of table>_<op>`: any table name, a short valid trigger name."""
    digest = hashlib.sha1(table.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{INTERNAL_TRIGGER_PREFIX}{kind}_{digest}_{op}"


def sql_text(value: str) -> str:
    """A SQLite string literal."""
    return "'" + value.replace("'", "''") + "'"


def key_width(plan: Plan) -> int:
    return max([len(t.key_source) for t in plan.tables] + [1])


# --- tables -----------------------------------------------------------------------------

def ensure_tables(conn: sqlite3.Connection, width: int) -> None:
    """Changelog and state tables (within the caller's transaction); widen the key columns
    when a plan has a wider key than any before."""
    keys = ", ".join(f"k{i}" for i in range(width))
    conn.execute(f"CREATE TABLE IF NOT EXISTS {qi(CHANGELOG)} (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
                 f"tbl TEXT NOT NULL, op TEXT NOT NULL, at REAL NOT NULL, rid INTEGER, {keys})")
    conn.execute(f"CREATE TABLE IF NOT EXISTS {qi(STATE)} (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
    have = {row[1] for row in conn.execute(f"PRAGMA table_info({qi(CHANGELOG)})")}
    for i in range(width):
        if f"k{i}" not in have:
            conn.execute(f"ALTER TABLE {qi(CHANGELOG)} ADD COLUMN k{i}")


def has_tables(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)",
                         (CHANGELOG, STATE)).fetchone()[0]
    return found == 2


def read_state(conn: sqlite3.Connection) -> dict[str, str]:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (STATE,)).fetchone():
        return {}
    return dict(conn.execute(f"SELECT name, value FROM {qi(STATE)}").fetchall())


def write_state(conn: sqlite3.Connection, **values) -> None:
    """Within the caller's transaction; None removes a name."""
    for name, value in values.items():
        if value is None:
            conn.execute(f"DELETE FROM {qi(STATE)} WHERE name = ?", (name,))
        else:
            conn.execute(f"INSERT OR REPLACE INTO {qi(STATE)} (name, value) VALUES (?, ?)", (name, str(value)))


def phase(conn: sqlite3.Connection) -> str | None:
    return read_state(conn).get("phase")


def transition(conn: sqlite3.Connection, to: str | None, **values) -> None:
    """Move to phase `to` (and write `values`) within the caller's transaction; a move the
    state machine does not have is refused, so no step can leave a phase nobody resolves."""
    current = phase(conn)
    if to != current and to not in TRANSITIONS.get(current, set()):
        raise CutoverError(f"the cutover cannot go from phase {current} to {to}")
    write_state(conn, phase=to, **values)


def captured_plan(conn: sqlite3.Connection) -> Plan:
    """The plan the target was built with, as armed by the migration run."""
    text = read_state(conn).get("plan")
    if not text:
        raise CutoverError("the SQLite source has no change capture: run sqlite_to_mysql_migration with "
                           "capture_changes=true first, so writes made during the copy are captured")
    return Plan.from_json(text)


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT on an autocommit connection: takes the write lock first, so
    the application's writers wait (busy timeout) instead of interleaving."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise TransientError(f"the application held SQLite's write lock past the busy timeout ({exc}): "
                                     f"retried") from None
            raise
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


# --- triggers ---------------------------------------------------------------------------

def capture_triggers(tp: TablePlan, rowid_tables: set[str]) -> dict[str, str]:
    """name -> CREATE TRIGGER statement of one table's three capture triggers."""
    table = qi(tp.source)
    cols = ", ".join(f"k{i}" for i in range(len(tp.key_source)))
    insert = f"INSERT INTO {qi(CHANGELOG)} (tbl, op, at, rid, {cols})"
    rid = rowid_expr([c.source for c in tp.columns]) if tp.source in rowid_tables else None

    def values(row: str, op: str) -> str:
        keys = ", ".join(f"{row}.{k}" for k in tp.key_source)
        return f"{sql_text(tp.source)}, '{op}', {NOW_SQL}, {f'{row}.{rid}' if rid else 'NULL'}, {keys}"

    changed = " OR ".join(f"NEW.{k} IS NOT OLD.{k}" for k in tp.key_source)
    bodies = {
        "i": ("AFTER INSERT", f"{insert} VALUES ({values('NEW', 'I')});"),
        "u": ("AFTER UPDATE", f"{insert} VALUES ({values('OLD', 'U')}); "
                              f"{insert} SELECT {values('NEW', 'U')} WHERE {changed};"),
        "d": ("AFTER DELETE", f"{insert} VALUES ({values('OLD', 'D')});"),
    }
    return {trigger_name("c", tp.source, op): f"CREATE TRIGGER {qi(trigger_name('c', tp.source, op))} "
                                               f"{event} ON {table} BEGIN {body} END"
            for op, (event, body) in bodies.items()}


def our_triggers(conn: sqlite3.Connection, kind: str) -> dict[str, tuple[str, str]]:
    """name -> (table, sql) of our triggers of one kind (c capture, f freeze, g guard)."""
    prefix = f"{INTERNAL_TRIGGER_PREFIX}{kind}_"
    rows = conn.execute("SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    return {name: (table, sql) for name, table, sql in rows if name.startswith(prefix)}


def install(conn: sqlite3.Connection, plan: Plan, *, run_id: str) -> dict:
    """Arm capture for the migration run `run_id` (before its copy starts). Idempotent:
    triggers already right are kept; a new run starts an empty log (its copy reads every row
    afresh); a cutover in progress is never disturbed."""
    with Transaction(conn):
        ensure_tables(conn, key_width(plan))
        state = read_state(conn)
        if state.get("phase") not in (None, CAPTURING):
            raise CutoverError(
                f"a cutover is in phase {state['phase']} (run {state.get('cutover_run_id')}): finish it, "
                f"roll it back or clean it up before re-arming change capture")
        wanted: dict[str, str] = {}
        # tables with a rowid also log it: the copy keyed quarantined rows by rowid
        rowids = {t.source for t in plan.tables if t.copy_by_rowid}
        for tp in plan.tables:
            wanted.update(capture_triggers(tp, rowids))
        have = our_triggers(conn, "c")
        removed = [n for n in have if n not in wanted]
        replaced = [n for n in have if n in wanted and have[n][1] != wanted[n]]
        for name in removed + replaced:
            conn.execute(f"DROP TRIGGER {qi(name)}")
        created = [n for n in wanted if n not in have or n in replaced]
        for name in created:
            conn.execute(wanted[name])
        cleared = 0
        if state.get("capture_run_id") != run_id:
            cleared = conn.execute(f"DELETE FROM {qi(CHANGELOG)}").rowcount
            write_state(conn, capture_run_id=run_id, armed_at=time.time())
        transition(conn, CAPTURING, plan=plan.to_json(), database=plan.database)
    result = {"tables": len(plan.tables), "triggers_created": len(created) - len(replaced),
              "triggers_replaced": len(replaced), "triggers_kept": len(wanted) - len(created),
              "triggers_removed": len(removed), "changes_discarded": cleared, "run_id": run_id}
    log.info("change capture on %d tables: %d triggers created, %d replaced, %d already in place, %d "
             "removed; %d changes from an earlier run discarded", result["tables"], result["triggers_created"],
             result["triggers_replaced"], result["triggers_kept"], result["triggers_removed"], cleared)
    return result


def remove(conn: sqlite3.Connection) -> dict:
    """Drop the capture triggers and the change log (cleanup, after the rollback window)."""
    with Transaction(conn):
        names = list(our_triggers(conn, "c"))
        for name in names:
            conn.execute(f"DROP TRIGGER {qi(name)}")
        pending = 0
        if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (CHANGELOG,)).fetchone():
            pending = conn.execute(f"SELECT count(*) FROM {qi(CHANGELOG)}").fetchone()[0]
            conn.execute(f"DROP TABLE {qi(CHANGELOG)}")
    return {"capture_triggers_dropped": len(names), "changelog_rows_dropped": pending}


def changes_after(conn: sqlite3.Connection, seq: int) -> tuple[int, float | None, int | None]:
    """(entries, oldest timestamp, newest seq) of the log after `seq`."""
    count, oldest, newest = conn.execute(
        f"SELECT count(*), min(at), max(seq) FROM {qi(CHANGELOG)} WHERE seq > ?", (seq,)).fetchone()
    return count, oldest, newest


def changed_keys(conn: sqlite3.Connection, tp: TablePlan, after_seq: int = 0) -> list[tuple]:
    """Distinct keys of one table logged after `after_seq`, as stored in SQLite."""
    cols = ", ".join(f"k{i}" for i in range(len(tp.key_source)))
    return [tuple(r) for r in conn.execute(
        f"SELECT DISTINCT {cols} FROM {qi(CHANGELOG)} WHERE tbl = ? AND seq > ?", (tp.source, after_seq))]


def summary(conn: sqlite3.Connection) -> dict:
    """What an operator wants to know about capture: phase, run, log size, triggers."""
    state = read_state(conn)
    result = {"phase": state.get("phase"), "capture_run_id": state.get("capture_run_id"),
              "capture_triggers": len(our_triggers(conn, "c")), "freeze_triggers": len(our_triggers(conn, "f")),
              "guard_triggers": len(our_triggers(conn, "g"))}
    if has_tables(conn):
        result["changelog_rows"] = conn.execute(f"SELECT count(*) FROM {qi(CHANGELOG)}").fetchone()[0]
    plan = state.get("plan")
    result["tables"] = len(json.loads(plan)["tables"]) if plan else 0
    return result


def key_columns(tp: TablePlan) -> list:
    """The ColumnPlan of each key part, None for a rowid kept in the hidden column."""
    if tp.hidden_rowid:
        return [None]
    return [tp.column(k[1:-1].replace('""', '"')) for k in tp.key_source]
