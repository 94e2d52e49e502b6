"""A copy that dies mid-table: rerun, it resumes after its last committed batch and ends with
every row exactly once; `restart_tables` (restart=True) copies the table again from scratch.

The failure is made by the server itself: a trigger on the target table stops the batch
holding one chosen key (it sleeps, and the test KILLs the copy's connection from another
session; or it raises an error), so the batches before it are committed and the rest not."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from mysql_common.session import server_info
from sqlite_to_mysql import migration, target_state
from sqlite_to_mysql.planner import Settings
from sqlite_to_mysql.source import open_source
from support.migrate import connector

pytestmark = pytest.mark.integration

ROWS = 3000
BATCH = 100  # the smallest batch the settings allow: many batches for a small table
STOP_AT = 1234  # the key whose batch fails; earlier batches are committed


def build_source(path):
    """A table without a primary key (rowid kept in a hidden key): duplicates would survive
    in the target, so a copy that repeats rows cannot go unnoticed."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE events (n INTEGER, label TEXT)")
    conn.executemany("INSERT INTO events VALUES (?, ?)", [(i, f"event {i}") for i in range(1, ROWS + 1)])
    conn.commit()
    conn.close()
    return path


@pytest.fixture
def prepared(tmp_path, new_database, mysql_params):
    """Preflight and target setup done; returns what a copy task needs."""
    source = build_source(tmp_path / "events.sqlite")
    database = new_database("resume")
    server_conn = connector(mysql_params)()
    src = open_source(source)
    plan = migration.preflight(src, source_path=str(source), database=database, server=server_info(server_conn),
                              settings=Settings(batch_rows=BATCH))
    migration.setup_target(server_conn, connector(mysql_params, database), plan, server_info(server_conn),
                          run_id="run1")
    server_conn.close()
    yield source, database, plan, src
    src.close()


def add_trap(cur, body: str) -> None:
    cur.execute(f"CREATE TRIGGER trap BEFORE INSERT ON events FOR EACH ROW "
                f"BEGIN IF NEW.n = {STOP_AT} THEN {body}; END IF; END")


def target_keys(cur) -> list[int]:
    cur.execute("SELECT n FROM events ORDER BY _sqlite_rowid")
    return [r[0] for r in cur.fetchall()]


def copy(src, plan, mysql_params, database, **kwargs) -> dict:
    dst = connector(mysql_params, database)()
    try:
        return migration.copy_one(src, dst, plan, "events", run_id="run1", method="load_data", **kwargs)
    finally:
        dst.close()


def test_a_killed_copy_resumes_from_its_checkpoint(prepared, mysql_params, mysql_connect):
    """KILL the copy's connection while a batch is in flight: the committed batches and the
    checkpoint agree; the rerun starts after that checkpoint, copies only the rest, and the
    table ends with no duplicates, no gaps, and a clean verification."""
    source, database, plan, src = prepared
    admin = mysql_connect(database)
    admin.autocommit(True)  # each look sees the copy's latest commits and holds no locks
    cur = admin.cursor()
    add_trap(cur, "DO SLEEP(600)")
    dst = connector(mysql_params, database)()
    copy_session = dst.thread_id()
    failure = []

    def run():
        try:
            migration.copy_one(src, dst, plan, "events", run_id="run1", method="load_data")
        except Exception as exc:
            failure.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    while True:  # the copy is stuck in the batch holding STOP_AT, inside the trigger's sleep
        cur.execute("SELECT STATE FROM information_schema.PROCESSLIST WHERE ID = %s", (copy_session,))
        state = cur.fetchone()
        if not worker.is_alive():
            cur.execute(f"KILL {copy_session}") if state else None
            pytest.fail(f"the copy ended without reaching the trap: {failure}")
        if state and state[0] == "User sleep":
            break
    cur.execute(f"KILL {copy_session}")
    worker.join()
    assert failure, "the killed copy must fail"
    cur.execute("DROP TRIGGER trap")

    checkpoint = target_state.read_checkpoint(admin, "events")
    committed = target_keys(cur)
    assert 0 < len(committed) < STOP_AT
    assert committed == list(range(1, len(committed) + 1))  # whole batches, in order, nothing else
    assert len(committed) % BATCH == 0
    assert checkpoint.rows_copied == len(committed) and checkpoint.status == "copying"

    summary = copy(src, plan, mysql_params, database)
    assert summary["resumed_from"] == checkpoint.last_key
    assert summary["rows_this_attempt"] == ROWS - len(committed)
    assert summary["rows_copied"] == ROWS
    assert target_keys(cur) == list(range(1, ROWS + 1))  # no duplicates, no gaps, source order
    dst2 = connector(mysql_params, database)()
    verdict = migration.verify_one(src, dst2, plan, "events")
    dst2.close()
    assert verdict["ok"] and verdict["target_rows"] == ROWS and verdict["checksum"] == "OK"


