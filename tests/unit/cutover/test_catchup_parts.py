"""The parts of catch-up and verification that need no server: value conversions back to
SQLite, key predicates, XCom encoding, and what counts as a pending change."""
from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import pytest

from sqlite_to_mysql import capture
from sqlite_to_mysql.catchup import mysql_key, sqlite_in, to_sqlite
from sqlite_to_mysql.cutover_verify import decode, encode, explain_pending


@pytest.mark.parametrize("kind, mysql_value, stored", [
    ("decimal", Decimal("12.50"), "12.50"),
    ("datetime", dt.datetime(2024, 2, 29, 23, 59, 59, 120), "2024-02-29 23:59:59.000120"),
    ("datetime", dt.datetime(2024, 2, 29, 23, 59, 59), "2024-02-29 23:59:59"),
    ("date", dt.date(1999, 12, 31), "1999-12-31"),
    ("time", dt.timedelta(hours=7, seconds=5, microseconds=1), "07:00:05.000001"),
    ("bool", 1, 1),
    ("int", 2 ** 63 - 1, 2 ** 63 - 1),
    ("double", 0.1, 0.1),
    ("json", b'{"a": 1}', '{"a": 1}'),
    ("blob", bytearray(b"\x00\xff"), b"\x00\xff"),
    ("text", None, None),
])
def test_mysql_values_come_back_as_django_stores_them_on_sqlite(kind, mysql_value, stored):
    assert to_sqlite(kind, mysql_value) == stored


def test_source_keys_become_the_values_mysql_holds(source):
    _path, _conn, plan = source
    assert mysql_key(plan.table("pairs"), ("x", 2)) == ("x", "2")
    assert mysql_key(plan.table("nokey"), (4,)) == (4,)


def test_key_predicates_find_composite_and_single_keys():
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE "t q" (a TEXT, b INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID')
    conn.executemany('INSERT INTO "t q" VALUES (?, ?)', [("x", 1), ("x", 2), ("it's", 3)])
    where, params = sqlite_in(['"a"', '"b"'], [("x", 2), ("it's", 3), ("absent", 0)])
    assert sorted(conn.execute(f'SELECT a, b FROM "t q" WHERE {where}', params).fetchall()) == [("it's", 3), ("x", 2)]
    where, params = sqlite_in(['"b"'], [(1,), (3,)])
    assert sorted(conn.execute(f'SELECT b FROM "t q" WHERE {where}', params).fetchall()) == [(1,), (3,)]


def test_key_ranges_survive_xcom():
    ranges = [[None, (5, "a")], [(b"\x00\xff", 1.5), None]]
    assert [[decode(lo), decode(hi)] for lo, hi in encode(ranges)] == [[None, (5, "a")], [(b"\x00\xff", 1.5), None]]


def verdict(differences, *, differing=None, source_rows=5, target_rows=5):
    return {"table": "pairs", "source_rows": source_rows, "target_rows": target_rows, "quarantined": 0,
            "checksum": "DIFF", "differing_rows": len(differences) if differing is None else differing,
            "differences": differences, "issues": [], "ok": False}


def test_differences_on_keys_changed_since_capture_are_pending_not_lost(source, app):
    _path, conn, plan = source
    capture.install(conn, plan, run_id="run1")
    app.execute("UPDATE pairs SET note = 'changed' WHERE a = 'x' AND b = 1")
    app.execute("INSERT INTO pairs VALUES ('new', 5, 'inserted')")
    tp = plan.table("pairs")
    changed = [{"key": {"a": "x", "b": 1}, "kind": "values_differ", "columns": {}},
               {"key": {"a": "new", "b": 5}, "kind": "missing_in_target", "columns": {}}]
    result = explain_pending(conn, tp, verdict(changed, source_rows=6), max_examples=20)
    assert result["ok"] and result["pending_differences"] == 2 and result["differences"] == []
    lost = changed + [{"key": {"a": "X", "b": 1}, "kind": "values_differ", "columns": {}}]
    result = explain_pending(conn, tp, verdict(lost, source_rows=6), max_examples=20)
    assert not result["ok"] and [d["key"] for d in result["differences"]] == [{"a": "X", "b": 1}]
    unlisted = explain_pending(conn, tp, verdict(changed, differing=3, source_rows=6), max_examples=20)
    assert not unlisted["ok"]  # a difference nobody listed cannot be explained
    count = verdict([], source_rows=9)
    count["issues"] = ["row counts do not add up: source 9 != target 5 + quarantined 0"]
    assert not explain_pending(conn, tp, count, max_examples=20)["ok"]  # 4 rows apart, 2 keys changed
