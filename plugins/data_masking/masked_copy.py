"""The masked copy: stream every table from the source database through the masking transform
into a staging database on the dev server, then publish it as the dev database.

Plaintext never reaches the dev server: rows are read on the source side (a scratch restore of
the latest backup, or a replica), masked in this process and written masked. The source server
does the cheap part of the encoding: it returns the kept columns of each row as one line already
escaped for LOAD DATA, so Python only touches the masked values. Tables are read in keyset
batches (primary key, else a NOT NULL unique key) and loaded with LOAD DATA LOCAL INFILE; the next
batch is read and masked while the current one loads, and several tables run at once. Memory
holds at most two batches per table. Plain indexes and foreign keys are added after the load
(sorted builds). A table with nothing masked is copied inside the server when the source is on
the dev server (no plaintext of a masked column moves that way).

The copy is built in `<dev database>_mask_stage` and only renamed into the dev database once it
is verified and scanned (masking_checks), so developers never see a half-built or leaking copy.
"""
from __future__ import annotations

import logging
import os
import queue
import re
import tempfile
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from mysql_common.identifiers import quote
from mysql_common.progress import Progress

from data_masking import MaskingError
from data_masking.masking_rules import Ruleset, TableRule
from data_masking.masking_schema import Column, Schema, Table, keyset_batches
from data_masking.masking_strategies import Keyed, Strategy, django_password_hash, to_bytes

log = logging.getLogger(__name__)

MAX_BATCH_BYTES = 32 * 1024 * 1024
MEMO_VALUES = 50_000  # masked texts remembered per column and table (cleared when full: memory stays bounded)
IN_SERVER_BATCHES = 5  # streamed batches' worth of rows per INSERT ... SELECT (one short transaction)
NULL = b"\\N"
# Types the server turns into text the same way it reads them back.
_AS_TEXT = {"uuid", "inet4", "inet6"}
_UNSUPPORTED = {"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
                "geometrycollection"}


def stage_name(dev_database: str) -> str:
    suffix = "_mask_stage"
    return dev_database[: 64 - len(suffix)] + suffix


def escape(value: bytes) -> bytes:
    """LOAD DATA's escaping (FIELDS ESCAPED BY '\\\\'), for the values Python writes."""
    if b"\\" in value:
        value = value.replace(b"\\", b"\\\\")
    if b"\t" in value:
        value = value.replace(b"\t", b"\\t")
    if b"\n" in value:
        value = value.replace(b"\n", b"\\n")
    if b"\x00" in value:
        value = value.replace(b"\x00", b"\\0")
    return value


def encode(value) -> bytes:
    if value is None:
        return NULL
    if isinstance(value, bytes):
        return escape(value)
    if hasattr(value, "isoformat"):
        value = value.isoformat(sep=" ") if hasattr(value, "hour") else value.isoformat()
    return escape(str(value).encode("utf-8", "surrogatepass"))


def _escaped_sql(col: Column) -> str:
    """The server-side text of a kept column, escaped for LOAD DATA; NULL as \\N."""
    c = quote(col.name)
    if col.data_type == "bit":
        return f"IFNULL(CAST({c} + 0 AS CHAR), X'5C4E')"
    if col.data_type in _AS_TEXT:
        return f"IFNULL(CAST(CAST({c} AS CHAR) AS BINARY), X'5C4E')"
    raw = f"CAST({c} AS BINARY)"
    if not (col.is_string or col.data_type in ("binary", "varbinary", "tinyblob", "blob", "mediumblob",
                                                "longblob", "json")):
        return f"IFNULL({raw}, X'5C4E')"  # numbers and times cannot hold a tab, newline or backslash
    return (f"IFNULL(REPLACE(REPLACE(REPLACE(REPLACE({raw}, X'5C', X'5C5C'), X'09', X'5C74'), X'0A', X'5C6E'), "
            f"X'00', X'5C30'), X'5C4E')")


