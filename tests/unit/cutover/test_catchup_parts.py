"""The parts of catch-up and verification that need no server: value conversions back to
SQLite, key predicates, XCom encoding, and what counts as a pending change."""
from __future__ import annotations

import datetime as dt
import sqlite3
from decimal import Decimal

import pytest

from sqlite_to_mysql.cutover import sqlite_capture
from sqlite_to_mysql.cutover.catchup import mysql_key
from sqlite_to_mysql.key_sql import sqlite_in
from sqlite_to_mysql.cutover.verification import decode, encode, explain_pending
from sqlite_to_mysql.plan import ColumnPlan
from sqlite_to_mysql.type_mapping import parse_override, sqlite_value
from sqlite_to_mysql.values import ValueConflict


def column(kind: str, ddl: str = "", args=(None, None)) -> ColumnPlan:
    return ColumnPlan(source="c", target="c", kind=kind, ddl_type=ddl, nullable=True, reason="", args=list(args))


@pytest.mark.parametrize("col, affinity, mysql_value, stored", [
    (column("decimal", "DECIMAL(10,2)", (10, 2)), "NUMERIC", Decimal("12.50"), 12.5),
    (column("decimal", "DECIMAL(10,2)", (10, 2)), "NUMERIC", Decimal("20.00"), 20),
    (column("decimal", "DECIMAL(20,6)", (20, 6)), "TEXT", Decimal("1000000000.000001"), "1000000000.000001"),
    (column("decimal", "DECIMAL(30,2)", (30, 2)), "BLOB", Decimal("1234567890123456789012.34"),
     "1234567890123456789012.34"),
    (column("datetime", "DATETIME(6)", (6, None)), "NUMERIC", dt.datetime(2024, 2, 29, 23, 59, 59, 120),
     "2024-02-29 23:59:59.000120"),
    (column("datetime", "DATETIME(6)", (6, None)), "NUMERIC", dt.datetime(2024, 2, 29, 23, 59, 59),
     "2024-02-29 23:59:59"),
    (column("date", "DATE"), "NUMERIC", dt.date(1999, 12, 31), "1999-12-31"),
    (column("time", "TIME(6)", (6, None)), "NUMERIC", dt.timedelta(hours=7, seconds=5, microseconds=1),
     "07:00:05.000001"),
    (column("bool", "TINYINT(1)"), "NUMERIC", 1, 1),
    (column("int", "BIGINT", (-2 ** 63, 2 ** 63 - 1)), "INTEGER", 2 ** 63 - 1, 2 ** 63 - 1),
    (column("double", "DOUBLE"), "REAL", 0.1, 0.1),
    (column("double", "DOUBLE"), "TEXT", 0.30000000000000004, "0.30000000000000004"),
    (column("json", "JSON"), "TEXT", b'{"a": 1}', '{"a": 1}'),
    (column("blob", "BLOB"), "BLOB", bytearray(b"\x00\xff"), b"\x00\xff"),
    (column("text", "TEXT"), "TEXT", None, None),
    (column("text", "TEXT"), "INTEGER", "42", 42),  # a number the INTEGER column held, widened to text
    (column("uuid", "UUID"), "TEXT", "0d6f5ac3-8d9c-4ab4-bc32-3a1b0e2f4c5d", "0d6f5ac38d9c4ab4bc323a1b0e2f4c5d"),
])
def test_mysql_values_come_back_as_the_source_stores_them(col, affinity, mysql_value, stored):
    back = sqlite_value(col, mysql_value, affinity)
    assert back == stored and type(back) is type(stored)


@pytest.mark.parametrize("col, affinity, mysql_value, why", [
    (column("int", "BIGINT UNSIGNED", (0, 2 ** 64 - 1)), "INTEGER", 2 ** 63, "beyond SQLite's 64-bit integers"),
    (column("bool", "TINYINT(1)"), "NUMERIC", 2, "not a boolean"),
    (column("time", "TIME(6)", (6, None)), "NUMERIC", dt.timedelta(hours=25), "not a time of day"),
    (column("time", "TIME(6)", (6, None)), "NUMERIC", -dt.timedelta(seconds=1), "not a time of day"),
    (column("text", "TEXT"), "INTEGER", "007", "INTEGER affinity would store it as 7"),
    (column("text", "TEXT"), "INTEGER", "\u0660", None),  # an Arabic-Indic zero is no digit to SQLite
    (column("decimal", "DECIMAL(30,2)", (30, 2)), "NUMERIC", Decimal("12345678901234567.89"),
     "NUMERIC affinity would store it as 12345678901234568"),
])
def test_values_the_sqlite_column_cannot_hold_are_refused_with_the_reason(col, affinity, mysql_value, why):
    if why is None:
        assert sqlite_value(col, mysql_value, affinity) == mysql_value
        return
    with pytest.raises(ValueConflict, match=why):
        sqlite_value(col, mysql_value, affinity)


