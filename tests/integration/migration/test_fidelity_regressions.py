"""Fixed cases of the fidelity fuzzer: every class of values it found, each with the smallest
database that showed it, checked with the same contract (tests/support/fidelity.py): under
each policy, either the preflight names the values before the target exists or every value
reads back from MySQL equivalent to what SQLite held; never a copy-time error or a
verification DIFF, and a blocked run suggests only policies that let it through.

They run against whatever server MYSQL_URL names (the MariaDB on 3306 here; MySQL 8.4 in
the Docker check of tests/deploy/test_mysql84_fidelity.py).
"""
from __future__ import annotations

import pytest

from support import fidelity
from support.fidelity import Column, Database, Table, TextBytes
from support.migrate import migrate

pytestmark = pytest.mark.integration


def holds(db: Database, params, tmp_path, method: str = "load_data") -> list[str]:
    path = fidelity.build(tmp_path / "source.sqlite3", db)
    return fidelity.check_contract(path, params, tmp_path, method=method)


def test_a_rowid_at_the_largest_bigint_leaves_the_counter_where_sqlite_has_it(mysql_params, tmp_path):
    """An INTEGER PRIMARY KEY holding 2^63-1: the counter cannot go above it (MySQL, like
    SQLite with AUTOINCREMENT, then refuses new rows without an id); no overflow at finalize."""
    db = Database([Table("t0", [Column("c0", "")], "alias", rows=[[2 ** 63 - 1, 0], [-5, 1]])])
    assert not holds(db, mysql_params, tmp_path)


def test_an_integer_key_at_the_top_of_int_gets_a_type_that_holds_the_next_id(
        mysql_params, tmp_path, new_database, mysql_connect):
    """The next id SQLite would issue (2^31) must fit the column, or the application's next
    insert fails on MySQL only."""
    db = Database([Table("t0", [Column("c0", "TEXT")], "alias", rows=[[2 ** 31 - 1, "a"]])])
    assert not holds(db, mysql_params, tmp_path)
    database = new_database("next_id")
    migrate(tmp_path / "source.sqlite3", database, mysql_params, tmp_path)
    conn = mysql_connect(database)
    cur = conn.cursor()
    cur.execute("INSERT INTO t0 (c0) VALUES ('b')")
    assert cur.lastrowid == 2 ** 31


def test_invalid_utf8_text_in_a_typed_column_is_named_not_a_crash(mysql_params, tmp_path):
    """Text that is not UTF-8, in a column whose checks run in Python (dates, numbers): the
    preflight reads it as bytes and names it."""
    db = Database([Table("t0", [Column("c0", "TIMESTAMP"), Column("c1", "INTERVAL")], "none", rows=[
        [TextBytes(b"\xed\xa0\x80"), TextBytes(b"hi\xff!")], ["2020-01-01 10:00:00", 5]])])
    assert not holds(db, mysql_params, tmp_path)


@pytest.mark.parametrize("value", [7, 9007199254740993, 0.1 + 0.2, -0.0, 9.223372036854776e18])
def test_numbers_in_a_blob_column_are_kept_as_their_exact_text(mysql_params, tmp_path, value):
    """A BLOB column holding numbers as well as bytes: the numbers are stored as the bytes of
    their shortest exact text (as text columns store them), under every policy."""
    db = Database([Table("t0", [Column("c0", "BLOB"), Column("c1", "")], "none", rows=[
        [b"\x00\xff", value], [value, b"raw"]])])
    assert not holds(db, mysql_params, tmp_path)
