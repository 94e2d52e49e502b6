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


LONG_KEYS_ON_MYSQL = "MySQL enforces no UNIQUE key over longer values"


def on_mysql_blocked_everywhere(db: Database, params, tmp_path, mysql_connect) -> bool:
    """MySQL has no long unique key: there the preflight blocks under every policy, says why,
    and offers no policy. True when the server is MySQL (and that held)."""
    if fidelity.server_flavor(mysql_connect()) != "mysql":
        return False
    (tmp_path / "source.sqlite3").unlink(missing_ok=True)
    path = fidelity.build(tmp_path / "source.sqlite3", db)
    for policy in ("fail", "widen", "quarantine"):
        outcome = fidelity.run_policy(path, params, policy, "insert", tmp_path)
        assert outcome.blocked and LONG_KEYS_ON_MYSQL in outcome.blocked and not outcome.target_touched
        assert "no on_type_conflict setting lets the run past every problem above" in outcome.blocked
    return True


def holds(db: Database, params, tmp_path, method: str = "load_data") -> list[str]:
    (tmp_path / "source.sqlite3").unlink(missing_ok=True)
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


def test_a_composite_primary_key_null_in_every_row_keeps_sqlites_meaning(
        mysql_params, tmp_path, new_database, mysql_connect):
    """SQLite lets a non-INTEGER primary key of a rowid table hold NULL (a documented legacy
    quirk; a reference database has two key columns NULL in all ~24k rows). MySQL gets what
    keeps SQLite's meaning: a UNIQUE key on those columns, where NULLs stay distinct, and the
    rowid as the row key; the preflight reports it, under every policy, without blocking."""
    rows = [[None, None, f"row {i}"] for i in range(40)] + [["a", 1, "keyed"], ["a", None, "half"]]
    db = Database([Table("pairs", [Column("c0", "TEXT"), Column("c1", "INT"), Column("c2", "TEXT")], "pk",
                         key_columns=["c0", "c1"], rows=rows)])
    assert not holds(db, mysql_params, tmp_path)
    database = new_database("null_key")
    result = migrate(tmp_path / "source.sqlite3", database, mysql_params, tmp_path, on_type_conflict="widen")
    assert result["status"] == "OK" and result["tables"][0]["target_rows"] == 42
    cur = mysql_connect(database).cursor()
    cur.execute("SELECT INDEX_NAME, NON_UNIQUE, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM "
                "information_schema.STATISTICS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 'pairs' GROUP BY 1, 2",
                (database,))
    indexes = {name: (non_unique, cols) for name, non_unique, cols in cur.fetchall()}
    assert indexes["PRIMARY"] == (0, "_sqlite_rowid")
    assert (0, "c0,c1") in indexes.values()
    with pytest.raises(Exception, match="Duplicate"):  # still a key where both parts are set
        cur.execute("INSERT INTO pairs (c0, c1, c2) VALUES ('a', 1, 'again')")


def test_null_in_a_primary_key_is_reported_by_the_preflight(tmp_path):
    from mysql_common.session import ServerInfo
    from sqlite_to_mysql.planner import Settings, build_plan
    from sqlite_to_mysql.source import open_source
    from sqlite_to_mysql.sqlite_functions import register

    db = Database([Table("pairs", [Column("c0", "TEXT"), Column("c1", "INT")], "pk", key_columns=["c0", "c1"],
                         rows=[[None, None], [None, None], ["x", 2]])])
    path = fidelity.build(tmp_path / "source.sqlite3", db)
    conn = register(open_source(path))
    for policy in ("fail", "widen", "quarantine"):
        plan = build_plan(conn, source_path=str(path), database="d",
                          server=ServerInfo("mariadb", (10, 11, 0), "10.11.0-MariaDB"),
                          settings=Settings(on_type_conflict=policy))
        assert not plan.blockers, plan.blockers
        warning = next(w for w in plan.warnings if "NULL" in w)
        assert "pairs" in warning and "2 rows" in warning and "UNIQUE" in warning, warning
        tp = plan.table("pairs")
        assert tp.hidden_rowid and [c.nullable for c in tp.columns] == [True, True]
        assert [(i.columns, i.unique) for i in tp.indexes] == [(["c0", "c1"], True)]
    conn.close()


