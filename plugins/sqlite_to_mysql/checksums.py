"""Segment checksums that mean the same on both sides, computed without Python per row.

A row's form is, per column, NULL for NULL or the value between single quotes with its
quotes doubled, the columns separated by commas: what SQLite's printf('%Q') writes, in one
call per row (NULL differs from '' and from 'NULL', and no value can imitate a column
boundary: a quote inside a value is always doubled, the one that ends it is followed by a
comma or the end). A segment's checksum is its row count and the MD5 of its rows' forms,
sorted bytewise and joined by newlines. Sorting by the form itself, not by the key, gives both sides the same order
whatever the key's type or collation. SQLite and MySQL build the forms and the concatenation
in SQL; only the MD5 of the SQLite side is taken in Python, once per segment.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

NO_ROWS = ""  # the md5 of an empty segment, on both sides
Q, QQ = "''''", "''''''"  # SQL literals for ' and ''


@dataclass(frozen=True)
class Digest:
    rows: int
    md5: str

    def __str__(self) -> str:
        return f"{self.rows} rows, md5 {self.md5 or '-'}"


def canonical(value) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, float):
        return repr(value + 0.0).encode()
    return str(value).encode()


def row_bytes(values) -> bytes:
    """The row's form, as the SQL below builds it."""
    parts = []
    for value in values:
        raw = canonical(value)
        parts.append(b"NULL" if raw is None else b"'" + raw.replace(b"'", b"''") + b"'")
    return b",".join(parts)


def digest_of_forms(forms: list[bytes]) -> Digest:
    """A segment's digest from its rows' forms (for values only Python can put in canonical form)."""
    if not forms:
        return Digest(0, NO_ROWS)
    return Digest(len(forms), hashlib.md5(b"\n".join(sorted(forms))).hexdigest())


def digest_of_rows(cursor) -> Digest:
    """A segment's digest from a cursor over its rows' canonical values (SQLite or MySQL),
    where the SQL path cannot be used."""
    forms = []
    while chunk := cursor.fetchmany(5000):
        forms.extend(row_bytes(row) for row in chunk)
    return digest_of_forms(forms)


def sqlite_form(column_sql: list[str], may_hold_nul: list[bool]) -> str:
    """The row's form in SQLite SQL. printf stops at a NUL byte, so columns whose values may
    hold one (text, BLOBs) are quoted with replace() instead, which keeps every byte."""
    pieces: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            pieces.append(f"printf('{','.join('%Q' for _ in run)}', {', '.join(run)})")
            run.clear()

    for expression, nul in zip(column_sql, may_hold_nul):
        if nul:
            flush()
            pieces.append(f"ifnull({Q} || replace({expression}, {Q}, {QQ}) || {Q}, 'NULL')")
        else:
            run.append(expression)
    flush()
    return " || ',' || ".join(pieces)


def sqlite_digest(conn, form_sql: str, table_sql: str, where: str, params) -> Digest:
    # An aggregate over a subquery with ORDER BY is not flattened: group_concat sees that order.
    rows, joined = conn.execute(
        f"SELECT count(*), CAST(group_concat(f, char(10)) AS BLOB) FROM "
        f"(SELECT {form_sql} AS f FROM {table_sql} WHERE {where} ORDER BY 1)", params).fetchone()
    return Digest(rows, hashlib.md5(joined).hexdigest() if rows else NO_ROWS)


def mysql_digest_select(column_sql: list[str], table_sql: str, where: str) -> str:
    """(rows, md5) of a segment. GROUP_CONCAT is capped by group_concat_max_len and
    max_allowed_packet: the caller checks for warning 1260 (row cut)."""
    form = "CONCAT(" + ", ',', ".join(f"IFNULL(CONCAT({Q}, REPLACE({e}, {Q}, {QQ}), {Q}), 'NULL')"
                                      for e in column_sql) + ")"
    # The LIMIT keeps the derived table from being merged, so each form is built once. The
    # separator is a newline byte inside the quotes, not the escape backslash-n, which a
    # session with NO_BACKSLASH_ESCAPES (the cutover's sync session) reads as two characters.
    return (f"SELECT COUNT(*), MD5(GROUP_CONCAT(f ORDER BY f SEPARATOR '\n')) "
            f"FROM (SELECT {form} AS f FROM {table_sql} WHERE {where} LIMIT 18446744073709551615) AS rows_")
