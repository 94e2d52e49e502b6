"""How a source row crosses into MySQL, whichever path carries it: the bulk copy (copy.py)
or the cutover's catch-up (catchup.ForwardSync). A value takes the same code either way:

- reading values as they are: storage class and value, text as its bytes (text that is not
  UTF-8 survives; Python could not decode it) and REAL as itself (CAST(real AS BLOB) keeps
  only 15 significant digits);
- the quarantine: a set-aside row as exact JSON, with the problem of each column;
- multi-row statements kept under the size MySQL accepts;
- the row a MySQL error or warning names ("at row N");
- explaining a conversion that fails mid-way: the column, key and value.

The SQL that converts values inside SQLite's scan is row_sql's.
"""
from __future__ import annotations

import base64
import json
import re
import sqlite3

from mysql_common.identifiers import quote
from sqlite_to_mysql import target_state
from sqlite_to_mysql.errors import TypeConflictError
from sqlite_to_mysql.plan import TablePlan
from sqlite_to_mysql.row_sql import raw_sql
from sqlite_to_mysql.source_schema import qi
from sqlite_to_mysql.values import excerpt

MAX_STATEMENT_BYTES = 8 * 1024 * 1024  # well under max_allowed_packet (16 MB by default)


def cells_sql(tp: TablePlan) -> str:
    """Every column as (storage class, raw value): what row_json and value_of take."""
    return ", ".join(f"typeof({qi(c.source)}), {raw_sql(qi(c.source))}" for c in tp.columns)


def value_of(storage: str, raw):
    """The Python value of a cell read by cells_sql (text that is not UTF-8 stays bytes)."""
    if storage == "text" and isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw
    return raw


def row_json(tp: TablePlan, cells) -> str:
    """Every value of a quarantined row, exactly: text as text, anything else losslessly."""
    row = {}
    for i, col in enumerate(tp.columns):
        storage, raw = cells[2 * i], cells[2 * i + 1]
        if raw is None:
            row[col.source] = None
        elif storage == "text":
            try:
                row[col.source] = {"text": raw.decode("utf-8")}
            except UnicodeDecodeError:
                row[col.source] = {"text_bytes_base64": base64.b64encode(raw).decode()}
        elif storage == "blob":
            row[col.source] = {"blob_base64": base64.b64encode(raw).decode()}
        elif storage == "real":
            row[col.source] = {"real": repr(raw)}  # shortest text that reads back as the same double
        else:
            row[col.source] = {storage: str(raw)}
    return json.dumps(row, ensure_ascii=False)


def quarantine(cur, run_id: str, table: str, rows: list[tuple]) -> None:
    """Insert set-aside rows: (source key, problems JSON, row JSON) each."""
    if rows:
        cur.executemany(
            f"INSERT INTO {quote(target_state.QUARANTINE)} (run_id, table_name, source_key, problems, row_data, "
            f"created_at) VALUES (%s, %s, %s, %s, %s, UTC_TIMESTAMP(6))",
            [(run_id, table, json.dumps(key), problems, row) for key, problems, row in rows])


def statements(items: list, size, limit: int = MAX_STATEMENT_BYTES):
    """Consecutive runs of items whose sizes add up to at most `limit` (one item may exceed it)."""
    run, total = [], 0
    for item in items:
        n = size(item) + 1
        if run and total + n > limit:
            yield run
            run, total = [], 0
        run.append(item)
        total += n
    if run:
        yield run


def row_at(message: str) -> int | None:
    """The 1-based row of a multi-row statement that MySQL's error or warning names."""
    match = re.search(r"at row (\d+)", message)
    return int(match.group(1)) if match else None


def explain(src: sqlite3.Connection, tp: TablePlan, key_sql: list[str], where: str, params, *,
            hint: str) -> TypeConflictError | None:
    """The first value of the rows selected by `where` that does not fit its planned column,
    named by table, column, key and value; None when every value fits (the failure was not a
    conversion)."""
    from sqlite_to_mysql.sqlite_functions import problem

    n = len(key_sql)
    sql = f"SELECT {', '.join(key_sql)}, {cells_sql(tp)} FROM {qi(tp.source)} WHERE {where}"
    for row in src.execute(sql, params):
        for i, col in enumerate(tp.columns):
            storage, raw = row[n + 2 * i], row[n + 2 * i + 1]
            why = problem(col.kind, storage, raw, *(col.args + [None, None])[:2])
            if why:
                key = [value_of("text", k) if isinstance(k, bytes) else k for k in row[:n]]
                shown = excerpt(value_of(storage, raw))
                return TypeConflictError(f"{tp.source}.{col.source} at key {key}: {shown!r} does not fit "
                                         f"{col.ddl_type} ({why}); {hint}")
    return None
