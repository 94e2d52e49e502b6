"""Untrusted identifiers are quoted or renamed deterministically; checksums tell apart what
differs."""
import pytest

from mysql_common.identifiers import IdentifierError, mysql_safe_name, quote
from sqlite_to_mysql.checksums import RowDigest, parse, row_bytes
from sqlite_to_mysql.source_schema import qi


def test_quote_doubles_backticks_and_refuses_invalid_names():
    assert quote("we`ird; DROP TABLE x") == "`we``ird; DROP TABLE x`"
    assert quote("select") == "`select`"
    for bad in ("", "x" * 65, "trailing ", "nul\x00", "emoji\U0001F600"):
        with pytest.raises(IdentifierError):
            quote(bad)


def test_safe_names_are_valid_deterministic_and_distinct():
    long_a, long_b = "a" * 80, "a" * 79 + "b"
    names = [mysql_safe_name(n) for n in (long_a, long_b, "trail ", "trail", "ok name.with dots")]
    assert all(len(n) <= 64 and not n.endswith(" ") for n in names)
    assert len(set(names)) == len(names)
    assert mysql_safe_name(long_a) == names[0]
    assert names[4] == "ok name.with dots"


def test_sqlite_quoting():
    assert qi('quote"d') == '"quote""d"'


def test_row_bytes_distinguish_null_empty_and_boundaries():
    assert row_bytes([None]) != row_bytes([""])
    assert row_bytes(["ab", "c"]) != row_bytes(["a", "bc"])
    assert row_bytes([1]) == row_bytes(["1"]) == row_bytes([b"1"])


def test_digest_is_order_independent_and_sensitive_to_one_byte():
    a, b = RowDigest(), RowDigest()
    for row in ([1, "x"], [2, "y"]):
        a.step(*row)
    for row in ([2, "y"], [1, "x"]):
        b.step(*row)
    assert parse(a.finalize()) == parse(b.finalize())
    c = RowDigest()
    for row in ([1, "x"], [2, "z"]):
        c.step(*row)
    assert parse(c.finalize()) != parse(a.finalize())
