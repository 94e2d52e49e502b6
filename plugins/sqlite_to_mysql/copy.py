"""The bulk copy of one table: keyset batches read by SQLite, loaded with LOAD DATA LOCAL
INFILE (or multi-row INSERT where the server refuses LOCAL), each batch committed together
with its checkpoint, so a killed task resumes after its last committed batch.

Reading the next batch overlaps loading the current one (SQLite and the MySQL client both
release the GIL), which keeps both cores busy; memory holds at most two batches.
"""
from __future__ import annotations

import logging
import os
import queue
import sqlite3
import tempfile
import threading
import time
from dataclasses import dataclass

from mysql_common.identifiers import quote
from mysql_common.progress import EVERY_SECONDS, Progress
from sqlite_to_mysql import key_sql, row_sql, row_transport, target_state
from sqlite_to_mysql.errors import TypeConflictError
from sqlite_to_mysql.keys import rowid_expr
from sqlite_to_mysql.plan import TablePlan
from sqlite_to_mysql.source_schema import qi
from sqlite_to_mysql.target_state import Checkpoint

log = logging.getLogger(__name__)
MAX_BATCH_BYTES = 32 * 1024 * 1024


@dataclass
class CopyResult:
    table: str
    rows_copied: int  # total rows in the target for this run (resumed batches included)
    rows_quarantined: int
    rows_this_attempt: int
    resumed_from: list | None
    seconds: float
    method: str

    @property
    def rate(self) -> float:
        return self.rows_this_attempt / self.seconds if self.seconds > 0 else 0.0


@dataclass
class _Batch:
    keys_last: list
    lines: list[str] | bytes  # the rows' lines, or (rowid scans into LOAD DATA) all of them as one text
    rows: int
    quarantined: list[tuple]  # (key, problems json, row json)


