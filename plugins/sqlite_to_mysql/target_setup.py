"""Preparing the target: the database, the tables (primary key only), and after the copy
the indexes, foreign keys, AUTO_INCREMENT counters and portable views."""
from __future__ import annotations

import logging
import re

from mysql_common.identifiers import quote
from mysql_common.session import ServerInfo
from sqlite_to_mysql import ddl, target_state
from sqlite_to_mysql.errors import TargetStateError
from sqlite_to_mysql.plan import Plan, TablePlan

log = logging.getLogger(__name__)


def create_database(server_conn, database: str, server: ServerInfo) -> bool:
    cur = server_conn.cursor()
    cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,))
    if cur.fetchone():
        return False
    cur.execute(f"CREATE DATABASE {quote(database)} CHARACTER SET utf8mb4 COLLATE {server.text_collation}")
    return True


def existing_tables(conn) -> set[str]:
    cur = conn.cursor()
    cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
    return {row[0] for row in cur.fetchall()}


def create_tables(conn, plan: Plan, server: ServerInfo, *, run_id: str, replace_foreign: bool) -> list[str]:
    """Create each planned table unless this run already did (a cleared task must not wipe
    tables other tasks have filled). Tables of earlier runs are replaced; tables this tool
    did not create are refused unless the operator allows replacing them."""
    target_state.ensure(conn)
    present = existing_tables(conn)
    owned = target_state.owned_tables(conn)
    cur = conn.cursor()
    foreign = [t.target for t in plan.tables if t.target in present and t.target not in owned]
    if foreign and not replace_foreign:
        raise TargetStateError(
            f"database {plan.database} already has tables this migration did not create: {foreign[:10]}; "
            f"migrate into an empty database, or set if_target_exists='replace' to drop and recreate them")
    cur.execute("SET SESSION foreign_key_checks = 0")
    actions = []
    for tp in plan.tables:
        if tp.target in present and owned.get(tp.target) == run_id:
            continue
        if tp.target in present:
            cur.execute(f"DROP TABLE {quote(tp.target)}")
            actions.append(f"replaced {tp.target}")
        else:
            actions.append(f"created {tp.target}")
        cur.execute(ddl.create_table(tp, server))
        cur.execute(f"REPLACE INTO {quote(target_state.OWNED)} (table_name, source_name, run_id, created_at) "
                    f"VALUES (%s, %s, %s, UTC_TIMESTAMP(6))", (tp.target, tp.source, run_id))
        cur.execute(f"DELETE FROM {quote(target_state.CHECKPOINT)} WHERE table_name = %s", (tp.target,))
        conn.commit()
    return actions


def existing_indexes(conn, table: str) -> set[str]:
    cur = conn.cursor()
    cur.execute("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", (table,))
    return {row[0].lower() for row in cur.fetchall()}


def add_indexes(conn, tp: TablePlan) -> list[str]:
    have = existing_indexes(conn, tp.target)
    missing = [i for i in tp.indexes if i.name.lower() not in have]
    statement = ddl.add_indexes(tp, missing)
    if statement:
        conn.cursor().execute(statement)
    return [i.name for i in missing]


def add_foreign_keys(conn, plan: Plan) -> list[str]:
    """Constraints go in after all data, without re-checking rows: orphans inherited from
    SQLite are reported by preflight and verification instead of blocking the run."""
    cur = conn.cursor()
    cur.execute("SET SESSION foreign_key_checks = 0")
    cur.execute("SELECT CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS "
                "WHERE CONSTRAINT_SCHEMA = DATABASE()")
    have = {row[0].lower() for row in cur.fetchall()}
    added = []
    for tp in plan.tables:
        missing = [fk for fk in tp.foreign_keys if fk.name.lower() not in have]
        if missing:
            cur.execute(f"ALTER TABLE {quote(tp.target)} " + ", ".join(ddl.foreign_key_clause(f) for f in missing))
            added += [f"{tp.target}.{fk.name}" for fk in missing]
    cur.execute("SET SESSION foreign_key_checks = 1")
    return added


def set_auto_increment(conn, plan: Plan) -> dict[str, int]:
    cur = conn.cursor()
    result = {}
    for tp in plan.tables:
        if tp.auto_increment_next is None:
            continue
        key = quote(tp.key_target[0])
        cur.execute(f"SELECT MAX({key}) FROM {quote(tp.target)}")
        # (in Python: MAX + 1 in SQL overflows BIGINT when SQLite's ids reached 2^63 - 1, and
        # a counter of 2^63 is what MySQL holds once ids are exhausted)
        value = max(tp.auto_increment_next, int(cur.fetchone()[0] or 0) + 1)
        cur.execute(f"ALTER TABLE {quote(tp.target)} AUTO_INCREMENT = {int(value)}")
        result[tp.target] = value
    return result


def _bracket_quotes(sql: str) -> str:
    """[name] quoting (SQLite accepts it, MySQL does not) becomes "name", outside string literals."""
    parts = re.split(r"('(?:[^']|'')*')", sql)
    return "".join(part if i % 2 else re.sub(r"\[([^\]]+)\]", lambda m: '"' + m.group(1).replace('"', '""') + '"', part)
                   for i, part in enumerate(parts))


_VIEW = re.compile(r"^\s*CREATE\s+(?:TEMP\w*\s+)?VIEW\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                   r"(?:\"(?:[^\"]|\"\")+\"|\[[^\]]+\]|`[^`]+`|\S+)\s+(?:\([^)]*\)\s*)?AS\s+(.*)$",
                   re.IGNORECASE | re.DOTALL)


def create_views(conn, plan: Plan) -> tuple[list[str], list[dict]]:
    """Views whose SQL MySQL understands as written (with ANSI quotes) are created; the
    others are reported with the error, for a human to translate."""
    cur = conn.cursor()
    cur.execute("SET @s2m_mode = @@SESSION.sql_mode")
    cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',ANSI_QUOTES,PIPES_AS_CONCAT')")
    pending = {item["name"]: item["sql"] for item in plan.not_migrated if item["kind"] == "view"}
    created, errors = [], {}
    try:
        progress = True
        while pending and progress:  # views may use views: retry until nothing more succeeds
            progress = False
            for name, sql in list(pending.items()):
                match = _VIEW.match(sql)
                if not match:
                    errors[name] = "cannot find the SELECT of the view"
                    del pending[name]
                    continue
                body = _bracket_quotes(match.group(1).strip().rstrip(";"))
                try:
                    cur.execute(f"CREATE OR REPLACE VIEW {quote(name)} AS {body}")
                except Exception as exc:  # SQLite-specific SQL: reported below if it never succeeds
                    errors[name] = str(exc)
                    continue
                created.append(name)
                errors.pop(name, None)
                del pending[name]
                progress = True
    finally:
        cur.execute("SET SESSION sql_mode = @s2m_mode")
    return created, [{"view": n, "error": e} for n, e in errors.items()]