def read_sql(col: Column) -> str:
    """How a masked or context column is read: as the value the strategy works on."""
    c = quote(col.name)
    if col.is_temporal or col.data_type in _AS_TEXT:
        return f"CAST({c} AS CHAR)"
    return c


@dataclass
class TablePlan:
    table: Table
    rule: TableRule
    masked: list[tuple[Column, Strategy]] = field(default_factory=list)
    context: list[str] = field(default_factory=list)
    kept: list[Column] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def action(self) -> str:
        return self.rule.action


def plan_copy(schema: Schema, rules: Ruleset, keyed: Keyed, *, dev_password: str | None = None) -> dict[str, TablePlan]:
    """One TablePlan per table of the source (coverage has been checked: every column has a rule)."""
    dev_hash = None
    plans = {}
    for name, table in schema.tables.items():
        rule = rules.tables[name]
        plan = TablePlan(table, rule)
        plans[name] = plan
        if rule.action != "copy":
            continue
        for col in table.stored_columns:
            if col.data_type in _UNSUPPORTED:
                raise MaskingError(f"{name}.{col.name}: {col.data_type} columns are not supported by the "
                                   "masked copy")
            col_rule = rule.columns[col.name]
            if col_rule.keep:
                plan.kept.append(col)
                continue
            strategy = col_rule.build(name, col.max_chars)
            if strategy.name == "django_password" and dev_password and strategy.options.get("dev_password_for"):
                dev_hash = dev_hash or django_password_hash(dev_password, keyed)
                strategy.options["_dev_hash"] = dev_hash
            plan.masked.append((col, strategy))
            for other in strategy.context:
                if other not in plan.context:
                    plan.context.append(other)
    return plans


# --- unique keys ---------------------------------------------------------------------------

def _collation_key(text, collation: str | None):
    """Values equal under the column's collation compare equal here (case, accents, pad spaces)."""
    if not isinstance(text, str) or not collation:
        return text
    lower = collation.lower()
    if "nopad" not in lower and "0900" not in lower:
        text = text.rstrip(" ")
    if "_ci" in lower or "_ai" in lower or lower.endswith("general_ci"):
        text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)).casefold()
    return text


def resolve_unique_collisions(conn, database: str, plans: dict[str, TablePlan], keyed: Keyed) -> dict[str, dict]:
    """Overrides (domain -> {input digest: attempt}) so no unique key collides after masking.

    Pseudonyms of different inputs can coincide (names from a pool, truncated outputs). For
    each unique key with a masked column, inputs whose outputs collide are ordered by their
    keyed digest; the first keeps its pseudonym and the others take the next attempt. The
    decision depends on the inputs only, so every table masks the same input the same way.
    """
    overrides: dict[str, dict] = {}
    keys = []
    for plan in plans.values():
        if plan.action != "copy":
            continue
        masked = {col.name: strategy for col, strategy in plan.masked}
        for cols in [plan.table.primary_key, *plan.table.unique_keys.values()]:
            if cols and any(c in masked for c in cols):
                keys.append((plan, cols, masked))
    if not keys:
        return overrides
    cur = conn.cursor()
    for _round in range(10):
        changed = False
        for plan, cols, masked in keys:
            context = [c for c in plan.context if c not in cols]
            select = ", ".join([read_sql(plan.table.column(c)) for c in cols + context])
            cur.execute(f"SELECT {select} FROM {quote(database)}.{quote(plan.name)}")
            groups: dict[tuple, list[tuple]] = {}
            for row in cur.fetchall():
                values = dict(zip(cols + context, row))
                out = []
                for c in cols:
                    strategy = masked.get(c)
                    value = values[c]
                    if strategy is not None:
                        value = strategy.pseudonym(value, values, keyed, overrides.get(strategy.domain))
                    out.append(_collation_key(value, plan.table.column(c).collation))
                if any(v is None for v in out):
                    continue  # NULLs never collide under a unique key
                groups.setdefault(tuple(out), []).append(tuple(values[c] for c in cols))
            for inputs in groups.values():
                distinct = sorted(set(inputs), key=lambda t: keyed.digest("collision", repr(t).encode()))
                for loser in distinct[1:]:
                    c = next(c for c in cols if c in masked)
                    strategy = masked[c]
                    digest = keyed.digest(strategy.domain, to_bytes(loser[cols.index(c)]))
                    table = overrides.setdefault(strategy.domain, {})
                    table[digest] = table.get(digest, 0) + 1
                    changed = True
        if not changed:
            if overrides:
                log.info("unique keys: %d pseudonym(s) re-derived to avoid collisions",
                         sum(len(v) for v in overrides.values()))
            return overrides
    raise MaskingError("unique keys still collide after masking: a strategy has fewer distinct outputs than the "
                       "column has values (a name pool on a unique column, or a short column): use one with more")


