"""The C-speed checks that decide which date/time text needs no conversion agree with
Python's calendar, and are never NULL (a NULL would hide a bad value from the profile)."""
import sqlite3
from datetime import date, datetime, time

from hypothesis import given, settings, strategies as st

from sqlite_to_mysql.profiling import fast_date_sql, fast_datetime_sql, fast_time_sql

CONN = sqlite3.connect(":memory:")


def check(expression: str, text) -> int:
    got = CONN.execute(f"SELECT {expression} FROM (SELECT ? AS x)", (text,)).fetchone()[0]
    assert got in (0, 1), (text, got)
    return got


def python_accepts(parse, text: str) -> bool:
    try:
        parsed = parse(text)
    except ValueError:
        return False
    return getattr(parsed, "year", 1000) >= 1000


two = st.integers(0, 99).map(lambda n: f"{n:02d}")
years = st.sampled_from(["0999", "1000", "1900", "2000", "2020", "2021", "2100", "9999"])
dates = st.builds(lambda y, m, d: f"{y}-{m}-{d}", years, two, two)
clocks = st.builds(lambda h, m, s: f"{h}:{m}:{s}", two, two, two)
fractions = st.sampled_from(["", ".000000", ".123456", ".5"])


@settings(max_examples=3000, deadline=None)
@given(dates, clocks, fractions)
def test_fast_datetime_check_matches_the_calendar(day, clock, fraction):
    text = f"{day} {clock}{fraction}"
    expected = python_accepts(lambda t: datetime.strptime(t, "%Y-%m-%d %H:%M:%S" + (".%f" if fraction else "")),
                              text) and fraction != ".5"
    assert check(fast_datetime_sql("x"), text) == expected


@settings(max_examples=2000, deadline=None)
@given(dates)
def test_fast_date_check_matches_the_calendar(day):
    assert check(fast_date_sql("x"), day) == python_accepts(date.fromisoformat, day)


@settings(max_examples=2000, deadline=None)
@given(clocks, fractions)
def test_fast_time_check_matches_the_clock(clock, fraction):
    text = clock + fraction
    expected = python_accepts(lambda t: time.fromisoformat(t), text) and fraction != ".5"
    assert check(fast_time_sql("x"), text) == expected


def test_not_text_is_never_fast_and_never_null():
    for value in (None, 20200101, 1.5, b"2020-01-01"):
        assert check(fast_datetime_sql("x"), value) == 0
        assert check(fast_date_sql("x"), value) == 0