def test_the_way_back_stores_what_sqlite_itself_would_for_each_affinity():
    """sqlite_value's affinity rules against SQLite's own: the value it returns, inserted into a
    column of that affinity, is stored unchanged."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (i INTEGER, n NUMERIC, r REAL, t TEXT, b BLOB)")
    cases = [(column("decimal", "DECIMAL(10,2)", (10, 2)), Decimal(v)) for v in ("19.99", "20.00", "-0.01", "0.10")]
    cases += [(column("text", "TEXT"), v) for v in ("12", " 12 ", "1e3", "abc", "-7", "1.5")]
    cases += [(column("double", "DOUBLE"), v) for v in (5.0, 0.1, -2.5e-300)]
    for col, value in cases:
        for aff, name in (("INTEGER", "i"), ("NUMERIC", "n"), ("REAL", "r"), ("TEXT", "t"), ("BLOB", "b")):
            try:
                back = sqlite_value(col, value, aff)
            except ValueConflict:
                continue
            conn.execute("DELETE FROM t")
            conn.execute(f"INSERT INTO t ({name}) VALUES (?)", (back,))
            stored = conn.execute(f"SELECT {name} FROM t").fetchone()[0]
            assert stored == back and type(stored) is type(back), (col.kind, value, aff, back, stored)


def test_every_kind_the_type_decision_can_choose_has_a_way_there_and_back():
    from sqlite_to_mysql.sqlite_functions import CONVERTERS
    from sqlite_to_mysql.type_mapping import KINDS

    assert KINDS == set(CONVERTERS) | {"blob"}
    chosen = {parse_override(t)[0] for t in ("INT", "BIGINT UNSIGNED", "TINYINT(1)", "BOOLEAN", "DECIMAL(12,2)",
                                            "DOUBLE", "VARCHAR(10)", "CHAR(3)", "TEXT", "BLOB", "VARBINARY(16)",
                                            "DATETIME", "DATETIME(3)", "DATE", "TIME", "JSON")}
    chosen |= {"uuid"}  # Django's UUIDField on MariaDB 10.7+ (type_mapping.decide)
    assert chosen <= KINDS, chosen - KINDS


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
    sqlite_capture.install(conn, plan, run_id="run1")
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


@pytest.mark.parametrize("kind, fsp, stored, printed", [
    ("time", 3, "00:00:00", "00:00:00.000"),
    ("time", 3, "01:02:03.5", "01:02:03.500"),
    ("time", 0, "01:02:03", "01:02:03"),
    ("time", 6, "01:02:03", "01:02:03.000000"),
    ("datetime", 3, "2024-01-01 10:00:00", "2024-01-01 10:00:00.000"),
    ("datetime", 2, "2024-01-01 10:00:00.5", "2024-01-01 10:00:00.50"),
    ("datetime", 0, "2024-01-01 10:00:00", "2024-01-01 10:00:00"),
])
def test_the_source_side_of_a_checksum_prints_times_as_mysql_does_for_every_precision(kind, fsp, stored, printed):
    """MySQL prints TIME(n)/DATETIME(n) with exactly n fraction digits. Found by the rollback's
    property test: a TIME(3) value that came back as Django stores it ('00:00:00') was taken
    for a difference from MySQL's '00:00:00.000'."""
    from sqlite_to_mysql.row_sql import canonical_sql
    from sqlite_to_mysql.sqlite_functions import register

    conn = register(sqlite3.connect(":memory:"))
    conn.execute("CREATE TABLE t (c)")
    conn.execute("INSERT INTO t VALUES (?)", (stored,))
    col = ColumnPlan(source="c", target="c", kind=kind, ddl_type="", nullable=True, reason="", args=[fsp, None])
    assert conn.execute(f"SELECT {canonical_sql(col)} FROM t").fetchone()[0] == printed
