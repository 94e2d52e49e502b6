"""Choosing each column's MySQL type from its declaration, its data and the operator's
overrides, and saying why. The rules (also in docs/type-mapping.md):

- integers: the declared size (TINYINT..BIGINT, UNSIGNED kept); a plain INT/INTEGER is INT
  when every value (and the AUTOINCREMENT sequence) fits, else BIGINT;
- decimals: precision and scale from the declaration, else from the data (max integer digits,
  max decimal places); REAL values are read exactly at their shortest round-trip form;
- datetimes: DATETIME(6) (microseconds kept), text in any ISO form, offsets converted to UTC;
- text: VARCHAR(n) as declared, widened where SQLite held longer values; undeclared length
  by actual size (TEXT, MEDIUMTEXT, LONGTEXT), VARCHAR(max(255, longest)) in keys;
  key columns get a binary NO PAD collation so values distinct in SQLite stay distinct;
- a declaration the data contradicts is a conflict, resolved by the on_type_conflict policy;
- every kind has its way back (sqlite_value, for the rollback), checked by its way there.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

from mysql_common.session import ServerInfo
from sqlite_to_mysql.declared_types import INT_RANGES, UNSIGNED_RANGES, Declared, read_declared
from sqlite_to_mysql.plan import ColumnPlan
from sqlite_to_mysql.profiling import HAS_NUL, ColumnProfile
from sqlite_to_mysql.sqlite_functions import CONVERTERS
from sqlite_to_mysql.values import ValueConflict

MAX_VARCHAR = 16383  # utf8mb4 characters in a VARCHAR
MAX_DECIMAL_PRECISION, MAX_DECIMAL_SCALE = 65, 30
DATETIME_FSP = 6
FIXED = 1  # a text column's second argument when it is CHAR(n)


@dataclass
class Role:
    """How the column is used, which constrains its type."""

    in_primary_key: bool = False
    in_unique: bool = False
    in_index: bool = False
    rowid_alias: bool = False
    sequence: int | None = None

    @property
    def is_key(self) -> bool:
        return self.in_primary_key or self.in_unique

    @property
    def indexed(self) -> bool:
        return self.is_key or self.in_index


@dataclass
class Decision:
    column: ColumnPlan
    expected_conflicts: int | None  # None = only a scan can tell
    prefilter: str  # SQL (column as {c}) selecting values worth checking for conflicts


def decide(name: str, target: str, declared_type: str, notnull: bool, prof: ColumnProfile, role: Role,
           server: ServerInfo, *, override: str | None = None, widen: bool = False,
           json_checked: bool = False, default: str | None = None, django_uuid: bool = False) -> Decision:
    declared = read_declared(declared_type, json_checked=json_checked)
    if django_uuid and not override and not widen and server.is_mariadb and server.version >= (10, 7, 0):
        kind, ddl, args = "uuid", "UUID", (None, None)
        reason = ("Django UUIDField (char(32) of a Django database): MariaDB 10.7+ native UUID, the type "
                  "Django itself uses there; it sends UUIDs with dashes, which CHAR(32) cannot hold")
    elif override:
        kind, ddl, args = parse_override(override)
        reason = f"override {override!r}"
    elif widen:
        kind, ddl, args, reason = _widened(declared, prof, role)
    else:
        kind, ddl, args, reason = _from_declaration(declared, prof, role)
    col = ColumnPlan(source=name, target=target, kind=kind, ddl_type=ddl, args=list(args),
                     nullable=not (notnull or role.in_primary_key), reason=reason,
                     storage={"integer": prof.integers, "real": prof.reals, "text": prof.texts,
                              "blob": prof.blobs, "null": prof.nulls, "non_ascii": prof.non_ascii,
                              "with_nul": prof.with_nul,
                              "nonstandard": prof.nonstandard_datetime + prof.nonstandard_date
                              + prof.nonstandard_time})
    if kind in ("text",) and role.indexed:
        col.collation = server.key_collation if role.is_key else None
    if kind == "json" and (role.is_key or not server.is_mariadb):
        # LONGTEXT with a JSON_VALID check, as MariaDB's JSON is: the document byte for byte
        # (MySQL's JSON type would re-format it), and in a key with the key collation
        col.ddl_type, col.collation = "LONGTEXT", server.key_collation if role.is_key else "utf8mb4_bin"
    if kind == "text" and role.is_key:
        col.notes.append(f"key column: collation {server.key_collation} keeps values that differ only "
                         f"in case, accents or trailing spaces distinct, as they were in SQLite")
    if role.rowid_alias:
        col.auto_increment = True
    col.default_sql = translate_default(default, kind)
    if default is not None and col.default_sql is None:
        col.notes.append(f"default {default!r} not carried over (no exact MySQL equivalent)")
    expected, prefilter = _conflict_estimate(col, prof)
    return Decision(col, expected, prefilter)


# --- by declaration --------------------------------------------------------------------

def _from_declaration(d: Declared, prof: ColumnProfile, role: Role):
    kind = d.kind if d.kind != "unknown" else _inferred_kind(prof)
    reason = f"declared {d.kind}" if d.kind != "unknown" else f"inferred from data ({_storage(prof)})"
    if kind == "int":
        return ("int", *_int_type(d, prof, role), reason)
    if kind == "decimal" and not d.precision and not prof.reals and not prof.numeric_scale:
        return ("int", *_int_type(d, prof, role),
                f"{reason}; no precision declared and every value is an integer")
    if kind == "decimal":
        ddl, args, why = _decimal_type(d, prof)
        return "decimal", ddl, args, f"{reason}; {why}"
    if kind == "double":
        return "double", "DOUBLE", (None, None), reason
    if kind == "bool":
        return "bool", "TINYINT(1)", (None, None), reason
    if kind in ("datetime", "date", "time"):
        fsp = DATETIME_FSP if kind != "date" else None
        ddl = {"datetime": f"DATETIME({fsp})", "date": "DATE", "time": f"TIME({fsp})"}[kind]
        return kind, ddl, (fsp, None), reason
    if kind == "json":
        return "json", "JSON", (None, None), reason
    if kind == "blob":
        return "blob", _blob_type(prof, role), (None, None), reason
    ddl, args, why = _text_type(d, prof, role)
    return "text", ddl, args, reason + (f"; {why}" if why else "")


def _inferred_kind(prof: ColumnProfile) -> str:
    if prof.values == 0:
        return "text"
    if prof.blobs:
        return "blob" if prof.blobs == prof.values else "text"
    if prof.texts:
        return "text"
    if prof.reals:
        return "decimal" if _decimal_fits(prof) else "double"
    return "int"


def _storage(prof: ColumnProfile) -> str:
    parts = [f"{n} {k}" for k, n in (("integer", prof.integers), ("real", prof.reals),
                                     ("text", prof.texts), ("blob", prof.blobs)) if n]
    return ", ".join(parts) or "only NULL"


def _int_type(d: Declared, prof: ColumnProfile, role: Role):
    ranges = UNSIGNED_RANGES if d.unsigned else INT_RANGES
    suffix = " UNSIGNED" if d.unsigned else ""
    if d.int_type:
        low, high = ranges[d.int_type]
        return f"{d.int_type}{suffix}", (low, high)
    low, high = ranges["INT"]
    observed = [v for v in (prof.int_min, prof.int_max, role.sequence) if v is not None]
    if role.rowid_alias:  # the id SQLite would issue next must fit too
        observed.append(max(observed + [0]) + 1)
    if all(low <= v <= high for v in observed):
        return f"INT{suffix}", (low, high)
    low, high = ranges["BIGINT"]
    return f"BIGINT{suffix}", (low, high)


def _int_digits(prof: ColumnProfile) -> int:
    ints = [abs(v) for v in (prof.int_min, prof.int_max) if v is not None]
    return max([len(str(v)) for v in ints if v] + [prof.numeric_digits, 0])


def _decimal_fits(prof: ColumnProfile) -> bool:
    digits, scale = _int_digits(prof), prof.numeric_scale
    return scale <= MAX_DECIMAL_SCALE and digits + scale <= MAX_DECIMAL_PRECISION


def _decimal_type(d: Declared, prof: ColumnProfile):
    digits, scale = _int_digits(prof), prof.numeric_scale
    if d.precision:
        p, s = d.precision, d.scale or 0
        return f"DECIMAL({p},{s})", (p, s), f"DECIMAL({p},{s}) as declared"
    s = min(scale, MAX_DECIMAL_SCALE)
    p = min(MAX_DECIMAL_PRECISION, max(digits + s, 10))
    return (f"DECIMAL({p},{s})", (p, s),
            f"no precision declared: DECIMAL({p},{s}) from the data (up to {digits} integer digits, "
            f"{scale} decimal places); set type_overrides if the application writes more decimal places")


def _text_type(d: Declared, prof: ColumnProfile, role: Role):
    longest = prof.text_max_chars
    if d.length:
        n = max(d.length, longest)
        why = (f"widened from {d.length} to {n} characters: SQLite held longer values"
               if longest > d.length else "")
        if n <= MAX_VARCHAR:
            fixed = d.fixed and not prof.trailing_space and longest <= d.length
            if d.fixed and not fixed:
                why = (why + "; " if why else "") + "CHAR would strip trailing spaces: VARCHAR keeps them"
            return (f"CHAR({n})" if fixed else f"VARCHAR({n})"), (n, FIXED if fixed else None), why
        return _text_by_size(prof), (None, None), why + f"; over {MAX_VARCHAR} characters"
    if role.indexed:
        n = max(255, longest)
        if n <= MAX_VARCHAR:
            return f"VARCHAR({n})", (n, None), f"indexed text without declared length: VARCHAR({n})"
    return _text_by_size(prof), (None, None), ""


def _text_by_size(prof: ColumnProfile) -> str:
    size = max(prof.text_max_bytes, prof.blob_max_bytes, 0)
    if size <= 65535:
        return "TEXT"
    return "MEDIUMTEXT" if size <= 16777215 else "LONGTEXT"


def _blob_type(prof: ColumnProfile, role: Role) -> str:
    size = max(prof.blob_max_bytes, prof.text_max_bytes, 0)
    if role.indexed and size <= 3072:
        return f"VARBINARY({max(255, size)})"
    if size <= 65535:
        return "BLOB"
    return "MEDIUMBLOB" if size <= 16777215 else "LONGBLOB"


# --- widening --------------------------------------------------------------------------

def _widened(d: Declared, prof: ColumnProfile, role: Role):
    """The narrowest type that holds every value as it is."""
    kind = d.kind if d.kind != "unknown" else _inferred_kind(prof)
    why = "widened (on_type_conflict=widen): "
    if prof.blobs:  # BLOBs, or text that is not UTF-8: only bytes hold them as they are
        return "blob", _blob_type(prof, role), (None, None), why + "BLOBs or text that is not UTF-8: stored " \
            "as bytes (numbers as their exact text)"
    if kind in ("int", "bool", "decimal", "double") and not prof.texts and not prof.blobs and not prof.nonfinite:
        if not prof.reals:
            return "int", "BIGINT", (INT_RANGES["BIGINT"]), why + "BIGINT holds every integer"
        if _decimal_fits(prof):
            digits, scale = _int_digits(prof), prof.numeric_scale
            p, s = max(digits + scale, 1), scale
            return "decimal", f"DECIMAL({p},{s})", (p, s), why + f"DECIMAL({p},{s}) holds every value exactly"
        return "double", "DOUBLE", (None, None), why + "DOUBLE holds every value"
    if role.indexed and prof.text_max_chars <= MAX_VARCHAR:
        n = max(255, prof.text_max_chars, 32)
        return "text", f"VARCHAR({n})", (n, None), why + "mixed values kept as their text"
    return "text", _text_by_size(prof), (None, None), why + "mixed values kept as their text"


# --- overrides -------------------------------------------------------------------------

_OVERRIDE = re.compile(r"^\s*([A-Za-z]+)\s*(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?\s*(UNSIGNED)?\s*$", re.I)


def parse_override(text: str):
    """Operator's type for a column, e.g. 'DECIMAL(12,2)', 'VARCHAR(300)', 'BIGINT UNSIGNED'."""
    match = _OVERRIDE.match(text)
    if not match:
        raise ValueError(f"type override {text!r} is not a MySQL column type this tool understands")
    base, a, b, unsigned = match.group(1).upper(), match.group(2), match.group(3), match.group(4)
    a = int(a) if a else None
    b = int(b) if b else None
    if base in ("TINYINT", "SMALLINT", "MEDIUMINT", "INT", "INTEGER", "BIGINT"):
        if base == "TINYINT" and a == 1 and not unsigned:
            return "bool", "TINYINT(1)", (None, None)
        base = "INT" if base == "INTEGER" else base
        ranges = UNSIGNED_RANGES if unsigned else INT_RANGES
        return "int", f"{base}{' UNSIGNED' if unsigned else ''}", ranges[base]
    if base in ("BOOL", "BOOLEAN"):
        return "bool", "TINYINT(1)", (None, None)
    if base in ("DECIMAL", "NUMERIC"):
        p, s = a or 10, b or 0
        if not (0 < p <= MAX_DECIMAL_PRECISION and 0 <= s <= min(p, MAX_DECIMAL_SCALE)):
            raise ValueError(f"type override {text!r}: invalid precision/scale")
        return "decimal", f"DECIMAL({p},{s})", (p, s)
    if base in ("DOUBLE", "FLOAT", "REAL"):
        return "double", "DOUBLE", (None, None)
    if base in ("VARCHAR", "CHAR"):
        if not a or a > MAX_VARCHAR:
            raise ValueError(f"type override {text!r}: length must be 1..{MAX_VARCHAR}")
        return "text", f"{base}({a})", (a, FIXED if base == "CHAR" else None)
    if base in ("TEXT", "MEDIUMTEXT", "LONGTEXT", "TINYTEXT"):
        return "text", base, (None, None)
    if base in ("BLOB", "MEDIUMBLOB", "LONGBLOB", "TINYBLOB"):
        return "blob", base, (None, None)
    if base in ("VARBINARY", "BINARY") and a:
        return "blob", f"VARBINARY({a})", (None, None)
    if base in ("DATETIME", "TIMESTAMP"):
        fsp = a if a is not None else DATETIME_FSP
        return "datetime", f"DATETIME({fsp})" if fsp else "DATETIME", (fsp, None)
    if base == "DATE":
        return "date", "DATE", (None, None)
    if base == "TIME":
        fsp = a if a is not None else DATETIME_FSP
        return "time", f"TIME({fsp})" if fsp else "TIME", (fsp, None)
    if base == "JSON":
        return "json", "JSON", (None, None)
    raise ValueError(f"type override {text!r} is not supported")