# --- staging database ------------------------------------------------------------------------

@dataclass
class Deferred:
    """Plain secondary indexes and foreign keys of a staging table, added once its rows are in:
    a sorted index build after the load is far cheaper than maintaining the index row by row."""
    indexes: list[str] = field(default_factory=list)
    foreign_keys: list[str] = field(default_factory=list)


_IDENT = re.compile(r"`((?:[^`]|``)*)`")


def split_create(ddl: str) -> tuple[str, Deferred]:
    """SHOW CREATE TABLE text without its plain KEYs and FOREIGN KEYs, and those as ALTER clauses.

    Kept in the CREATE: the primary and unique keys (enforced while loading), FULLTEXT and SPATIAL
    indexes (built one at a time by InnoDB), CHECK constraints, and a KEY that starts with the
    AUTO_INCREMENT column (the server requires one)."""
    lines = ddl.split("\n")
    head, body, tail = lines[0], [line.rstrip(",") for line in lines[1:-1]], lines[-1]
    auto = {m.group(1) for line in body if line.startswith("  `") and " AUTO_INCREMENT" in line.upper()
            for m in [_IDENT.search(line)] if m}
    kept, deferred = [], Deferred()
    for line in body:
        if line.startswith("  KEY "):
            columns = _IDENT.findall(line[line.index("("):])
            if not (columns and columns[0] in auto):
                deferred.indexes.append("ADD " + line.strip())
                continue
        elif line.startswith("  CONSTRAINT ") and " FOREIGN KEY (" in line:
            deferred.foreign_keys.append("ADD " + line.strip())
            continue
        kept.append(line)
    return "\n".join([head, ",\n".join(kept), tail]), deferred


def create_stage(source_conn, dev_conn, source_db: str, stage_db: str,
                 plans: dict[str, TablePlan]) -> dict[str, Deferred]:
    """A fresh staging database with the source's tables (keys, AUTO_INCREMENT, checks); the
    plain indexes and foreign keys of copied tables are returned, to be added after the load."""
    src, dev = source_conn.cursor(), dev_conn.cursor()
    src.execute("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
                "WHERE SCHEMA_NAME = %s", (source_db,))
    charset, collation = src.fetchone()
    dev.execute(f"DROP DATABASE IF EXISTS {quote(stage_db)}")
    dev.execute(f"CREATE DATABASE {quote(stage_db)} CHARACTER SET {charset} COLLATE {collation}")
    dev.execute(f"USE {quote(stage_db)}")
    dev.execute("SET SESSION foreign_key_checks = 0")
    deferred = {}
    for name, plan in plans.items():
        if plan.action == "drop":
            continue
        src.execute(f"SHOW CREATE TABLE {quote(source_db)}.{quote(name)}")
        ddl = src.fetchone()[1]
        if plan.action == "copy":
            ddl, deferred[name] = split_create(ddl)
        dev.execute(ddl)
    return deferred