def test_keys_that_are_not_utf8_text_are_read_as_bytes(mysql_params, tmp_path):
    """A primary key part holding text that is not UTF-8 (in a BLOB column, where it is
    allowed): every phase that reads keys reads them as their bytes."""
    db = Database([Table("t0", [Column("c0", "BLOB"), Column("c1", "VARBINARY(8)")], "pk",
                         key_columns=["c1", "c0"], unique=[["c1", "c0"]], rows=[
                             [1.7976931348623157e308, 9.223372036854776e18], [b"a", "87ee407c"],
                             [TextBytes(b"\xf3\xf1"), "\u00ddV\u00f3"], [-1.5e218, '{"a":1,"a":2}']])])
    assert not holds(db, mysql_params, tmp_path)


def test_a_widened_column_is_measured_for_its_new_type(mysql_params, tmp_path):
    """A DECIMAL column with a 256-byte BLOB in a unique key: widening makes it bytes, sized
    from a profile of every value, not from the decimal checks that were run first."""
    db = Database([Table("t0", [Column("c0", "NUMERIC(5,3)"), Column("c1", "")], "none", unique=[["c0"]], rows=[
        [bytes(range(256)), 1], ["1.", 2], [-900, 3], [float("-inf"), 4]])])
    assert not holds(db, mysql_params, tmp_path, method="insert")


def test_a_copy_that_fails_leaves_no_reader_on_the_source_connection(tmp_path, new_database, mysql_params):
    """When MySQL refuses a batch, the copy's reader thread (still reading the next batch on
    the same SQLite connection) is finished before the error reaches the caller, who then
    closes that connection: a query running on a closed connection crashes the process."""
    import threading

    from sqlite_to_mysql import migration
    from sqlite_to_mysql.copy import copy_table
    from sqlite_to_mysql.errors import TypeConflictError
    from sqlite_to_mysql.planner import Settings
    from sqlite_to_mysql.source import open_source
    from tools.bench import connector

    db = Database([Table("t0", [Column("c0", "TEXT")], "alias", rows=[[i, f"v{i % 7}"] for i in range(1, 5001)])])
    path = fidelity.build(tmp_path / "source.sqlite3", db)
    database = new_database("reader")
    src, server = open_source(path), connector(mysql_params)()
    plan = migration.preflight(src, source_path=str(path), database=database,
                              server=migration.server_info(server), settings=Settings(batch_rows=100))
    migration.setup_target(server, connector(mysql_params, database), plan, migration.server_info(server), run_id="r")
    dst = connector(mysql_params, database)()
    dst.cursor().execute("ALTER TABLE t0 ADD UNIQUE KEY (c0)")  # the data violates it from row 8 on
    with pytest.raises(TypeConflictError):
        copy_table(src, dst, plan.table("t0"), run_id="r", plan_fingerprint=plan.fingerprint, batch_rows=100)
    assert not [t for t in threading.enumerate() if t.name.startswith("read-")]
    src.close()
    dst.close()
    server.close()


def test_key_values_distinct_only_by_storage_class_are_named_and_quarantinable(mysql_params, tmp_path):
    """0 (integer) and '0' (text) are two keys in SQLite and one in any MySQL column: the
    preflight names them (under fail and widen: no type keeps them apart, so widen is not
    offered), and quarantine sets every row of such a group aside. Before: the copy failed
    with a duplicate key."""
    db = Database([Table("t0", [Column("c0", "VARCHAR(10)"), Column("c1", "")], "pk", key_columns=["c0", "c1"],
                         rows=[["0", "0.0"], ["", 0], ["0", 0], ["7", "1"], ["0", "0"], ["x", b"0"]])])
    assert not holds(db, mysql_params, tmp_path)
    outcome = fidelity.run_policy(tmp_path / "source.sqlite3", mysql_params, "fail", "load_data", tmp_path)
    assert "KEY_COLLISION t0 primary key (c0, c1): 2 rows in 1 groups" in outcome.blocked, outcome.blocked
    assert "'widen'" not in outcome.blocked and "'quarantine'" in outcome.blocked
    quarantined = fidelity.run_policy(tmp_path / "source.sqlite3", mysql_params, "quarantine", "insert", tmp_path)
    assert quarantined.conflicts == {("t0", "primary key (c0, c1)"): 2}, quarantined.conflicts


