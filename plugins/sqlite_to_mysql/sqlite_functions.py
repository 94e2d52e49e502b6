"""SQL functions registered on the source connection, so conversions run inside SQLite's
own scans. Every function is deterministic; converters raise on a value they cannot hold
exactly (the statement fails loudly), checkers return the problem text or NULL."""
from __future__ import annotations

import sqlite3

from sqlite_to_mysql import values
from sqlite_to_mysql.values import ValueConflict

# kind -> converter(value, arg1, arg2) returning canonical MySQL text
CONVERTERS = {
    "int": lambda v, lo, hi: values.integer_text(v, lo, hi),
    "decimal": lambda v, p, s: values.decimal_text(v, p, s),
    "double": lambda v, _a, _b: values.double_text(v),
    "bool": lambda v, _a, _b: values.bool_text(v),
    "datetime": lambda v, fsp, _b: values.datetime_text(v, fsp),
    "date": lambda v, _a, _b: values.date_text(v),
    "time": lambda v, fsp, _b: values.time_text(v, fsp),
    "text": lambda v, _a, _b: values.text_text(v),
    "json": lambda v, _a, _b: values.text_text(v),
    "uuid": lambda v, _a, _b: values.uuid_text(v),
}


def convert(kind: str, value, a=None, b=None):
    if value is None:
        return None
    return CONVERTERS[kind](value, a, b)


def problem(kind: str, storage: str, raw, a=None, b=None) -> str | None:
    """Why a value does not fit its planned kind, or None. The value comes as
    row_transport.raw_sql reads it (text as its bytes): text that is not UTF-8 reaches Python
    too, and is a problem wherever MySQL wants text."""
    if raw is None or kind == "blob":  # bytes hold anything: numbers as their exact text
        return None
    value = raw
    if storage == "text" and isinstance(raw, bytes):
        try:
            value = raw.decode("utf-8")
        except UnicodeDecodeError:
            return values.utf8_problem(raw)
    try:
        if kind in ("text", "json") and isinstance(value, bytes):
            bad = values.utf8_problem(value)
            if bad:
                return bad
            value = value.decode("utf-8")
        text = CONVERTERS[kind](value, a, b)
        if kind == "json":
            return values.json_problem(text)
        if kind == "text" and a and len(text) > a:
            return f"{len(text)} characters, more than {a}"
        if kind == "text" and b and text.endswith(" "):
            return "trailing spaces, which CHAR drops on read"
        return None
    except ValueConflict as exc:
        return str(exc)


def utf8_problem(raw) -> str | None:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    return values.utf8_problem(raw) if isinstance(raw, bytes) else None


class DecimalShape:
    """Aggregate: the (integer digits, scale) a set of numbers needs, as 'digits,scale'."""

    def __init__(self) -> None:
        self.digits = 0
        self.scale = 0
        self.bad = 0

    def step(self, value) -> None:
        try:
            digits, scale = values.decimal_shape(value)
        except ValueConflict:
            self.bad += 1
            return
        self.digits = max(self.digits, digits)
        self.scale = max(self.scale, scale)

    def finalize(self) -> str:
        return f"{self.digits},{self.scale},{self.bad}"


def register(conn: sqlite3.Connection) -> sqlite3.Connection:
    det = {"deterministic": True}
    conn.create_function("s2m_value", 4, convert, **det)
    conn.create_function("s2m_problem", 5, problem, **det)
    conn.create_function("s2m_utf8_problem", 1, utf8_problem, **det)
    for kind, fn in CONVERTERS.items():
        conn.create_function(f"s2m_{kind}", 3, _null_safe(fn), **det)
    conn.create_aggregate("s2m_decimal_shape", 1, DecimalShape)
    return conn


def _null_safe(fn):
    def wrapped(value, a, b):
        return None if value is None else fn(value, a, b)

    return wrapped
