"""A planned torture database, without any MySQL server: what capture and freeze work on."""
from __future__ import annotations

import sqlite3

import pytest

from mysql_common.session import ServerInfo
from sqlite_to_mysql.planner import Settings, build_plan
from sqlite_to_mysql.source import open_source
from sqlite_to_mysql.sqlite_functions import register
from tests.support.torture import build_clean

MARIADB = ServerInfo("mariadb", (10, 11, 0), "10.11.0-MariaDB")


@pytest.fixture
def source(tmp_path):
    """(path, read-write connection as the cutover opens it, plan)."""
    path = build_clean(tmp_path / "torture.sqlite3")
    conn = open_source(path, read_only=False)
    register(conn)
    plan = build_plan(conn, source_path=str(path), database="torture", server=MARIADB, settings=Settings())
    yield path, conn, plan
    conn.close()


@pytest.fixture
def app(source):
    """The application's own connection: no functions of ours, its own transactions."""
    conn = sqlite3.connect(source[0], isolation_level=None, timeout=5)
    yield conn
    conn.close()
