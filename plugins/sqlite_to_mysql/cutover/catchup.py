"""Catch-up: apply captured changes to the other side, in log order, idempotently.

A change names a row by its key; applying it re-reads that row on the side that changed, in
one snapshot with the batch of log entries, and writes the row (or deletes it) on the other
side. Applying a change twice, or an older change after a newer one, ends in the same state,
so a crash between the two sides' commits only repeats work:

- forward (SQLite -> MySQL): SQLite commits are serial, so log sequence numbers are a prefix
  of history; the last applied number is a watermark committed in MySQL with the rows;
- backward (MySQL -> SQLite, the rollback): MySQL transactions commit out of sequence order,
  so each entry is flagged `applied` after SQLite has committed it, and nothing is skipped.

Rows go into MySQL as the exact literals the copy would have produced (row_sql), read and
set aside by the same code as the copy's (row_transport), with REPLACE,
which like SQLite's own REPLACE also removes a stale row holding a unique value the new row
takes. They come back into SQLite the way the source stores them (type_mapping.sqlite_value,
the way back of each column's type decision); a value the column cannot hold is named with
its table, column and key before SQLite is touched.
"""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import asdict, dataclass

from mysql_common.errors import mysql_errno
from mysql_common.identifiers import quote
from sqlite_to_mysql import row_sql, row_transport, sqlite_functions, target_state, values
from sqlite_to_mysql.cutover import mysql_capture
from sqlite_to_mysql.cutover.sqlite_capture import CHANGELOG, Transaction, changes_after, key_columns
from sqlite_to_mysql.cutover.errors import CatchUpTooSlow, CutoverError, FreezeTimeout
from sqlite_to_mysql.declared_types import affinity
from sqlite_to_mysql.errors import TypeConflictError
from sqlite_to_mysql.key_sql import mysql_in, sqlite_in
from sqlite_to_mysql.keys import rowid_expr
from sqlite_to_mysql.plan import Plan, TablePlan
from sqlite_to_mysql.source_schema import qi
from sqlite_to_mysql.type_mapping import sqlite_value
from sqlite_to_mysql.values import ValueConflict

log = logging.getLogger(__name__)
KEYS_PER_STATEMENT = 400
IDENTITY_KINDS = ("int", "text", "json", "blob")  # a key of these kinds is stored as MySQL holds it
# too long, out of range, incorrect value, truncated, invalid JSON, CHECK failed
REFUSED_VALUE_ERRORS = {1264, 1265, 1292, 1366, 1406, 3140, 4025}


