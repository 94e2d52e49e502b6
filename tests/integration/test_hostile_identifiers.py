"""Identifiers are untrusted input: tables and columns named with backticks, quotes,
semicolons, dots and SQL keywords migrate, verify, back up and restore exactly, and none of
the SQL hidden in those names is ever executed (canary tables on both sides survive)."""
from __future__ import annotations

import sqlite3
import subprocess

import pytest

from mysql_backup.access import SimpleAccess
from mysql_backup.crypto import AgeKey
from mysql_backup.full_backup import take_full_backup
from mysql_backup.restore import restore_backup
from mysql_backup.storage import LocalStorage
from mysql_common.identifiers import quote
from tests.support.migrate import migrate

pytestmark = pytest.mark.integration

HOSTILE_TABLES = [
    "x; DROP TABLE canary; --",
    "it's",
    "back`tick``s",
    "select",
    "a.b",
    'semi;colon "quoted"',
]
HOSTILE_COLUMNS = ["'); DELETE FROM canary; --", "from", "`", '"', "col;umn", "Name With Spaces"]
CANARY_ROWS = 5


def qs(name: str) -> str:
    """SQLite identifier quoting (the test's own, independent of the code under test)."""
    return '"' + name.replace('"', '""') + '"'


def build_source(path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE canary (id INTEGER PRIMARY KEY, note TEXT)")
    conn.executemany("INSERT INTO canary VALUES (?, ?)", [(i, f"alive {i}") for i in range(1, CANARY_ROWS + 1)])
    columns = ", ".join(f"{qs(c)} TEXT" for c in HOSTILE_COLUMNS)
    parent = HOSTILE_TABLES[0]
    for n, table in enumerate(HOSTILE_TABLES):
        ref = f", {qs('parent; DROP TABLE canary')} INTEGER REFERENCES {qs(parent)}(id)" if n else ""
        conn.execute(f"CREATE TABLE {qs(table)} (id INTEGER PRIMARY KEY, {columns}{ref})")
        conn.execute(f"CREATE UNIQUE INDEX {qs(table + ' ix; DROP TABLE canary')} ON {qs(table)} "
                     f"({qs(HOSTILE_COLUMNS[0])})")
        marks = ", ".join("?" for _ in range(len(HOSTILE_COLUMNS) + 1 + (1 if n else 0)))
        rows = []
        for i in range(1, 41):
            values = [i] + [f"{c} value {i}; DROP TABLE canary; -- '\"`" for c in HOSTILE_COLUMNS]
            rows.append(values + ([1 + i % 10] if n else []))
        conn.executemany(f"INSERT INTO {qs(table)} VALUES ({marks})", rows)
    conn.commit()
    conn.close()


def table_contents(conn, database: str) -> dict[str, list]:
    cur = conn.cursor()
    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                "AND table_type = 'BASE TABLE' AND table_name NOT LIKE '\\_s2m\\_%%'", (database,))
    out = {}
    for (table,) in cur.fetchall():
        cur.execute(f"SELECT * FROM {quote(database)}.{quote(table)} ORDER BY 1")
        out[table] = list(cur.fetchall())
    return out


def test_hostile_names_migrate_verify_back_up_and_restore_without_executing_anything(tmp_path, private_mariadb):
    server = private_mariadb(log_bin=True)
    server.sql("CREATE DATABASE canary_db")
    server.sql("CREATE TABLE canary_db.canary (id int PRIMARY KEY)")
    server.sql(f"INSERT INTO canary SELECT seq FROM seq_1_to_{CANARY_ROWS}", "canary_db")
    source = tmp_path / "hostile.sqlite3"
    build_source(source)
    params = {"host": "127.0.0.1", "port": server.port, "user": "root", "passwd": ""}

    result = migrate(source, "shop", params, tmp_path)

    assert result["status"] == "OK"
    verified = {t["table"]: t for t in result["tables"]}
    assert set(verified) == set(HOSTILE_TABLES) | {"canary"}
    assert all(t["checksum"] == "OK" and t["source_rows"] == t["target_rows"] for t in verified.values())
    conn = server.connect("shop")
    migrated = table_contents(conn, "shop")
    conn.close()
    for table in HOSTILE_TABLES:
        target = verified[table]["target"]
        assert len(migrated[target]) == 40
        assert any("DROP TABLE canary; -- '\"`" in str(value) for value in migrated[target][0])

    identity = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
    key = AgeKey.from_config(secret=identity)
    storage = LocalStorage(tmp_path / "backups")
    access = SimpleAccess("127.0.0.1", server.port, "root", "", "shop")
    manifest = take_full_backup(access, storage, key, server="hostile")
    restore_backup(access, storage, key, server="hostile", backup_id=manifest.backup_id,
                   target_database="shop_restored")
    conn = server.connect()
    restored = table_contents(conn, "shop_restored")
    conn.close()
    assert restored == {t: rows for t, rows in migrated.items()}

    # nothing hidden in a name ran: both canaries are whole
    assert server.sql("SELECT COUNT(*) FROM canary_db.canary")[0][0] == CANARY_ROWS
    assert server.sql("SELECT COUNT(*) FROM shop.canary")[0][0] == CANARY_ROWS
    with sqlite3.connect(source) as check:
        assert check.execute("SELECT COUNT(*) FROM canary").fetchone()[0] == CANARY_ROWS
