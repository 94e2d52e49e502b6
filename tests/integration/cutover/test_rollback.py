"""Rollback after a switch: every insert, update and delete the application made on MySQL is in
SQLite afterwards, exactly once, and SQLite takes writes again with ids MySQL never issued."""
from __future__ import annotations

import re
import sqlite3
import time

import MySQLdb
import pytest

from sqlite_to_mysql.cutover import freeze, rollback, sqlite_capture, verification
from sqlite_to_mysql.cutover.catchup import BackwardSync
from sqlite_to_mysql.cutover.errors import CutoverError

from tests.support.cutover_app import LINES, switch_over, verify_all

pytestmark = pytest.mark.integration
QLINES = "`" + LINES + "`"


def write_on_mysql(app) -> dict:
    """The application's writes after the switch (its own session: no @s2m_sync)."""
    cur = app.cursor()
    cur.execute("INSERT INTO item (name, price, updated, photo) VALUES (%s, 12.50, '2025-05-05 10:00:00', %s)",
                ("made on mysql, it's", b"\x00\xff"))
    kept = cur.lastrowid
    cur.execute("INSERT INTO item (name, price, updated) VALUES ('short-lived', 1, '2025-05-05 10:00:00')")
    gone = cur.lastrowid
    cur.execute("DELETE FROM item WHERE id = %s", (gone,))
    cur.execute("UPDATE item SET price = 1.25, name = 'repriced' WHERE id = 5")
    cur.execute(f"DELETE FROM {QLINES} WHERE code = 'c7' AND line = 7")
    cur.execute("DELETE FROM item WHERE id = 7")
    cur.execute(f"UPDATE {QLINES} SET line = 9008 WHERE code = 'c8' AND line = 8")  # the key moves
    cur.execute(f"INSERT INTO {QLINES} (code, line, item_id, qty, note) VALUES ('new', 1, %s, 2, 'tab\there')",
                (kept,))
    cur.execute("INSERT INTO kv VALUES ('made on mysql', 'été')")
    cur.execute("UPDATE kv SET v = 'changed' WHERE k = 'key 4'")
    cur.execute("DELETE FROM kv WHERE k = 'key 3'")
    cur.execute("INSERT INTO events (kind, payload) VALUES ('mysql', 'x')")
    cur.execute("UPDATE events SET payload = 'updated on mysql' WHERE _sqlite_rowid = 10")
    cur.execute("DELETE FROM events WHERE _sqlite_rowid = 11")
    cur.execute("INSERT INTO slots VALUES ('2030-01-01 00:00:00', 'new slot')")
    app.commit()
    return {"kept": kept, "gone": gone}


def test_rollback_brings_every_mysql_write_back_once_and_sqlite_takes_writes_again(app_db, migrate):
    migrated = migrate(app_db)
    cut = switch_over(migrated)
    app_mysql = migrated.mysql()
    ids = write_on_mysql(app_mysql)

    # A rollback that died after SQLite committed a batch but before MySQL flagged it applied:
    # the batch is applied again by the real rollback, which must not duplicate anything.
    assert BackwardSync(cut.src, cut.dst, cut.plan).apply_batch().changes > 0
    reset = cut.dst.cursor()
    reset.execute("UPDATE _s2m_changelog SET applied = 0")
    cut.dst.commit()

    result = rollback.rollback(cut, timeout=60, max_lag_changes=0, catch_up_timeout=120)

    assert result["verification"]["ok"] and result["changes_applied"] > 0
    assert migrated.phase() == sqlite_capture.CAPTURING
    assert verify_all(app_db, migrated.mysql(), migrated.plan) == []  # every row, every count
    app = migrated.app()
    one = lambda sql, *args: app.execute(sql, args).fetchone()  # noqa: E731
    assert one("SELECT name, price + 0, photo FROM item WHERE id = ?", ids["kept"]) == \
        ("made on mysql, it's", 12.5, b"\x00\xff")
    assert one("SELECT count(*) FROM item WHERE id = ? OR name = 'short-lived'", ids["gone"]) == (0,)
    assert one("SELECT name, price + 0 FROM item WHERE id = 5") == ("repriced", 1.25)
    assert one("SELECT count(*) FROM item WHERE id = 7") == (0,)
    assert one(f'SELECT count(*) FROM "{LINES.replace(chr(34), chr(34) * 2)}" WHERE code = \'c8\' '
               f'AND line IN (8, 9008)') == (1,)
    assert one("SELECT v FROM kv WHERE k = 'made on mysql'") == ("été",)
    assert one("SELECT count(*) FROM kv WHERE k = 'key 3'") == (0,)
    assert one("SELECT payload FROM events WHERE rowid = 10") == ("updated on mysql",)
    assert one("SELECT count(*) FROM events WHERE kind = 'mysql'") == (1,)
    assert one("SELECT label FROM slots WHERE at = '2030-01-01 00:00:00'") == ("new slot",)
    assert f"DATABASE_URL=sqlite:///{app_db}" in (migrated.tmp / "app.env").read_text()

    # SQLite is the application's database again: writable, captured, never reusing a MySQL id
    logged = one("SELECT count(*) FROM _s2m_changelog")[0]
    new_id = app.execute("INSERT INTO item (name, price, updated) VALUES ('back on sqlite', 1, "
                         "'2025-06-01 00:00:00')").lastrowid
    assert new_id > ids["gone"]
    assert one("SELECT count(*) FROM _s2m_changelog")[0] == logged + 1

    # MySQL is left read-only for the application, and there is nothing left to roll back
    with pytest.raises(MySQLdb.OperationalError, match=re.escape(freeze.TARGET_GUARD_MESSAGE)):
        app_mysql.cursor().execute("UPDATE kv SET v = 'late' WHERE k = 'key 5'")
    with pytest.raises(CutoverError, match="nothing to roll back"):
        rollback.rollback(cut, timeout=60, max_lag_changes=0, catch_up_timeout=120)


