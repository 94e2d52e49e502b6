"""Reading SQLite declared types: SQLite's own affinity rules, refined into the kind of
MySQL column the declaration asks for (a starting point; the data has the last word)."""
from __future__ import annotations

import re
from dataclasses import dataclass

INT_RANGES = {
    "TINYINT": (-2 ** 7, 2 ** 7 - 1), "SMALLINT": (-2 ** 15, 2 ** 15 - 1),
    "MEDIUMINT": (-2 ** 23, 2 ** 23 - 1), "INT": (-2 ** 31, 2 ** 31 - 1),
    "BIGINT": (-2 ** 63, 2 ** 63 - 1),
}
UNSIGNED_RANGES = {name: (0, 2 * high + 1) for name, (_low, high) in INT_RANGES.items()}


@dataclass(frozen=True)
class Declared:
    kind: str  # int, decimal, double, bool, text, blob, datetime, date, time, json, unknown
    affinity: str  # SQLite's: INTEGER, TEXT, BLOB, REAL, NUMERIC
    int_type: str | None = None  # TINYINT..BIGINT when the declaration names one
    unsigned: bool = False
    length: int | None = None  # VARCHAR(n) / CHAR(n)
    fixed: bool = False  # CHAR(n)
    precision: int | None = None
    scale: int | None = None


def affinity(declared: str) -> str:
    """SQLite's rules (https://sqlite.org/datatype3.html#determination_of_column_affinity)."""
    t = declared.upper()
    if "INT" in t:
        return "INTEGER"
    if "CHAR" in t or "CLOB" in t or "TEXT" in t:
        return "TEXT"
    if "BLOB" in t or not t.strip():
        return "BLOB"
    if "REAL" in t or "FLOA" in t or "DOUB" in t:
        return "REAL"
    return "NUMERIC"


_ARGS = re.compile(r"\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)")


def read_declared(declared: str, *, json_checked: bool = False) -> Declared:
    t = declared.strip().upper()
    aff = affinity(declared)
    args = _ARGS.search(t)
    first = int(args.group(1)) if args else None
    second = int(args.group(2)) if args and args.group(2) else None
    unsigned = "UNSIGNED" in t
    base = re.split(r"[\s(]", t, maxsplit=1)[0] if t else ""
    if json_checked or base == "JSON":
        return Declared("json", aff)
    if base in ("BOOL", "BOOLEAN"):
        return Declared("bool", aff)
    if aff == "INTEGER":
        int_type = next((n for n in ("TINYINT", "SMALLINT", "MEDIUMINT", "BIGINT") if n in t), None)
        return Declared("int", aff, int_type=int_type, unsigned=unsigned)
    if aff == "TEXT":
        return Declared("text", aff, length=first, fixed=base in ("CHAR", "NCHAR", "CHARACTER"))
    if aff == "REAL":
        return Declared("double", aff)
    if aff == "BLOB":
        return Declared("blob" if t else "unknown", aff)
    # NUMERIC affinity: decimals, dates and every made-up type name
    if base in ("DECIMAL", "NUMERIC", "DEC", "MONEY", "NUMBER", "FIXED"):
        return Declared("decimal", aff, precision=first, scale=second if first else None)
    if base in ("DATETIME", "TIMESTAMP"):
        return Declared("datetime", aff)
    if base == "DATE":
        return Declared("date", aff)
    if base == "TIME":
        return Declared("time", aff)
    return Declared("unknown", aff)
