"""The DAG's shape comes from the source schema: one task per table, edges from foreign keys.

Read when the DAG file is parsed, so it must be cheap and must never raise: it opens the
SQLite file read-only, reads only sqlite_master and the foreign-key pragmas (milliseconds),
and answers None when the connection or the file is not there yet.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    source_path: str
    tables: list[str]  # parents first
    depends_on: dict[str, list[str]]
    deferred: list[tuple[str, str]]


def source_layout(conn_id: str = "sqlite_source") -> tuple[Layout | None, str]:
    """(layout, why not) for the DAG file; never raises."""
    try:
        from hooks.sqlite_source_hook import SqliteSourceHook

        hook = SqliteSourceHook(conn_id)
        path = hook.path()
    except Exception as exc:  # a missing connection is the normal state of a fresh install
        return None, f"connection '{conn_id}' is not usable yet ({type(exc).__name__}: {exc})"
    try:
        from sqlite_to_mysql.fk_order import order_tables
        from sqlite_to_mysql.source import open_source
        from sqlite_to_mysql.source_schema import read_schema

        conn = open_source(path, timeout=2.0)
        try:
            schema = read_schema(conn)
        finally:
            conn.close()
    except Exception as exc:
        return None, str(exc)
    names = list(schema.tables)
    ordering = order_tables(names, [(t.name, fk.ref_table) for t in schema.tables.values()
                                    for fk in t.foreign_keys])
    return Layout(str(path), ordering.order, ordering.depends_on, ordering.deferred), ""


def task_name(table: str, taken: set[str]) -> str:
    """A valid task id part for a table name, unique within the DAG; names that had to be
    changed (spaces, quotes, dots...) carry a short hash of the original."""
    import hashlib

    name = re.sub(r"[^A-Za-z0-9_]+", "_", table).strip("_")[:150] or "table"
    if name != table or name.lower() in taken:
        name = f"{name}_{hashlib.sha1(table.encode()).hexdigest()[:6]}"
    taken.add(name.lower())
    return name