def test_one_instant_written_two_ways_in_a_unique_key_is_kept_apart_by_widen(mysql_params, tmp_path):
    """'…10:00:00Z' and '…10:00:00' are one DATETIME: widen keeps the column as text, where
    they stay two values; fail offers it."""
    db = Database([Table("t0", [Column("at", "DATETIME"), Column("v", "TEXT")], "alias", unique=[["at"]], rows=[
        [1, "2020-01-01 10:00:00Z", "a"], [2, "2020-01-01 10:00:00", "b"], [3, "2020-01-02", "c"]])])
    assert not holds(db, mysql_params, tmp_path)
    outcome = fidelity.run_policy(tmp_path / "source.sqlite3", mysql_params, "fail", "load_data", tmp_path)
    assert "KEY_COLLISION t0 unique index t0_u0 (at)" in outcome.blocked and "'widen'" in outcome.blocked


@pytest.mark.parametrize("key", ["alias", "none"])
def test_id_zero_survives_a_load_that_decodes_other_columns(mysql_params, tmp_path, key):
    """MariaDB's LOAD DATA with a SET clause (hex-decoded columns: BLOBs, text with NUL)
    renumbers an AUTO_INCREMENT value 0 despite NO_AUTO_VALUE_ON_ZERO; the id goes through a
    variable too. Before: id 0 arrived as 1 (or collided with an existing 1) and only the
    verification noticed."""
    rows = [[0, "nul\x00inside", "a"], [5, None, "x"], [None, b"\x00\xff", "y"]]
    if key == "none":
        rows = [r[1:] for r in rows]
    db = Database([Table("t1", [Column("c0", "ANY"), Column("c2", "ANY")], key, rows=rows)])
    if key == "none":  # rowid 0, set explicitly
        path = fidelity.build(tmp_path / "source.sqlite3", db)
        import sqlite3
        with sqlite3.connect(path) as conn:
            conn.execute("UPDATE t1 SET rowid = 0 WHERE c2 = 'a'")
        assert not fidelity.check_contract(path, mysql_params, tmp_path, method="load_data")
    else:
        assert not holds(db, mysql_params, tmp_path)


@pytest.mark.parametrize("method", ["load_data", "insert"])
def test_a_without_rowid_key_of_bytes_and_raw_text_pages_and_resumes(mysql_params, tmp_path, method):
    """A WITHOUT ROWID table is copied in key order, each batch resuming after the last key:
    keys that are BLOBs or text that is not UTF-8 are read, kept in the checkpoint (JSON)
    and bound back as the very values SQLite holds. Before: 'bytes is not JSON
    serializable' and 'Could not decode to UTF-8'."""
    rows = [[b"\x88\x89"], [3.3e-167], ["ss"], [TextBytes(b"\xf4\x90\x80\x80")], [TextBytes(b"\xed\xa0\x80")],
            [b"\xc7\x95"], [None], ["ec861b5b"]]
    db = Database([Table("t0", [Column("c0", "")], "without_rowid", key_columns=["c0"], unique=[["c0"]], rows=rows),
                   Table("t1", [Column("c0", "BOOLEAN"), Column("c1", "TEXT")], "without_rowid", key_columns=["c0"],
                         rows=[[TextBytes(b"\xf4\x90\x80\x80"), "x"], [b"\xae\xc4", "y"], ["NaN", "z"], [1, "w"]])])
    assert not holds(db, mysql_params, tmp_path, method=method)


