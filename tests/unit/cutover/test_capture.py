"""Change capture on SQLite: every committed write of every table shape logs its key."""
from __future__ import annotations

import pytest

from sqlite_to_mysql import source_schema
from sqlite_to_mysql.cutover import sqlite_capture
from sqlite_to_mysql.cutover.errors import CutoverError
from sqlite_to_mysql.source_schema import read_schema


def log_entries(conn) -> list[tuple]:
    return conn.execute(f"SELECT tbl, op, rid, k0, k1 FROM {sqlite_capture.CHANGELOG} ORDER BY seq").fetchall()


def test_our_objects_are_the_ones_read_schema_ignores(source):
    _path, conn, plan = source
    before = read_schema(conn)
    sqlite_capture.install(conn, plan, run_id="run1")
    after = read_schema(conn)
    assert {sqlite_capture.CHANGELOG, sqlite_capture.STATE} == source_schema.INTERNAL_TABLES
    assert list(after.tables) == list(before.tables)
    assert [t.name for t in after.triggers] == [t.name for t in before.triggers]


def test_every_table_shape_logs_the_key_of_each_write(source, app):
    _path, conn, plan = source
    sqlite_capture.install(conn, plan, run_id="run1")
    app.execute('INSERT INTO "order" ("from") VALUES (\'quoted names, autoincrement\')')
    app.execute("UPDATE pairs SET b = 9 WHERE a = 'x' AND b = 2")  # composite key of a WITHOUT ROWID table moves
    app.execute("UPDATE pairs SET note = 'same key' WHERE a = '' AND b = 0")
    app.execute("DELETE FROM nokey WHERE y = 'b'")  # no primary key: the rowid is the key
    app.execute("INSERT INTO shadowed VALUES ('r', 's', 3)")  # columns named rowid and _rowid_: oid
    app.execute('UPDATE "Order Lines" SET qty = 4 WHERE id = 1')
    entries = log_entries(conn)
    assert entries == [
        ("order", "I", 10, 10, None),
        ("pairs", "U", None, "x", 2), ("pairs", "U", None, "x", 9),
        ("pairs", "U", None, "", 0),
        ("nokey", "D", 4, 4, None),
        ("shadowed", "I", 3, 3, None),
        ("Order Lines", "U", 1, 1, None),
    ]


def test_a_write_that_rolls_back_leaves_no_entry(source, app):
    _path, conn, plan = source
    sqlite_capture.install(conn, plan, run_id="run1")
    app.execute("BEGIN")
    app.execute("DELETE FROM users")
    app.execute("ROLLBACK")
    assert log_entries(conn) == []


def test_install_is_idempotent_and_a_new_migration_run_starts_an_empty_log(source, app):
    _path, conn, plan = source
    first = sqlite_capture.install(conn, plan, run_id="run1")
    app.execute("DELETE FROM egg")
    again = sqlite_capture.install(conn, plan, run_id="run1")
    assert first["triggers_created"] == 3 * len(plan.tables)
    assert again["triggers_created"] == 0 and again["triggers_kept"] == 3 * len(plan.tables)
    assert len(log_entries(conn)) == 2
    new_run = sqlite_capture.install(conn, plan, run_id="run2")
    assert new_run["changes_discarded"] == 2 and log_entries(conn) == []
    assert sqlite_capture.captured_plan(conn).fingerprint == plan.fingerprint


def test_install_refuses_while_a_cutover_is_under_way(source):
    _path, conn, plan = source
    sqlite_capture.install(conn, plan, run_id="run1")
    with sqlite_capture.Transaction(conn):
        sqlite_capture.write_state(conn, phase=sqlite_capture.SWITCHED)
    with pytest.raises(CutoverError, match="phase switched"):
        sqlite_capture.install(conn, plan, run_id="run2")


def test_remove_leaves_the_file_as_the_application_made_it(source, app):
    _path, conn, plan = source
    sqlite_capture.install(conn, plan, run_id="run1")
    app.execute("DELETE FROM egg")
    removed = sqlite_capture.remove(conn)
    assert removed == {"capture_triggers_dropped": 3 * len(plan.tables), "changelog_rows_dropped": 2}
    assert not conn.execute("SELECT name FROM sqlite_master WHERE name LIKE '\\_s2m\\_c%' ESCAPE '\\' "
                            "OR name = ?", (sqlite_capture.CHANGELOG,)).fetchall()
    app.execute("DELETE FROM chicken")  # the application writes as before


def test_a_cutover_without_capture_says_how_to_get_it(source):
    _path, conn, _plan = source
    with pytest.raises(CutoverError, match="capture_changes=true"):
        sqlite_capture.captured_plan(conn)
