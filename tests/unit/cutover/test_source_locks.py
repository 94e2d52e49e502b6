"""A live SQLite file is only ever opened through SQLite.

On POSIX, closing any descriptor of a file drops every fcntl lock the process holds on it,
SQLite's included: a plain open()/close() of the application's database while another of our
connections reads it lets the application commit under that reader (false corruption in the
integrity check, and real corruption in a process that also writes). These tests hold a read
lock, open the source the way every task does, and ask another process whether the lock is
still there.
"""
from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from sqlite_to_mysql.errors import SourceError
from sqlite_to_mysql.source import open_source

TRY_WRITE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)
try:
    conn.execute("BEGIN EXCLUSIVE")
except sqlite3.OperationalError as exc:
    print(exc)
else:
    conn.execute("ROLLBACK")
    print("granted")
"""


def other_process_can_write(path) -> str:
    out = subprocess.run([sys.executable, "-c", TRY_WRITE, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "app.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a'), ('b');")
    conn.close()
    return path


@pytest.mark.parametrize("read_only", [True, False])
def test_opening_the_source_keeps_the_read_locks_this_process_holds(database, read_only):
    reader = sqlite3.connect(database, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (2,)  # SHARED lock held from here
    assert other_process_can_write(database) == "database is locked"

    open_source(database, read_only=read_only).close()

    assert other_process_can_write(database) == "database is locked"
    reader.execute("COMMIT")
    assert other_process_can_write(database) == "granted"


def test_files_that_are_not_sqlite_are_still_named(tmp_path):
    empty = tmp_path / "empty.sqlite3"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match="is an empty file"):
        open_source(empty)
    text = tmp_path / "notes.txt"
    text.write_text("just some text, long enough to fill a header and more " * 4)
    with pytest.raises(SourceError, match=r"not a SQLite 3 database \(wrong header\)"):
        open_source(text)
    assert empty.read_bytes() == b""  # a read-only open never creates a database in it


WRITER = """
import random, sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=5, isolation_level=None)
rng = random.Random(1)
while True:
    conn.execute("BEGIN IMMEDIATE")
    for _ in range(20):
        conn.execute("UPDATE t SET v = ?, n = n + 1 WHERE id = ?", (rng.randbytes(rng.randrange(20, 200)).hex(),
                                                                      rng.randrange(1, 20001)))
    conn.execute("INSERT INTO t (v, n) VALUES (?, 0)", ("new " * rng.randrange(1, 30),))
    conn.execute("DELETE FROM t WHERE id = (SELECT max(id) FROM t) AND id > 20000 AND ? < 0.4", (rng.random(),))
    conn.execute("COMMIT")
    print("committed", flush=True)
"""


@pytest.mark.slow
def test_preflight_of_a_file_under_constant_writes_never_reports_false_corruption(tmp_path):
    """The integrity check runs on one connection while the preflight opens its others."""
    from mysql_common.session import ServerInfo
    from sqlite_to_mysql.planner import Settings, build_plan
    from sqlite_to_mysql.sqlite_functions import register

    path = tmp_path / "busy.sqlite3"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL, n INTEGER NOT NULL);"
                       "CREATE INDEX t_v ON t (v); CREATE TABLE other (id INTEGER PRIMARY KEY, w TEXT);")
    conn.executemany("INSERT INTO t VALUES (?, ?, 0)", ((i, f"{i:08d}" * 8) for i in range(1, 20001)))
    conn.executemany("INSERT INTO other VALUES (?, ?)", ((i, "w" * 50) for i in range(1, 5001)))
    conn.commit()
    conn.close()
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "committed"
        results = []
        for _ in range(100):
            src = register(open_source(path))
            try:
                results.append(build_plan(src, source_path=str(path), database="busy",
                                          server=ServerInfo("mariadb", (10, 11, 0), "10.11.0-MariaDB"),
                                          settings=Settings(integrity_check="full")).integrity)
            except sqlite3.DatabaseError as exc:  # a page read mid-commit: what a dropped lock looks like
                results.append(str(exc))
            finally:
                src.close()
        assert writer.poll() is None, "the writer stopped"
    finally:
        writer.kill()
        writer.wait(30)
    assert [r for r in results if r != "ok"] == []