# --- defaults --------------------------------------------------------------------------

_LITERAL = re.compile(r"^(?:[+-]?\d+(?:\.\d+)?|'(?:[^']|'')*'|NULL)$", re.I)


def translate_default(default: str | None, kind: str) -> str | None:
    """Carry over literal defaults and CURRENT_TIMESTAMP; anything else is reported instead."""
    if default is None:
        return None
    text = default.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    upper = text.upper()
    if upper in ("CURRENT_TIMESTAMP", "CURRENT_TIMESTAMP()") and kind == "datetime":
        return f"CURRENT_TIMESTAMP({DATETIME_FSP})"
    if upper == "NULL":
        return "NULL"
    if kind in ("text", "json", "blob") and kind != "text":
        return None  # MySQL refuses literal defaults on BLOB/JSON columns before 8.0.13
    if _LITERAL.match(text):
        if kind in ("int", "decimal", "double", "bool") and text.startswith("'"):
            inner = text[1:-1]
            return inner if re.fullmatch(r"[+-]?\d+(\.\d+)?", inner) else None
        if kind == "text" and not text.startswith("'"):
            return f"'{text}'"
        if kind in ("datetime", "date", "time") and not text.startswith("'"):
            return None
        return text
    return None


# --- conflicts -------------------------------------------------------------------------