def copy_table(src: sqlite3.Connection, dst, tp: TablePlan, *, run_id: str, plan_fingerprint: str,
               batch_rows: int, method: str = "load_data", restart: bool = False,
               progress_every: float = EVERY_SECONDS) -> CopyResult:
    """Copy one table; idempotent per (run_id, plan): a rerun resumes, never duplicates."""
    started = time.monotonic()
    target_state.ensure(dst)
    cur = dst.cursor()
    cur.execute("SET SESSION foreign_key_checks = 0")
    if method == "insert":
        cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")
    cp = target_state.read_checkpoint(dst, tp.target)
    resumable = (cp is not None and not restart and cp.run_id == run_id
                 and cp.plan_fingerprint == plan_fingerprint)
    if not resumable:
        cur.execute(f"TRUNCATE TABLE {quote(tp.target)}")
        cur.execute(f"DELETE FROM {quote(target_state.QUARANTINE)} WHERE table_name = %s", (tp.target,))
        cp = Checkpoint(run_id, plan_fingerprint, None, 0, 0, "copying")
        target_state.write_checkpoint(cur, tp.target, cp)
        dst.commit()
    else:
        log.info("%s: resuming after key %s (%d rows already committed by an earlier attempt)",
                 tp.source, cp.last_key, cp.rows_copied)
    resumed_from = cp.last_key if resumable else None
    rows_before = cp.rows_copied
    avg = max(1, tp.bytes // max(1, tp.rows))
    rows_per_batch = max(1, min(batch_rows, MAX_BATCH_BYTES // avg))
    reader = _Reader(src, tp, rows_per_batch, row_transport.decode_key(cp.last_key), method)
    loader = _Loader(dst, tp, method)
    progress = Progress(tp.source, tp.rows, done=cp.rows_copied + cp.rows_quarantined, every=progress_every)
    try:
        for batch in reader.batches():
            loaded = loader.load(batch.lines, batch.rows)
            row_transport.quarantine(cur, run_id, tp.target, batch.quarantined)
            cp.last_key = row_transport.encode_key(batch.keys_last)
            cp.rows_copied += loaded
            cp.rows_quarantined += len(batch.quarantined)
            target_state.write_checkpoint(cur, tp.target, cp)
            dst.commit()
            progress.set(cp.rows_copied + cp.rows_quarantined)
    except BaseException:
        dst.rollback()
        reader.stop()
        raise
    finally:
        loader.close()
    cp.status = "copied"
    target_state.write_checkpoint(cur, tp.target, cp)
    dst.commit()
    return CopyResult(tp.source, cp.rows_copied, cp.rows_quarantined, cp.rows_copied - rows_before,
                      resumed_from, time.monotonic() - started, method)


class _Reader:
    """Reads keyset batches in a background thread, one short read transaction each, so the
    application's writers are never blocked for longer than one batch."""

    def __init__(self, src, tp: TablePlan, rows: int, last_key: list | None, method: str) -> None:
        self.src, self.tp, self.rows, self.method = src, tp, rows, method
        self.last_key = last_key
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.stopping = threading.Event()
        self.rowid = rowid_expr([c.source for c in tp.columns])
        self.scan = [self.rowid] if tp.copy_by_rowid else tp.key_source
        self.order = ", ".join(self.scan)
        # a rowid is an integer; other keys are read as (storage class, raw value) pairs, so
        # text that is not UTF-8 binds back as itself
        self.keys = self.order if tp.copy_by_rowid else row_transport.key_cells_sql(self.scan)
        self.width = len(self.scan) * (1 if tp.copy_by_rowid else 2)
        self.bad = row_sql.bad_row_sql(tp)
        self.line = row_sql.line_sql(tp, self.rowid, method)
        self.good = f" AND NOT ({self.bad})" if self.bad else ""
        # A rowid scan into LOAD DATA has SQLite join the batch's lines itself: no Python
        # object per row. (A subquery with ORDER BY under an aggregate is not flattened,
        # so group_concat sees rowid order.)
        self.joined = tp.copy_by_rowid and method == "load_data"

    def _after(self, last, op: str = ">") -> tuple[str, list]:
        if last is None:
            return "1", []
        return key_sql.sqlite_compare(self.scan, op, last)

    def _key(self, row) -> list:
        return list(row[:self.width]) if self.tp.copy_by_rowid else row_transport.read_key(row[:self.width])

    def batches(self):
        self.thread = threading.Thread(target=self._produce, name=f"read-{self.tp.target}", daemon=True)
        self.thread.start()
        while True:
            item = self.queue.get()
            if isinstance(item, BaseException):
                raise item
            if item is None:
                return
            yield item

    def stop(self) -> None:
        """End the reading thread before returning: the caller may close the connection next,
        and a query still running on a closed connection crashes the process."""
        self.stopping.set()
        thread = getattr(self, "thread", None)
        while thread is not None and thread.is_alive():
            self.src.interrupt()  # a long read ends at once (SQLITE_INTERRUPT)
            try:
                self.queue.get(timeout=0.05)
            except queue.Empty:
                pass

    def _put(self, item) -> bool:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            last = self.last_key
            while not self.stopping.is_set():
                try:
                    new_last, lines, count = self._read(last)
                except sqlite3.OperationalError as exc:
                    raise self._explain(exc, last) from None
                quarantined = self._quarantined(last, new_last)
                if not count and not quarantined:
                    break
                if not count:  # only quarantined rows remain past the last good one
                    new_last = list(quarantined[-1][0])
                if not self._put(_Batch(new_last, lines, count, quarantined)):
                    return
                last = new_last
                if not count:
                    break
            self._put(None)
        except BaseException as exc:  # handed to the consuming thread
            self._put(exc)

    def _read(self, last: list | None) -> tuple[list | None, list[str] | bytes, int]:
        """(last key, lines, row count) of the next batch after `last`."""
        after, params = self._after(last)
        table = qi(self.tp.source)
        if self.joined:
            sql = (f"SELECT count(*), max(k), CAST(group_concat(l, char(10)) AS BLOB) FROM "
                   f"(SELECT {self.rowid} AS k, {self.line} AS l FROM {table} WHERE {after}{self.good} "
                   f"ORDER BY {self.rowid} LIMIT ?)")
            try:
                count, highest, data = self.src.execute(sql, (*params, self.rows)).fetchone()
            except sqlite3.DataError as exc:
                # SQLITE_TOOBIG: a run of huge rows made the batch longer than SQLite's longest
                # string; smaller batches from here on.
                if "too big" not in str(exc) or self.rows == 1:
                    raise
                self.rows //= 2
                log.info("%s: batch of huge rows; %d rows per batch from key %s", self.tp.source, self.rows, last)
                return self._read(last)
            return ([highest] if count else None), (data or b""), count
        sql = (f"SELECT {self.keys}, {self.line} FROM {table} WHERE {after}{self.good} "
               f"ORDER BY {self.order} LIMIT ?")
        rows = self.src.execute(sql, (*params, self.rows)).fetchall()
        return (self._key(rows[-1]) if rows else None), [r[self.width] for r in rows], len(rows)

    def _quarantined(self, lower: list | None, upper: list | None) -> list[tuple]:
        if not self.bad:
            return []
        low, low_params = self._after(lower)
        high, high_params = ("1", []) if upper is None else self._after(upper, "<=")
        sql = (f"SELECT {self.keys}, {row_sql.problems_sql(self.tp)}, {row_transport.cells_sql(self.tp)} "
               f"FROM {qi(self.tp.source)} WHERE ({self.bad}) AND {low} AND {high} ORDER BY {self.order}")
        out = []
        for row in self.src.execute(sql, (*low_params, *high_params)):
            key, problems, values = self._key(row), row[self.width], row[self.width + 1:]
            out.append((key, problems, row_transport.row_json(self.tp, values)))
        return out

    def _explain(self, exc: sqlite3.OperationalError, last) -> Exception:
        """A conversion that fails during the copy means the source changed since preflight
        (or a value the profile could not see): name the column, key and value."""
        if "user-defined function raised exception" not in str(exc) and "decode" not in str(exc):
            return exc
        after, params = self._after(last)
        found = row_transport.explain(
            self.src, self.tp, self.scan, f"{after} ORDER BY {self.order} LIMIT ?", (*params, self.rows),
            hint="the value changed since preflight? rerun the DAG so preflight sees it, or set on_type_conflict")
        return found or exc


def load_data_sql(tp: TablePlan) -> str:
    """LOAD DATA LOCAL INFILE of the TSV lines row_sql.line_sql makes (file name as %s)."""
    columns, sets = row_sql.load_columns(tp, quote)
    return (f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote(tp.target)} CHARACTER SET utf8mb4 "
            f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
            f"({columns}){sets}")


class _Loader:
    def __init__(self, dst, tp: TablePlan, method: str) -> None:
        self.dst, self.tp, self.method = dst, tp, method
        self.cur = dst.cursor()
        self.dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
        self.load_sql = load_data_sql(tp)
        target_cols = ([quote(tp.key_target[0])] if tp.hidden_rowid else []) + \
            [quote(c.target) for c in tp.columns]
        self.insert_prefix = f"INSERT INTO {quote(tp.target)} ({', '.join(target_cols)}) VALUES "

    def load(self, lines: list[str] | bytes, rows: int) -> int:
        if not rows:
            return 0
        loaded = self._load_file(lines) if self.method == "load_data" else self._insert(lines)
        if loaded != rows:
            raise TypeConflictError(f"{self.tp.source}: MySQL accepted {loaded} of {rows} rows of a "
                                    f"batch; nothing of it is kept")
        return loaded

    def _load_file(self, lines: list[str] | bytes) -> int:
        fd, path = tempfile.mkstemp(prefix="s2m-", suffix=".tsv", dir=self.dir)
        data = lines if isinstance(lines, bytes) else "\n".join(lines).encode("utf-8")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.write(b"\n")
            self.cur.execute(self.load_sql, (path,))
            loaded = self.cur.rowcount
            row_transport.refuse_warnings(self.dst, self.cur, self.tp.source, data.split(b"\n"), _sample)
            return loaded
        finally:
            os.unlink(path)

    def _insert(self, lines: list[str]) -> int:
        loaded = 0
        for chunk in row_transport.statements(lines, len):
            self.cur.execute(self.insert_prefix + ",".join(chunk))
            row_transport.refuse_warnings(self.dst, self.cur, self.tp.source, chunk, _sample)
            loaded += self.cur.rowcount
        return loaded

    def close(self) -> None:
        try:
            self.cur.close()
        except Exception:
            pass


def _sample(line) -> str:
    """The start of one row's line, for a message."""
    text = line[:200].decode("utf-8", "replace") if isinstance(line, bytes) else line[:200]
    return repr(text)