def add_deferred(dev_conn, stage_db: str, table: str, clauses: list[str]) -> None:
    """One ALTER for all the clauses (one sorted build per index); foreign keys are not checked
    here: verify_copy proves every one of them on the finished copy."""
    if clauses:
        cur = dev_conn.cursor()
        cur.execute("SET SESSION foreign_key_checks = 0")
        cur.execute(f"ALTER TABLE {quote(stage_db)}.{quote(table)} " + ", ".join(clauses))


def publish(dev_conn, stage_db: str, dev_db: str) -> list[str]:
    """Replace the dev database by the staging one: drop, create, one atomic RENAME of all tables."""
    cur = dev_conn.cursor()
    cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY 1", (stage_db,))
    tables = [r[0] for r in cur.fetchall()]
    if not tables:
        # A retry after the RENAME went through: the dev database already holds the copy.
        cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (dev_db,))
        if cur.fetchone()[0]:
            cur.execute(f"DROP DATABASE IF EXISTS {quote(stage_db)}")
            log.info("%s holds the published copy already (an earlier try renamed it)", dev_db)
            return []
        raise MaskingError(f"nothing to publish: the staging database {stage_db} is empty or missing")
    cur.execute("SELECT DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA "
                "WHERE SCHEMA_NAME = %s", (stage_db,))
    charset, collation = cur.fetchone()
    cur.execute("SET SESSION foreign_key_checks = 0")
    cur.execute(f"DROP DATABASE IF EXISTS {quote(dev_db)}")
    cur.execute(f"CREATE DATABASE {quote(dev_db)} CHARACTER SET {charset} COLLATE {collation}")
    if tables:
        cur.execute("RENAME TABLE " + ", ".join(
            f"{quote(stage_db)}.{quote(t)} TO {quote(dev_db)}.{quote(t)}" for t in tables))
    cur.execute(f"DROP DATABASE {quote(stage_db)}")
    return tables


def drop_database(conn, database: str) -> None:
    cur = conn.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {quote(database)}")


# --- the copy of one table -------------------------------------------------------------------

@dataclass
class TableCopy:
    table: str
    rows: int
    seconds: float


