"""Whole-database checks after the copy: what verification compares besides the rows."""
from __future__ import annotations

import re

from mysql_common.identifiers import quote
from sqlite_to_mysql.plan import Plan


def _columns(conn, table: str) -> dict[str, dict]:
    cur = conn.cursor()
    cur.execute("SELECT COLUMN_NAME, COLUMN_TYPE, COLLATION_NAME, IS_NULLABLE, DATA_TYPE FROM "
                "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s", (table,))
    return {r[0].lower(): {"type": r[1], "collation": r[2], "nullable": r[3] == "YES", "data_type": r[4]}
            for r in cur.fetchall()}


def _normal_type(ddl: str) -> str:
    t = ddl.lower().replace(" ", "")
    t = re.sub(r"^int(?!\()", "int", t)
    return t


def _same_type(planned: str, actual: str, data_type: str) -> bool:
    p, a = _normal_type(planned), _normal_type(actual)
    a = re.sub(r"^(tinyint|smallint|mediumint|int|bigint)\(\d+\)", r"\1", a)  # display widths
    if p == "tinyint(1)":
        return a in ("tinyint", "tinyint(1)")
    if p == "json":
        return data_type in ("json", "longtext")
    return p == a


def check_schema(conn, plan: Plan) -> list[str]:
    """Every source column present with its planned type and collation, every planned index."""
    issues = []
    for tp in plan.tables:
        actual = _columns(conn, tp.target)
        if not actual:
            issues.append(f"{tp.target}: table missing in the target")
            continue
        for col in tp.columns:
            got = actual.get(col.target.lower())
            if got is None:
                issues.append(f"{tp.target}.{col.target}: column missing")
                continue
            if not _same_type(col.ddl_type, got["type"], got["data_type"]):
                issues.append(f"{tp.target}.{col.target}: type {got['type']} but planned {col.ddl_type}")
            if col.collation and got["collation"] != col.collation:
                issues.append(f"{tp.target}.{col.target}: collation {got['collation']} but planned {col.collation}")
        cur = conn.cursor()
        cur.execute("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s", (tp.target,))
        have = {r[0].lower() for r in cur.fetchall()}
        for index in tp.indexes:
            if index.name.lower() not in have:
                issues.append(f"{tp.target}: index {index.name} missing")
    return issues


def check_auto_increment(conn, plan: Plan) -> list[str]:
    """Counters must continue above the highest id SQLite ever issued, not reuse deleted ids."""
    issues = []
    cur = conn.cursor()
    for tp in plan.tables:
        if tp.auto_increment_next is None:
            continue
        cur.execute("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s", (tp.target,))
        row = cur.fetchone()
        value = row[0] if row else None
        if value is None or value < tp.auto_increment_next:
            issues.append(f"{tp.target}: AUTO_INCREMENT is {value}, must be at least {tp.auto_increment_next}")
    return issues


def check_foreign_keys(conn, plan: Plan) -> tuple[list[str], list[dict]]:
    """Orphans in the target: each must be one inherited from the source (same count)."""
    issues, found = [], []
    cur = conn.cursor()
    for tp in plan.tables:
        for fk in tp.foreign_keys:
            child_cols = [quote(c) for c in fk.columns]
            parent_cols = [quote(c) for c in fk.ref_columns]
            join = " AND ".join(f"p.{p} = c.{c}" for c, p in zip(child_cols, parent_cols))
            not_null = " AND ".join(f"c.{c} IS NOT NULL" for c in child_cols)
            cur.execute(f"SELECT COUNT(*) FROM {quote(tp.target)} c LEFT JOIN {quote(fk.ref_table)} p ON {join} "
                        f"WHERE {not_null} AND p.{parent_cols[0]} IS NULL")
            orphans = cur.fetchone()[0]
            if orphans:
                found.append({"table": tp.target, "constraint": fk.name, "orphans": orphans,
                              "inherited": fk.orphans})
            if orphans != fk.orphans:
                issues.append(f"{tp.target}.{fk.name}: {orphans} orphan rows in the target, "
                              f"{fk.orphans} in the source")
    return issues, found
