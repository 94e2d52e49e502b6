"""The SQL fast path for DECIMAL values (printf in SQLite, no Python per value) gives exactly
what the exact Python converter gives, for the copy and for the checksum, or hands the value
to Python (which refuses what does not fit)."""
import sqlite3

import pytest
from hypothesis import given, settings, strategies as st

from sqlite_to_mysql import row_sql, values
from sqlite_to_mysql.plan import ColumnPlan
from sqlite_to_mysql.sqlite_functions import register
from sqlite_to_mysql.values import ValueConflict


def column(precision: int, scale: int) -> ColumnPlan:
    return ColumnPlan(source="price", target="price", kind="decimal", ddl_type=f"DECIMAL({precision},{scale})",
                      nullable=True, reason="test", args=[precision, scale], storage={"real": 1, "integer": 1})


def through_sqlite(expression: str, value):
    conn = register(sqlite3.connect(":memory:"))
    conn.execute("CREATE TABLE t (price)")  # no affinity: a REAL stays a REAL, even 0.0
    conn.execute("INSERT INTO t VALUES (?)", (value,))
    try:
        got = conn.execute(f"SELECT {expression} FROM t").fetchone()[0]
        return str(got) if isinstance(got, int) else got  # integers reach MySQL and the digest as text
    except sqlite3.OperationalError as exc:  # the Python converter refused the value
        assert "user-defined function raised exception" in str(exc)
        return ValueConflict
    finally:
        conn.close()


def expected(value, precision: int, scale: int):
    try:
        return values.decimal_text(value, precision, scale)
    except ValueConflict:
        return ValueConflict


decimals = st.tuples(st.integers(1, 30), st.integers(0, 8)).filter(lambda ps: ps[1] <= ps[0])
reals = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.decimals(min_value=-10 ** 12, max_value=10 ** 12, places=4, allow_nan=False).map(float),
    st.integers(-10 ** 9, 10 ** 9).map(lambda n: n / 100),
    st.sampled_from([0.0, -0.0, 0.125, 0.1 + 0.2, 1e-7, 99999999.99, 1e14, -0.01, 5e-324]),
)


@pytest.mark.parametrize("sql_of", [row_sql.canonical_sql, row_sql.value_sql], ids=["checksum", "copy"])
@settings(max_examples=1500, deadline=None)
@given(shape=decimals, value=reals)
def test_text_of_a_real_is_the_exact_converters(sql_of, shape, value):
    precision, scale = shape
    got = through_sqlite(sql_of(column(precision, scale)), value)
    assert got == expected(value, precision, scale)


@pytest.mark.parametrize("value", [0, 7, -7, 10 ** 7 - 1, -(10 ** 7) + 1, 10 ** 7, 2 ** 63 - 1, -(2 ** 63)])
def test_checksum_text_of_an_integer_is_the_exact_converters(value):
    assert through_sqlite(row_sql.canonical_sql(column(9, 2)), value) == expected(value, 9, 2)


def test_plain_prices_never_reach_python():
    calls = []
    conn = sqlite3.connect(":memory:")
    conn.create_function("s2m_decimal", 3, lambda *args: calls.append(args))
    conn.execute("CREATE TABLE t (price)")
    conn.executemany("INSERT INTO t VALUES (?)", [(19.99,), (0.1,), (1234.5,), (-0.01,), (42,), (99999999.99,)])
    col = column(10, 2)
    for expression in (row_sql.value_sql(col), row_sql.canonical_sql(col)):
        texts = [str(r[0]) for r in conn.execute(f"SELECT {expression} FROM t")]
        assert not calls
    assert texts == ["19.99", "0.10", "1234.50", "-0.01", "42.00", "99999999.99"]