def test_raw_text_keys_page_across_batches(mysql_params, tmp_path, new_database, mysql_connect):
    rows = [[TextBytes(b"k\xff" + i.to_bytes(2, "big")), i] for i in range(150)] + \
        [[f"k{i:03d}", i] for i in range(150)] + [[i.to_bytes(2, "big"), i] for i in range(150)]
    db = Database([Table("t0", [Column("k", ""), Column("v", "INTEGER")], "without_rowid", key_columns=["k"],
                         rows=rows)])
    path = fidelity.build(tmp_path / "source.sqlite3", db)
    for method in ("load_data", "insert"):
        database = new_database("pages")
        result = migrate(path, database, mysql_params, tmp_path, method=method, batch_rows=100,
                         on_type_conflict="widen")
        assert result["status"] == "OK" and result["tables"][0]["target_rows"] == 450
        assert fidelity.check_roundtrip(path, mysql_connect(database)).ok


def test_decimals_wider_than_python_default_precision_are_exact(mysql_params, tmp_path):
    """DECIMAL(p,s) chosen from data with 29 decimal places: 1.5 and 255 need 30+ digits
    there, more than Python's default decimal context (28) holds, so they were refused as
    'does not fit' — named by the preflight for some and only at copy time for integers."""
    db = Database([Table("t0", [Column("c0", "NUMERIC"), Column("c1", "DECIMAL")], "none", rows=[
        [1e-29, 255], [1.5, "12.125"], [255, 3.0000000000000004], [None, 1e-29]])])
    assert not holds(db, mysql_params, tmp_path)
    outcome = fidelity.run_policy(tmp_path / "source.sqlite3", mysql_params, "fail", "load_data", tmp_path)
    assert outcome.status == "OK", outcome.blocked or outcome.error


@pytest.mark.parametrize("value", ["x" * 1000, "z" * 70000, '{"k": "' + "j" * 900 + '"}'])
def test_a_primary_key_longer_than_innodb_can_key_becomes_a_hash_unique_key(mysql_params, tmp_path, value,
                                                                            mysql_connect):
    """A rowid table whose primary key holds text longer than InnoDB's 3072-byte key limit
    (768 characters): like a NULL key, it becomes a UNIQUE key (MariaDB's long unique,
    USING HASH, exact over the whole value) with the rowid as row key. Before: blocked
    under every policy, with advice (shorter types) that could not work."""
    json = value[0] == "{"
    others = ['"short"', value[:-1] + ', "x": 1}'] if json else ["short", value + "!"]
    db = Database([Table("t0", [Column("k", "TEXT CHECK (json_valid(k))" if json else "TEXT"), Column("v", "")], "pk",
                         key_columns=["k"], rows=[[value, 1], [others[0], 2], [others[1], 3]])])
    if on_mysql_blocked_everywhere(db, mysql_params, tmp_path, mysql_connect):
        return
    assert not holds(db, mysql_params, tmp_path)
    outcome = fidelity.run_policy(tmp_path / "source.sqlite3", mysql_params, "fail", "load_data", tmp_path)
    assert outcome.status == "OK", outcome.blocked or outcome.error


def test_a_without_rowid_key_longer_than_innodb_can_key_gets_a_generated_primary_key(mysql_params, tmp_path,
                                                                                    mysql_connect):
    db = Database([Table("t0", [Column("k", "TEXT"), Column("n", "INTEGER"), Column("v", "")], "without_rowid",
                         key_columns=["k", "n"], rows=[["x" * 1000, 1, "a"], ["x" * 1000, 2, "b"], ["y", 1, "c"]])])
    if on_mysql_blocked_everywhere(db, mysql_params, tmp_path, mysql_connect):
        return
    assert not holds(db, mysql_params, tmp_path)
    assert not holds(db, mysql_params, tmp_path, method="insert")


REFUSED_UUID = "8f5cc4975b84af27614305e25a31ac5e"  # any 128 bits to Django; MariaDB's UUID type refuses it


