"""Row checksums that mean the same on both sides.

A row's canonical bytes are, per column, b'N' for NULL or b'V<len>:<bytes>' for a value
(so NULL differs from '' and no value can imitate a column boundary); the row hash is
MD5 of those bytes; a segment's checksum is the row count and the XOR of the two 64-bit
halves of every row hash (rows are unique by primary key, so XOR loses nothing).
MySQL computes its side in SQL; SQLite's side is a registered aggregate.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Digest:
    rows: int
    high: int
    low: int

    def __str__(self) -> str:
        return f"{self.rows} rows, {self.high:016x}{self.low:016x}"


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
    parts = []
    for value in values:
        raw = canonical(value)
        parts.append(b"N" if raw is None else b"V%d:%s" % (len(raw), raw))
    return b"".join(parts)


def row_hash(values) -> bytes:
    return hashlib.md5(row_bytes(values)).digest()


_LOW64 = (1 << 64) - 1


class RowDigest:
    """SQLite aggregate: s2m_digest(col1, col2, ...) -> 'rows:high:low'."""

    def __init__(self) -> None:
        self.rows = self.high = self.low = 0

    def step(self, *values) -> None:
        # row_bytes() inlined for the common types: this runs once per source row
        parts = []
        for value in values:
            if value is None:
                parts.append(b"N")
                continue
            if isinstance(value, str):
                raw = value.encode("utf-8", "surrogateescape")
            elif isinstance(value, bytes):
                raw = value
            else:
                raw = canonical(value)
            parts.append(b"V%d:%s" % (len(raw), raw))
        both = int.from_bytes(hashlib.md5(b"".join(parts)).digest(), "big")
        self.rows += 1
        self.high ^= both >> 64
        self.low ^= both & _LOW64

    def finalize(self) -> str:
        return f"{self.rows}:{self.high}:{self.low}"


def parse(text: str | None) -> Digest:
    if not text:
        return Digest(0, 0, 0)
    rows, high, low = (int(x) for x in text.split(":"))
    return Digest(rows, high, low)


def combine(digests) -> Digest:
    rows = high = low = 0
    for d in digests:
        rows += d.rows
        high ^= d.high
        low ^= d.low
    return Digest(rows, high, low)


def mysql_row_expression(column_sql: list[str]) -> str:
    """MySQL SQL for the canonical bytes of a row, given each column's canonical expression."""
    parts = [f"COALESCE(CONCAT('V', LENGTH({e}), ':', {e}), 'N')" for e in column_sql]
    return f"CONCAT({', '.join(parts)})"


def mysql_digest_select(column_sql: list[str], table_sql: str, where: str) -> str:
    row = mysql_row_expression(column_sql)
    return (f"SELECT COUNT(*), COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(h, 1, 16), 16, 10) AS UNSIGNED)), 0), "
            f"COALESCE(BIT_XOR(CAST(CONV(SUBSTRING(h, 17, 16), 16, 10) AS UNSIGNED)), 0) "
            f"FROM (SELECT MD5({row}) AS h FROM {table_sql} WHERE {where}) AS rows_")
