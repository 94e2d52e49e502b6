"""Untrusted identifiers are quoted or renamed deterministically; checksums tell apart what
differs."""
import sqlite3

import pytest

from mysql_common.identifiers import IdentifierError, mysql_safe_name, quote
from sqlite_to_mysql.checksums import digest_of_forms, row_bytes, sqlite_digest, sqlite_form
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


def test_row_forms_distinguish_null_empty_quotes_and_boundaries():
    assert row_bytes([None]) != row_bytes([""]) != row_bytes(["NULL"])
    assert row_bytes(["ab", "c"]) != row_bytes(["a", "bc"])
    assert row_bytes(["a'", "b"]) != row_bytes(["a", "'b"])
    assert row_bytes([1]) == row_bytes(["1"]) == row_bytes([b"1"])


ROWS = [(1, "x", None), (2, "it's", b"\x00\xff"), (3, "", "line\nbreak")]


def test_digest_is_order_independent_and_sensitive_to_one_byte():
    forms = [row_bytes(r) for r in ROWS]
    assert digest_of_forms(forms) == digest_of_forms(forms[::-1])
    changed = [row_bytes(r) for r in ROWS[:2]] + [row_bytes((3, "", "line\nbreaK"))]
    assert digest_of_forms(changed) != digest_of_forms(forms)
    assert digest_of_forms(forms[:2]) != digest_of_forms(forms)


def test_sqlite_builds_the_same_forms_as_python():
    """The SQLite side is pure SQL; the Python side serves values only Python can canonicalize."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (a, b, c)")
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", ROWS[::-1])
    expected = digest_of_forms([row_bytes(r) for r in ROWS])
    for may_hold_nul in ([True, True, True], [False, True, True], [False, False, True]):
        form = sqlite_form(["a", "CAST(b AS BLOB)", "CAST(c AS BLOB)"], may_hold_nul)
        assert sqlite_digest(conn, form, "t", "1", ()) == expected
    assert sqlite_digest(conn, sqlite_form(["a"], [False]), "t", "0", ()) == digest_of_forms([])


def test_printf_is_kept_away_from_values_that_may_hold_a_nul_byte():
    """printf('%Q') stops at a NUL: a target that lost what follows one would look equal."""
    conn = sqlite3.connect(":memory:")
    assert conn.execute("SELECT printf('%Q', CAST(x'610062' AS TEXT))").fetchone()[0] == "'a'"
    conn.execute("CREATE TABLE t (v)")
    conn.execute("INSERT INTO t VALUES (x'610062')")
    got = sqlite_digest(conn, sqlite_form(["CAST(v AS BLOB)"], [True]), "t", "1", ())
    assert got == digest_of_forms([row_bytes([b"a\x00b"])]) != digest_of_forms([row_bytes([b"a"])])
