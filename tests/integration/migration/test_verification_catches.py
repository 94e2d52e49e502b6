"""Verification after a correct copy: each kind of difference injected into the target is
found, named by its exact key and column, and fails the run with MIGRATION_DATA_LOSS; once
the target is put back, the same verification, rerun alone, is clean again."""
from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3

import pytest

from sqlite_to_mysql import migration
from sqlite_to_mysql.errors import MigrationDataLoss
from sqlite_to_mysql.source import open_source
from support.migrate import connector, migrate

pytestmark = pytest.mark.integration

ROWS = 1500  # more than one bisection leaf (256 rows): the narrowing itself is exercised
WORDS = ["red", "blue", "caf\u00e9", "\U0001F600"]


def build_items(path) -> dict[int, tuple]:
    """A Django-like table with every value kind the injections touch; returns the rows."""
    rng = random.Random(7)
    base = dt.datetime(2024, 1, 1, 8, 0, 0)
    rows = {}
    for i in range(1, ROWS + 1):
        rows[i] = (i, f"item {i} {rng.choice(WORDS)}",
                   f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}",
                   (base + dt.timedelta(seconds=rng.randint(0, 10**7), microseconds=rng.randint(0, 999999)))
                   .isoformat(sep=" "),
                   "".join(rng.choice("abcdefghij") for _ in range(8)),
                   None if i % 3 == 0 else f"note {i}",
                   bytes(rng.randrange(256) for _ in range(rng.randint(8, 40))))
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(60) NOT NULL, "
                 "price decimal(10, 2) NOT NULL, created_at DATETIME NOT NULL, code VARCHAR(8) NOT NULL, "
                 "note TEXT NULL, payload BLOB NOT NULL)")
    conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?)", rows.values())
    conn.commit()
    conn.close()
    return rows