def test_uuids_the_servers_uuid_type_refuses_are_named_by_the_preflight(mysql_params, tmp_path, mysql_connect):
    """Django's UUIDField takes any 128-bit value; MariaDB's UUID type refuses some (here
    version nibble 'a'). The server itself is asked, in the preflight: the value is named
    with the policies that let the run through. Before: the copy failed at its first batch
    (warning 1292), after the target had been set up."""
    server = fidelity.server_flavor(mysql_connect())
    if server != "mariadb":
        pytest.skip("MySQL has no UUID type: Django's UUIDField stays char(32) there")
    db = Database([Table("shop_order", [Column("number", "char(32)"), Column("note", "TEXT")], "alias", rows=[
        [1, "8f5cc4975b844f27814305e25a31ac5e", "rfc"], [2, REFUSED_UUID, "not rfc"], [3, None, "none"]])],
        django=True)
    assert not holds(db, mysql_params, tmp_path)
    outcome = fidelity.run_policy(tmp_path / "source.sqlite3", mysql_params, "fail", "load_data", tmp_path)
    assert not outcome.target_touched
    assert f"TYPE_CONFLICT shop_order.number (UUID): 1 values do not fit; first at key {{'id': 2}}: " \
           f"'{REFUSED_UUID}'" in outcome.blocked, outcome.blocked
    assert "'widen'" in outcome.blocked and "'quarantine'" in outcome.blocked


@pytest.mark.parametrize("document", ["[" * 32 + "]" * 32, '{"a": "\\ud800"}', "1."])
def test_json_validity_is_the_servers(mysql_params, tmp_path, document):
    """MariaDB refuses JSON nested 32 deep and lone surrogate escapes, which SQLite and
    Python accept, and accepts '1.', which Python refuses: the server decides. Before: a
    CHECK constraint failure at copy time, or a conflict the server would not have had."""
    db = Database([Table("t0", [Column("doc", "TEXT CHECK (json_valid(doc) OR 1)"), Column("n", "")], "alias",
                         rows=[[1, '{"ok": [1, 2]}', 1], [2, document, 2]])])
    assert not holds(db, mysql_params, tmp_path)
    if document == "1.":  # the server takes it: no conflict at all
        outcome = fidelity.run_policy(tmp_path / "source.sqlite3", mysql_params, "fail", "load_data", tmp_path)
        assert outcome.status == "OK", outcome.blocked


def test_json_in_a_unique_key_keeps_documents_that_differ_by_trailing_space(mysql_params, tmp_path, mysql_connect):
    """A JSON column in a unique key: the documents '"a"' and '"a" ' are distinct in SQLite;
    MariaDB's JSON collation (utf8mb4_bin) pads, so the key collation is used instead."""
    db = Database([Table("t0", [Column("doc", "JSON"), Column("n", "")], "alias", unique=[["doc"]], rows=[
        [1, '"a"', 1], [2, '"a" ', 2], [3, '{"b": 1}', 3]])])
    if on_mysql_blocked_everywhere(db, mysql_params, tmp_path, mysql_connect):
        return
    assert not holds(db, mysql_params, tmp_path)


def test_a_table_of_one_integer_column_loads(mysql_params, tmp_path):
    """A WITHOUT ROWID table whose only column is an integer key: its LOAD DATA lines are
    text too. Before: the copy crashed joining integers."""
    db = Database([Table("t1", [Column("c0", "NUMERIC")], "without_rowid", key_columns=["c0"],
                         rows=[[1000000.0], [0.0], [-7]])])
    assert not holds(db, mysql_params, tmp_path)


def test_an_integer_override_on_reals_that_hold_integers(mysql_params, tmp_path, new_database, mysql_connect):
    """REAL values that are whole numbers, in a column overridden to an integer type, arrive
    as those integers (not as '3.0', which MySQL truncates with a warning)."""
    import sqlite3
    path = tmp_path / "source.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, r REAL)")
        conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, 3.0), (2, -1e15), (3, None)])
    for method in ("load_data", "insert"):
        database = new_database("override")
        result = migrate(path, database, mysql_params, tmp_path, method=method, type_overrides={"t.r": "BIGINT"})
        assert result["status"] == "OK"
        cur = mysql_connect(database).cursor()
        cur.execute("SELECT id, r FROM t ORDER BY id")
        assert cur.fetchall() == ((1, 3), (2, -10 ** 15), (3, None))


