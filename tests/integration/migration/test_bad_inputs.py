"""Bad input gets a clear answer: each unusable source or target fails before any data is
written, with a message saying what is wrong (and what to do), never showing the password.

The target side goes through MySqlServerHook and an AIRFLOW_CONN_* connection, as the DAG's
tasks do."""
from __future__ import annotations

import shutil
import sqlite3
import traceback
import uuid

import pytest

from hooks.mysql_server_hook import MySqlServerHook
from mysql_common.errors import OperatorFacingError
from sqlite_to_mysql.migration import Connections, run_all
from sqlite_to_mysql.planner import Settings
from sqlite_to_mysql.source import open_source
from support.migrate import migrate

pytestmark = pytest.mark.integration

PASSWORD = "Pw-" + uuid.uuid4().hex  # never to appear in any message


def full_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc))


def database_exists(mysql_connect, name: str) -> bool:
    cur = mysql_connect().cursor()
    cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
    return cur.fetchone()[0] == 1


def small_database(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(i, "x" * 200) for i in range(1, 2001)])
    conn.commit()
    conn.close()
    return path


def corrupt_copy(dataset_copy, tmp_path):
    """Chinook with pages in the middle overwritten: the header still says SQLite."""
    path = dataset_copy("chinook.sqlite")
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xa5" * 8192)
    return path


def truncated_copy(dataset_copy, tmp_path):
    path = dataset_copy("chinook.sqlite")
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 3)
    return path


SOURCES = {  # name -> (make the file, words the message must contain)
    "missing_file": (lambda dc, tmp: tmp / "nowhere" / "app.sqlite3", ["does not exist", "sqlite_source"]),
    "not_sqlite": (lambda dc, tmp: _write(tmp / "notes.sqlite3", b"just some text, not a database\n" * 20),
                   ["not a SQLite 3 database", "right file"]),
    "empty_file": (lambda dc, tmp: _write(tmp / "empty.sqlite3", b""), ["is an empty file"]),
    "corrupt": (corrupt_copy, ["corrupt", ".recover"]),
    "truncated": (truncated_copy, ["corrupt", ".recover"]),
}


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", list(SOURCES))
def test_unusable_source_fails_fast_and_leaves_the_target_untouched(case, dataset_copy, tmp_path, new_database,
                                                                    mysql_params, mysql_connect):
    """Missing, not SQLite, empty, corrupt or truncated: the run fails with the source's
    problem named (SOURCE_UNUSABLE or a blocked preflight), and the target database is never
    created."""
    make, words = SOURCES[case]
    source = make(dataset_copy, tmp_path)
    size = source.stat().st_size if source.exists() else None
    database = new_database("badsrc")
    with pytest.raises(OperatorFacingError) as caught:
        migrate(source, database, mysql_params, tmp_path)
    message = str(caught.value)
    assert message.split(":")[0] in ("SOURCE_UNUSABLE", "PREFLIGHT_BLOCKED"), message
    assert str(source) in message
    for word in words:
        assert word in message, message
    assert not database_exists(mysql_connect, database)
    assert (source.stat().st_size if source.exists() else None) == size  # the source is not "repaired"


def test_a_source_locked_by_a_writer_is_reported_as_locked(tmp_path, new_database, mysql_params, mysql_connect):
    """A writer holding an exclusive lock: the run waits for the busy timeout only, then says
    the file is locked and what to do; the target is not created."""
    source = small_database(tmp_path / "busy.sqlite3")
    writer = sqlite3.connect(source, isolation_level=None)
    writer.execute("BEGIN EXCLUSIVE")
    database = new_database("locked")
    try:
        with pytest.raises(OperatorFacingError) as caught:
            migrate(source, database, mysql_params, tmp_path)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    message = str(caught.value)
    assert message.startswith("SOURCE_UNUSABLE") and "is locked by another process" in message
    assert "retry when the writer has finished" in message
    assert not database_exists(mysql_connect, database)


@pytest.fixture
def usage_only_user(mysql_connect):
    """A MySQL account with no privilege at all (USAGE), dropped after the test."""
    name = f"s2m_usage_{uuid.uuid4().hex[:8]}"
    cur = mysql_connect().cursor()
    cur.execute(f"CREATE USER '{name}'@'%%' IDENTIFIED BY %s", (PASSWORD,))
    cur.execute(f"CREATE USER '{name}'@'localhost' IDENTIFIED BY %s", (PASSWORD,))
    yield name
    cur.execute(f"DROP USER IF EXISTS '{name}'@'%'")
    cur.execute(f"DROP USER IF EXISTS '{name}'@'localhost'")


def migrate_through_hook(monkeypatch, tmp_path, source, *, login: str, password: str, database: str,
                         mysql_params) -> dict:
    """run_all with the target opened by MySqlServerHook from an AIRFLOW_CONN_* variable."""
    import json

    conn_id = f"s2m_target_{uuid.uuid4().hex[:6]}"
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps({
        "conn_type": "mysql", "host": mysql_params["host"], "port": mysql_params["port"], "login": login,
        "password": password, "schema": database}))
    hook = MySqlServerHook(conn_id)
    conns = Connections(source=lambda: open_source(source), server=lambda: hook.get_conn(with_database=False),
                        database=hook.get_conn)
    return run_all(conns, source_path=str(source), database=hook.database_name(), settings=Settings(),
                   run_id="bad_target", report_base=str(tmp_path / "reports"))


def test_wrong_password_is_named_without_showing_it(monkeypatch, tmp_path, new_database, mysql_params,
                                                    mysql_connect, usage_only_user):
    """A wrong password: 'access denied' with the account and the connection to fix; neither
    the wrong nor any password is in the message or the traceback."""
    source = small_database(tmp_path / "app.sqlite3")
    database = new_database("badpw")
    wrong = PASSWORD[::-1]
    with pytest.raises(OperatorFacingError) as caught:
        migrate_through_hook(monkeypatch, tmp_path, source, login=usage_only_user, password=wrong,
                             database=database, mysql_params=mysql_params)
    message = str(caught.value)
    assert message.startswith("BAD_CONFIGURATION")
    assert "check login and password" in message and usage_only_user in message
    assert wrong not in full_text(caught.value) and PASSWORD not in full_text(caught.value)
    assert not database_exists(mysql_connect, database)


def test_a_user_without_privileges_is_told_what_to_grant(monkeypatch, tmp_path, new_database, mysql_params,
                                                         mysql_connect, usage_only_user):
    """An account that may log in but not create or write anything: the run stops at target
    setup with a message naming the account, the database and the missing privilege, never the
    password, and nothing is created."""
    source = small_database(tmp_path / "app.sqlite3")
    database = new_database("nopriv")
    with pytest.raises(OperatorFacingError) as caught:
        migrate_through_hook(monkeypatch, tmp_path, source, login=usage_only_user, password=PASSWORD,
                             database=database, mysql_params=mysql_params)
    message = str(caught.value)
    assert usage_only_user in message and database in message
    assert "GRANT" in message
    assert PASSWORD not in full_text(caught.value)
    assert not database_exists(mysql_connect, database)
