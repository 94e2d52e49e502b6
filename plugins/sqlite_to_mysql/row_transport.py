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


class RawText(bytes):
    """A key part SQLite holds as text that is not UTF-8 (Python makes no str of it)."""


def key_cells_sql(exprs: list[str]) -> str:
    """Key parts as (storage class, raw value) pairs: what read_key takes."""
    return ", ".join(f"typeof({e}), {raw_sql(e)}" for e in exprs)


def read_key(cells) -> list:
    """A key read by key_cells_sql, as values that bind back to the same SQLite values."""
    key = []
    for storage, raw in zip(cells[::2], cells[1::2]):
        value = value_of(storage, raw)
        key.append(RawText(value) if storage == "text" and isinstance(value, bytes) else value)
    return key


def encode_key(key) -> list | None:
    """A key in JSON (checkpoint, quarantine): bytes and raw text tagged, the rest as it is."""
    if key is None:
        return None
    return [{"text_b64": base64.b64encode(v).decode()} if isinstance(v, RawText)
            else {"b64": base64.b64encode(v).decode()} if isinstance(v, bytes) else v for v in key]


def decode_key(data) -> list | None:
    if data is None:
        return None
    return [RawText(base64.b64decode(v["text_b64"])) if isinstance(v, dict) and "text_b64" in v
            else base64.b64decode(v["b64"]) if isinstance(v, dict) else v for v in data]


def show_key(value):
    """A key part as a report shows it: text as text, bytes as text where they are UTF-8,
    otherwise x'hex'."""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return "x'" + value.hex() + "'"
    return value


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
            [(run_id, table, json.dumps(encode_key(key)), problems, row) for key, problems, row in rows])


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


def refuse_warnings(conn, cur, source: str, rows: list, show) -> None:
    """A statement MySQL accepted with warnings changed a value on its way in (strict
    sql_mode makes most such changes errors; a DECIMAL rounded by INSERT is only a note):
    the batch must not pass. rows: what the statement carried, row by row; show(row) names one."""
    if not conn.warning_count():
        return
    cur.execute("SHOW WARNINGS LIMIT 10")
    parts = []
    for level, code, message in cur.fetchall():
        n = row_at(message)
        sample = show(rows[n - 1]) if n and n <= len(rows) else ""
        parts.append(f"{level} {code}: {message}" + (f" | row: {sample}" if sample else ""))
    raise TypeConflictError(f"{source}: MySQL changed or refused values of a batch (rolled back): "
                            + "; ".join(parts))


def explain(src: sqlite3.Connection, tp: TablePlan, key_sql: list[str], where: str, params, *,
            hint: str) -> TypeConflictError | None:
    """The first value of the rows selected by `where` that does not fit its planned column,
    named by table, column, key and value; None when every value fits (the failure was not a
    conversion)."""
    from sqlite_to_mysql.sqlite_functions import problem

    n = len(key_sql)
    sql = f"SELECT {', '.join(map(raw_sql, key_sql))}, {cells_sql(tp)} FROM {qi(tp.source)} WHERE {where}"
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