def flip_one_byte(cur, key):
    cur.execute("SELECT payload FROM items WHERE id = %s", (key,))
    data = bytearray(cur.fetchone()[0])
    data[len(data) // 2] ^= 0x01
    cur.execute("UPDATE items SET payload = %s WHERE id = %s", (bytes(data), key))


# name -> (how to damage row `key` of the target, expected kind, expected column or None)
INJECTIONS = {
    "changed_text": (lambda cur, k: cur.execute("UPDATE items SET name = CONCAT(name, '!') WHERE id = %s", (k,)),
                     "values_differ", "name"),
    "decimal_cent_off": (lambda cur, k: cur.execute("UPDATE items SET price = price + 0.01 WHERE id = %s", (k,)),
                         "values_differ", "price"),
    "datetime_microsecond_off": (
        lambda cur, k: cur.execute("UPDATE items SET created_at = created_at + INTERVAL 1 MICROSECOND "
                                   "WHERE id = %s", (k,)), "values_differ", "created_at"),
    "case_only_change": (lambda cur, k: cur.execute("UPDATE items SET code = UPPER(code) WHERE id = %s", (k,)),
                         "values_differ", "code"),
    "deleted_row": (lambda cur, k: cur.execute("DELETE FROM items WHERE id = %s", (k,)),
                    "missing_in_target", None),
    "extra_row": (lambda cur, k: cur.execute(
        "INSERT INTO items (id, name, price, created_at, code, note, payload) "
        "SELECT %s, name, price, created_at, code, note, payload FROM items WHERE id = 1", (k,)),
        "extra_in_target", None),
    "null_became_empty_string": (lambda cur, k: cur.execute("UPDATE items SET note = '' WHERE id = %s", (k,)),
                                 "values_differ", "note"),
    "one_blob_byte_changed": (flip_one_byte, "values_differ", "payload"),
}


@pytest.fixture
def migrated(tmp_path, new_database, mysql_params):
    source = tmp_path / "items.sqlite"
    rows = build_items(source)
    database = new_database("verify")
    result = migrate(source, database, mysql_params, tmp_path, run_id="clean_copy")
    assert result["status"] == "OK"
    return source, database, rows


def verify_now(source, database, mysql_params) -> dict:
    """The verification alone, against both sides as they are now, with the stored plan."""
    src = open_source(source)
    dst = connector(mysql_params, database)()
    try:
        _run_id, plan = migration.stored_plan(dst)
        return migration.verify_all(src, dst, plan)
    finally:
        dst.close()
        src.close()


@pytest.mark.parametrize("injection", list(INJECTIONS))
def test_each_injected_difference_is_caught_by_key(injection, migrated, mysql_params, mysql_connect, tmp_path):
    """One damaged row in the target: verification reports exactly that key (and the column
    whose value differs, source and target side by side), the report files and the raised
    error carry MIGRATION_DATA_LOSS; restoring the row makes the rerun clean."""
    source, database, rows = migrated
    damage, kind, column = INJECTIONS[injection]
    # a row in the middle, with a NULL note (every third row), or a new key for the extra row
    key = ROWS + 5 if injection == "extra_row" else next(k for k in range(ROWS // 2, ROWS) if rows[k][5] is None)
    conn = mysql_connect(database)
    cur = conn.cursor()
    cur.execute("SELECT * FROM items WHERE id = %s", (key,))
    original = cur.fetchone()
    damage(cur, key)
    assert cur.rowcount == 1
    conn.commit()

    result = verify_now(source, database, mysql_params)
    assert result["status"] == MigrationDataLoss.code
    (items,) = [t for t in result["tables"] if t["table"] == "items"]
    assert not items["ok"] and items["checksum"] == "DIFF"
    assert items["differing_rows"] == 1
    (difference,) = items["differences"]
    assert difference["key"] == {"id": key}
    assert difference["kind"] == kind
    if column:
        assert set(difference["columns"]) == {column}
        sides = difference["columns"][column]
        assert sides["source"] != sides["target"]
    if kind == "missing_in_target":
        assert items["target_rows"] == ROWS - 1
    if kind == "extra_in_target":
        assert items["target_rows"] == ROWS + 1

    with pytest.raises(MigrationDataLoss) as caught:
        migration.publish(result, f"damaged_{injection}", str(tmp_path / "reports"))
    assert str(caught.value).startswith("MIGRATION_DATA_LOSS") and "items" in str(caught.value)
    report_dir = tmp_path / "reports" / f"damaged_{injection}"
    saved = json.loads((report_dir / "verification.json").read_text())
    assert saved["status"] == "MIGRATION_DATA_LOSS"
    assert f"key `{{'id': {key}}}`" in (report_dir / "verification.md").read_text()

    cur.execute("DELETE FROM items WHERE id = %s", (key,))
    if original is not None:
        cur.execute(f"INSERT INTO items VALUES ({', '.join(['%s'] * len(original))})", original)
    conn.commit()
    again = verify_now(source, database, mysql_params)
    assert again["status"] == "OK", again["tables"]


def test_a_clean_copy_verifies_clean_when_rerun_alone(migrated, mysql_params, tmp_path):
    """Verification rerun later, against an untouched copy, is clean, with every row counted
    and the decimal, datetime and BLOB values really compared (not just counted)."""
    source, database, rows = migrated
    result = verify_now(source, database, mysql_params)
    assert result["status"] == "OK"
    (items,) = [t for t in result["tables"] if t["table"] == "items"]
    assert items["source_rows"] == items["target_rows"] == len(rows)
    assert items["checksum"] == "OK" and items["differing_rows"] == 0
    assert migration.publish(result, "rerun", str(tmp_path / "reports")).endswith("rerun")


def test_segments_too_big_for_group_concat_are_hashed_row_by_row(tmp_path, new_database, mysql_params,
                                                                  mysql_connect, caplog):
    """Rows so big that a minimal segment of them exceeds max_allowed_packet (GROUP_CONCAT's
    ceiling): MySQL cuts the concatenation and says so (warning 1260); the segment is hashed
    in Python instead, so a clean copy verifies clean and a changed byte is still found."""
    conn = mysql_connect("")
    cur = conn.cursor()
    cur.execute("SELECT @@max_allowed_packet")
    row_bytes = int(cur.fetchone()[0]) // 40  # 100 rows (the smallest segment) are 2.5 packets
    source = tmp_path / "big.sqlite"
    with sqlite3.connect(source) as src:
        src.execute("CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
        src.executemany("INSERT INTO docs VALUES (?, ?)",
                        [(i, f"{i:06d}" + "x" * row_bytes) for i in range(1, 301)])
    database = new_database("bigrows")
    assert migrate(source, database, mysql_params, tmp_path, run_id="big")["status"] == "OK"
    with caplog.at_level("INFO", logger="sqlite_to_mysql.verify"):
        assert verify_now(source, database, mysql_params)["status"] == "OK"
    assert "hashing it row by row" in caplog.text

    target = mysql_connect(database)
    target.cursor().execute("UPDATE docs SET body = CONCAT(LEFT(body, 100), 'y', SUBSTRING(body, 102)) "
                            "WHERE id = 150")
    target.commit()
    result = verify_now(source, database, mysql_params)
    (docs,) = result["tables"]
    assert docs["differing_rows"] == 1 and docs["differences"][0]["key"] == {"id": 150}


def test_a_keyless_tables_hidden_rowid_is_compared_too(tmp_path, new_database, mysql_params, mysql_connect):
    """A table without a primary key is addressed by its rowid, kept in the invisible
    _sqlite_rowid column (the cutover finds rows by it). Two rows whose rowids are swapped in
    MySQL hold the same values, so only comparing the rowid itself finds them."""
    source = tmp_path / "log.sqlite"
    with sqlite3.connect(source) as src:
        src.execute("CREATE TABLE log (level TEXT, message TEXT)")
        src.executemany("INSERT INTO log VALUES (?, ?)", [("info", f"line {i}") for i in range(1, 401)])
    database = new_database("rowids")
    assert migrate(source, database, mysql_params, tmp_path, run_id="log")["status"] == "OK"
    target = mysql_connect(database)
    cur = target.cursor()
    cur.execute("UPDATE log SET _sqlite_rowid = CASE _sqlite_rowid WHEN 10 THEN 1000 WHEN 11 THEN 10 END "
                "WHERE _sqlite_rowid IN (10, 11)")
    cur.execute("UPDATE log SET _sqlite_rowid = 11 WHERE _sqlite_rowid = 1000")
    target.commit()
    result = verify_now(source, database, mysql_params)
    (log,) = result["tables"]
    assert log["checksum"] == "DIFF" and log["differing_rows"] == 2, log
    assert sorted(d["key"]["rowid"] for d in log["differences"]) == [10, 11]