def _conflict_estimate(col: ColumnPlan, prof: ColumnProfile) -> tuple[int | None, str]:
    """How many values will not fit (when the profile can tell), and the SQL that finds them."""
    kind = col.kind
    if kind == "int":
        low, high = col.args
        out_of_range = (prof.int_min is not None and prof.int_min < low) or \
                       (prof.int_max is not None and prof.int_max > high)
        count = prof.reals + prof.texts + prof.blobs
        where = "typeof({c}) NOT IN ('integer', 'null') OR {c} < %d OR {c} > %d" % (low, high)
        return (None if out_of_range else count), where
    if kind == "decimal":
        p, s = col.args
        overflow = _int_digits(prof) > p - s or prof.numeric_scale > s
        count = prof.non_numeric_text + prof.blobs + prof.nonfinite
        where = "typeof({c}) NOT IN ('integer', 'null')" + \
            (" OR {c} NOT BETWEEN -%s AND %s" % ((10 ** (p - s) - 1,) * 2) if prof.integers else "")
        return (None if overflow else count), where
    if kind == "double":
        big_ints = any(v is not None and abs(v) > 2 ** 53 for v in (prof.int_min, prof.int_max))
        count = prof.non_numeric_text + prof.blobs + prof.nonfinite
        return (None if big_ints else count), "typeof({c}) NOT IN ('integer', 'real', 'null') " \
            "OR {c} NOT BETWEEN -9007199254740992 AND 9007199254740992"
    if kind == "bool":
        clean = not prof.reals and not prof.texts and not prof.blobs and \
            (prof.int_min is None or (prof.int_min >= 0 and prof.int_max <= 1))
        return (0 if clean else None), "typeof({c}) != 'null' AND {c} NOT IN (0, 1)"
    if kind in ("datetime", "date", "time"):
        nonstandard = {"datetime": prof.nonstandard_datetime, "date": prof.nonstandard_date,
                       "time": prof.nonstandard_time}[kind]
        from sqlite_to_mysql import profiling

        fast = {"datetime": profiling.fast_datetime_sql, "date": profiling.fast_date_sql,
                "time": profiling.fast_time_sql}[kind]("{c}")
        return (0 if not nonstandard else None), f"typeof({{c}}) != 'null' AND NOT {fast}"
    if kind == "uuid":
        return 0, "0"
    if kind in ("text", "json"):
        # (GLOB stops at a NUL byte: text holding one is looked at whatever follows it)
        suspicious = prof.non_ascii or prof.with_nul or prof.blobs or (kind == "json" and prof.invalid_json)
        where = f"typeof({{c}}) = 'blob' OR (typeof({{c}}) = 'text' AND ({{c}} GLOB :non_ascii OR {HAS_NUL}))"
        if kind == "json":
            where += " OR (typeof({c}) = 'text' AND NOT json_valid({c}))"
        limit, fixed = col.args[:2] if kind == "text" else (None, None)
        if limit:  # VARCHAR(n)/CHAR(n) that an override chose: longer values (numbers as text too)
            suspicious = suspicious or prof.text_max_chars > limit or prof.integers or prof.reals
            where += f" OR typeof({{c}}) IN ('integer', 'real') OR length({{c}}) > {int(limit)}"
        if fixed:  # CHAR drops trailing spaces on read
            suspicious = suspicious or prof.trailing_space
            where += " OR {c} GLOB '* '"
        return (0 if not suspicious else None), where
    if kind == "blob":  # bytes hold anything (numbers as their exact text)
        return 0, "0"
    raise AssertionError(kind)