@dataclass
class Applied:
    changes: int = 0  # log entries applied
    written: int = 0  # rows written on the other side
    deleted: int = 0  # keys deleted there (absent on the changed side)
    quarantined: int = 0  # rows set aside under the quarantine policy
    batches: int = 0

    def add(self, other: "Applied") -> None:
        for name in ("changes", "written", "deleted", "quarantined", "batches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Lag:
    changes: int
    seconds: float


def chunks(items: list, size: int = KEYS_PER_STATEMENT):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def mysql_key(tp: TablePlan, key: tuple) -> tuple | None:
    """The MySQL value of a source key (None when no MySQL row can have it)."""
    out = []
    for col, value in zip(key_columns(tp), key):
        if col is None:
            out.append(int(value))
        elif value is None:
            out.append(value)
        elif col.kind == "blob":  # the bytes MySQL holds: numbers as their exact text
            out.append(bytes(value) if isinstance(value, bytes) else values.text_text(value).encode())
        else:
            try:
                out.append(sqlite_functions.convert(col.kind, value, *(col.args + [None, None])[:2]))
            except ValueConflict:
                return None
    return tuple(out)


def _oldest_lag(oldest: float | None) -> float:
    return max(0.0, time.time() - oldest) if oldest is not None else 0.0


# --- forward: SQLite -> MySQL -----------------------------------------------------------

class ForwardSync:
    """Applies the SQLite change log to MySQL."""

    direction = "sqlite->mysql"

    def __init__(self, src: sqlite3.Connection, dst, plan: Plan, *, batch_size: int = 2000,
                 quarantine_run_id: str = "cutover") -> None:
        self.src, self.dst, self.plan, self.batch_size = src, dst, plan, batch_size
        self.quarantine_run_id = quarantine_run_id
        self.tables = {t.source: t for t in plan.tables}
        sqlite_functions.register(src)
        mysql_capture.ensure_tables(dst)
        mysql_capture.sync_session(dst)
        target_state.ensure(dst)
        self.dst.cursor().execute(f"INSERT IGNORE INTO {quote(mysql_capture.STATE)} (name, value) "
                                  f"VALUES ('applied_seq', '0')")
        self.dst.commit()

    def applied_seq(self) -> int:
        value = mysql_capture.get_state(self.dst, "applied_seq")
        self.dst.commit()
        return int(value or 0)

    def lag(self) -> Lag:
        count, oldest, _newest = changes_after(self.src, self.applied_seq())
        return Lag(count, _oldest_lag(oldest))

    def apply_batch(self) -> Applied:
        applied = int(mysql_capture.get_state(self.dst, "applied_seq", for_update=True) or 0)
        width = max(len(t.key_source) for t in self.plan.tables)
        cols = row_transport.key_cells_sql([f"k{i}" for i in range(width)])
        work = []
        self.src.execute("BEGIN")  # one snapshot: the log entries and the rows they name
        try:
            entries = [(*row[:3], *row_transport.read_key(row[3:])) for row in self.src.execute(
                f"SELECT seq, tbl, rid, {cols} FROM {qi(CHANGELOG)} WHERE seq > ? ORDER BY seq LIMIT ?",
                (applied, self.batch_size))]
            for table, keys in _group(entries, lambda name: self._plan_of(name)).items():
                tp = self.tables[table]
                work.append((tp, keys, self._read(tp, list(keys))))
        finally:
            self.src.execute("COMMIT")
        if not entries:
            self.dst.rollback()
            return Applied()
        result = Applied(changes=len(entries), batches=1)
        for tp, keys, rows in work:
            result.add(self._write(tp, keys, *rows))
        mysql_capture.set_state(self.dst, "applied_seq", entries[-1][0])
        self.dst.commit()
        return result

    def _plan_of(self, name: str) -> TablePlan:
        if name not in self.tables:
            raise CutoverError(f"the change log names table {name!r}, which the migration plan does not have: "
                               f"re-run the migration so plan and capture match")
        return self.tables[name]

    def _read(self, tp: TablePlan, keys: list[tuple]):
        """(present rows: key -> MySQL row literal, quarantined: key -> (scan key, problems, row))."""
        n = len(tp.key_source)
        rowid = rowid_expr([c.source for c in tp.columns])
        line = row_sql.line_sql(tp, rowid, "insert")
        bad = row_sql.bad_row_sql(tp)
        present, quarantined = {}, {}
        for chunk in chunks(keys):
            where, params = sqlite_in(tp.key_source, chunk)
            good = f" AND NOT ({bad})" if bad else ""
            try:
                for row in self.src.execute(f"SELECT {row_transport.key_cells_sql(tp.key_source)}, {line} "
                                            f"FROM {qi(tp.source)} WHERE {where}{good}", params):
                    present[tuple(row_transport.read_key(row[:2 * n]))] = row[2 * n]
            except sqlite3.OperationalError as exc:
                raise self._explain(tp, chunk, exc) from None
            if bad:
                # the copy keyed quarantined rows by what it scanned: the rowid, or the key
                scan = f"{rowid}, " if tp.copy_by_rowid else ""
                sql = (f"SELECT {row_transport.key_cells_sql(tp.key_source)}, {scan}{row_sql.problems_sql(tp)}, "
                       f"{row_transport.cells_sql(tp)} FROM {qi(tp.source)} WHERE {where} AND ({bad})")
                width = 1 if tp.copy_by_rowid else 0
                for row in self.src.execute(sql, params):
                    key = tuple(row_transport.read_key(row[:2 * n]))
                    scan_key = list(row[2 * n:2 * n + 1]) if tp.copy_by_rowid else list(key)
                    quarantined[key] = (scan_key, row[2 * n + width],
                                        row_transport.row_json(tp, row[2 * n + width + 1:]))
        return present, quarantined

    def _explain(self, tp: TablePlan, keys: list[tuple], exc: Exception) -> Exception:
        """A value written after preflight that does not fit its planned type: name it."""
        where, params = sqlite_in(tp.key_source, keys)
        found = row_transport.explain(
            self.src, tp, tp.key_source, where, params,
            hint="it was written after the migration planned the column; widen the column (type_overrides) and "
                 "migrate again, or migrate with on_type_conflict=quarantine")
        return found or exc

    def _write(self, tp: TablePlan, keys: dict, present: dict, quarantined: dict) -> Applied:
        cur = self.dst.cursor()
        table = quote(tp.target)
        gone = [mysql_key(tp, k) for k in keys if k not in present]
        gone = [k for k in gone if k is not None]
        for chunk in chunks(gone):
            where, params = mysql_in(tp.key_target, chunk)
            cur.execute(f"DELETE FROM {table} WHERE {where}", params)
        columns = ([quote(tp.key_target[0])] if tp.hidden_rowid else []) + [quote(c.target) for c in tp.columns]
        prefix = f"REPLACE INTO {table} ({', '.join(columns)}) VALUES "
        for batch in row_transport.statements(list(present.items()), lambda item: len(item[1])):
            self._replace(tp, prefix, batch)
        if tp.quarantine_columns or tp.quarantine_keys:
            self._requarantine(tp, keys, quarantined)
        return Applied(written=len(present), deleted=len(gone), quarantined=len(quarantined))

    def _replace(self, tp: TablePlan, prefix: str, batch: list[tuple]) -> None:
        cur = self.dst.cursor()
        try:
            cur.execute(prefix + ",".join(line for _key, line in batch))
            row_transport.refuse_warnings(self.dst, cur, tp.source, batch, lambda item: f"key {list(item[0])}")
        except Exception as exc:
            if mysql_errno(exc) not in REFUSED_VALUE_ERRORS:
                raise
            row = row_transport.row_at(str(exc))
            key = list(batch[row - 1][0]) if row and row <= len(batch) else "?"
            raise TypeConflictError(
                f"{tp.source} at key {key}: MySQL refused a value written after the migration planned the "
                f"column types ({exc}); widen the column (type_overrides) and migrate again, or migrate with "
                f"on_type_conflict=quarantine") from None

    def _requarantine(self, tp: TablePlan, keys: dict, quarantined: dict) -> None:
        """The quarantine holds a table's rows that do not fit: keep it in step with the source."""
        cur = self.dst.cursor()
        if tp.copy_by_rowid:
            scan_keys = [[rid] for rids in keys.values() for rid in rids if rid is not None]
        else:
            scan_keys = [list(k) for k in keys]
        texts = [json.dumps(row_transport.encode_key(k)) for k in scan_keys]
        for chunk in chunks(texts):
            cur.execute(f"DELETE FROM {quote(target_state.QUARANTINE)} WHERE table_name = %s AND source_key IN "
                        f"({', '.join('%s' for _ in chunk)})", [tp.target, *chunk])
        row_transport.quarantine(cur, self.quarantine_run_id, tp.target, list(quarantined.values()))


def _group(entries, plan_of) -> dict[str, dict[tuple, set]]:
    """table -> key -> rowids seen, in log order (the last state is what counts)."""
    grouped: dict[str, dict[tuple, set]] = {}
    for entry in entries:
        table, rid = entry[1], entry[2]
        width = len(plan_of(table).key_source)
        key = tuple(entry[3:3 + width])
        grouped.setdefault(table, {}).setdefault(key, set()).add(rid)
    return grouped


# --- backward: MySQL -> SQLite ----------------------------------------------------------

def key_param(col, raw: bytes):
    """A key part logged on MySQL (the bytes verification hashes) as a MySQL query parameter."""
    if col is not None and col.kind == "blob":
        return raw
    return raw.decode("utf-8")


def sqlite_match(tp: TablePlan, keys: list[tuple]) -> tuple[str, list]:
    """SQLite predicate for keys logged on MySQL: by value where SQLite stores the key as
    MySQL does (index lookups), else by the canonical text verification compares."""
    exprs, params = [], []
    for col, expr in zip(key_columns(tp), tp.key_source):
        if col is None or col.kind == "int":
            exprs.append(expr)
            params.append(lambda raw: int(raw.decode()))
        elif col.kind in IDENTITY_KINDS:
            exprs.append(expr)
            params.append((lambda raw: raw) if col.kind == "blob" else (lambda raw: raw.decode("utf-8")))
        else:
            exprs.append(row_sql.canonical_sql(col))
            params.append(lambda raw: raw.decode("utf-8"))
    return sqlite_in(exprs, [tuple(f(v) for f, v in zip(params, key)) for key in keys])


class BackwardSync:
    """Applies the MySQL change log to SQLite (the rollback)."""

    direction = "mysql->sqlite"

    def __init__(self, src: sqlite3.Connection, dst, plan: Plan, *, batch_size: int = 2000) -> None:
        self.src, self.dst, self.plan, self.batch_size = src, dst, plan, batch_size
        self.tables = {t.target: t for t in plan.tables}
        sqlite_functions.register(src)
        src.execute("PRAGMA foreign_keys = OFF")  # mirror rows as they are; MySQL already cascaded
        # each column's SQLite affinity decides the storage class a value comes back in
        self.affinity = {tp.source: {row[1]: affinity(row[2]) for row in src.execute(
            f"PRAGMA table_info({qi(tp.source)})")} for tp in plan.tables}
        mysql_capture.sync_session(dst)
        dst.cursor().execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")

    def lag(self) -> Lag:
        count, seconds = mysql_capture.pending(self.dst)
        self.dst.commit()
        return Lag(count, seconds)

    def apply_batch(self) -> Applied:
        cur = self.dst.cursor()
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        width = max(len(t.key_target) for t in self.plan.tables)
        cols = ", ".join(f"k{i}" for i in range(width))
        cur.execute(f"SELECT seq, tbl, NULL, {cols} FROM {quote(mysql_capture.CHANGELOG)} WHERE applied = 0 "
                    f"ORDER BY seq LIMIT %s", (self.batch_size,))
        entries = cur.fetchall()
        work = [(self.tables[t], list(keys), self._read(self.tables[t], list(keys)))
                for t, keys in _group(entries, self._plan_of).items()]
        self.dst.commit()
        if not entries:
            return Applied()
        result = Applied(changes=len(entries), batches=1)
        superseded = []
        with Transaction(self.src):
            for tp, keys, rows in work:
                applied, gone = self._write(tp, keys, rows)
                result.add(applied)
                superseded += [(tp.target, key) for key in gone]
        for table, key in superseded:  # quarantined rows the application's own rows replaced
            cur.execute(f"DELETE FROM {quote(target_state.QUARANTINE)} WHERE table_name = %s AND source_key = %s",
                        (table, key))
        for chunk in chunks([e[0] for e in entries], 1000):
            cur.execute(f"UPDATE {quote(mysql_capture.CHANGELOG)} SET applied = 1 WHERE seq IN "
                        f"({', '.join('%s' for _ in chunk)})", chunk)
        self.dst.commit()
        return result

    def _plan_of(self, name: str) -> TablePlan:
        if name not in self.tables:
            raise CutoverError(f"the MySQL change log names table {name!r}, which the migration plan does not have")
        return self.tables[name]

    def _read(self, tp: TablePlan, keys: list[tuple]) -> list[tuple]:
        """Current MySQL rows of the logged keys: (logged key bytes, SQLite values)."""
        kcols = key_columns(tp)
        key_sql = [mysql_capture.key_bytes_sql(c, quote(name)) for c, name in zip(kcols, tp.key_target)]
        hidden = [quote(tp.key_target[0])] if tp.hidden_rowid else []
        select = key_sql + hidden + [quote(c.target) for c in tp.columns]
        cur = self.dst.cursor()
        rows = []
        n = len(key_sql)
        for chunk in chunks(keys):
            where, params = mysql_in(tp.key_target, [tuple(key_param(c, v) for c, v in zip(kcols, k))
                                                     for k in chunk])
            cur.execute(f"SELECT {', '.join(select)} FROM {quote(tp.target)} WHERE {where}", params)
            for row in cur.fetchall():
                values = [int(row[n])] if tp.hidden_rowid else []
                mysql = dict(zip((c.source for c in tp.columns), row[n + len(hidden):]))
                values += [self._back(tp, c, mysql, row[n], self.affinity[tp.source][c.source]) for c in tp.columns]
                rows.append((tuple(bytes(v) for v in row[:n]), values))
        return rows

    @staticmethod
    def _back(tp: TablePlan, col, mysql: dict, hidden, column_affinity: str):
        """One column of a MySQL row as SQLite stores it; `mysql`: the row by source column."""
        value = mysql[col.source]
        try:
            return sqlite_value(col, value, column_affinity)
        except (ValueConflict, ValueError, TypeError) as exc:
            key = {k.source if k else "rowid": mysql[k.source] if k else hidden for k in key_columns(tp)}
            raise TypeConflictError(
                f"{tp.source}.{col.source} at key {key}: MySQL holds {value!r} ({col.ddl_type}), which the SQLite "
                f"column cannot hold as the migration reads it ({exc}); the application wrote it on MySQL. "
                f"Change that row on MySQL, then run the rollback again") from None

    def _write(self, tp: TablePlan, keys: list[tuple], rows: list[tuple]) -> tuple[Applied, list[str]]:
        """Delete every logged key, insert the rows MySQL has now; the table's triggers (ours:
        capture, freeze, guard; and the application's) are set aside for this transaction
        only, so SQLite receives MySQL's rows exactly and logs nothing back. Also returns the
        quarantine keys (as the copy wrote them) of the SQLite rows this replaced or removed:
        a quarantined row the application rewrote on MySQL is set aside no more."""
        saved = self.src.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                 "AND lower(tbl_name) = lower(?)", (tp.source,)).fetchall()
        for name, _sql in saved:
            self.src.execute(f"DROP TRIGGER {qi(name)}")
        deleted = 0
        replaced: list[str] = []
        scan = rowid_expr([c.source for c in tp.columns]) if tp.copy_by_rowid else ", ".join(tp.key_source)
        for chunk in chunks(keys):
            where, params = sqlite_match(tp, chunk)
            if tp.quarantine_columns or tp.quarantine_keys:
                replaced += [json.dumps(row_transport.encode_key(list(row))) for row in self.src.execute(
                    f"SELECT {scan} FROM {qi(tp.source)} WHERE {where}", params)]
            deleted += self.src.execute(f"DELETE FROM {qi(tp.source)} WHERE {where}", params).rowcount
        names = ([rowid_expr([c.source for c in tp.columns])] if tp.hidden_rowid else []) + \
            [qi(c.source) for c in tp.columns]
        self.src.executemany(f"INSERT OR REPLACE INTO {qi(tp.source)} ({', '.join(names)}) VALUES "
                             f"({', '.join('?' for _ in names)})", [values for _key, values in rows])
        for _name, sql in saved:
            self.src.execute(sql)
        return Applied(written=len(rows), deleted=len(keys) - len(rows)), replaced


