"""Values MySQL cannot hold as they are, under each `on_type_conflict` policy: `fail` stops
before the target exists and says what to change; `widen` keeps every value; `quarantine`
sets the rows aside with their exact original data and the counts still add up."""
from __future__ import annotations

import base64
import json
import re
import sqlite3
from decimal import Decimal

import pytest

from sqlite_to_mysql.errors import PreflightBlocked
from sqlite_to_mysql.type_mapping import parse_override
from support.migrate import migrate
from support.torture import BAD_ROWS, CONFLICTS, build_conflicts

pytestmark = pytest.mark.integration

BAD_COLUMNS = CONFLICTS["bad_values"]


def database_exists(mysql_connect, name: str) -> bool:
    cur = mysql_connect().cursor()
    cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (name,))
    return cur.fetchone()[0] == 1


def source_rows(path, table: str) -> dict[int, dict]:
    """Every row of a table as SQLite holds it (text as bytes, so invalid UTF-8 survives)."""
    conn = sqlite3.connect(path)
    conn.text_factory = bytes
    cur = conn.execute(f'SELECT * FROM "{table}"')
    names = [d[0] for d in cur.description]
    rows = {row[0]: dict(zip(names, row)) for row in cur}
    conn.close()
    return rows


def as_text(path, column: str, key: int) -> str:
    conn = sqlite3.connect(path)
    conn.text_factory = bytes
    (raw,) = conn.execute(f"SELECT CAST({column} AS TEXT) FROM bad_values WHERE id = ?", (key,)).fetchone()
    conn.close()
    return raw.decode("utf-8", "backslashreplace")


def test_fail_stops_before_the_target_and_names_column_key_value_and_the_way_out(
        tmp_path, new_database, mysql_params, mysql_connect):
    """Under the default policy the run is blocked in preflight: the target database is never
    created, and every blocked column is reported with a key and value really found in the
    source, plus the policies and the override that would let the run proceed."""
    source = build_conflicts(tmp_path / "conflicts.sqlite")
    database = new_database("conflict_fail")
    with pytest.raises(PreflightBlocked) as caught:
        migrate(source, database, mysql_params, tmp_path)
    message = str(caught.value)
    assert message.startswith("PREFLIGHT_BLOCKED")
    assert not database_exists(mysql_connect, database)

    lines = {m.group(1): m.group(0) for m in re.finditer(r"TYPE_CONFLICT bad_values\.(\w+) .*", message)}
    assert set(lines) == set(BAD_COLUMNS)
    reported = 0
    for column, line in lines.items():
        found = re.search(r"(\d+) values do not fit; first at key \{'id': (\d+)\}: '(.*?)' \(", line)
        assert found, line
        count, key, shown = int(found.group(1)), int(found.group(2)), found.group(3)
        reported += count
        assert key in BAD_ROWS
        # the excerpt is the value as SQLite holds it (its text form; invalid bytes escaped)
        assert shown.replace("\\\\", "\\") == as_text(source, column, key), line
        assert "on_type_conflict to 'widen'" in line and "'quarantine'" in line
        # the override it offers is a real type, the one `widen` would choose
        override = re.search(r'type_overrides \{"bad_values\.(\w+)": "([^"]+)"\}', line)
        assert override and override.group(1) == column, line
        assert f"'widen' (the column becomes {override.group(2)})" in line
        parse_override(override.group(2))
    assert reported == len(BAD_ROWS)


def test_widen_keeps_every_value_exactly(tmp_path, new_database, mysql_params, mysql_connect):
    """Under `widen` the columns get types that hold every value; the run verifies clean and
    the values that did not fit the declared types are in MySQL as they were in SQLite."""
    source = build_conflicts(tmp_path / "conflicts.sqlite")
    database = new_database("conflict_widen")
    result = migrate(source, database, mysql_params, tmp_path, on_type_conflict="widen")
    assert result["status"] == "OK"
    assert result["totals"]["quarantined"] == 0
    assert all(t["source_rows"] == t["target_rows"] and t["checksum"] == "OK" for t in result["tables"])

    expected = source_rows(source, "bad_values")
    cur = mysql_connect(database).cursor()
    cur.execute(f"SELECT id, {', '.join(BAD_COLUMNS)} FROM bad_values ORDER BY id")
    got = {row[0]: dict(zip(BAD_COLUMNS, row[1:])) for row in cur.fetchall()}
    assert set(got) == set(expected)
    for key, row in got.items():
        want = expected[key]
        assert Decimal(str(want["n_dec"])) == row["n_dec"]  # 0.125 keeps its third decimal
        assert bytes(row["n_text"]) == want["n_text"]  # invalid UTF-8 byte for byte
        for column in ("n_int", "n_dt", "n_json"):  # text kept as text, numbers as their digits
            value = want[column]
            assert row[column] == (value.decode() if isinstance(value, bytes) else str(value)), (key, column)
        assert float(row["n_real"]) == want["n_real"]  # every double, Inf included, reads back equal


def test_quarantine_accounts_for_every_row_and_keeps_the_original_data(
        tmp_path, new_database, mysql_params, mysql_connect):
    """Under `quarantine` the bad rows are set aside: per table, source rows = target rows +
    quarantined rows, the bad keys are exactly the ones missing from the target, and the
    quarantine table holds each of those rows' original values exactly (a double that needs
    17 significant digits included)."""
    source = build_conflicts(tmp_path / "conflicts.sqlite")
    with sqlite3.connect(source) as conn:  # a bad row whose other values must survive exactly too
        conn.execute("UPDATE bad_values SET n_real = 0.1 + 0.2, ok = 'caf\u00e9 \U0001F600' WHERE id = 3")
    database = new_database("conflict_quarantine")
    result = migrate(source, database, mysql_params, tmp_path, on_type_conflict="quarantine")
    assert result["status"] == "OK"
    for table in result["tables"]:
        assert table["source_rows"] == table["target_rows"] + table["quarantined"], table["table"]
        assert table["checksum"] == "OK"
    by_name = {t["table"]: t for t in result["tables"]}
    assert by_name["bad_values"]["quarantined"] == len(BAD_ROWS)
    assert result["totals"]["quarantined"] == len(BAD_ROWS)

    expected = source_rows(source, "bad_values")
    cur = mysql_connect(database).cursor()
    cur.execute("SELECT id FROM bad_values")
    assert {r[0] for r in cur.fetchall()} == set(expected) - BAD_ROWS
    cur.execute("SELECT source_key, row_data, problems FROM _s2m_quarantine WHERE table_name = 'bad_values'")
    quarantined = {}
    for source_key, row_data, problems in cur.fetchall():
        (key,) = json.loads(source_key)
        quarantined[key] = {column: decode(cell) for column, cell in json.loads(row_data).items()}
        assert problems
    assert set(quarantined) == BAD_ROWS
    for key, row in quarantined.items():
        assert row == expected[key], key


def decode(cell):
    """A quarantined cell back to the Python value sqlite3 returns (text as bytes)."""
    if cell is None:
        return None
    (storage, text), = cell.items()
    return {"text": lambda v: v.encode(), "text_bytes_base64": base64.b64decode,
            "blob_base64": base64.b64decode, "integer": int, "real": float}[storage](text)
