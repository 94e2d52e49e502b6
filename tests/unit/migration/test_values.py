"""Exactness of the value conversions: what the copy writes and the checksums compare."""
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from sqlite_to_mysql import values
from sqlite_to_mysql.values import ValueConflict


@pytest.mark.parametrize("value, scale, expected", [
    (19.99, 2, "19.99"), (0.1, 2, "0.10"), (20, 2, "20.00"), (1234.5, 2, "1234.50"),
    (-0.5, 2, "-0.50"), (-0.0, 2, "0.00"), ("12.50", 2, "12.50"), (0.99, 2, "0.99"),
])
def test_decimal_text_is_exact(value, scale, expected):
    assert values.decimal_text(value, 10, scale) == expected


@pytest.mark.parametrize("value", [0.125, 0.30000000000000004, 1e-7])
def test_decimal_text_refuses_to_round(value):
    with pytest.raises(ValueConflict, match="decimal places"):
        values.decimal_text(value, 10, 2)


def test_decimal_text_refuses_overflow_and_non_numbers():
    with pytest.raises(ValueConflict, match="does not fit"):
        values.decimal_text(123456.78, 6, 2)
    for bad in ("abc", float("inf"), b"\x01", "1,5"):
        with pytest.raises(ValueConflict):
            values.decimal_text(bad, 10, 2)


@pytest.mark.parametrize("text", ["555339578668477391018106e8030381", "-5e8030381", "9e999999999"])
def test_number_text_beyond_any_decimal_is_a_conflict_not_a_crash(text):
    """Hex text such as a UUID can read as a number with an enormous exponent."""
    with pytest.raises(ValueConflict, match="beyond any DECIMAL"):
        values.decimal_shape(text)
    with pytest.raises(ValueConflict):
        values.decimal_text(text, 65, 30)


@given(st.integers(min_value=-10 ** 12, max_value=10 ** 12), st.integers(min_value=0, max_value=6))
def test_a_real_written_with_k_places_reads_back_with_k_places(units, scale):
    """What a writer stored as a k-place decimal converts back to exactly that decimal."""
    exact = Decimal(units).scaleb(-scale)
    stored = float(exact)
    assert Decimal(values.decimal_text(stored, 30, scale)) == exact
    assert values.decimal_shape(stored)[1] <= scale


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_double_text_round_trips(number):
    assert float(values.double_text(number)) == number


def test_double_text_refuses_what_mysql_cannot_hold():
    with pytest.raises(ValueConflict):
        values.double_text(float("inf"))
    with pytest.raises(ValueConflict):
        values.double_text(2 ** 60 + 1)


@pytest.mark.parametrize("text, expected", [
    ("2020-03-01T00:00:00", "2020-03-01 00:00:00.000000"),
    ("2020-03-01 12:34:56.123456", "2020-03-01 12:34:56.123456"),
    ("2020-03-01 12:34:56.5", "2020-03-01 12:34:56.500000"),
    ("2020-03-01T10:00:00Z", "2020-03-01 10:00:00.000000"),
    ("2020-03-01T10:00:00+02:00", "2020-03-01 08:00:00.000000"),
    ("2021-06-30T23:59:59.000001-0130", "2021-07-01 01:29:59.000001"),
    ("2020-03-01", "2020-03-01 00:00:00.000000"),
    ("2020-03-01 10:00:00.123456000", "2020-03-01 10:00:00.123456"),
])
def test_datetime_text_forms(text, expected):
    assert values.datetime_text(text) == expected


@pytest.mark.parametrize("bad", ["2021-02-30 10:00:00", "not a date", 1600000000, 2459000.5,
                                 "2020-03-01 10:00:00.1234567", "0999-01-01 00:00:00",
                                 # in range as written, outside 1-9999 once converted to UTC
                                 "9999-12-31 23:30:00-01:00", "0001-01-01 00:30:00+01:00"])
def test_datetime_text_refuses_what_it_would_have_to_guess(bad):
    with pytest.raises(ValueConflict):
        values.datetime_text(bad)


def test_datetime_without_fraction_column_refuses_microseconds():
    assert values.datetime_text("2020-01-01 00:00:00", 0) == "2020-01-01 00:00:00"
    with pytest.raises(ValueConflict):
        values.datetime_text("2020-01-01 00:00:00.5", 0)


def test_dates_times_booleans_uuids():
    assert values.date_text("1999-12-31") == "1999-12-31"
    with pytest.raises(ValueConflict):
        values.date_text("1999-12-31 10:00:00")
    assert values.time_text("12:00") == "12:00:00.000000"
    assert [values.bool_text(v) for v in (1, 0, "t", "f", "TRUE", "no")] == ["1", "0", "1", "0", "1", "0"]
    with pytest.raises(ValueConflict):
        values.bool_text(2)
    assert values.uuid_text("0123456789abcdef0123456789abcdef") == "01234567-89ab-cdef-0123-456789abcdef"
    with pytest.raises(ValueConflict):
        values.uuid_text("0123456789ABCDEF0123456789ABCDEF")


def test_text_keeps_full_precision_of_numbers_and_refuses_bad_utf8():
    assert values.text_text(0.30000000000000004) == "0.30000000000000004"
    assert values.text_text(2 ** 63 - 1) == str(2 ** 63 - 1)
    with pytest.raises(ValueConflict):
        values.text_text(b"hi\xff")
    assert values.utf8_problem(b"ok \xf0\x9f\x98\x80") is None
    assert "invalid UTF-8" in values.utf8_problem(b"bad \xff")


def test_json_problem():
    assert values.json_problem('{"a": [1, null]}') is None
    assert values.json_problem("{not json") is not None
    assert values.json_problem('{"a": NaN}') is not None