# --- the way back ----------------------------------------------------------------------
# A rollback brings rows the application wrote on MySQL back to SQLite. Each kind the
# decision above can choose has its way back here, next to the way there: the value as the
# source stores it (Django's forms on SQLite), proven by converting it forward again with the
# column's own converter, so a value the column cannot hold is refused by name instead of
# being stored in a form the application, or the next cutover, cannot read.

_SQLITE_INT = (-2 ** 63, 2 ** 63 - 1)


def _int_back(value, _col) -> int:
    number = int(value)
    if not _SQLITE_INT[0] <= number <= _SQLITE_INT[1]:
        raise ValueConflict(f"{number} is beyond SQLite's 64-bit integers")
    return number


def _decimal_back(value, _col):
    """The number SQLite's NUMERIC affinity makes of Django's text (`str(Decimal)`): an
    INTEGER when whole, a REAL when that REAL is exactly the value, else the text."""
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if number == number.to_integral_value() and _SQLITE_INT[0] <= number <= _SQLITE_INT[1]:
        return int(number)
    as_real = float(number)
    return as_real if Decimal(repr(as_real)) == number else str(number)


def _datetime_back(value, _col) -> str:
    """UTC, `YYYY-MM-DD HH:MM:SS[.ffffff]`: what Django writes on SQLite (MySQL holds UTC,
    the migration converted every offset on the way there)."""
    return str(value) if isinstance(value, dt.datetime) else _text_back(value, _col)


