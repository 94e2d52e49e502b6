"""key_sql, case by case: every predicate runs on a real SQLite and the real MariaDB over the
same rows, and each must select exactly the rows SQL's own rules say (a key compared part by
part, left to right; a NULL part that decides makes the row unknown, so it is not selected).

Cases: 1 to 3 key columns, integer and text keys, keys that may hold NULL, and identifiers
that break naive quoting."""
from __future__ import annotations

import itertools
import sqlite3

import pytest

from mysql_common.identifiers import quote
from sqlite_to_mysql import key_sql
from sqlite_to_mysql.row_transport import RawText
from sqlite_to_mysql.source_schema import qi

pytestmark = pytest.mark.integration

CASES = {
    # name: (key columns, values each column takes)
    "one int": (["id"], [[1, 2, 3]]),
    "two mixed": (["k", "n"], [["a", "b", "c"], [1, 2, 3]]),
    "three": (["x", "y", "z"], [[1, 2], ["a", "b"], [1, 2]]),
    "one nullable": (["id"], [[1, 2, None]]),
    "two nullable": (["a", "b"], [[1, 2, None], [1, None]]),
    "three nullable": (["p", "q", "r"], [[1, None], ["a", None], [1, 2]]),
    "hostile": (['we"ird', "back`tick", "select"], [[1, 2], ["x", "y"], [1, None]]),
    "hostile two": (["sp ace, (a)", "ünï'code"], [[1, 2, 3], ["a", "b"]]),
}
OPS = [">", ">=", "<", "<=", "="]


def compare(row: tuple, bound: tuple) -> int | None:
    """SQL's row-value comparison: -1, 0, 1, or None (unknown)."""
    for a, b in zip(row, bound):
        if a is None or b is None:
            return None
        if a != b:
            return -1 if a < b else 1
    return 0


def holds(row: tuple, op: str, bound: tuple) -> bool:
    c = compare(row, bound)
    return c is not None and {">": c > 0, ">=": c >= 0, "<": c < 0, "<=": c <= 0, "=": c == 0}[op]


class Tables:
    """The same rows in SQLite and in MariaDB; select(where, params) in each returns the keys."""

    def __init__(self, columns: list[str], values: list[list], mysql_conn) -> None:
        self.columns = columns
        self.rows = list(itertools.product(*values))
        self.sqlite = sqlite3.connect(":memory:")
        kinds = ["INTEGER" if any(isinstance(v, int) for v in vs) else "TEXT" for vs in values]
        self.sqlite.execute(f"CREATE TABLE t ({', '.join(f'{qi(c)} {k}' for c, k in zip(columns, kinds))})")
        self.sqlite.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in columns)})", self.rows)
        self.mysql = mysql_conn
        cur = mysql_conn.cursor()
        types = ["BIGINT" if k == "INTEGER" else "VARCHAR(20) COLLATE utf8mb4_bin" for k in kinds]
        cur.execute(f"CREATE TABLE t ({', '.join(f'{quote(c)} {k} NULL' for c, k in zip(columns, types))}, "
                    f"KEY k ({', '.join(quote(c) for c in columns)}))")
        cur.executemany(f"INSERT INTO t VALUES ({', '.join('%s' for _ in columns)})", self.rows)
        mysql_conn.commit()

    def from_sqlite(self, where: str, params) -> set:
        cols = ", ".join(qi(c) for c in self.columns)
        return set(self.sqlite.execute(f"SELECT {cols} FROM t WHERE {where}", params).fetchall())

    def from_mysql(self, where: str, params) -> set:
        cur = self.mysql.cursor()
        cur.execute(f"SELECT {', '.join(quote(c) for c in self.columns)} FROM t WHERE {where}", params)
        return set(cur.fetchall())


@pytest.fixture(params=sorted(CASES))
def tables(request, new_database, mysql_connect):
    database = new_database("keysql")
    admin = mysql_connect()
    admin.cursor().execute(f"CREATE DATABASE {quote(database)} CHARACTER SET utf8mb4")
    columns, values = CASES[request.param]
    return Tables(columns, values, mysql_connect(database))


def test_keyset_comparisons(tables):
    exprs = [qi(c) for c in tables.columns]
    for bound, op in itertools.product(tables.rows, OPS):
        want = {r for r in tables.rows if holds(r, op, bound)}
        assert tables.from_sqlite(*key_sql.sqlite_compare(exprs, op, bound)) == want, (op, bound)
        assert tables.from_mysql(*key_sql.mysql_compare(tables.columns, op, bound)) == want, (op, bound)


def test_key_ranges(tables):
    exprs = [qi(c) for c in tables.columns]
    bounds = [None, *tables.rows]
    for low, high in itertools.product(bounds, bounds):
        want = {r for r in tables.rows
                if (low is None or holds(r, ">=", low)) and (high is None or holds(r, "<", high))}
        assert tables.from_sqlite(*key_sql.sqlite_range(exprs, low, high)) == want, (low, high)
        assert tables.from_mysql(*key_sql.mysql_range(tables.columns, low, high)) == want, (low, high)


def test_key_lists(tables):
    exprs = [qi(c) for c in tables.columns]
    absent = tuple(99 if isinstance(v, int) or v is None else "zz" for v in tables.rows[0])
    for size in (1, 2, len(tables.rows)):
        for keys in (tables.rows[:size], tables.rows[-size:], [absent, *tables.rows[1:size + 1]]):
            want = {r for r in tables.rows if any(holds(r, "=", k) for k in keys)}
            assert tables.from_sqlite(*key_sql.sqlite_in(exprs, keys)) == want, keys
            assert tables.from_mysql(*key_sql.mysql_in(tables.columns, keys)) == want, keys


def test_text_that_is_not_utf8_binds_back_as_text():
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE t ("k" TEXT, "n" INTEGER)')
    raw = b"caf\xe9"
    conn.execute("INSERT INTO t VALUES (CAST(? AS TEXT), 1), ('a', 2), ('zz', 3)", (raw,))
    key = (RawText(raw),)
    assert conn.execute("SELECT n FROM t WHERE " + key_sql.sqlite_in(['"k"'], [key])[0],
                        key_sql.sqlite_in(['"k"'], [key])[1]).fetchall() == [(1,)]
    where, params = key_sql.sqlite_compare(['"k"'], "=", key)
    assert conn.execute(f"SELECT n FROM t WHERE {where}", params).fetchall() == [(1,)]
    where, params = key_sql.sqlite_range(['"k"'], ("a",), key)
    assert conn.execute(f"SELECT n FROM t WHERE {where}", params).fetchall() == [(2,)]


@pytest.mark.parametrize("name", ["id", 'we"ird', "sp ace", "", 'a""b', "ünï"])
def test_key_name_undoes_sqlite_quoting(name):
    assert key_sql.key_name(qi(name)) == name
    assert key_sql.key_name("rowid") == "rowid"
