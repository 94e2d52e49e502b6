"""Index advice: unused and redundant indexes, and candidate indexes proven on a scratch copy.

A candidate (plan_explain) becomes an entry of the design's index plan and goes through the
plan's own validation (mysql_hardening.index_plan.decide: the table and columns exist, no
existing index covers it, the type can be indexed). Then the latest backup is restored into a
scratch database on the restore server, exactly as the restore drill does; the table's indexes
there are made the same as production's; the digest's sample statement is timed, the index is
added with the plan's own statement, and the statement is timed again. Only a candidate whose
every run after is faster than every run before, by at least `min_gain` at the median, is
recommended. Production is never touched: the recommendation is the plan entry, applied by
the mysql_hardening DAG (apply_schema_changes) like every other index of the plan.
"""
from __future__ import annotations

import logging
import re
import statistics
import time
from dataclasses import asdict, dataclass, field

from mysql_backup.access import MySqlAccess
from mysql_backup.crypto import AgeKey
from mysql_backup.restore import drop_database, restore_backup
from mysql_backup.storage import Storage
from mysql_common.errors import PermanentError, mysql_errno
from mysql_common.identifiers import mysql_safe_name, quote
from mysql_common.session import server_info
from mysql_hardening import index_plan, schema

from query_insights.plan_explain import Candidate, is_select

log = logging.getLogger(__name__)

MAX_STATEMENT_SECONDS = 60


@dataclass
class Trial:
    """One candidate measured on the scratch copy."""

    schema_name: str
    digest: str
    table: str
    columns: list[str]
    plan_entry: dict
    statement: str | None = None          # the index plan's ALTER TABLE
    before_ms: list[float] = field(default_factory=list)
    after_ms: list[float] = field(default_factory=list)
    rows_read_before: int | None = None   # handler reads per execution
    rows_read_after: int | None = None
    gain: float | None = None
    recommended: bool = False
    reason: str = ""
    backup_id: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


def plan_entry(candidate: Candidate, tables: dict[str, schema.Table]) -> tuple[dict, index_plan.IndexDecision]:
    """The candidate as an index_plan.yaml entry, and the plan's own verdict on it."""
    name = mysql_safe_name("qi_" + "_".join([candidate.table, *candidate.columns]).lower())
    entry = {"name": name, "table": candidate.table, "columns": list(candidate.columns)}
    return entry, index_plan.decide(entry, tables, {})


def unused_indexes(ps_conn, tables: dict[str, schema.Table], database: str, uptime_seconds: int,
                   min_days: float) -> tuple[list[dict], str]:
    """Indexes with no read or write since the server started (sys.schema_unused_indexes), left
    out: primary keys, unique keys (they enforce a rule) and the only index behind a foreign key."""
    if uptime_seconds < min_days * 86400:
        return [], (f"the server has been up {uptime_seconds / 86400:.1f} day(s), less than {min_days:g}: "
                    "too early to call an index unused")
    cur = ps_conn.cursor()
    cur.execute("SELECT OBJECT_NAME, INDEX_NAME FROM performance_schema.table_io_waits_summary_by_index_usage "
                "WHERE OBJECT_SCHEMA = %s AND INDEX_NAME IS NOT NULL AND INDEX_NAME <> 'PRIMARY' "
                "AND COUNT_STAR = 0 ORDER BY OBJECT_NAME, INDEX_NAME", (database,))
    rows = cur.fetchall()
    cur.close()
    found = []
    for table_name, index_name in rows:
        table = tables.get(table_name)
        index = table.indexes.get(index_name) if table else None
        if index is None or index.unique or _only_foreign_key_index(table, index):
            continue
        found.append({"table": table_name, "index": index_name, "columns": index.column_names,
                      "note": f"no reads or writes in {uptime_seconds / 86400:.1f} days of uptime"})
    return found, ""


def _foreign_key_columns(table: schema.Table) -> list[list[str]]:
    out = []
    for fk in table.foreign_keys:  # "name (a,b) -> table"
        match = re.search(r"\(([^)]*)\)\s*->", fk)
        if match:
            out.append([c.strip().lower() for c in match.group(1).split(",")])
    return out


def _only_foreign_key_index(table: schema.Table, index: schema.Index) -> bool:
    for columns in _foreign_key_columns(table):
        if index.column_names[: len(columns)] == columns:
            others = [ix for ix in table.indexes.values()
                      if ix is not index and ix.column_names[: len(columns)] == columns]
            if not others:
                return True
    return False


def redundant_indexes(tables: dict[str, schema.Table]) -> list[dict]:
    """B-tree indexes whose columns are a left prefix of another index of the same table
    (sys.schema_redundant_indexes); a unique index only when its twin is unique too."""
    found = []
    for table in tables.values():
        indexes = [ix for ix in table.indexes.values() if ix.kind == "BTREE" and ix.name != "PRIMARY"]
        for ix in indexes:
            for other in table.indexes.values():
                if other is ix or other.kind != "BTREE" or len(other.columns) < len(ix.columns):
                    continue
                if [(c.lower(), p) for c, p in other.columns[: len(ix.columns)]] != \
                        [(c.lower(), p) for c, p in ix.columns]:
                    continue
                if ix.unique and not (other.unique and len(other.columns) == len(ix.columns)):
                    continue
                if len(other.columns) == len(ix.columns) and other.name > ix.name and other.name != "PRIMARY":
                    continue  # identical twins: name only one of them
                found.append({"table": table.name, "index": ix.name, "columns": ix.column_names,
                              "covered_by": f"{other.name} ({', '.join(other.column_names)})"})
                break
    return found


