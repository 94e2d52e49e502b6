"""The profile sees what a column really holds; the mapping picks a type that holds it."""
import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from mysql_common.session import ServerInfo
from sqlite_to_mysql.profiling import profile_table
from sqlite_to_mysql.source_schema import read_schema
from sqlite_to_mysql.sqlite_functions import register
from sqlite_to_mysql.type_mapping import Role, decide, parse_override
from sqlite_to_mysql.values import decimal_shape

MARIADB = ServerInfo("mariadb", (10, 11, 19), "10.11.19-MariaDB")


def profile_of(ddl: str, rows: list[tuple], kinds: dict):
    conn = register(sqlite3.connect(":memory:"))
    conn.execute(ddl)
    table = next(iter(read_schema(conn).tables.values()))
    marks = ", ".join("?" for _ in rows[0]) if rows else ""
    if rows:
        conn.executemany(f'INSERT INTO "{table.name}" VALUES ({marks})', rows)
    return profile_table(conn, table, kinds), table


@settings(max_examples=150, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e15, max_value=1e15),
                min_size=1, max_size=20))
def test_decimal_shape_read_in_sqlite_equals_the_exact_one(numbers):
    prof, _ = profile_of("CREATE TABLE t (id INTEGER PRIMARY KEY, v decimal)",
                         [(i, n) for i, n in enumerate(numbers)], {"v": "decimal"})
    col = prof.columns["v"]
    reals = [n for n in numbers if not float(n).is_integer()] or [0]
    assert col.numeric_scale == max(decimal_shape(n)[1] for n in reals)


def test_storage_classes_lengths_and_extremes():
    prof, _ = profile_of("CREATE TABLE t (id INTEGER PRIMARY KEY, v)",
                         [(1, 5), (2, 2.5), (3, "h\u00e9llo"), (4, b"\x00\x01\x02"), (5, None), (6, -(2 ** 63))],
                         {"v": "unknown"})
    col = prof.columns["v"]
    assert (col.integers, col.reals, col.texts, col.blobs, col.nulls) == (2, 1, 1, 1, 1)
    assert (col.int_min, col.int_max) == (-(2 ** 63), 5)
    assert (col.text_max_chars, col.text_max_bytes, col.blob_max_bytes, col.non_ascii) == (5, 6, 3, 1)


def test_datetime_forms_that_need_python_are_counted():
    prof, _ = profile_of("CREATE TABLE t (id INTEGER PRIMARY KEY, d datetime)",
                         [(1, "2020-01-01 00:00:00"), (2, "2020-01-01 00:00:00.123456"), (3, "2020-01-01T00:00:00Z"),
                          (4, "2021-02-30 00:00:00"), (5, None)], {"d": "datetime"})
    assert prof.columns["d"].nonstandard_datetime == 2  # the ISO 'T...Z' form and the invalid Feb 30


def decide_for(declared, rows, kind, role=None, **kw):
    prof, table = profile_of(f"CREATE TABLE t (id INTEGER PRIMARY KEY, v {declared})",
                             [(i, v) for i, v in enumerate(rows)], {"v": kind})
    return decide("v", "v", declared, False, prof.columns["v"], role or Role(), MARIADB, **kw)


def test_bare_decimal_takes_precision_and_scale_from_the_data():
    d = decide_for("decimal", [19.99, 0.1, 1234.5, 20], "decimal")
    assert d.column.ddl_type == "DECIMAL(10,2)"
    assert d.expected_conflicts == 0


def test_bare_numeric_holding_only_integers_becomes_an_integer():
    assert decide_for("numeric", [1, 2, 3], "decimal").column.ddl_type == "INT"


def test_declared_decimal_that_the_data_exceeds_needs_a_scan():
    assert decide_for("DECIMAL(4,2)", [123.45], "decimal").expected_conflicts is None


def test_varchar_is_widened_when_sqlite_held_longer_values():
    d = decide_for("VARCHAR(5)", ["short", "much longer text"], "text")
    assert d.column.ddl_type == "VARCHAR(16)"
    assert "widened" in d.column.reason


def test_integer_widens_to_bigint_from_data_and_text_key_gets_binary_collation():
    assert decide_for("INT", [2 ** 40], "int").column.ddl_type == "BIGINT"
    key = decide_for("TEXT", ["Anna", "anna"], "text", role=Role(in_unique=True)).column
    assert key.ddl_type == "VARCHAR(255)" and key.collation == "utf8mb4_nopad_bin"