def test_restart_copies_the_table_again_from_scratch(prepared, mysql_params, mysql_connect):
    """After a failed copy left committed batches behind, restart (the DAG's restart_tables)
    ignores the checkpoint: the whole table is copied in this attempt, still exactly once."""
    source, database, plan, src = prepared
    admin = mysql_connect(database)
    admin.autocommit(True)  # each look sees the copy's latest commits and holds no locks
    cur = admin.cursor()
    add_trap(cur, "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'injected failure'")
    with pytest.raises(Exception, match="injected failure"):
        copy(src, plan, mysql_params, database)
    cur.execute("DROP TRIGGER trap")
    partial = len(target_keys(cur))
    assert 0 < partial < STOP_AT

    summary = copy(src, plan, mysql_params, database, restart=True)
    assert summary["resumed_from"] is None
    assert summary["rows_this_attempt"] == summary["rows_copied"] == ROWS
    assert target_keys(cur) == list(range(1, ROWS + 1))


def test_batches_longer_than_sqlites_longest_string_are_split(prepared, mysql_params, caplog):
    """SQLite joins a batch's lines into one string; where a run of rows makes it longer than
    SQLite's limit (lowered here to 2,000 bytes; 1 GB by default), the batch is halved until
    it fits, and the copy and the verification (whose segments are then hashed row by row)
    still account for every row."""
    source, database, plan, src = prepared
    src.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 2000)
    caplog.set_level("INFO")
    result = copy(src, plan, mysql_params, database)
    assert result["rows_copied"] == ROWS
    assert "rows per batch" in caplog.text
    dst = connector(mysql_params, database)()
    try:
        assert target_keys(dst.cursor()) == list(range(1, ROWS + 1))
        verdict = migration.verify_one(src, dst, plan, "events")
    finally:
        dst.close()
    assert verdict["ok"] and verdict["target_rows"] == ROWS, verdict
    assert "hashing it row by row" in caplog.text


def test_text_that_is_not_utf8_since_preflight_fails_the_copy_loudly(prepared, mysql_params):
    """A value written after the preflight that MySQL cannot store as it is (bytes that are not
    UTF-8 in a text column): LOAD DATA LOCAL would only warn and store something else, so the
    batch is rolled back and the copy fails naming the table; nothing coerced is kept."""
    from sqlite_to_mysql.errors import TypeConflictError

    source, database, plan, src = prepared
    with sqlite3.connect(source) as writer:
        writer.execute("UPDATE events SET label = CAST(x'6261640aff' AS TEXT) WHERE n = ?", (STOP_AT,))
    with pytest.raises(TypeConflictError, match="events"):
        copy(src, plan, mysql_params, database)
    dst = connector(mysql_params, database)()
    try:
        keys = target_keys(dst.cursor())
    finally:
        dst.close()
    assert STOP_AT not in keys and keys == list(range(1, len(keys) + 1))