@pytest.mark.parametrize("method", ["load_data", "insert"])
def test_values_of_other_storage_classes_in_a_json_column_are_asked_of_the_server_as_text(
        mysql_params, tmp_path, method):
    """A JSON column holding a BLOB (b'a'), numbers and an infinity: each becomes text on its
    way to MySQL ('a', '7', 'inf'), and that text is what the server is asked about. Before:
    the CHECK constraint refused 'a' at copy time."""
    db = Database([Table("t0", [Column("doc", "JSON")], "alias", rows=[
        [1, b"a"], [2, 7], [3, float("inf")], [4, 0.125], [5, b"[1, 2]"], [6, '{"ok": true}']])])
    assert not holds(db, mysql_params, tmp_path, method=method)


def test_a_row_quarantined_by_the_catch_up_keeps_its_reals_exact(mysql_params, tmp_path):
    """The cutover's catch-up read quarantined rows with CAST(x AS BLOB), so a REAL reached
    the quarantine as its Python bytes repr ("b'0.3'": digits lost, not JSON). Copy and
    catch-up now read values through one module; the rewritten row is byte-exact again."""
    db = Database([Table("t0", [Column("n", "INTEGER"), Column("r", "REAL")], "alias", rows=[
        [1, "not a number", 0.1 + 0.2], [2, 5, 1e-300], [3, "x", -0.0], [4, 6, 2.5]])])
    path = fidelity.build(tmp_path / "source.sqlite3", db)
    assert not fidelity.check_catch_up(path, mysql_params, "quarantine")


def test_ids_exhausted_by_a_quarantined_row_stay_exhausted(mysql_params, tmp_path):
    """SQLite issued id 2^63 - 1 to a row the quarantine sets aside: MySQL's counter must
    still stand past it (2^63: exhausted), as the schema check requires, not at 2^63 - 1."""
    db = Database([Table("t1", [Column("c1", "POINT")], "alias", rows=[
        [9223372036854775806, 1], [None, b"not a number"], [5, 2]])])
    assert not holds(db, mysql_params, tmp_path, method="insert")


def test_numbers_no_numeric_type_holds_together_are_widened_to_their_text(mysql_params, tmp_path):
    """2^53 + 1 (no DOUBLE holds it) beside 1e-300 (no DECIMAL holds it): widen keeps both as
    their exact text instead of stopping."""
    db = Database([Table("t0", [Column("n", "NUMERIC")], "alias", rows=[[1, 2 ** 53 + 1], [2, 1e-300], [3, 0.5]])])
    assert not holds(db, mysql_params, tmp_path)
    outcome = fidelity.run_policy(tmp_path / "source.sqlite3", mysql_params, "widen", "load_data", tmp_path)
    assert outcome.status == "OK", outcome.blocked


@pytest.mark.parametrize("method", ["load_data", "insert"])
def test_a_value_mysql_changes_with_only_a_note_fails_the_batch(tmp_path, new_database, mysql_params, method):
    """Strict sql_mode makes most changes errors, but an INSERT rounds a DECIMAL with only a
    note (1265). Should a value reach MySQL in a narrower column than planned (here the
    column is narrowed behind the plan's back), the batch fails and names the row, on both
    bulk paths; before, the INSERT path rounded silently and only verification noticed."""
    from sqlite_to_mysql import migration
    from sqlite_to_mysql.copy import copy_table
    from sqlite_to_mysql.errors import TypeConflictError
    from sqlite_to_mysql.planner import Settings
    from sqlite_to_mysql.source import open_source
    from tools.bench import connector

    db = Database([Table("t0", [Column("price", "DECIMAL(6,2)")], "alias", rows=[[1, "1.25"], [2, "2.50"]])])
    path = fidelity.build(tmp_path / "source.sqlite3", db)
    database = new_database("notes")
    src, server = open_source(path), connector(mysql_params)()
    info = migration.server_info(server)
    plan = migration.preflight(src, source_path=str(path), database=database, server=info, settings=Settings())
    migration.setup_target(server, connector(mysql_params, database), plan, info, run_id="r")
    dst = connector(mysql_params, database)()
    dst.cursor().execute("ALTER TABLE t0 MODIFY price DECIMAL(6,1) NOT NULL")
    with pytest.raises(TypeConflictError, match="1265"):
        copy_table(src, dst, plan.table("t0"), run_id="r", plan_fingerprint=plan.fingerprint, batch_rows=100,
                   method=method)
    for conn in (src, dst, server):
        conn.close()