def _batches(conn, database: str, plan: TablePlan, keyed: Keyed, overrides: dict, batch_rows: int):
    """Yield (lines, rows) of LOAD DATA input, masked, in keyset order."""
    table = plan.table
    masked_cols = [c for c, _ in plan.masked]
    select = [read_sql(c) for c in masked_cols] + [read_sql(table.column(c)) for c in plan.context]
    if plan.kept:
        select.append("CONCAT_WS(X'09', " + ", ".join(_escaped_sql(c) for c in plan.kept) + ")")
    avg = max(1, table.bytes_estimate // max(1, table.rows_estimate))
    rows_per_batch = max(1, min(batch_rows, MAX_BATCH_BYTES // avg))
    nk, nm = len(table.scan_key), len(masked_cols)
    strategies = [(s, overrides.get(s.domain)) for _, s in plan.masked]
    context_at = [(name, nk + nm + i) for i, name in enumerate(plan.context)]
    # Texts repeat (statuses, canned notes, common names): a strategy that reads nothing but its
    # value masks each distinct text once. Only texts: 0.0 == -0.0 but they mask differently.
    memos = [None if s.context else {} for s, _ in strategies]
    for rows in keyset_batches(conn, database, table, select, rows_per_batch):
        if not plan.masked:
            yield b"\n".join(r[-1] for r in rows), len(rows)
            continue
        lines = []
        for row in rows:
            context = {name: row[i] for name, i in context_at}
            out = []
            for i, (strategy, ov) in enumerate(strategies):
                value, memo = row[nk + i], memos[i]
                if memo is not None and isinstance(value, (str, bytes)):
                    masked = memo.get(value)
                    if masked is None:
                        if len(memo) >= MEMO_VALUES:
                            memo.clear()
                        masked = memo[value] = encode(strategy.pseudonym(value, context, keyed, ov))
                else:
                    masked = encode(strategy.pseudonym(value, context, keyed, ov))
                out.append(masked)
            if plan.kept:
                out.append(row[-1])
            lines.append(b"\t".join(out))
        yield b"\n".join(lines), len(rows)


def _load_sql(stage_db: str, plan: TablePlan) -> str:
    targets, sets = [], []
    for i, (col, _strategy) in enumerate(plan.masked):
        var = f"@m{i}"
        targets.append(var)
        if col.is_string or col.data_type in _AS_TEXT:
            sets.append(f"{quote(col.name)} = CONVERT({var} USING utf8mb4)")
        else:
            sets.append(f"{quote(col.name)} = {var}")
    for i, col in enumerate(plan.kept):
        if col.data_type == "bit":
            targets.append(f"@k{i}")
            sets.append(f"{quote(col.name)} = CAST(@k{i} AS UNSIGNED)")
        else:
            targets.append(quote(col.name))
    return (f"LOAD DATA LOCAL INFILE %s INTO TABLE {quote(stage_db)}.{quote(plan.name)} CHARACTER SET binary "
            f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({', '.join(targets)})"
            + (f" SET {', '.join(sets)}" if sets else ""))


def same_server(source_conn, dev_conn) -> bool:
    """Whether both connections reach one server: a named lock taken on one is seen held, by
    that very connection, from the other (host names, ports and data directories can repeat
    across containers; this cannot)."""
    src, dev = source_conn.cursor(), dev_conn.cursor()
    name = f"masked-copy-probe-{os.urandom(8).hex()}"
    src.execute("SELECT GET_LOCK(%s, 0), CONNECTION_ID()", (name,))
    taken, holder = src.fetchone()
    try:
        dev.execute("SELECT IS_USED_LOCK(%s)", (name,))
        return bool(taken) and dev.fetchone()[0] == holder
    finally:
        src.execute("SELECT RELEASE_LOCK(%s)", (name,))
        src.fetchall()


def readable(dev_conn, source_db: str, table: str) -> bool:
    try:
        dev_conn.cursor().execute(f"SELECT 1 FROM {quote(source_db)}.{quote(table)} LIMIT 0")
        return True
    except Exception:  # no privilege for the dev account: the rows go through this process
        return False


def _check_warnings(dev_conn, cur, table: str) -> None:
    if dev_conn.warning_count():
        cur.execute("SHOW WARNINGS LIMIT 5")
        raise MaskingError(f"{table}: the dev server changed or refused masked values: " + "; ".join(
            f"{level} {code}: {message}" for level, code, message in cur.fetchall()))


def _copy_in_server(dev_conn, source_db: str, stage_db: str, plan: TablePlan, batch_rows: int,
                    progress: Progress | None) -> int:
    """A table with nothing masked, when the source is on the dev server: INSERT ... SELECT in
    key order, batch by batch, so its rows never travel through this process."""
    cur = dev_conn.cursor()
    columns = ", ".join(quote(c.name) for c in plan.kept)
    target, source = f"{quote(stage_db)}.{quote(plan.name)}", f"{quote(source_db)}.{quote(plan.name)}"
    key = plan.table.scan_key
    order = ", ".join(quote(k) for k in key)
    total, last = 0, None
    while True:
        if not key:
            cur.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source}")
        else:
            where, params = "", ()
            if last is not None:
                where, params = f"WHERE ({order}) > ({', '.join(['%s'] * len(key))}) ", tuple(last)
            cur.execute(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source} {where}"
                        f"ORDER BY {order} LIMIT {int(batch_rows)}", params)
        rows = cur.rowcount
        _check_warnings(dev_conn, cur, plan.name)
        dev_conn.commit()
        total += rows
        if progress:
            progress.add(rows)
        if not key or rows < batch_rows:
            return total
        cur.execute(f"SELECT {order} FROM {target} ORDER BY " + ", ".join(f"{quote(k)} DESC" for k in key)
                    + " LIMIT 1")
        last = cur.fetchone()


def copy_table(source_conn, dev_conn, source_db: str, stage_db: str, plan: TablePlan, keyed: Keyed,
               overrides: dict, *, batch_rows: int = 20_000, progress: Progress | None = None,
               indexes: list[str] = (), in_server: bool = False) -> TableCopy:
    """Copy one table into the staging database, then build its deferred indexes. A table with
    nothing masked is copied inside the server when `in_server`; the others are streamed, the
    next batch read and masked while this one loads."""
    started = time.monotonic()
    if plan.action != "copy":
        return TableCopy(plan.name, 0, 0.0)
    cur = dev_conn.cursor()
    cur.execute("SET SESSION foreign_key_checks = 0")  # the stage is new: a retry rebuilds it whole
    if in_server and not plan.masked:
        total = _copy_in_server(dev_conn, source_db, stage_db, plan, batch_rows * IN_SERVER_BATCHES, progress)
        add_deferred(dev_conn, stage_db, plan.name, list(indexes))
        return TableCopy(plan.name, total, round(time.monotonic() - started, 3))
    load_sql = _load_sql(stage_db, plan)
    spool = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    handoff: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def produce():
        try:
            for item in _batches(source_conn, source_db, plan, keyed, overrides, batch_rows):
                while not stop.is_set():
                    try:
                        handoff.put(item, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            handoff.put(None)
        except BaseException as exc:  # handed to the loading thread
            handoff.put(exc)

    reader = threading.Thread(target=produce, name=f"mask-{plan.name}", daemon=True)
    reader.start()
    total = 0
    try:
        while True:
            item = handoff.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            data, rows = item
            fd, path = tempfile.mkstemp(prefix="masked-", suffix=".tsv", dir=spool)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.write(b"\n")
                cur.execute(load_sql, (path,))
                loaded = cur.rowcount
                _check_warnings(dev_conn, cur, plan.name)
            finally:
                os.unlink(path)
            if loaded != rows:
                raise MaskingError(f"{plan.name}: {rows} rows read, {loaded} loaded")
            dev_conn.commit()
            total += rows
            if progress:
                progress.add(rows)
    finally:
        stop.set()
        try:
            handoff.get_nowait()
        except queue.Empty:
            pass
        reader.join(timeout=30)
    add_deferred(dev_conn, stage_db, plan.name, list(indexes))
    return TableCopy(plan.name, total, round(time.monotonic() - started, 3))


def copy_all(source, dev, source_db: str, stage_db: str, plans: dict[str, TablePlan], keyed: Keyed,
             overrides: dict, deferred: dict[str, Deferred], *, workers: int = 3,
             batch_rows: int = 20_000) -> list[TableCopy]:
    """All tables, largest first, `workers` at a time, each with its indexes; then the foreign
    keys (metadata only, once every table exists); source/dev are MySqlAccess objects."""
    order = sorted((p for p in plans.values() if p.action == "copy"), key=lambda p: -p.table.bytes_estimate)
    progress = Progress("masked copy", sum(p.table.rows_estimate for p in order))
    src, dst = source.connect(), dev.connect()
    try:
        in_server = same_server(src, dst) and all(readable(dst, source_db, p.name)
                                                  for p in order if not p.masked)
    finally:
        src.close()
        dst.close()
    if in_server:
        log.info("source and dev database share a server: tables with nothing masked are copied inside it")

    def one(plan: TablePlan) -> TableCopy:
        src, dst = source.connect(), dev.connect()
        try:
            return copy_table(src, dst, source_db, stage_db, plan, keyed, overrides, batch_rows=batch_rows,
                              progress=progress, indexes=deferred.get(plan.name, Deferred()).indexes,
                              in_server=in_server)
        finally:
            src.close()
            dst.close()

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="masked-copy") as pool:
        results = list(pool.map(one, order))
    conn = dev.connect()
    try:
        for name, later in deferred.items():
            add_deferred(conn, stage_db, name, later.foreign_keys)
    finally:
        conn.close()
    return results