def _references(statement: str, database: str) -> bool:
    """Does the statement name the production database as a qualifier?"""
    name = re.escape(database)
    return re.search(rf"(`{name}`|(?<![\w$`]){name})\s*\.", statement, re.IGNORECASE) is not None


def _handler_reads(cur) -> int:
    cur.execute("SHOW SESSION STATUS LIKE 'Handler_read%'")
    return sum(int(value) for _, value in cur.fetchall())


def time_statement(conn, statement: str, repeat: int) -> tuple[list[float], int]:
    """Milliseconds per run (after one warm-up run) and handler reads per run (SHOW STATUS
    reads rows itself: its own share is measured and taken off)."""
    cur = conn.cursor()
    cur.execute(statement)
    cur.fetchall()
    first = _handler_reads(cur)
    start = _handler_reads(cur)
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        cur.execute(statement)
        cur.fetchall()
        runs.append((time.perf_counter() - started) * 1000)
    reads = max(0, _handler_reads(cur) - start - (start - first)) // repeat
    cur.close()
    return runs, reads


def _align_indexes(cur, scratch: str, table: str, production: schema.Table) -> None:
    """Make the scratch table's indexes those of production (the backup may predate a change)."""
    copy = schema.load(cur, scratch)[table]
    want = {ix.name: ix for ix in production.indexes.values()}
    for ix in copy.indexes.values():
        same = want.get(ix.name)
        if ix.name != "PRIMARY" and (same is None or same.columns != ix.columns or same.unique != ix.unique):
            cur.execute(f"ALTER TABLE {quote(table)} DROP INDEX {quote(ix.name)}")
    for ix in production.indexes.values():
        present = copy.indexes.get(ix.name)
        if ix.name == "PRIMARY" or (present is not None and present.columns == ix.columns
                                    and present.unique == ix.unique):
            continue
        columns = ", ".join(quote(c) + (f"({p})" if p else "") for c, p in ix.columns)
        kind = "UNIQUE INDEX" if ix.unique else ("FULLTEXT INDEX" if ix.kind == "FULLTEXT" else "INDEX")
        cur.execute(f"ALTER TABLE {quote(table)} ADD {kind} {quote(ix.name)} ({columns})")


def validate_on_scratch(access: MySqlAccess, storage: Storage, age_key: AgeKey, *, server: str, database: str,
                        trials: list[Trial], statements: dict[tuple[str, str], str],
                        production: dict[str, schema.Table], repeat: int = 5, min_gain: float = 1.5,
                        workdir: str | None = None) -> list[Trial]:
    """Restore the latest backup into a scratch database, time each trial's statement there
    before and after its index, drop the scratch database; the trials come back judged."""
    restored = None
    scratch = mysql_safe_name(f"qi_scratch_{database}")
    drop_database(access, scratch)  # left over by an interrupted run
    try:
        restored = restore_backup(access, storage, age_key, server=server, database=database,
                                  target_database=scratch, workdir=workdir)
        conn = access.connect()
        try:
            conn.autocommit(True)  # each statement its own transaction: READ ONLY applies to the next
            cur = conn.cursor()
            cur.execute("SET SESSION sql_log_bin = 0")
            cur.execute(f"USE {quote(scratch)}")
            limit = ("SET SESSION max_statement_time = %d" if server_info(conn).is_mariadb
                     else "SET SESSION max_execution_time = %d000") % MAX_STATEMENT_SECONDS
            cur.execute(limit)
            for trial in trials:
                trial.backup_id = restored.backup_id
                _measure(conn, cur, trial, statements[(trial.schema_name, trial.digest)], database,
                         scratch, production, repeat, min_gain)
        finally:
            conn.close()
    finally:
        drop_database(access, scratch)
    return trials


def _measure(conn, cur, trial: Trial, statement: str, database: str, scratch: str,
             production: dict[str, schema.Table], repeat: int, min_gain: float) -> None:
    if not is_select(statement) or _references(statement, database):
        trial.reason = "the sample statement is not a SELECT on unqualified tables: not run on the copy"
        return
    try:
        _align_indexes(cur, scratch, trial.table, production[trial.table])
        cur.execute("SET SESSION TRANSACTION READ ONLY")
        trial.before_ms, trial.rows_read_before = time_statement(conn, statement, repeat)
        cur.execute("SET SESSION TRANSACTION READ WRITE")
        cur.execute(trial.statement)
        index_plan.analyze(cur, [trial.table])
        cur.execute("SET SESSION TRANSACTION READ ONLY")
        trial.after_ms, trial.rows_read_after = time_statement(conn, statement, repeat)
        cur.execute("SET SESSION TRANSACTION READ WRITE")
    except Exception as exc:
        if mysql_errno(exc) is None and not isinstance(exc, PermanentError):
            raise
        trial.reason = f"could not be measured on the copy: {exc}"
        cur.execute("SET SESSION TRANSACTION READ WRITE")
        return
    before, after = statistics.median(trial.before_ms), statistics.median(trial.after_ms)
    trial.gain = round(before / max(after, 1e-6), 2)
    separated = max(trial.after_ms) < min(trial.before_ms)
    trial.recommended = separated and trial.gain >= min_gain
    trial.reason = (f"median {before:.2f} ms -> {after:.2f} ms ({trial.gain}x), handler reads per run "
                    f"{trial.rows_read_before:,} -> {trial.rows_read_after:,}"
                    + ("" if trial.recommended else
                       f": no measured gain (needs every run faster and at least {min_gain:g}x)"))
    log.info("index %s on %s for digest %s: %s", trial.plan_entry["name"], trial.table, trial.digest, trial.reason)