def _time_back(value, _col) -> str:
    if isinstance(value, dt.timedelta):  # MySQL TIME spans -838:59:59..838:59:59
        if not dt.timedelta(0) <= value < dt.timedelta(days=1):
            raise ValueConflict(f"TIME {value} is not a time of day")
        value = (dt.datetime.min + value).time()
    return str(value) if isinstance(value, dt.time) else _text_back(value, _col)


def _text_back(value, _col) -> str:
    return bytes(value).decode("utf-8") if isinstance(value, (bytes, bytearray, memoryview)) else str(value)


def _uuid_back(value, _col) -> str:
    """Django's UUIDField on SQLite: 32 lowercase hex digits, no dashes."""
    return uuid.UUID(_text_back(value, _col)).hex


# kind -> MySQL value (as the driver returns it) -> SQLite value
WAY_BACK = {
    "int": _int_back,
    "bool": _int_back,
    "decimal": _decimal_back,
    "double": lambda value, _col: float(value),
    "datetime": _datetime_back,
    "date": lambda value, _col: value.isoformat() if isinstance(value, dt.date) else _text_back(value, _col),
    "time": _time_back,
    "text": _text_back,
    "json": _text_back,
    "uuid": _uuid_back,
    "blob": lambda value, _col: bytes(value) if isinstance(value, (bytearray, memoryview)) else value,
}
KINDS = frozenset(WAY_BACK)


