"""SQLite hook for the migration source: the path comes from the Airflow connection."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from airflow.providers.sqlite.hooks.sqlite import SqliteHook

from sqlite_to_mysql.errors import SourceError
from sqlite_to_mysql.source import open_source


class SqliteSourceHook(SqliteHook):
    """`sqlite_source`: the file path is the connection's host (or, from a
    `sqlite:////abs/path` URI, its schema)."""

    default_conn_name = "sqlite_source"
    hook_name = "SQLite source"

    def __init__(self, sqlite_conn_id: str = default_conn_name, **kwargs) -> None:
        super().__init__(sqlite_conn_id=sqlite_conn_id, **kwargs)

    def path(self) -> Path:
        conn = self.get_connection(self.get_conn_id())
        raw = conn.host or conn.schema
        if not raw:
            raise SourceError(f"connection '{self.get_conn_id()}' has no path: set its host to the "
                              f"absolute path of the SQLite file")
        return Path(raw)

    def get_conn(self, *, read_only: bool = True) -> sqlite3.Connection:  # type: ignore[override]
        return open_source(self.path(), read_only=read_only)
