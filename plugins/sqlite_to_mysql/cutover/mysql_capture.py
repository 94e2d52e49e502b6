"""Change capture on the MySQL target, for the rollback, and the cutover's records there.

Once the application writes to MySQL, a rollback must bring every one of those writes back
to SQLite. Triggers log the key of each changed row into `_s2m_changelog` in the same
transaction as the write; they need no binlog, no extra privilege at run time and no
retention, and survive server restarts (see docs/cutover.md for the comparison with
binlog row events). Two MySQL gaps are closed here:

- foreign-key cascades fire no triggers in InnoDB: BEFORE triggers on each parent log the
  children a cascading DELETE or key UPDATE is about to change;
- our own sessions set `@s2m_sync`, which every trigger of ours skips, so applying changes
  never logs them again and passes the freeze.

Block triggers, installed with capture (before the application writes to MySQL), refuse the
application's writes while the one row of `_s2m_block` holds a refusal: a timed freeze (with
its deadline) or a guard (freeze.py sets it). They read that row with a shared lock, so
setting it is an ordinary row update that waits only for the transactions in flight and is
seen by every write after it: freezing MySQL while the application writes needs no DDL,
which would wait for every transaction on each table and make some of them deadlock victims.

Keys are logged as the bytes verification hashes for them (CAST ... AS BINARY), exact for
every key type and comparable with what SQLite computes for the same row.
"""
from __future__ import annotations

import hashlib
import json
import logging

from mysql_common.identifiers import quote
from sqlite_to_mysql.cutover.sqlite_capture import key_columns, trigger_name
from sqlite_to_mysql.plan import ForeignKeyPlan, Plan, TablePlan

log = logging.getLogger(__name__)

CHANGELOG = "_s2m_changelog"
STATE = "_s2m_state"
JOURNAL = "_s2m_journal"
BLOCK = "_s2m_block"
MAX_KEY_PARTS = 16  # MySQL's limit of columns in one index
CASCADING = ("CASCADE", "SET NULL")
MAX_CASCADE_DEPTH = 4


