"""What the e2e tests read back: the verification table of the report task's log, row counts
on both sides, and the faults they inject into the target (a held table lock, a killed session)."""
from __future__ import annotations

import re
import sqlite3
import threading
import time
from pathlib import Path

import MySQLdb


def verification_table(log: str) -> tuple[str, dict[str, dict]]:
    """(status, {table: row}) from the 'Verification: ...' block the report task logs."""
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Verification: "))
    status = lines[start].split(": ", 1)[1].strip()
    header = re.split(r"\s{2,}", lines[start + 1].strip())
    rows = {}
    for line in lines[start + 3:]:
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == "TOTAL":
            break
        rows[cells[0]] = dict(zip(header, cells))
    return status, rows


def source_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                            "AND name NOT LIKE 'sqlite_%'")]
        return {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in names}


def target_counts(conn, tables) -> dict[str, tuple[int, int]]:
    """(rows, distinct primary keys) per table: equal when nothing was loaded twice."""
    cur = conn.cursor()
    counts = {}
    for table in tables:
        cur.execute("SELECT GROUP_CONCAT(CONCAT('`', COLUMN_NAME, '`') ORDER BY ORDINAL_POSITION) "
                    "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY'", (table,))
        key = cur.fetchone()[0]
        cur.execute(f"SELECT COUNT(*), COUNT(DISTINCT {key}) FROM `{table}`")
        counts[table] = tuple(cur.fetchone())
    return counts


class TableLock(threading.Thread):
    """Another session holding LOCK TABLES ... WRITE on one target table from the moment the
    migration creates it, so that table's copy waits for the lock and times out (1205)."""

    def __init__(self, server, database: str, table: str) -> None:
        super().__init__(daemon=True)
        self.server, self.database, self.table = server, database, table
        self.acquired = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        conn = self.server.connect()
        conn.autocommit(True)
        try:
            cur = conn.cursor()
            while not self.release.is_set():
                cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                            "AND TABLE_NAME = %s", (self.database, self.table))
                if cur.fetchone():
                    cur.execute(f"LOCK TABLES `{self.database}`.`{self.table}` WRITE")
                    self.acquired.set()
                    self.release.wait()
                    cur.execute("UNLOCK TABLES")
                    return
                time.sleep(0.05)
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.acquired.set()
        finally:
            conn.close()

    def __enter__(self) -> "TableLock":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.join(30)


def kill_copy_session(server, database: str, table: str, *, timeout: float = 300) -> int:
    """KILL the MySQL session copying `table` once a batch of it is committed (mid-copy), found
    through information_schema.PROCESSLIST. Returns the rows committed before the kill."""
    conn = server.connect()
    conn.autocommit(True)  # each poll sees the latest committed checkpoint
    cur = conn.cursor()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            try:
                cur.execute(f"SELECT status, rows_copied FROM `{database}`.`_s2m_checkpoint` "
                            f"WHERE table_name = %s", (table,))
                checkpoint = cur.fetchone()
            except MySQLdb.ProgrammingError:  # the database or the checkpoint table is not there yet
                checkpoint = None
            if checkpoint and checkpoint[0] == "copied":
                raise AssertionError(f"{table} was copied before its session could be killed: "
                                     f"make the generated table bigger")
            if checkpoint and checkpoint[1] > 0:
                cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND INFO LIKE %s "
                            "AND ID <> CONNECTION_ID()", (database, f"%`{table}`%"))
                found = cur.fetchone()
                if found:
                    cur.execute(f"KILL {int(found[0])}")
                    return checkpoint[1]
            time.sleep(0.02)
        raise AssertionError(f"no session copying {table} within {timeout}s")
    finally:
        conn.close()