def test_rollback_refuses_once_cleanup_closed_the_window(app_db, migrate):
    migrated = migrate(app_db)
    cut = switch_over(migrated)
    rollback.cleanup(cut, remove_guard=False)
    with pytest.raises(CutoverError, match="rollback window is closed"):
        rollback.rollback(cut, timeout=60, max_lag_changes=0, catch_up_timeout=120)
    with pytest.raises(sqlite3.IntegrityError, match=re.escape(freeze.SOURCE_GUARD_MESSAGE)):
        migrated.app().execute("DELETE FROM kv")


def test_a_rollback_repairs_what_an_earlier_attempt_wrote_wrong_and_a_failure_names_the_column(app_db, migrate):
    """An earlier rollback attempt brought a row back wrong (as the UUIDs of Django databases
    once came back with dashes) and failed its check: the application stayed on MySQL, and the
    change was already flagged as applied. The next attempt applies every change made on MySQL
    again, so it repairs the row instead of failing the same way for ever; and a check that
    still fails names the table, the key and the column."""
    migrated = migrate(app_db)
    cut = switch_over(migrated)
    app_mysql = migrated.mysql()
    app_mysql.cursor().execute("UPDATE item SET name = 'renamed on mysql' WHERE id = 5")
    app_mysql.commit()
    assert BackwardSync(cut.src, cut.dst, cut.plan).apply_batch().changes == 1
    wrong = migrated.app()  # what the earlier attempt left: SQLite differs from MySQL on a logged row
    guards = wrong.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'item' "
                           "AND name LIKE '_s2m_g_%'").fetchall()
    for name, _sql in guards:
        wrong.execute(f'DROP TRIGGER "{name}"')
    wrong.execute("UPDATE item SET name = 'brought back wrong' WHERE id = 5")
    for _name, sql in guards:
        wrong.execute(sql)

    check = verification.check_rolled_back(cut.src, cut.dst, cut.plan)
    assert not check["ok"]
    assert re.search(r"item: \{'id': 5\} values_differ in name", verification.failures(check)), \
        verification.failures(check)

    result = rollback.rollback(cut, timeout=60, max_lag_changes=0, catch_up_timeout=120)
    assert result["verification"]["ok"] and migrated.phase() == sqlite_capture.CAPTURING
    assert migrated.app().execute("SELECT name FROM item WHERE id = 5").fetchone() == ("renamed on mysql",)


def test_freezing_mysql_under_an_open_application_transaction_refuses_its_write_without_a_deadlock(app_db, migrate):
    """An application transaction on MySQL that has read a table and will write it: the
    rollback's freeze neither waits for it nor makes it a deadlock victim (no DDL while the
    application writes); its write gets the freeze's refusal, which it retries."""
    migrated = migrate(app_db)
    cut = switch_over(migrated)
    app = migrated.mysql()
    cur = app.cursor()
    cur.execute("SELECT v FROM kv WHERE k = 'key 1'")  # the transaction holds the table's metadata lock
    cur.fetchall()
    started = time.monotonic()
    deadline = time.time() + 30
    freeze.freeze_target(cut.dst, cut.plan, deadline=deadline)
    assert time.monotonic() - started < 5
    with pytest.raises(MySQLdb.OperationalError) as refused:
        cur.execute("UPDATE kv SET v = 'during the freeze' WHERE k = 'key 1'")
    assert refused.value.args == (1644, freeze.target_freeze_message(deadline))
    app.rollback()
    assert freeze.target_blocks(cut.dst) == {"freeze": 1, "guard": 0}
    assert freeze.unfreeze_target(cut.dst) == 1
    cur.execute("UPDATE kv SET v = 'after the freeze' WHERE k = 'key 1'")
    app.commit()