def test_text_that_is_not_utf8_after_a_nul_byte_is_seen(mysql_params, tmp_path):
    """SQLite's GLOB stops at a NUL byte, so '\\x00\\xe0' looked like plain ASCII to the
    conflict scan: widen chose TEXT, and MySQL refused the bytes at copy time."""
    db = Database([Table("t1", [Column("c2", "NUMERIC"), Column("c3", "TEXT")], "alias", rows=[
        [1, TextBytes(b"\x00\xe0"), TextBytes(b"ok\x00\xff")], [2, 5, "fine"], [3, "7x", "nul\x00inside"]])])
    assert not holds(db, mysql_params, tmp_path)


def test_nulls_in_a_converted_unique_key_are_no_collision(mysql_params, tmp_path):
    """The check for values that become one in MySQL grouped NULLs together, so two NULLs in a
    unique DATETIME column (distinct in SQLite and in MySQL) blocked the run as a collision."""
    db = Database([Table("t0", [Column("at", "DATETIME")], "alias", unique=[["at"]], rows=[
        [1, None], [2, None], [3, "2024-01-01 10:00:00"]])])
    assert not holds(db, mysql_params, tmp_path)
    outcome = fidelity.run_policy(tmp_path / "source.sqlite3", mysql_params, "fail", "load_data", tmp_path)
    assert outcome.status == "OK", outcome.blocked


@pytest.mark.parametrize("method", ["load_data", "insert"])
def test_a_refused_json_document_with_a_nul_is_quarantined(mysql_params, tmp_path, method):
    """The quarantine matched the server's refusals through SQLite's JSON functions, which cut
    a string at a NUL byte: a refused document holding one was not set aside, and the CHECK
    constraint refused it at copy time."""
    db = Database([Table("t0", [Column("doc", "JSON"), Column("n", "")], "alias", rows=[
        [1, "0e\x000\t\u00e1'\u00e1", 1], [2, "[1, 2]", 2], [3, " a", 3]])])
    assert not holds(db, mysql_params, tmp_path, method=method)


def test_the_catch_up_keeps_quarantined_key_groups_in_step(mysql_params, tmp_path):
    """Rows quarantined as a key group (0 and '0' in one unique key) that the application
    deletes or rewrites during capture: the catch-up updates the quarantine for them as it
    does for rows with a bad value."""
    db = Database([Table("t0", [Column("k", ""), Column("v", "TEXT")], "alias", unique=[["k"]], rows=[
        [1, 0, "a"], [2, "0", "b"], [3, 1, "c"], [4, "x", "d"], [5, "", "e"], [6, b"", "f"]])])
    path = fidelity.build(tmp_path / "source.sqlite3", db)
    assert not fidelity.check_catch_up(path, mysql_params, "quarantine")


def test_an_offset_time_that_leaves_year_9999_in_utc_is_named_by_the_preflight(mysql_params, tmp_path):
    """'9999-12-31 23:30:00-01:00' is 10000-01-01 in UTC: Python's datetime overflows there.
    The preflight names it as out of DATETIME's range; the copy never meets it."""
    db = Database([Table("t0", [Column("c0", "DATETIME"), Column("c1", "")], "pk", key_columns=["c0"],
                         unique=[["c0"]], index=[["c0"]], rows=[["9999-12-31 23:30:00-01:00", 0]])])
    for method in ("load_data", "insert"):
        assert not holds(db, mysql_params, tmp_path, method)


