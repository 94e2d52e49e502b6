"""The preflight's full reads of the source (integrity check, column profiles, foreign-key
check) as one list of jobs on two connections at once. SQLite scans in C without holding
the GIL, so both cores work; big tables are profiled in rowid ranges whose results merge,
so one big table does not leave the other core idle."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlite_to_mysql.keys import rowid_expr
from sqlite_to_mysql.profiling import ProfileScan, TableProfile
from sqlite_to_mysql.source_schema import SourceTable, qi
from sqlite_to_mysql.workers import map_with_connections

RANGE_ROWS = 100_000  # rows per profiled part of a big table
# Page cache of the scan's connections (closed when the scan ends). The integrity and
# foreign-key checks look rows up by key all over the file, and with SQLite's default 2 MiB
# they re-read the same pages over and over: on the demo shop at scale 2 (288 MiB file),
# integrity_check read 8.7 GiB through read() and foreign_key_check 4.9 GiB, growing faster
# than the file; with 32 MiB, 0.6 GiB and 0.3 GiB. Filled only as pages are read.
SCAN_CACHE_KIB = 32 * 1024


@dataclass
class SourceScan:
    integrity: str | None = None  # None when skipped
    profiles: dict[str, TableProfile] = field(default_factory=dict)
    orphans: dict[str, list[tuple]] = field(default_factory=dict)  # table -> PRAGMA foreign_key_check rows
    fk_check_errors: dict[str, str] = field(default_factory=dict)


def integrity(conn: sqlite3.Connection, mode: str) -> str:
    pragma = "integrity_check" if mode == "full" else "quick_check"
    rows = [r[0] for r in conn.execute(f"PRAGMA {pragma}(20)")]
    return "ok" if rows == ["ok"] else "; ".join(rows)


def scan_source(conn: sqlite3.Connection, open_connection, tables: list[SourceTable], kinds: dict[str, dict],
                integrity_mode: str, workers: int = 2) -> SourceScan:
    """kinds: table -> column -> declared kind (what profiling checks per column).
    open_connection() opens another connection to the same file (with the s2m functions)."""
    result = SourceScan()
    scans = {t.name: ProfileScan(t, kinds[t.name]) for t in tables}
    parts: dict[str, list[tuple]] = {t.name: [] for t in tables}
    jobs = []  # (estimated rows, job); longest first
    if integrity_mode != "skip":
        jobs.append((float("inf"), lambda c: setattr(result, "integrity", integrity(c, integrity_mode))))
    for table in tables:
        for rows, where, params in _ranges(conn, table):
            jobs.append((rows, lambda c, t=table.name, w=where, p=params: parts[t].append(scans[t].run(c, w, p))))
        jobs.append((0, lambda c, t=table.name: _foreign_key_check(c, t, result)))
    jobs.sort(key=lambda job: -job[0])
    map_with_connections(lambda: _with_cache(open_connection()), lambda conn, job: job(conn),
                         [job for _rows, job in jobs], workers=workers)
    for table in tables:
        result.profiles[table.name] = scans[table.name].finish(conn, parts[table.name])
    return result


def _with_cache(conn: sqlite3.Connection) -> sqlite3.Connection:
    conn.execute(f"PRAGMA cache_size = -{SCAN_CACHE_KIB}")
    return conn


def _ranges(conn: sqlite3.Connection, table: SourceTable) -> list[tuple[int, str, dict]]:
    """(rows, WHERE, parameters) parts of about RANGE_ROWS rows each, by equal rowid spans."""
    rows = conn.execute(f"SELECT count(*) FROM {qi(table.name)}").fetchone()[0]
    if rows <= RANGE_ROWS or table.without_rowid:
        return [(rows, "", {})]
    try:
        rowid = rowid_expr([c.name for c in table.columns])
    except ValueError:
        return [(rows, "", {})]
    low, high = conn.execute(f"SELECT min({rowid}), max({rowid}) FROM {qi(table.name)}").fetchone()
    count = -(-rows // RANGE_ROWS)
    step = -(-(high - low + 1) // count)
    starts = list(range(low, high + 1, step))
    # The first and last parts are open-ended: rows written since min/max were read are profiled too.
    parts = [(rows // count, f"{rowid} < :hi", {"hi": starts[1]})]
    parts += [(rows // count, f"{rowid} >= :lo AND {rowid} < :hi", {"lo": a, "hi": b})
              for a, b in zip(starts[1:], starts[2:])]
    return parts + [(rows // count, f"{rowid} >= :lo", {"lo": starts[-1]})]


def _foreign_key_check(conn: sqlite3.Connection, table: str, result: SourceScan) -> None:
    try:
        result.orphans[table] = conn.execute(f"PRAGMA foreign_key_check({qi(table)})").fetchall()
    except sqlite3.DatabaseError as exc:
        result.fk_check_errors[table] = str(exc)