def test_text_in_an_integer_column_is_a_conflict_and_widen_makes_it_text():
    d = decide_for("INTEGER", [1, "abc"], "int")
    assert d.expected_conflicts == 1
    widened = decide_for("INTEGER", [1, "abc"], "int", widen=True)
    assert widened.column.kind == "text"


def test_overrides_parse():
    assert parse_override("decimal(12, 2)")[:2] == ("decimal", "DECIMAL(12,2)")
    assert parse_override("BIGINT UNSIGNED")[1] == "BIGINT UNSIGNED"
    assert parse_override("tinyint(1)")[0] == "bool"


KIND_SAMPLES = {
    "int": [1, -(2 ** 63), 2 ** 63 - 1, None],
    "bool": [0, 1, None, 1],
    "text": ["plain", "caf\u00e9", "nul\x00inside", "trailing "],
    "char": ["abc ", "abc", None, "\u00e9"],
    "json": ['{"a": 1}', "[]", None, "{}"],
    "datetime": ["2024-01-01 10:00:00", "2024-02-29 23:59:59.123456", None, "2024-01-01 00:00:00"],
    "date": ["2024-01-31", "2020-02-29", None, "1999-12-31"],
    "time": ["23:59:59", "00:00:00.000001", None, "12:00:00"],
}
# one value per kind that does not have the kind's usual form
ODD = {"int": "12a", "bool": "yes", "text": 42, "char": b"\xff", "json": 1.5, "datetime": "2024-02-30 10:00:00",
       "date": 20240101, "time": "24:00:00"}


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(sorted(KIND_SAMPLES))), st.integers(0, 3))
def test_quick_profile_equals_the_full_profile(odd_kinds, odd_row):
    """The cheaper first scan, with its re-profile of columns that do not conform, measures
    exactly what the full aggregates measure."""
    from sqlite_to_mysql.profiling import ProfileScan

    kinds = {f"c_{k}": k for k in KIND_SAMPLES}
    rows = []
    for i in range(4):
        rows.append(tuple([i] + [ODD[k] if k in odd_kinds and i == odd_row else KIND_SAMPLES[k][i]
                                 for k in KIND_SAMPLES]))
    columns = ", ".join(f"c_{k}" for k in KIND_SAMPLES)
    quick, table = profile_of(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {columns})", rows, kinds)
    conn = register(sqlite3.connect(":memory:"))
    conn.execute(f"CREATE TABLE t (id INTEGER PRIMARY KEY, {columns})")
    conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in rows[0])})", rows)
    full = ProfileScan(table, kinds, quick=False)
    assert quick == full.finish(conn, [full.run(conn)])


@pytest.mark.parametrize("override, good, bad", [
    ("DECIMAL(5,1)", "7.5", "123.456"), ("DECIMAL(5,1)", 7, "abc"), ("INT", 7, "12a"),
    ("DATETIME(6)", "2020-01-01 10:00:00", "yesterday"), ("DATE", "2021-02-28", "2021-02-30"),
    ("JSON", '{"a": 1}', "{not json"), ("VARCHAR(4)", "7", "longer"), ("CHAR(4)", "7", "longer"),
    ("CHAR(4)", "7", "ab  "), ("CHAR(4)", " 7", "7 ")])
def test_values_that_do_not_fit_an_override_are_found_by_the_preflight(tmp_path, override, good, bad):
    """The profile runs the checks of the type a column will get, so what does not fit the
    operator's override is named (column, key, value) before anything is written."""
    from sqlite_to_mysql.planner import Settings, build_plan

    path = tmp_path / "overrides.sqlite"
    conn = register(sqlite3.connect(path))
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, label)")  # no affinity: values as written
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, good), (2, bad), (3, None)])
    conn.commit()

    def plan_for(**overrides):
        return build_plan(conn, source_path=str(path), database="d", server=MARIADB,
                          settings=Settings(type_overrides=overrides))

    assert not plan_for().blockers
    blocked = plan_for(**{"t.label": override})
    assert [(c.column, c.count) for c in blocked.table("t").conflicts] == [("label", 1)]
    assert any("t.label" in b and bad in b and "{'id': 2}" in b for b in blocked.blockers), blocked.blockers
