"""The parts of the row transport (shared by the copy and the cutover's catch-up) that need
no server: keys of every storage class read, bound and kept in JSON; statement chunks; the
row a MySQL message names; LOAD DATA's column list; what a blocked preflight offers."""
from __future__ import annotations

import json
import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqlite_to_mysql import row_sql, row_transport
from sqlite_to_mysql.key_sql import sqlite_compare, sqlite_in
from sqlite_to_mysql.plan import ColumnPlan, TablePlan
from sqlite_to_mysql.planner import ways_out

key_parts = st.one_of(st.none(), st.integers(-2 ** 63, 2 ** 63 - 1), st.floats(allow_nan=False), st.text(),
                      st.binary(), st.binary(min_size=1).map(row_transport.RawText))


@settings(max_examples=300, deadline=None)
@given(key=st.lists(key_parts, min_size=1, max_size=3))
def test_a_key_survives_json_and_binds_back_to_the_row_sqlite_holds(key):
    """Read as (storage class, raw value) pairs, kept in a checkpoint's JSON, and bound back,
    a key finds its own row: text that is not UTF-8 included, and never confused with a BLOB."""
    conn = sqlite3.connect(":memory:")
    names = [f"k{i}" for i in range(len(key))]
    conn.execute(f"CREATE TABLE t ({', '.join(names)}, n)")
    marks = ", ".join("CAST(? AS TEXT)" if isinstance(v, row_transport.RawText) else "?" for v in key)
    conn.execute(f"INSERT INTO t VALUES ({marks}, 1)", [bytes(v) if isinstance(v, row_transport.RawText) else v
                                                        for v in key])
    if any(type(v) is bytes for v in key):  # the same bytes, as text: another row
        as_text = ", ".join("CAST(? AS TEXT)" if isinstance(v, bytes) else "?" for v in key)
        conn.execute(f"INSERT INTO t VALUES ({as_text}, 2)", [bytes(v) if isinstance(v, bytes) else v for v in key])
    cells = conn.execute(f"SELECT {row_transport.key_cells_sql(names)} FROM t WHERE n = 1").fetchone()
    read = row_transport.read_key(cells)
    back = row_transport.decode_key(json.loads(json.dumps(row_transport.encode_key(read))))
    assert [type(v) for v in back] == [type(v) for v in read]
    present = [v is not None for v in back]
    if all(present):
        where, params = sqlite_compare(names, "=", back)
        assert conn.execute(f"SELECT n FROM t WHERE {where}", params).fetchall() == [(1,)]
        where, params = sqlite_in(names, [tuple(back)])
        assert conn.execute(f"SELECT n FROM t WHERE {where}", params).fetchall() == [(1,)]


def test_statements_stay_under_the_limit_and_keep_every_item_in_order():
    items = ["x" * n for n in (5, 5, 5, 20, 1, 1)]
    runs = list(row_transport.statements(items, len, limit=12))
    assert [i for run in runs for i in run] == items
    assert all(sum(len(i) + 1 for i in run) <= 12 or len(run) == 1 for run in runs)


@pytest.mark.parametrize("message, row", [
    ("Incorrect decimal value: 'x' for column `d`.`t`.`c` at row 17", 17),
    ("Duplicate entry '1' for key 'PRIMARY'", None),
])
def test_the_row_a_message_names(message, row):
    assert row_transport.row_at(message) == row


def column(name: str, kind: str, **extra) -> ColumnPlan:
    return ColumnPlan(source=name, target=name, kind=kind, ddl_type="X", nullable=True, reason="", **extra)


def test_load_data_takes_an_auto_increment_key_through_a_variable_when_other_columns_are_decoded():
    """MariaDB renumbers an AUTO_INCREMENT 0 loaded directly when LOAD DATA has a SET clause."""
    tp = TablePlan(source="t", target="t", key_source=['"id"'], key_target=["id"], copy_by_rowid=True,
                   hidden_rowid=False, columns=[column("id", "int", auto_increment=True), column("b", "blob"),
                                                column("s", "text")])
    names, sets = row_sql.load_columns(tp, lambda n: f"`{n}`")
    assert names == "@h0, @h1, `s`" and sets == " SET `id` = @h0, `b` = UNHEX(@h1)"
    plain = TablePlan(source="t", target="t", key_source=['"id"'], key_target=["id"], copy_by_rowid=True,
                      hidden_rowid=False, columns=[column("id", "int", auto_increment=True), column("s", "text")])
    assert row_sql.load_columns(plain, lambda n: f"`{n}`") == ("`id`, `s`", "")


def test_a_blocker_offers_only_what_it_says():
    assert ways_out("TYPE_CONFLICT t.c (INT): ... To proceed: set on_type_conflict to 'widen' (the column becomes "
                    "TEXT) or 'quarantine' (set those rows aside), or give type_overrides {\"t.c\": \"TEXT\"}") == \
        {"widen", "quarantine"}
    assert ways_out("KEY_COLLISION t primary key (k): ... No MySQL type keeps them apart. To proceed: set "
                    "on_type_conflict to 'quarantine' (set those rows aside), or make them distinct in SQLite") == \
        {"quarantine"}
    assert ways_out("SQLite full integrity check failed: ...") == set()