def test_boolean_words_and_numbers_that_become_one_value_in_a_unique_key_are_named(mysql_params, tmp_path):
    """0 and 'false' are two values to SQLite and one (0) in MySQL's boolean column: a unique
    key over them is a collision the preflight names, never a duplicate-key error mid-copy."""
    db = Database([Table("t0", [Column("c0", "BOOLEAN")], "alias", unique=[["c0"]], index=[["c0"]],
                         rows=[[None, 0], [None, "false"]])])
    for method in ("load_data", "insert"):
        assert not holds(db, mysql_params, tmp_path, method)
    # with a value beside them that is no boolean: under `fail` the collision is named too, as
    # `quarantine` sets it aside
    db.tables[0].rows.append([None, -1])
    for method in ("load_data", "insert"):
        assert not holds(db, mysql_params, tmp_path, method)


def test_widening_a_primary_key_column_never_offers_a_type_too_long_for_a_key(mysql_params, tmp_path):
    """A DATETIME primary key holding 1,000 characters of text: VARCHAR(1000) would hold the
    value but cannot be InnoDB's primary key (4,000 bytes > 3,072). `fail` must not offer a
    `widen` that then fails at CREATE TABLE."""
    db = Database([Table("t0", [Column("c0", ""), Column("c1", ""), Column("c2", "DATETIME"), Column("c3", "")],
                         "pk", key_columns=["c2"], rows=[[0, 0, "y" * 1000, None]])])
    for method in ("load_data", "insert"):
        assert not holds(db, mysql_params, tmp_path, method)


def test_a_datetime_in_year_0_is_named_not_loaded(mysql_params, tmp_path):
    """'0000-01-01 00:00:00' has DATETIME's shape but a year before 1000: MariaDB would store it
    and drivers read it back as NULL (Python has no year 0). The preflight names it."""
    db = Database([Table("t0", [Column("c0", "DATETIME")], "alias", index=[["c0"]],
                         rows=[[None, "0000-01-01 00:00:00"]])])
    for method in ("load_data", "insert"):
        assert not holds(db, mysql_params, tmp_path, method)


def test_json_text_that_sqlite_reads_as_valid_up_to_a_nul_is_asked_of_the_server_whole(mysql_params, tmp_path):
    """'0' followed by a NUL byte: SQLite's json_valid() stops at the NUL and says valid, the
    server sees the whole string and refuses it. The preflight must ask the server about it,
    or the copy meets the CHECK constraint mid-load."""
    db = Database([Table("t0", [Column("c0", ""), Column("c1", ""), Column("c2", ""), Column("c3", "JSON")], "pk",
                         key_columns=["c0"], unique=[["c0"]], index=[["c0"]], rows=[[0, 0, 0, "0\x00"]])])
    for method in ("load_data", "insert"):
        assert not holds(db, mysql_params, tmp_path, method)


def test_a_megabyte_value_rewritten_during_capture_arrives_by_catch_up(mysql_params, tmp_path):
    """A megabyte of text in a DATETIME column, widened, deleted and written again by the
    application during capture. (The application stand-in read the file through other
    connections while its write transaction held changes spilled to the file: "database is
    locked" in the test, not in the catch-up; it now reads first.)"""
    db = Database([Table("t0", [Column("c0", ""), Column("c1", "DATETIME")], "pk", key_columns=["c0"],
                         unique=[["c0"]], index=[["c1"]], rows=[[0, "m" * 1_000_000], [0, "0000-00-00"]]),
                   Table("t1", [Column("c0", "")], "alias", unique=[["c0"]], index=[["c0"]], rows=[])])
    path = fidelity.build(tmp_path / "source.sqlite3", db)
    assert not fidelity.check_catch_up(path, mysql_params, "widen")