def _ddl(width: int) -> list[str]:
    keys = ", ".join(f"k{i} VARBINARY(3072) NULL" for i in range(width))
    return [
        f"CREATE TABLE IF NOT EXISTS {quote(CHANGELOG)} (seq BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        f"tbl VARCHAR(64) NOT NULL, op CHAR(1) NOT NULL, at DATETIME(6) NOT NULL, "
        f"applied TINYINT NOT NULL DEFAULT 0, {keys}, KEY pending (applied, seq)"
        f") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        f"CREATE TABLE IF NOT EXISTS {quote(STATE)} (name VARCHAR(64) NOT NULL PRIMARY KEY, "
        f"value LONGTEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        f"CREATE TABLE IF NOT EXISTS {quote(JOURNAL)} (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, "
        f"at DATETIME(6) NOT NULL, run_id VARCHAR(250) NOT NULL, step VARCHAR(64) NOT NULL, "
        f"seconds DOUBLE NULL, detail LONGTEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        f"CREATE TABLE IF NOT EXISTS {quote(BLOCK)} (id TINYINT NOT NULL PRIMARY KEY, message VARCHAR(128) NULL, "
        f"until DATETIME(6) NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
        f"INSERT IGNORE INTO {quote(BLOCK)} (id) VALUES (1)",
    ]


def ensure_tables(conn, width: int = MAX_KEY_PARTS) -> None:
    cur = conn.cursor()
    for statement in _ddl(width):
        cur.execute(statement)
    conn.commit()


def sync_session(conn) -> None:
    """Settings of every session that applies changes: our triggers skip it, foreign keys are
    not re-checked or cascaded (rows arrive in key batches, not in the application's order),
    and literals built by row_sql are read without backslash escapes."""
    cur = conn.cursor()
    cur.execute("SET @s2m_sync = 1")
    cur.execute("SET SESSION foreign_key_checks = 0")
    cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')")


# --- state and journal ------------------------------------------------------------------

def get_state(conn, name: str, *, for_update: bool = False) -> str | None:
    cur = conn.cursor()
    cur.execute(f"SELECT value FROM {quote(STATE)} WHERE name = %s" + (" FOR UPDATE" if for_update else ""),
                (name,))
    row = cur.fetchone()
    return row[0] if row else None


def set_state(conn, name: str, value) -> None:
    """Within the caller's transaction."""
    conn.cursor().execute(f"INSERT INTO {quote(STATE)} (name, value) VALUES (%s, %s) "
                          f"ON DUPLICATE KEY UPDATE value = VALUES(value)", (name, str(value)))


def record(conn, run_id: str, step: str, seconds: float | None, detail: dict) -> None:
    """One journal line per cutover step: what was done, how long it took (committed)."""
    conn.cursor().execute(
        f"INSERT INTO {quote(JOURNAL)} (at, run_id, step, seconds, detail) VALUES (UTC_TIMESTAMP(6), %s, %s, %s, %s)",
        (run_id, step, None if seconds is None else round(seconds, 6), json.dumps(detail, default=str)))
    conn.commit()


def journal(conn, run_id: str | None = None) -> list[dict]:
    cur = conn.cursor()
    where, args = ("WHERE run_id = %s", (run_id,)) if run_id else ("", ())
    cur.execute(f"SELECT at, run_id, step, seconds, detail FROM {quote(JOURNAL)} {where} ORDER BY id", args)
    return [{"at": str(r[0]), "run_id": r[1], "step": r[2], "seconds": r[3], "detail": json.loads(r[4])}
            for r in cur.fetchall()]


def releases(conn, run_id: str) -> list[dict]:
    """What this run's release steps resolved (freezes left behind, with how long they held
    the application's writes); [] when the journal cannot be read: the run's own error, if
    any, says why, and must not be hidden by this one."""
    try:
        found = [e["detail"] for e in journal(conn, run_id) if e["step"] == "release"]
        conn.commit()
        return found
    except Exception as exc:
        log.error("could not read the releases of run %s from %s: %s", run_id, JOURNAL, exc)
        return []


# --- trigger SQL ------------------------------------------------------------------------

def text_literal(value: str) -> str:
    """A MySQL string literal that means the same under every sql_mode (the trigger keeps
    the mode it was created with)."""
    return f"CONVERT(X'{value.encode('utf-8').hex()}' USING utf8mb4)"


def key_bytes_sql(col, ref: str) -> str:
    """The bytes a key part is logged as; the same bytes verification hashes for it."""
    if col is not None and col.kind in ("text", "json", "blob"):
        return f"CAST({ref} AS BINARY)"
    return f"CAST(CAST({ref} AS CHAR) AS BINARY)"


def _key_refs(tp: TablePlan, alias: str) -> list[str]:
    return [f"{alias}.{quote(c)}" for c in tp.key_target]


def _log_select(tp: TablePlan, op: str, refs: list[str], width: int) -> str:
    """SELECT of one log row: table, operation, time, key bytes (NULL-padded to `width`)."""
    parts = [key_bytes_sql(col, ref) for col, ref in zip(key_columns(tp), refs)]
    parts += ["NULL"] * (width - len(parts))
    return f"SELECT {text_literal(tp.target)}, '{op}', UTC_TIMESTAMP(6), {', '.join(parts)}"


def _insert_into_log(width: int) -> str:
    cols = ", ".join(f"k{i}" for i in range(width))
    return f"INSERT INTO {quote(CHANGELOG)} (tbl, op, at, {cols}) "


def _create(name: str, event: str, table: str, body: str) -> str:
    return f"CREATE TRIGGER {quote(name)} {event} ON {quote(table)} FOR EACH ROW {body}"


def capture_triggers(tp: TablePlan) -> dict[str, str]:
    """name -> CREATE TRIGGER of a table's three capture triggers."""
    width = len(tp.key_target)
    insert = _insert_into_log(width)
    skip = "FROM DUAL WHERE @s2m_sync IS NULL"
    new, old = _key_refs(tp, "NEW"), _key_refs(tp, "OLD")
    same_key = " AND ".join(f"{o} <=> {n}" for o, n in zip(old, new))
    bodies = {
        "i": ("AFTER INSERT", f"{insert}{_log_select(tp, 'I', new, width)} {skip}"),
        "u": ("AFTER UPDATE", f"{insert}{_log_select(tp, 'U', old, width)} {skip} UNION ALL "
                              f"{_log_select(tp, 'U', new, width)} {skip} AND NOT ({same_key})"),
        "d": ("AFTER DELETE", f"{insert}{_log_select(tp, 'D', old, width)} {skip}"),
    }
    return {trigger_name("c", tp.target, op): _create(trigger_name("c", tp.target, op), event, tp.target, body)
            for op, (event, body) in bodies.items()}


def block_triggers(plan: Plan) -> dict[str, str]:
    """name -> CREATE TRIGGER of the BEFORE triggers that refuse the application's writes while
    `_s2m_block` holds a refusal (a guard, or a freeze until its deadline)."""
    check = (f"BEGIN DECLARE s2m_refusal VARCHAR(128) DEFAULT NULL; IF @s2m_sync IS NULL THEN "
             f"SELECT IF(until IS NULL OR until > UTC_TIMESTAMP(6), message, NULL) INTO s2m_refusal "
             f"FROM {quote(BLOCK)} WHERE id = 1 LOCK IN SHARE MODE; "
             f"IF s2m_refusal IS NOT NULL THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = s2m_refusal; END IF; "
             f"END IF; END")
    return {trigger_name("b", tp.target, op): _create(trigger_name("b", tp.target, op), f"BEFORE {event}",
                                                      tp.target, check)
            for tp in plan.tables for op, event in (("i", "INSERT"), ("u", "UPDATE"), ("d", "DELETE"))}


def _children(plan: Plan) -> dict[str, list[tuple[TablePlan, ForeignKeyPlan]]]:
    found: dict[str, list] = {}
    for tp in plan.tables:
        for fk in tp.foreign_keys:
            found.setdefault(fk.ref_table, []).append((tp, fk))
    return found


def _join(alias: str, fk: ForeignKeyPlan, parent: str) -> str:
    return " AND ".join(f"{alias}.{quote(c)} = {parent}.{quote(r)}" for c, r in zip(fk.columns, fk.ref_columns))


def _delete_paths(parent: str, path: list, children: dict, out: list) -> None:
    """Every chain of cascading foreign keys a DELETE on `parent` reaches (cycles cut)."""
    if len(path) >= MAX_CASCADE_DEPTH:
        return
    seen = {parent} | {child.target for child, _fk in path}
    for child, fk in children.get(parent, []):
        if fk.on_delete not in CASCADING or (child.target in seen and child.target != parent):
            continue
        here = path + [(child, fk)]
        out.append(here)
        if fk.on_delete == "CASCADE" and child.target != parent:
            _delete_paths(child.target, here, children, out)


def cascade_triggers(plan: Plan) -> dict[str, str]:
    """BEFORE DELETE / BEFORE UPDATE triggers on parents of cascading foreign keys: they log
    the child rows InnoDB is about to change without firing any trigger of theirs."""
    children = _children(plan)
    triggers = {}
    for parent in (t.target for t in plan.tables):
        rows = []  # (child plan, key refs, FROM ... WHERE ...)
        paths: list = []
        _delete_paths(parent, [], children, paths)
        for path in paths:
            sources, where = [], ""
            for depth, (child, fk) in enumerate(path, 1):
                alias = f"c{depth}"
                if depth == 1:
                    sources.append(f"{quote(child.target)} AS {alias}")
                    where = _join(alias, fk, "OLD")
                else:
                    sources.append(f"JOIN {quote(child.target)} AS {alias} ON {_join(alias, fk, f'c{depth - 1}')}")
            last = path[-1][0]
            rows.append((last, _key_refs(last, f"c{len(path)}"),
                         f"FROM {' '.join(sources)} WHERE @s2m_sync IS NULL AND {where}"))
        triggers.update(_union_trigger(parent, "d", "BEFORE DELETE", rows))
        rows = []
        for child, fk in children.get(parent, []):
            if fk.on_update not in CASCADING:
                continue
            changed = " AND ".join(f"OLD.{quote(r)} <=> NEW.{quote(r)}" for r in fk.ref_columns)
            tail = (f"FROM {quote(child.target)} AS c1 WHERE @s2m_sync IS NULL AND NOT ({changed}) "
                    f"AND {_join('c1', fk, 'OLD')}")
            rows.append((child, _key_refs(child, "c1"), tail))
            if fk.on_update == "CASCADE" and set(fk.columns) & set(child.key_target):
                # the child's key itself moves with the parent's: log where it moves to as well
                moved = dict(zip(fk.columns, (f"NEW.{quote(r)}" for r in fk.ref_columns)))
                rows.append((child, [moved.get(c, f"c1.{quote(c)}") for c in child.key_target], tail))
        triggers.update(_union_trigger(parent, "u", "BEFORE UPDATE", rows))
    return triggers


def _union_trigger(table: str, op: str, event: str, rows: list) -> dict[str, str]:
    if not rows:
        return {}
    width = max(len(tp.key_target) for tp, _refs, _tail in rows)
    selects = [f"{_log_select(tp, 'C', refs, width)} {tail}" for tp, refs, tail in rows]
    name = trigger_name("k", table, op)
    return {name: _create(name, event, table, _insert_into_log(width) + " UNION ALL ".join(selects))}


# --- install / remove -------------------------------------------------------------------

def existing_triggers(conn, kinds: str) -> dict[str, str]:
    """name -> table of our triggers whose kind letter is in `kinds`."""
    # SHOW TRIGGERS reads this database's trigger files only; information_schema.TRIGGERS
    # opens every table and waits behind any pending DDL on the server (a stuck DROP DATABASE)
    cur = conn.cursor()
    cur.execute("SHOW TRIGGERS")
    return {row[0]: row[2] for row in cur.fetchall()
            if row[0].startswith("_s2m_") and row[0][5:6] in kinds and row[0][6:7] == "_"}


def install(conn, plan: Plan) -> dict:
    """Capture and block triggers on every migrated table of the target. Idempotent: a set of
    triggers already made from the same plan is kept; otherwise all are recreated (only ever
    before the switch, when no application writes to MySQL, so recreating opens no gap)."""
    width = max(len(t.key_target) for t in plan.tables)
    if width > MAX_KEY_PARTS:
        raise ValueError(f"a primary key of {width} columns: MySQL allows {MAX_KEY_PARTS}")
    ensure_tables(conn)
    wanted: dict[str, str] = {}
    for tp in plan.tables:
        wanted.update(capture_triggers(tp))
    wanted.update(cascade_triggers(plan))
    wanted.update(block_triggers(plan))
    fingerprint = hashlib.sha1(json.dumps(wanted, sort_keys=True).encode()).hexdigest()
    have = existing_triggers(conn, "ckb")
    if get_state(conn, "capture_fingerprint") == fingerprint and set(have) == set(wanted):
        log.info("MySQL change capture already in place on %d tables (%d triggers)", len(plan.tables), len(have))
        return {"triggers_created": 0, "triggers_kept": len(have), "cascade_triggers": _count_k(wanted)}
    cur = conn.cursor()
    for name in have:
        cur.execute(f"DROP TRIGGER IF EXISTS {quote(name)}")
    for statement in wanted.values():
        cur.execute(statement)
    set_state(conn, "capture_fingerprint", fingerprint)
    conn.commit()
    log.info("MySQL change capture installed on %d tables: %d triggers (%d for foreign-key cascades)",
             len(plan.tables), len(wanted), _count_k(wanted))
    return {"triggers_created": len(wanted), "triggers_kept": 0, "cascade_triggers": _count_k(wanted)}


def _count_k(triggers: dict) -> int:
    return sum(1 for n in triggers if n.startswith("_s2m_k_"))


def remove(conn, *, blocks: bool) -> dict:
    """Drop capture triggers and the change log (cleanup), and with `blocks` the block
    triggers too; the journal stays as the record."""
    have = existing_triggers(conn, "ckb" if blocks else "ck")
    cur = conn.cursor()
    for name in have:
        cur.execute(f"DROP TRIGGER IF EXISTS {quote(name)}")
    cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                (CHANGELOG,))
    rows = 0
    if cur.fetchone()[0]:
        cur.execute(f"SELECT COUNT(*) FROM {quote(CHANGELOG)}")
        rows = cur.fetchone()[0]
        cur.execute(f"DROP TABLE {quote(CHANGELOG)}")
    cur.execute(f"DELETE FROM {quote(STATE)} WHERE name IN ('capture_fingerprint', 'applied_seq')")
    conn.commit()
    return {"capture_triggers_dropped": len(have), "changelog_rows_dropped": rows}


def pending(conn) -> tuple[int, float]:
    """(unapplied changes, seconds since the oldest of them was written)."""
    cur = conn.cursor()
    cur.execute(f"SELECT COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(at), UTC_TIMESTAMP(6)) FROM {quote(CHANGELOG)} "
                f"WHERE applied = 0")
    count, micros = cur.fetchone()
    return int(count), (micros or 0) / 1e6


def clear_applied(conn) -> int:
    """Forget changes an earlier rollback already brought back (at the next switch)."""
    cur = conn.cursor()
    cur.execute(f"DELETE FROM {quote(CHANGELOG)} WHERE applied = 1")
    conn.commit()
    return cur.rowcount


def reapply_all(conn) -> int:
    """Flag every logged change as not yet applied (a rollback starting afresh); returns how
    many an earlier attempt had applied."""
    cur = conn.cursor()
    cur.execute(f"UPDATE {quote(CHANGELOG)} SET applied = 0 WHERE applied = 1")
    conn.commit()
    return cur.rowcount


def logged_keys(conn, tp: TablePlan) -> list[tuple]:
    """Distinct keys of one table logged on MySQL (all of them: since the last switch)."""
    cols = ", ".join(f"k{i}" for i in range(len(tp.key_target)))
    cur = conn.cursor()
    cur.execute(f"SELECT DISTINCT {cols} FROM {quote(CHANGELOG)} WHERE tbl = %s", (tp.target,))
    return [tuple(bytes(v) for v in row) for row in cur.fetchall()]