_SPACE = " \t\n\v\f\r"  # what SQLite skips around a number (ASCII only, as its digits are)
_NUMBER_TEXT = re.compile(r"[ \t\n\v\f\r]*[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?[ \t\n\v\f\r]*")


def _after_affinity(value, affinity: str):
    """What SQLite stores for `value` in a column of this affinity (its conversion rules,
    https://sqlite.org/datatype3.html#type_affinity); numbers go into TEXT columns as their
    exact text, not as SQLite's 15-digit rendering."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if affinity == "TEXT" and number:
        return repr(value) if isinstance(value, float) else str(value)
    if affinity in ("INTEGER", "NUMERIC", "REAL") and isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        text = value.strip(_SPACE)
        value = int(text) if re.fullmatch(r"[+-]?[0-9]+", text) and _SQLITE_INT[0] <= int(text) <= _SQLITE_INT[1] \
            else float(text)
        number = True
    if number and affinity in ("INTEGER", "NUMERIC") and isinstance(value, float) and value.is_integer() \
            and _SQLITE_INT[0] <= value <= _SQLITE_INT[1]:
        return int(value)
    if number and affinity == "REAL":
        return float(value)
    return value


def sqlite_value(col: ColumnPlan, value, affinity: str):
    """The SQLite value of a MySQL value of this column (`affinity`: the SQLite column's), or
    ValueConflict saying why that column cannot hold it the way the migration reads it."""
    if value is None:
        return None
    back = WAY_BACK[col.kind](value, col)
    stored = _after_affinity(back, affinity)
    if col.kind in CONVERTERS:  # the way there again: it must read what SQLite stores as what MySQL holds
        args = (list(col.args) + [None, None])[:2]
        there = CONVERTERS[col.kind](back, *args)
        if stored is not back and CONVERTERS[col.kind](stored, *args) != there:
            raise ValueConflict(f"SQLite's {affinity} affinity would store it as {stored!r}")
    return stored