# --- driving ----------------------------------------------------------------------------

def catch_up(sync, *, max_lag_changes: int, timeout: float, deadline: float | None = None,
             progress_every: float = 10.0) -> dict:
    """Apply batches until at most `max_lag_changes` remain; fail when it takes longer than
    `timeout` seconds (changes arrive faster than they are applied), or past `deadline`
    (epoch seconds: the end of a freeze)."""
    started = time.monotonic()
    last_log = started
    total = Applied()
    while True:
        if deadline is not None and time.time() >= deadline:
            raise FreezeTimeout(f"{sync.direction}: the freeze deadline passed while applying the last changes "
                                f"({total.changes} applied)")
        batch = sync.apply_batch()
        total.add(batch)
        if batch.changes < sync.batch_size:
            lag = sync.lag()
            if lag.changes <= max_lag_changes:
                break
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            lag = sync.lag()
            raise CatchUpTooSlow(
                f"{sync.direction}: after {elapsed:.0f}s, {total.changes} changes applied "
                f"({total.changes / elapsed:.0f}/s) and {lag.changes} still waiting ({lag.seconds:.0f}s behind): "
                f"changes arrive faster than they are applied; retry at a quieter time or raise the timeout")
        if time.monotonic() - last_log > progress_every:
            last_log = time.monotonic()
            log.info("%s: %d changes applied so far", sync.direction, total.changes)
    seconds = time.monotonic() - started
    result = asdict(total)
    result.update(direction=sync.direction, seconds=round(seconds, 3), lag_changes=lag.changes,
                  lag_seconds=round(lag.seconds, 3))
    return result
