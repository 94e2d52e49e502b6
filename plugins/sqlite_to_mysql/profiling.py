"""One scan per table measures what every column really holds: storage classes, ranges,
lengths, decimal shapes, date forms. The type mapping decides from this, not from the
declared type alone, because SQLite lets a column hold anything."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

from sqlite_to_mysql.source_schema import SourceTable, qi

DIGIT = "[0-9]"
DATE_GLOB = f"{DIGIT * 4}-{DIGIT * 2}-{DIGIT * 2}"
TIME_GLOB = f"{DIGIT * 2}:{DIGIT * 2}:{DIGIT * 2}"
DATETIME_GLOBS = (f"{DATE_GLOB} {TIME_GLOB}", f"{DATE_GLOB} {TIME_GLOB}.{DIGIT * 6}")
TIME_GLOBS = (TIME_GLOB, f"{TIME_GLOB}.{DIGIT * 6}")
NON_ASCII_GLOB = "*[^" + chr(1) + "-" + chr(127) + "]*"
# A NUL byte anywhere in the value. GLOB and SQLite's JSON functions stop at the first NUL, so
# every check that reads text with them needs this beside it. (A template: {c} is the column.)
HAS_NUL = "instr(CAST({c} AS BLOB), x'00') > 0"


def _year_1000_on(col: str) -> str:
    """A 4-digit year of 1000 or later, for text already matching DATE_GLOB. Not `col >= '1000'`:
    in a column of NUMERIC affinity (DATETIME, DATE) that compares the text with the number
    1000, and text is greater than any number, so '0000-01-01' passed."""
    return f"substr({col}, 1, 1) <> '0'"


def _valid_day(col: str) -> str:
    """Month 01-12 and a day the month has, for text already matching DATE_GLOB. Days 01-28
    exist in every month; only 29-31 ask the calendar (date() keeps '2021-02-30' as it is;
    through julianday() it becomes '2021-03-02' and differs). Never NULL."""
    return (f"substr({col}, 6, 2) BETWEEN '01' AND '12' AND (substr({col}, 9, 2) BETWEEN '01' AND '28' "
            f"OR date(julianday(substr({col}, 1, 10))) IS substr({col}, 1, 10))")


def _valid_clock(col: str, start: int) -> str:
    """HH:MM:SS at `start` (1-based) within range, for text already matching a time GLOB."""
    return (f"substr({col}, {start}, 2) <= '23' AND substr({col}, {start + 3}, 2) <= '59' "
            f"AND substr({col}, {start + 6}, 2) <= '59'")


def fast_datetime_sql(col: str) -> str:
    """True where the text is already a valid 'YYYY-MM-DD HH:MM:SS[.ffffff]' (checked in C)."""
    globs = " OR ".join(f"{col} GLOB '{g}'" for g in DATETIME_GLOBS)
    return (f"(typeof({col}) = 'text' AND ({globs}) AND {_year_1000_on(col)} AND {_valid_day(col)} "
            f"AND {_valid_clock(col, 12)})")


def fast_date_sql(col: str) -> str:
    return f"(typeof({col}) = 'text' AND {col} GLOB '{DATE_GLOB}' AND {_year_1000_on(col)} AND {_valid_day(col)})"


def fast_time_sql(col: str) -> str:
    globs = " OR ".join(f"{col} GLOB '{g}'" for g in TIME_GLOBS)
    return f"(typeof({col}) = 'text' AND ({globs}) AND {_valid_clock(col, 1)})"


@dataclass
class ColumnProfile:
    nulls: int = 0
    integers: int = 0
    reals: int = 0
    texts: int = 0
    blobs: int = 0
    int_min: int | None = None
    int_max: int | None = None
    nonfinite: int = 0
    text_max_chars: int = 0
    text_max_bytes: int = 0
    blob_max_bytes: int = 0
    non_ascii: int = 0
    with_nul: int = 0
    trailing_space: int = 0
    numeric_digits: int = 0  # integer digits needed by REAL and numeric TEXT values
    numeric_scale: int = 0
    non_numeric_text: int = 0
    nonstandard_datetime: int = 0  # text not already in canonical DATETIME form
    nonstandard_date: int = 0
    nonstandard_time: int = 0
    with_fraction: int = 0
    invalid_json: int = 0

    @property
    def values(self) -> int:
        return self.integers + self.reals + self.texts + self.blobs


@dataclass
class TableProfile:
    rows: int
    bytes: int  # approximate payload size
    columns: dict[str, ColumnProfile] = field(default_factory=dict)


_BASIC = [
    ("non_null", "count({c})"),
    ("integers", "sum(typeof({c}) = 'integer')"),
    ("reals", "sum(typeof({c}) = 'real')"),
    ("texts", "sum(typeof({c}) = 'text')"),
    ("int_min", "min(CASE WHEN typeof({c}) = 'integer' THEN {c} END)"),
    ("int_max", "max(CASE WHEN typeof({c}) = 'integer' THEN {c} END)"),
]
# The decimal places of a REAL are the smallest k with x = round(x, k): a k-place decimal that
# reads back as x exists, so the shortest round-trip form has k places, and none with fewer
# does. Checked in C up to 4 places; REALs needing more go through Python (code 99).
_REAL_SCALE = ("CASE WHEN {c} = round({c}) THEN 0 WHEN {c} = round({c}, 1) THEN 1 WHEN {c} = round({c}, 2) "
               "THEN 2 WHEN {c} = round({c}, 3) THEN 3 WHEN {c} = round({c}, 4) THEN 4 ELSE 99 END")
_FINITE = "{c} BETWEEN -1.7976931348623157e308 AND 1.7976931348623157e308"
_NUMERIC = [
    ("nonfinite", "sum(typeof({c}) = 'real' AND NOT " + _FINITE + ")"),
    ("real_scale", "max(CASE WHEN typeof({c}) = 'real' AND " + _FINITE + " THEN " + _REAL_SCALE + " END)"),
    ("real_min", "min(CASE WHEN typeof({c}) = 'real' AND " + _FINITE + " THEN {c} END)"),
    ("real_max", "max(CASE WHEN typeof({c}) = 'real' AND " + _FINITE + " THEN {c} END)"),
    ("non_numeric_text", "sum(typeof({c}) = 'text' AND CAST({c} AS NUMERIC) IS NOT {c})"),
]
_TEXTUAL = [
    ("text_max_chars", "max(CASE WHEN typeof({c}) = 'text' THEN length({c}) END)"),
    ("text_max_bytes", "max(CASE WHEN typeof({c}) = 'text' THEN length(CAST({c} AS BLOB)) END)"),
    ("blob_max_bytes", "max(CASE WHEN typeof({c}) = 'blob' THEN length({c}) END)"),
    ("non_ascii", "sum(typeof({c}) = 'text' AND {c} GLOB :non_ascii)"),
    ("with_nul", "sum(typeof({c}) = 'text' AND " + HAS_NUL + ")"),
]
_TRAILING_SPACE = ("trailing_space", "sum(typeof({c}) = 'text' AND {c} GLOB '* ')")
# Aggregates by declared kind: only what the mapping of that kind needs to decide.
_BY_KIND = {
    "int": _BASIC,
    "bool": _BASIC + [_NUMERIC[-1]],
    "decimal": _BASIC + _NUMERIC,
    "double": _BASIC + _NUMERIC,
    "datetime": _BASIC + [("nonstandard_datetime", "sum({c} IS NOT NULL AND NOT {fast_dt})"),
                          ("with_fraction", "sum(typeof({c}) = 'text' AND {c} GLOB '*:[0-9][0-9].[0-9]*')"),
                          _TEXTUAL[0]],
    "date": _BASIC + [("nonstandard_date", "sum({c} IS NOT NULL AND NOT {fast_d})"), _TEXTUAL[0]],
    "time": _BASIC + [("nonstandard_time", "sum({c} IS NOT NULL AND NOT {fast_t})"), _TEXTUAL[0]],
    "text": _BASIC + _TEXTUAL,
    "char": _BASIC + _TEXTUAL + [_TRAILING_SPACE],
    "blob": _BASIC + _TEXTUAL,
    "json": _BASIC + _TEXTUAL + [("invalid_json", "sum(typeof({c}) = 'text' AND NOT json_valid({c}))")],
    "unknown": _BASIC + _NUMERIC + _TEXTUAL,
}


# Kinds whose MySQL type may be numeric: only for them do numbers held as text (their digits
# and decimal places) shape the type.
NUMERIC_KINDS = ("int", "bool", "decimal", "double", "unknown")


def aggregates_for(kind: str) -> list[tuple[str, str]]:
    return _BY_KIND.get(kind, _BY_KIND["unknown"])


# The first scan asks less of columns whose values usually all have their declared kind's
# form: kind -> (aggregates, the count that equals non_null when every value has that form,
# the aggregates that then equal that count too). Everything else the full aggregates measure
# is then zero or None, the ColumnProfile defaults. A column whose count falls short is
# profiled again with the full aggregates, so the result is the same either way.
_NON_NULL = _BASIC[0]
# (+ 0: in a column that turns out not to conform, min/max may be text Python cannot decode;
# the result is then discarded anyway)
_WHOLE_INTS = [_NON_NULL, _BASIC[1], ("int_min", "min({c}) + 0"), ("int_max", "max({c}) + 0")]
_ALL_TEXT = [_NON_NULL, _BASIC[3], ("text_max_chars", "max(length({c}))"),
             ("text_max_bytes", "max(length(CAST({c} AS BLOB)))"), ("non_ascii", "sum({c} GLOB :non_ascii)"),
             ("with_nul", "sum(" + HAS_NUL + ")")]
_QUICK = {
    "int": (_WHOLE_INTS, "integers", ()),
    "bool": (_WHOLE_INTS, "integers", ()),
    "text": (_ALL_TEXT, "texts", ()),
    "char": (_ALL_TEXT + [("trailing_space", "sum({c} GLOB '* ')")], "texts", ()),
    "json": (_ALL_TEXT + [("invalid_json", "sum({c} IS NOT NULL AND NOT json_valid({c}))")], "texts", ()),
    "datetime": ([_NON_NULL, ("canonical", "sum({fast_dt})"),
                  ("with_fraction", "sum({c} GLOB '*:[0-9][0-9].[0-9]*')"), ("text_max_chars", "max(length({c}))")],
                 "canonical", ("texts",)),
    "date": ([_NON_NULL, ("canonical", "sum({fast_d})"), ("text_max_chars", "max(length({c}))")],
             "canonical", ("texts",)),
    "time": ([_NON_NULL, ("canonical", "sum({fast_t})"), ("text_max_chars", "max(length({c}))")],
             "canonical", ("texts",)),
}


def profile_table(conn: sqlite3.Connection, table: SourceTable, kinds: dict[str, str]) -> TableProfile:
    """Profile every column of the table in one scan, SQLite doing the work in C.

    kinds maps column name -> declared kind ('char' for fixed-width text), which selects
    the checks worth running on that column."""
    scan = ProfileScan(table, kinds)
    return scan.finish(conn, [scan.run(conn)])


# How two parts' results of one aggregate combine (everything else is a count or a sum).
_MERGE_MIN = {"int_min", "real_min"}
_MERGE_MAX = {"int_max", "real_max", "real_scale", "text_max_chars", "text_max_bytes", "blob_max_bytes"}


class ProfileScan:
    """A table's profile as one aggregate query that can also run over parts of the table
    (rowid ranges, on several connections at once) whose results merge exactly.

    quick=True asks conforming columns less (see _QUICK); finish() re-profiles any column
    that turns out not to conform, with its full aggregates."""

    def __init__(self, table: SourceTable, kinds: dict[str, str], *, quick: bool = True,
                 only: set[str] | None = None) -> None:
        self.table, self.kinds = table, kinds
        selects = ["count(*)"]
        payload = []
        self.plan: list[tuple[str, list[tuple[str, str]], tuple | None]] = []
        self.keys = ["rows"]
        for name in (c.name for c in table.columns if not c.generated and (only is None or c.name in only)):
            c = qi(name)
            payload.append(f"coalesce(length(CAST({c} AS BLOB)), 0)")
            kind = kinds.get(name, "unknown")
            spec = _QUICK.get(kind) if quick else None
            aggregates = spec[0] if spec else aggregates_for(kind)
            self.plan.append((name, aggregates, spec))
            for key, template in aggregates:
                self.keys.append(key)
                selects.append(template.format(c=c, fast_dt=fast_datetime_sql(c), fast_d=fast_date_sql(c),
                                               fast_t=fast_time_sql(c)))
        selects.append(f"sum({' + '.join(payload) or '0'})")
        self.keys.append("bytes")
        self.sql = f"SELECT {', '.join(selects)} FROM {qi(table.name)}"

    def run(self, conn: sqlite3.Connection, where: str = "", params: dict | None = None) -> tuple:
        sql = self.sql + (f" WHERE {where}" if where else "")
        return conn.execute(sql, {"non_ascii": NON_ASCII_GLOB, **(params or {})}).fetchone()

    def merge(self, rows: list[tuple]) -> list:
        merged = list(rows[0])
        for row in rows[1:]:
            for i, (key, value) in enumerate(zip(self.keys, row)):
                if value is None:
                    continue
                if merged[i] is None:
                    merged[i] = value
                elif key in _MERGE_MIN:
                    merged[i] = min(merged[i], value)
                elif key in _MERGE_MAX:
                    merged[i] = max(merged[i], value)
                else:
                    merged[i] += value
        return merged

    def column_values(self, row: list) -> dict[str, dict]:
        """Column -> {aggregate: value}, with what conformance implies filled in; columns
        that do not conform are left out."""
        out, pos = {}, 1
        for name, aggregates, spec in self.plan:
            values = dict(zip((key for key, _ in aggregates), row[pos:pos + len(aggregates)]))
            pos += len(aggregates)
            if spec:
                _aggregates, conform_key, same = spec
                if (values[conform_key] or 0) != (values["non_null"] or 0):
                    continue
                values.update(dict.fromkeys(same, values[conform_key]))
            out[name] = values
        return out

    def finish(self, conn: sqlite3.Connection, rows: list[tuple]) -> TableProfile:
        row = self.merge(rows)
        profile = TableProfile(rows=row[0] or 0, bytes=row[-1] or 0)
        found = self.column_values(row)
        redo = {name for name, _, _ in self.plan if name not in found}
        if redo:
            full = ProfileScan(self.table, self.kinds, quick=False, only=redo)
            found.update(full.column_values(full.run(conn)))
        for name, _aggregates, _spec in self.plan:
            values = found[name]
            col = ColumnProfile()
            for key, value in values.items():
                if key in ("int_min", "int_max"):
                    setattr(col, key, value)
                elif hasattr(col, key):
                    setattr(col, key, value or 0)
            col.nulls = profile.rows - (values["non_null"] or 0)
            col.blobs = (values["non_null"] or 0) - col.integers - col.reals - col.texts
            _real_shape(conn, self.table.name, name, col, values)
            profile.columns[name] = col
        _add_numeric_text_shape(conn, self.table, profile,
                                [n for n, _, _ in self.plan if self.kinds.get(n, "unknown") in NUMERIC_KINDS])
        return profile


def _real_shape(conn, table: str, name: str, col: ColumnProfile, values: dict) -> None:
    if values.get("real_scale") is None:
        return
    extremes = [abs(v) for v in (values["real_min"], values["real_max"]) if v is not None]
    col.numeric_digits = max(len(str(int(v))) if v >= 1 else 0 for v in extremes)
    col.numeric_scale = values["real_scale"]
    if col.numeric_scale == 99:
        # Some value was not settled in C (more than 4 places, or more digits than SQLite's
        # round() carries): read every REAL's exact shape in Python instead.
        c = qi(name)
        shape = conn.execute(f"SELECT s2m_decimal_shape({c}) FILTER (WHERE typeof({c}) = 'real' AND "
                             f"{_FINITE.format(c=c)}) FROM {qi(table)}").fetchone()[0]
        digits, scale, _bad = (int(x) for x in (shape or "0,0,0").split(","))
        col.numeric_digits = max(col.numeric_digits, digits)
        col.numeric_scale = scale


def _add_numeric_text_shape(conn: sqlite3.Connection, table: SourceTable, profile: TableProfile,
                            columns: list[str]) -> None:
    """Numbers stored as TEXT (e.g. '12.50' in a column without numeric affinity) widen the shape
    of these columns (one scan each, so only columns whose MySQL type may be numeric)."""
    for name in columns:
        col = profile.columns[name]
        numeric_texts = col.texts - col.non_numeric_text
        if numeric_texts <= 0:
            continue
        c = qi(name)
        shape = conn.execute(
            f"SELECT s2m_decimal_shape({c}) FILTER (WHERE typeof({c}) = 'text' "
            f"AND CAST({c} AS NUMERIC) IS {c}) FROM {qi(table.name)}").fetchone()[0]
        digits, scale, _bad = (int(x) for x in (shape or "0,0,0").split(","))
        col.numeric_digits = max(col.numeric_digits, digits)
        col.numeric_scale = max(col.numeric_scale, scale)
