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


def fast_datetime_sql(col: str) -> str:
    """True where the text is already a valid 'YYYY-MM-DD HH:MM:SS[.ffffff]' (checked in C)."""
    globs = " OR ".join(f"{col} GLOB '{g}'" for g in DATETIME_GLOBS)
    return (f"(typeof({col}) = 'text' AND ({globs}) AND date(substr({col}, 1, 10)) = substr({col}, 1, 10)"
            f" AND time(substr({col}, 12, 8)) = substr({col}, 12, 8))")


def fast_date_sql(col: str) -> str:
    return f"(typeof({col}) = 'text' AND {col} GLOB '{DATE_GLOB}' AND date({col}) = {col})"


def fast_time_sql(col: str) -> str:
    globs = " OR ".join(f"{col} GLOB '{g}'" for g in TIME_GLOBS)
    return f"(typeof({col}) = 'text' AND ({globs}) AND time(substr({col}, 1, 8)) = substr({col}, 1, 8))"


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


_ALWAYS = [
    ("nulls", "sum({c} IS NULL)"),
    ("integers", "sum(typeof({c}) = 'integer')"),
    ("reals", "sum(typeof({c}) = 'real')"),
    ("texts", "sum(typeof({c}) = 'text')"),
    ("blobs", "sum(typeof({c}) = 'blob')"),
    ("int_min", "min(CASE WHEN typeof({c}) = 'integer' THEN {c} END)"),
    ("int_max", "max(CASE WHEN typeof({c}) = 'integer' THEN {c} END)"),
    ("text_max_chars", "max(CASE WHEN typeof({c}) = 'text' THEN length({c}) END)"),
    ("text_max_bytes", "max(CASE WHEN typeof({c}) = 'text' THEN length(CAST({c} AS BLOB)) END)"),
    ("blob_max_bytes", "max(CASE WHEN typeof({c}) = 'blob' THEN length({c}) END)"),
    ("nonfinite", "sum(typeof({c}) = 'real' AND abs({c}) > 1.7976931348623157e308)"),
    ("numeric_shape", "s2m_decimal_shape({c}) FILTER (WHERE typeof({c}) = 'real' "
                      "AND abs({c}) <= 1.7976931348623157e308)"),
]
_TEXTUAL = [
    ("non_ascii", "sum(typeof({c}) = 'text' AND {c} GLOB :non_ascii)"),
    ("with_nul", "sum(typeof({c}) = 'text' AND instr(CAST({c} AS BLOB), x'00') > 0)"),
    ("trailing_space", "sum(typeof({c}) = 'text' AND {c} GLOB '* ')"),
    ("non_numeric_text", "sum(typeof({c}) = 'text' AND CAST({c} AS NUMERIC) IS NOT {c})"),
]
# Extra aggregates by declared kind: only what the mapping of that kind needs to decide.
_BY_KIND = {
    "datetime": [("nonstandard_datetime", "sum(typeof({c}) != 'null' AND NOT {fast_dt})"),
                 ("with_fraction", "sum(typeof({c}) = 'text' AND {c} GLOB '*:[0-9][0-9].[0-9]*')")],
    "date": [("nonstandard_date", "sum(typeof({c}) != 'null' AND NOT {fast_d})")],
    "time": [("nonstandard_time", "sum(typeof({c}) != 'null' AND NOT {fast_t})")],
    "json": [("invalid_json", "sum(typeof({c}) = 'text' AND NOT json_valid({c}))")],
}


def aggregates_for(kind: str) -> list[tuple[str, str]]:
    return _ALWAYS + _TEXTUAL + _BY_KIND.get(kind, [])


def profile_table(conn: sqlite3.Connection, table: SourceTable, kinds: dict[str, str]) -> TableProfile:
    """Profile every column of the table in a single scan (SQLite does the work in C;
    Python is called only for REAL values, to learn their exact decimal shape).

    kinds maps column name -> declared kind, which selects the checks worth running."""
    columns = [c.name for c in table.columns if not c.generated]
    selects = ["count(*)"]
    payload = []
    plan = []
    for name in columns:
        c = qi(name)
        payload.append(f"coalesce(length(CAST({c} AS BLOB)), 0)")
        aggregates = aggregates_for(kinds.get(name, "unknown"))
        plan.append((name, aggregates))
        for _key, template in aggregates:
            selects.append(template.format(c=c, fast_dt=fast_datetime_sql(c), fast_d=fast_date_sql(c),
                                           fast_t=fast_time_sql(c)))
    selects.append(f"sum({' + '.join(payload) or '0'})")
    sql = f"SELECT {', '.join(selects)} FROM {qi(table.name)}"
    row = conn.execute(sql, {"non_ascii": NON_ASCII_GLOB}).fetchone()
    profile = TableProfile(rows=row[0], bytes=row[-1] or 0)
    pos = 1
    for name, aggregates in plan:
        col = ColumnProfile()
        for key, _template in aggregates:
            value = row[pos]
            pos += 1
            if key == "numeric_shape":
                digits, scale, _bad = (int(x) for x in (value or "0,0,0").split(","))
                col.numeric_digits, col.numeric_scale = digits, scale
            elif key in ("int_min", "int_max"):
                setattr(col, key, value)
            else:
                setattr(col, key, value or 0)
        profile.columns[name] = col
    _add_numeric_text_shape(conn, table, profile)
    return profile


def _add_numeric_text_shape(conn: sqlite3.Connection, table: SourceTable, profile: TableProfile) -> None:
    """Numbers stored as TEXT (e.g. '12.50' in a column without numeric affinity) widen the shape."""
    for name, col in profile.columns.items():
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
