"""The differential fidelity check: random SQLite databases, migrated under each conflict
policy, compared value by value with what MySQL gives back.

Three parts, each usable alone (the fuzzer, the fixed regression cases and the MySQL 8.4 run
in Docker share them):

- `Database`/`Table`/`Column` describe a source; `build()` writes it (INSERT OR IGNORE, so
  what SQLite refuses is simply absent: the truth is what the file holds afterwards), and
  `databases()` is the Hypothesis strategy that draws them.
- `read_source()`/`read_target()` read every value back: SQLite as (storage class, value)
  with text as its bytes and REAL as itself; MySQL through the driver, with each column's
  type as information_schema states it.
- `equivalent()` is the documented equivalence (docs/type-mapping.md, "How values compare"),
  written here from the MySQL type alone, independently of the migration's own conversion
  and checksum code: a value round-trips when what MySQL returns is equivalent to what SQLite
  held. `check_outcome()` applies the contract of each policy.
"""
from __future__ import annotations

import base64
import json
import math
import re
import sqlite3
import struct
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from hypothesis import strategies as st

# --- describing and building a source ---------------------------------------------------


@dataclass(frozen=True)
class TextBytes:
    """Bytes stored with storage class TEXT (invalid UTF-8 is possible: SQLite does not check)."""

    raw: bytes


@dataclass
class Column:
    name: str
    declared: str  # the declared type, "" for none


@dataclass
class Table:
    name: str
    columns: list[Column]
    key: str  # alias, pk, without_rowid, none
    key_columns: list[str] = field(default_factory=list)  # for pk / without_rowid
    unique: list[list[str]] = field(default_factory=list)
    index: list[list[str]] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)  # alias tables: the id first

    def ddl(self) -> str:
        parts = []
        if self.key == "alias":
            parts.append('"id" INTEGER PRIMARY KEY')
        parts += [f'{q(c.name)} {c.declared}'.rstrip() for c in self.columns]
        if self.key in ("pk", "without_rowid"):
            parts.append(f"PRIMARY KEY ({', '.join(map(q, self.key_columns))})")
        tail = " WITHOUT ROWID" if self.key == "without_rowid" else ""
        return f"CREATE TABLE {q(self.name)} ({', '.join(parts)}){tail}"

    def names(self) -> list[str]:
        return (["id"] if self.key == "alias" else []) + [c.name for c in self.columns]


@dataclass
class Database:
    tables: list[Table]
    django: bool = False  # a django_migrations table: Django's char(32) columns are UUIDs

    def describe(self) -> str:
        """The database as a script a person can paste into sqlite3 (for failure reports)."""
        lines = [t.ddl() + ";" for t in self.tables]
        for t in self.tables:
            for i, cols in enumerate(t.unique):
                lines.append(f"CREATE UNIQUE INDEX {q(f'{t.name}_u{i}')} ON {q(t.name)} ({', '.join(map(q, cols))});")
            for row in t.rows:
                lines.append(f"-- {t.name}: {row!r}"[:400])
        return "\n".join(lines)


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def build(path: Path, db: Database) -> Path:
    """Write the database; rows SQLite refuses are left out (what the file holds is the truth)."""
    conn = sqlite3.connect(path)
    if db.django:
        conn.execute('CREATE TABLE "django_migrations" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT, '
                     '"app" varchar(255) NOT NULL, "name" varchar(255) NOT NULL, "applied" datetime NOT NULL)')
        conn.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('shop', '0001_initial', "
                     "'2024-05-01 10:00:00.123456')")
    for t in db.tables:
        conn.execute(t.ddl())
        for i, cols in enumerate(t.unique):
            conn.execute(f"CREATE UNIQUE INDEX {q(f'{t.name}_u{i}')} ON {q(t.name)} ({', '.join(map(q, cols))})")
        for i, cols in enumerate(t.index):
            conn.execute(f"CREATE INDEX {q(f'{t.name}_i{i}')} ON {q(t.name)} ({', '.join(map(q, cols))})")
        names = t.names()
        for row in t.rows:
            marks = ", ".join("CAST(? AS TEXT)" if isinstance(v, TextBytes) else "?" for v in row)
            values = [v.raw if isinstance(v, TextBytes) else v for v in row]
            try:
                conn.execute(f"INSERT OR IGNORE INTO {q(t.name)} ({', '.join(map(q, names))}) VALUES ({marks})",
                             values)
            except sqlite3.IntegrityError:  # e.g. a non-integer in an INTEGER PRIMARY KEY
                pass
    conn.commit()
    conn.close()
    return path


# --- what the values are drawn from -----------------------------------------------------

INT_EDGES = [0, 1, -1, 7, 2 ** 31 - 1, -2 ** 31, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 1, -(2 ** 53) - 1,
             2 ** 63 - 1, -2 ** 63, 2 ** 63 - 2, -2 ** 63 + 1, 127, -128, 255, 65535, 10 ** 18]
REAL_EDGES = [0.0, -0.0, 0.1 + 0.2, 0.1, 1 / 3, 1e-300, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308,
              -1.7976931348623157e308, math.inf, -math.inf, math.nan, 1e16, 123456789012345680000.0, 2.0 ** 53,
              2.0 ** 63, -2.0 ** 63, 9007199254740993.0, 0.5, 19.99, 1e-7, 100.0, 12345678.9, 0.125, 3.0]
TEXT_EDGES = ["", " ", "a", "A", "a ", " a", "\u00e1", "a\u0301", "\u00df", "ss", "\x00", "nul\x00inside",
              "\U0001F600", "\U0001F600 emoji", "007", "0", "-0", "+5", " 12", "12 ", "1e5", "1E400", "0x1F",
              "12.50", "1.", ".5", "NaN", "Infinity", "-inf", "true", "false", "yes", "no", "t", "f", "on", "off",
              "TRUE", "null", "tab\there", "new\nline", "back\\slash", "it's", "\\N", "\r", "x" * 300,
              "y" * 1000, "z" * 70000]
# near-duplicates under case-, accent- and space-insensitive comparison
NEAR_DUPLICATES = ["a", "A", "a ", "a  ", "\u00e1", "\u00c1", "a\u0301", "\u00df", "ss", "SS", "x", "X", "x ",
                   "\u0131", "i", "I", "\U0001F600", "\U0001F601", ""]
DATE_FORMS = ["0000-00-00", "0000-00-00 00:00:00", "2021-02-30", "2020-02-29", "1999-12-31", "0999-12-31",
              "1000-01-01 00:00:00+01:00", "1000-01-01 00:00:00-01:00", "9999-12-31 23:59:59.999999",
              "9999-12-31 23:30:00-01:00", "2020-03-01T10:00:00Z", "2020-03-01 10:00:00 +0000",
              "2020-03-01T10:00:00.123456789+05:30", "2020-03-01T10:00:00.1234560", "2020-03-01 10:00",
              "20200301", "2020/03/01", "March 1, 2020", "2020-3-1", "24:00:00", "12:30", "838:59:59",
              "-01:00:00", "23:59:59.9999999", "00:00:00.000000", "2020-03-01 24:00:00"]
JSON_EDGES = ["{}", "[]", '"s"', "1.", "01", '{"a":1,"a":2}', "[" * 40 + "]" * 40, "[" * 31 + "]" * 31,
              '"\\ud800"', "NaN", "{not json", '{"a": 1e400}', "18446744073709551616", ' {"x": [1, 2]} ',
              '{"\u00e9": "\U0001F600"}', '"\\u0000"', "-0", "1E2", "[1,]", "{'a': 1}", "true", "null"]
UUID_EDGES = ["8f5cc4975b84af27614305e25a31ac5e", "8f5cc4975b844f27614305e25a31ac5e",
              "00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff",
              "8F5CC4975B844F27814305E25A31AC5E", "8f5cc497-5b84-4f27-8143-05e25a31ac5e", "8f5cc4975b84"]

MEGABYTE = "m" * (1 << 20)

ints = st.one_of(st.sampled_from(INT_EDGES), st.integers(-2 ** 63, 2 ** 63 - 1), st.integers(-1000, 1000))
reals = st.one_of(st.sampled_from(REAL_EDGES), st.floats(), st.floats(-1e6, 1e6).map(lambda x: round(x, 2)))
texts = st.one_of(st.sampled_from(TEXT_EDGES + [MEGABYTE]), st.text(max_size=12),
                  st.text(alphabet="aA \u00e1\u00df\x00\U0001F600'\\\t\n0.5e", max_size=8))
invalid_utf8 = st.one_of(st.sampled_from([b"hi\xff!", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]),
                         st.binary(min_size=1, max_size=8).filter(lambda b: not _utf8(b))).map(TextBytes)
blobs = st.one_of(st.sampled_from([b"", b"\x00", b"\xff\xfe", bytes(range(256)), b"12", b"a"]),
                  st.binary(max_size=24))


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@st.composite
def datetimes(draw) -> str:
    if draw(st.integers(0, 5)) == 0:
        return draw(st.sampled_from(DATE_FORMS))
    year = draw(st.one_of(st.integers(0, 9999), st.sampled_from([0, 999, 1000, 1970, 2024, 9999])))
    month = draw(st.one_of(st.integers(1, 12), st.integers(0, 13)))
    day = draw(st.one_of(st.integers(1, 28), st.integers(0, 32)))
    text = f"{year:04d}-{month:02d}-{day:02d}"
    if draw(st.booleans()):
        hour = draw(st.one_of(st.integers(0, 23), st.integers(0, 25)))
        minute, second = draw(st.integers(0, 60)), draw(st.integers(0, 60))
        text += draw(st.sampled_from([" ", "T"])) + f"{hour:02d}:{minute:02d}"
        if draw(st.booleans()):
            text += f":{second:02d}"
            digits = draw(st.integers(0, 9))
            if digits:
                text += "." + "".join(draw(st.lists(st.sampled_from("0123456789"), min_size=digits,
                                                    max_size=digits)))
        text += draw(st.sampled_from(["", "", "Z", "+05:30", "-0130", "+00:00", " +0000", "-12:00", "+14:00"]))
    return text


@st.composite
def times(draw) -> str:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.sampled_from(DATE_FORMS))
    hour = draw(st.one_of(st.integers(0, 23), st.integers(0, 30)))
    text = f"{hour:02d}:{draw(st.integers(0, 60)):02d}"
    if draw(st.booleans()):
        text += f":{draw(st.integers(0, 60)):02d}"
        digits = draw(st.integers(0, 8))
        if digits:
            text += "." + str(draw(st.integers(0, 10 ** digits - 1))).zfill(digits)
    return text


json_documents = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8)
jsons = st.one_of(st.sampled_from(JSON_EDGES),
                  st.tuples(json_documents, st.booleans(), st.booleans()).map(
                      lambda t: json.dumps(t[0], ensure_ascii=t[1], separators=(",", ":") if t[2] else None)))
uuids = st.one_of(st.uuids().map(lambda u: u.hex), st.integers(0, 2 ** 128 - 1).map(lambda n: f"{n:032x}"),
                  st.sampled_from(UUID_EDGES), st.uuids().map(str))
numeric_texts = st.one_of(ints.map(str), reals.map(repr), st.sampled_from(["12.50", "0.10", "-0.0", "1e5", " 3",
                                                                          "3 ", "1_000", "0012"]))
words = st.sampled_from(["true", "false", "yes", "no", "t", "f", "on", "off", "1", "0", "True", "Y", "maybe"])

ANY = st.one_of(ints, reals, texts, blobs, invalid_utf8, datetimes(), jsons, uuids, st.none())
THEMES = {
    "int": (ints, ["INTEGER", "INT", "BIGINT", "SMALLINT", "TINYINT", "INT UNSIGNED", "MEDIUMINT",
                   "UNSIGNED BIG INT", "INT8", "FLOATING POINT"]),
    "real": (reals, ["REAL", "DOUBLE", "FLOAT", "DOUBLE PRECISION", "NUMERIC", "DECIMAL", "DECIMAL(10,2)",
                     "NUMERIC(5,3)", "MONEY"]),
    "numeric_text": (numeric_texts, ["DECIMAL(12,2)", "NUMERIC", "TEXT", "VARCHAR(10)", "", "NUMBER"]),
    "bool": (st.one_of(st.sampled_from([0, 1]), words), ["BOOLEAN", "bool", "TINYINT(1)"]),
    "text": (texts, ["TEXT", "VARCHAR(10)", "CHAR(4)", "NVARCHAR(3)", "CLOB", "VARYING CHARACTER(5)",
                     "STRING", "CHARACTER(2)"]),
    "near": (st.sampled_from(NEAR_DUPLICATES), ["TEXT", "VARCHAR(5)", "CHAR(2)", ""]),
    "datetime": (datetimes(), ["DATETIME", "TIMESTAMP", "DATE", "DATETIME2", "TEXT", "datetime"]),
    "time": (times(), ["TIME", "TEXT", "INTERVAL"]),
    "json": (jsons, ["JSON", "TEXT CHECK (json_valid(\"{name}\"))", "TEXT"]),
    "uuid": (uuids, ["char(32)", "CHAR(32)", "UUID", "TEXT"]),
    "blob": (st.one_of(blobs, invalid_utf8), ["BLOB", "BINARY", "VARBINARY(8)", ""]),
    "any": (ANY, ["", "FOO", "POINT", "ANY", "BLOB", "TEXT", "INTEGER", "REAL", "NUMERIC"]),
}


@st.composite
def columns(draw, count: int) -> list[tuple[Column, object]]:
    """(column, strategy of its values), each column with a theme its values mostly follow."""
    out = []
    for i in range(count):
        theme = draw(st.sampled_from(sorted(THEMES)))
        values, declarations = THEMES[theme]
        declared = draw(st.one_of(st.sampled_from(declarations), st.sampled_from(THEMES["any"][1])))
        name = f"c{i}"
        out.append((Column(name, declared.replace("{name}", name)),
                    st.one_of(values, values, values, values, ANY, st.none())))
    return out


@st.composite
def tables(draw, name: str) -> Table:
    cols = draw(columns(draw(st.integers(1, 4))))
    key = draw(st.sampled_from(["alias", "pk", "without_rowid", "none"]))
    names = [c.name for c, _ in cols]
    key_columns = []
    if key in ("pk", "without_rowid"):
        key_columns = draw(st.lists(st.sampled_from(names), min_size=1, max_size=min(2, len(names)), unique=True))
    unique = [draw(st.lists(st.sampled_from(names), min_size=1, max_size=2, unique=True))] \
        if draw(st.integers(0, 2)) == 0 else []
    index = [[draw(st.sampled_from(names))]] if draw(st.integers(0, 3)) == 0 else []
    rows = []
    for _ in range(draw(st.integers(0, 7))):
        row = [draw(strategy) for _, strategy in cols]
        if key == "alias":
            row.insert(0, draw(st.one_of(st.none(), ints)))
        rows.append(row)
    return Table(name, [c for c, _ in cols], key, key_columns, unique, index, rows)


@st.composite
def databases(draw) -> Database:
    count = draw(st.integers(1, 2))
    return Database([draw(tables(f"t{i}")) for i in range(count)], django=draw(st.booleans()))


# --- reading both sides -------------------------------------------------------------------

@dataclass
class SourceRow:
    rowid: int | None
    cells: dict[str, tuple[str, object]]  # column -> (storage class, value; text as bytes)


def read_source(path: Path, table: str) -> list[SourceRow]:
    conn = sqlite3.connect(path)
    try:
        info = conn.execute(f"PRAGMA table_info({q(table)})").fetchall()
        names = [r[1] for r in info]
        without_rowid = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
        has_rowid = not re.search(r"WITHOUT\s+ROWID\s*$", without_rowid, re.I)
        cells = ", ".join(f"typeof({q(n)}), CASE WHEN typeof({q(n)}) = 'text' THEN CAST({q(n)} AS BLOB) "
                          f"ELSE {q(n)} END" for n in names)
        rows = []
        for row in conn.execute(f"SELECT {'rowid' if has_rowid else 'NULL'}, {cells} FROM {q(table)}"):
            rows.append(SourceRow(row[0], {n: (row[1 + 2 * i], row[2 + 2 * i]) for i, n in enumerate(names)}))
        return rows
    finally:
        conn.close()


@dataclass
class TargetColumn:
    name: str
    data_type: str  # information_schema DATA_TYPE
    column_type: str
    json_checked: bool = False

    @property
    def is_bool(self) -> bool:
        return self.column_type.lower() == "tinyint(1)"


HIDDEN_ROWID = "_sqlite_rowid"


def target_columns(conn, table: str) -> dict[str, TargetColumn]:
    cur = conn.cursor()
    cur.execute("SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE FROM information_schema.COLUMNS WHERE "
                "TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (table,))
    cols = {r[0]: TargetColumn(r[0], r[1].lower(), r[2]) for r in cur.fetchall()}
    cur.execute("SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = "
                "DATABASE() AND TABLE_NAME = %s", (table,))
    for (clause,) in cur.fetchall():
        for name, col in cols.items():
            if re.search(r"json_valid\(`" + re.escape(name) + "`\\)", clause, re.I):
                col.json_checked = True
    return cols


def read_target(conn, table: str) -> tuple[dict[str, TargetColumn], list[dict]]:
    """Column types and every row (the hidden rowid included, by name)."""
    cols = target_columns(conn, table)
    cur = conn.cursor()
    names = list(cols)
    cur.execute(f"SELECT {', '.join('`' + n.replace('`', '``') + '`' for n in names)} FROM `{table}`")
    return cols, [dict(zip(names, row)) for row in cur.fetchall()]


# --- the equivalence ------------------------------------------------------------------------

_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")
_DATETIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
                       r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?")
_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?")
TRUE_WORDS = {"1", "t", "true", "y", "yes", "on"}
FALSE_WORDS = {"0", "f", "false", "n", "no", "off"}
INT_TYPES = {"tinyint", "smallint", "mediumint", "int", "bigint"}
TEXT_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}
BLOB_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}


def _text(value) -> str | None:
    try:
        return value.decode("utf-8") if isinstance(value, bytes) else value
    except UnicodeDecodeError:
        return None


def _number(storage: str, value) -> Decimal | None:
    """The exact number a SQLite value stands for: a REAL at its shortest round-trip form."""
    if storage == "integer":
        return Decimal(value)
    if storage == "real":
        return Decimal(repr(value)) if math.isfinite(value) else None
    if storage == "text":
        text = _text(value)
        if text is not None and _NUMBER.fullmatch(text):
            return Decimal(text.strip())
    return None


def _instant(text: str) -> datetime | None:
    """A date/time text as the UTC moment it names (microseconds; a finer fraction must be zeros)."""
    m = _DATETIME.fullmatch(text.strip())
    if not m:
        return None
    fraction = m[7] or ""
    if fraction[6:].strip("0"):
        return None
    try:
        moment = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4] or 0), int(m[5] or 0), int(m[6] or 0),
                          int((fraction + "000000")[:6]))
    except ValueError:
        return None
    if m[8]:
        zone = timezone.utc
        if m[8] != "Z":
            digits = m[8][1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            zone = timezone(offset if m[8][0] == "+" else -offset)
        try:
            moment = moment.replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)
        except OverflowError:
            return None
    return moment


def equivalent(cell: tuple[str, object], col: TargetColumn, got) -> bool:
    """Does MySQL's value `got`, in a column of this type, stand for the SQLite cell?"""
    storage, value = cell
    if storage == "null" or got is None:
        return storage == "null" and got is None
    t = col.data_type
    if isinstance(got, (bytearray, memoryview)):
        got = bytes(got)
    if t in INT_TYPES and col.is_bool:
        if storage in ("integer", "real"):
            return value in (0, 1) and got == value
        word = (_text(value) or "").strip().lower() if storage == "text" else None
        return (word in TRUE_WORDS and got == 1) or (word in FALSE_WORDS and got == 0)
    if t in INT_TYPES:
        return storage in ("integer", "real") and float(value).is_integer() and got == value
    if t == "decimal":
        number = _number(storage, value)
        return number is not None and Decimal(got) == number
    if t in ("double", "float"):
        if storage == "real":
            return got == value  # -0.0 equals 0.0: MySQL keeps no negative zero
        if storage == "integer":
            return Decimal(got) == Decimal(value)
        number = _number(storage, value)
        return number is not None and Decimal(repr(got)) == number
    if t in ("datetime", "timestamp"):
        return storage == "text" and _instant(_text(value) or "") == got
    if t == "date":
        text = _text(value) if storage == "text" else None
        moment = _instant(text) if text else None
        return moment is not None and moment.time() == time(0) and _DATETIME.fullmatch(text.strip())[8] is None \
            and moment.date() == got
    if t == "time":
        m = _TIME.fullmatch((_text(value) or "").strip()) if storage == "text" else None
        if not m or (m[4] or "")[6:].strip("0"):
            return False
        wanted = timedelta(hours=int(m[1]), minutes=int(m[2]), seconds=int(m[3] or 0),
                           microseconds=int(((m[4] or "") + "000000")[:6]))
        return wanted < timedelta(hours=24) and int(m[2]) < 60 and int(m[3] or 0) < 60 and got == wanted
    if t == "uuid":
        return storage == "text" and _text(value) == str(got).replace("-", "")
    if t == "json":  # MySQL's JSON type: the same document, as a value
        text = _text(value) if storage == "text" else None
        try:
            return text is not None and json.loads(text) == json.loads(got)
        except ValueError:
            return False
    if t in TEXT_TYPES:
        got = _text(got) if isinstance(got, bytes) else got
        if storage == "integer":
            return got == str(value)
        if storage == "real":
            try:
                return float(got) == value and math.copysign(1, float(got)) == math.copysign(1, value)
            except (TypeError, ValueError):
                return False
        return _text(value) == got
    if t in BLOB_TYPES:
        if storage in ("text", "blob"):
            return got == value
        if storage == "integer":
            return got == str(value).encode()
        return _float_text(got) == value
    raise AssertionError(f"no equivalence for MySQL type {t}")


def _float_text(raw: bytes) -> float | None:
    try:
        return float(raw.decode())
    except (UnicodeDecodeError, ValueError):
        return None


# --- the quarantine -------------------------------------------------------------------------

# a quarantined cell (row_data JSON) -> (storage class, value)
CELLS = {"text": lambda v: ("text", v.encode()), "text_bytes_base64": lambda v: ("text", base64.b64decode(v)),
         "blob_base64": lambda v: ("blob", base64.b64decode(v)), "integer": lambda v: ("integer", int(v)),
         "real": lambda v: ("real", float(v))}


def quarantined(conn, table: str) -> list[dict[str, tuple[str, object]]]:
    """Quarantined rows of a table, each as column -> (storage class, value) exactly as stored."""
    cur = conn.cursor()
    cur.execute("SELECT row_data FROM _s2m_quarantine WHERE table_name = %s", (table,))
    out = []
    for (data,) in cur.fetchall():
        row = {}
        for name, cell in json.loads(data).items():
            if cell is None:
                row[name] = ("null", None)
                continue
            (kind, text), = cell.items()
            row[name] = CELLS[kind](text)
        out.append(row)
    return out


def exact(a: tuple[str, object], b: tuple[str, object]) -> bool:
    """Byte-exact sameness of two cells (a REAL by its bits)."""
    if a[0] != b[0]:
        return False
    if a[0] == "real":
        return struct.pack("<d", a[1]) == struct.pack("<d", b[1])
    return a[1] == b[1]


# --- the contract ---------------------------------------------------------------------------

@dataclass
class Verdict:
    problems: list[str] = field(default_factory=list)

    def fail(self, text: str) -> None:
        self.problems.append(text)

    @property
    def ok(self) -> bool:
        return not self.problems


def server_flavor(conn) -> str:
    cur = conn.cursor()
    cur.execute("SELECT VERSION()")
    return "mariadb" if "mariadb" in cur.fetchone()[0].lower() else "mysql"


def target_table_of(conn, source: str) -> str:
    cur = conn.cursor()
    cur.execute("SELECT table_name FROM _s2m_tables WHERE source_name = %s", (source,))
    row = cur.fetchone()
    return row[0] if row else source


def compare_table(path: Path, conn, source_table: str, verdict: Verdict) -> None:
    """Every source row is in MySQL (equivalent, value by value) or, whole and exact, in the
    quarantine; nothing else is in MySQL."""
    source = read_source(path, source_table)
    target = target_table_of(conn, source_table)
    cols, rows = read_target(conn, target)
    set_aside = quarantined(conn, target)
    if len(source) != len(rows) + len(set_aside):
        verdict.fail(f"{source_table}: {len(source)} source rows != {len(rows)} in MySQL + {len(set_aside)} "
                     f"quarantined")
    remaining = list(source)
    for row in set_aside:
        match = next((s for s in remaining if set(s.cells) == set(row)
                      and all(exact(s.cells[n], row[n]) for n in row)), None)
        if match is None:
            verdict.fail(f"{source_table}: quarantined row {row!r} is not a source row as it is"[:600])
        else:
            remaining.remove(match)
    by_lower = {n.lower(): n for n in cols}
    mapped = {name: by_lower.get(name.lower()) for name in (remaining[0].cells if remaining else {})}
    missing = [n for n, m in mapped.items() if m is None]
    if missing:
        verdict.fail(f"{source_table}: columns {missing} missing in MySQL")
        return
    unmatched = list(rows)
    for s in remaining:
        found = None
        for r in unmatched:
            if HIDDEN_ROWID in r and s.rowid is not None and r[HIDDEN_ROWID] != s.rowid:
                continue
            if all(equivalent(cell, cols[mapped[n]], r[mapped[n]]) for n, cell in s.cells.items()):
                found = r
                break
        if found is None:
            verdict.fail(f"{source_table}: source row {s.cells!r} (rowid {s.rowid}) has no equivalent row in "
                         f"MySQL" + _closest(s, unmatched, cols, mapped))
        else:
            unmatched.remove(found)
    for r in unmatched:
        verdict.fail(f"{source_table}: MySQL row {r!r} stands for no source row"[:600])


def _closest(s: SourceRow, rows: list[dict], cols, mapped) -> str:
    """The columns that differ from the MySQL row sharing the rowid (or the first row), for the report."""
    if not rows:
        return ""
    r = next((r for r in rows if s.rowid is not None and r.get(HIDDEN_ROWID, r.get("id")) == s.rowid), rows[0])
    differ = {n: (cell, cols[mapped[n]].column_type, r[mapped[n]]) for n, cell in s.cells.items()
              if not equivalent(cell, cols[mapped[n]], r[mapped[n]])}
    return f"; closest MySQL row differs in {differ!r}"[:1500]


def all_tables(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT "
                                           "LIKE 'sqlite_%' AND name NOT LIKE '_s2m_%'")]
    finally:
        conn.close()


def check_roundtrip(path: Path, conn) -> Verdict:
    verdict = Verdict()
    for table in all_tables(path):
        compare_table(path, conn, table, verdict)
    return verdict


OFFERS = re.compile(r"To proceed: set on_type_conflict to (.*?)(?:, or [a-z]|$)")
SUBJECT = re.compile(r"^(TYPE_CONFLICT \S+|KEY_COLLISION \S+ (?:primary key|unique index \S+) \([^)]*\))")
PAST_ALL = re.compile(r"on_type_conflict '(\w+)' lets the run past every problem above")


def offered(line: str) -> set[str]:
    """The policies one blocker line says would let the run past it."""
    match = OFFERS.search(line)
    return {p for p in ("widen", "quarantine") if match and f"'{p}' (" in match.group(1)}


def blocker_lines(message: str) -> list[str]:
    return [line.strip() for line in message.splitlines()[1:] if line.startswith("  ")]


# --- running the migration under each policy ------------------------------------------------

@dataclass
class Outcome:
    policy: str
    method: str
    status: str | None = None  # the run's verification status when it completed
    blocked: str | None = None  # the preflight's message when it stopped the run
    error: str | None = None  # anything else: a copy-time error, a verification DIFF, a crash
    target_touched: bool = False
    verdict: Verdict = field(default_factory=Verdict)
    conflicts: Counter = field(default_factory=Counter)  # (table, column) -> values named / quarantined


TYPE_CONFLICT = re.compile(r"TYPE_CONFLICT (?P<where>.+?) \((?P<type>[^()]*(?:\([^()]*\))?[^()]*)\): (?P<n>\d+) "
                           r"values do not fit; first at key (?P<key>\{.*?\}): (?P<value>.*?) \(")


KEY_COLLISION = re.compile(r"KEY_COLLISION (?P<table>\S+) (?P<key>(?:primary key|unique index \S+) \([^)]*\)): "
                           r"(?P<n>\d+) rows in \d+ groups")
UNRESOLVABLE = "No MySQL type keeps them apart"


def run_policy(path: Path, params: dict, policy: str, method: str, workdir: Path, *,
               database: str | None = None, tables: list[str] | None = None) -> Outcome:
    """Migrate into a fresh database, check the contract of `policy` against what MySQL holds,
    drop the database. (The migration code is imported here: the module stays importable for
    the parts that do not need it.)"""
    import MySQLdb

    from sqlite_to_mysql.errors import PreflightBlocked
    from support.migrate import migrate

    database = database or f"fz_{uuid.uuid4().hex[:12]}"
    outcome = Outcome(policy, method)
    admin = MySQLdb.connect(**params, charset="utf8mb4")
    try:
        try:
            result = migrate(path, database, params, workdir, method=method, on_type_conflict=policy)
            outcome.status = result["status"]
        except PreflightBlocked as exc:
            outcome.blocked = str(exc)
        except Exception as exc:  # the contract's "never": a copy-time error or a verification DIFF
            outcome.error = f"{type(exc).__name__}: {exc}"
        cur = admin.cursor()
        cur.execute("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (database,))
        outcome.target_touched = bool(cur.fetchone()[0])
        if outcome.status is not None:
            conn = MySQLdb.connect(**params, db=database, charset="utf8mb4")
            try:
                for table in tables or all_tables(path):
                    compare_table(path, conn, table, outcome.verdict)
                outcome.conflicts = quarantine_counts(conn)
            finally:
                conn.close()
        elif outcome.blocked:
            for m in TYPE_CONFLICT.finditer(outcome.blocked):
                table, _, column = m["where"].rpartition(".")
                outcome.conflicts[(table, column)] += int(m["n"])
            for m in KEY_COLLISION.finditer(outcome.blocked):
                outcome.conflicts[(m["table"], m["key"])] += int(m["n"])
    finally:
        cur = admin.cursor()
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        admin.close()
    return outcome


def quarantine_counts(conn) -> Counter:
    """(source table, column) -> rows quarantined for a problem in that column."""
    cur = conn.cursor()
    cur.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME = '_s2m_quarantine'")
    if not cur.fetchone()[0]:
        return Counter()
    cur.execute("SELECT t.source_name, q.problems FROM _s2m_quarantine q JOIN _s2m_tables t "
                "ON t.table_name = q.table_name")
    counts: Counter = Counter()
    for table, problems in cur.fetchall():
        for column, problem in json.loads(problems).items():
            if problem is not None:
                counts[(table, column)] += 1
    return counts


def check_contract(path: Path, params: dict, workdir: Path, *, method: str = "load_data") -> list[str]:
    """Every policy's contract on one source; the problems found (empty: the contract holds).

    - fail: blocked before the target exists, naming every value that will not round-trip
      (the same columns and counts the quarantine sets aside, whose other rows all
      round-trip), or a clean run in which every value round-trips;
    - widen: a clean run in which every value round-trips;
    - quarantine: a clean run; source rows = target rows + quarantined rows; each
      quarantined row byte-exact; every other value round-trips;
    - never a copy-time error or a verification DIFF;
    - a blocked run offers, for each problem, only policies under which that problem is gone,
      and when it says one policy lets the run past every problem, that run goes through.
    One exception, by design: values distinct in SQLite only by their storage class (0 and
    '0') in one unique key, which no MySQL type keeps apart: widen stops there too, naming
    them, and offers quarantine."""
    problems = []
    fail = run_policy(path, params, "fail", method, workdir)
    outcomes = [fail]
    if fail.blocked is not None:
        if fail.target_touched:
            problems.append("fail: the preflight blocked the run, but the target database exists")
        for line in fail.blocked.splitlines():
            if "TYPE_CONFLICT" in line and not TYPE_CONFLICT.search(line):
                problems.append(f"fail: a conflict that does not name its key and value: {line}")
        outcomes += [run_policy(path, params, p, method, workdir) for p in ("widen", "quarantine")]
        widen, quarantine = outcomes[1:]
        by_policy = {"widen": widen, "quarantine": quarantine}
        for line in blocker_lines(fail.blocked):
            subject = SUBJECT.match(line)
            for policy in offered(line):
                chosen = by_policy[policy]
                still = [other for other in blocker_lines(chosen.blocked or "")
                         if subject and other.startswith(subject.group(1))]
                if chosen.error or still:
                    problems.append(f"fail offers on_type_conflict={policy} for: {line}; under it: "
                                    f"{chosen.error or still}")
        past_all = PAST_ALL.search(fail.blocked)
        if past_all and by_policy[past_all.group(1)].status is None:
            chosen = by_policy[past_all.group(1)]
            problems.append(f"fail says {past_all.group(0)}, but: {chosen.blocked or chosen.error}")
        # every value fail names is set aside by quarantine (key collisions may shrink there: rows
        # set aside for a value no longer collide)
        named = {k: n for k, n in fail.conflicts.items() if not k[1].startswith(("primary key", "unique index"))}
        aside = {k: n for k, n in quarantine.conflicts.items() if k in named or not k[1].startswith(
            ("primary key", "unique index"))}
        grown = [k for k, n in quarantine.conflicts.items() if n > fail.conflicts.get(k, 0)]
        if quarantine.status is not None and (named != aside or grown):
            problems.append(f"fail names {dict(fail.conflicts)} but quarantine sets aside {dict(quarantine.conflicts)}")
    for outcome in outcomes:
        label = f"{outcome.policy} ({outcome.method})"
        if outcome.error:
            problems.append(f"{label}: {outcome.error}")
        elif outcome.blocked is not None and outcome.policy != "fail":
            # widen may stop only at values distinct in SQLite that no MySQL type keeps apart
            reasons = blocker_lines(outcome.blocked)
            if outcome.policy == "quarantine" or not all(r.startswith("KEY_COLLISION") and UNRESOLVABLE in r
                                                         for r in reasons):
                problems.append(f"{label}: the run was blocked: {outcome.blocked}")
        elif outcome.status is not None:
            if outcome.status != "OK":
                problems.append(f"{label}: verification {outcome.status}")
            problems += [f"{label}: {p}" for p in outcome.verdict.problems]
    return problems


# --- the cutover path: the same values written during capture, applied by catch-up ----------

def rewrite(path: Path) -> int:
    """The application, during capture: every row deleted, then written again exactly as it
    was (rowid included), in reverse order, but for every third, which stays deleted. Returns
    the rows written. Runs on a plain connection, as an application's would."""
    # Read before writing: read_source opens connections of its own, which a write transaction
    # whose changes spilled to the file (a megabyte value does) would lock out.
    tables = {table: read_source(path, table) for table in all_tables(path) if table != "django_migrations"}
    conn = sqlite3.connect(path, isolation_level=None)
    written = 0
    try:
        conn.execute("BEGIN IMMEDIATE")
        for table, rows in tables.items():
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()[0]
            alias = '"id" INTEGER PRIMARY KEY' in sql
            conn.execute(f"DELETE FROM {q(table)}")
            for i, row in enumerate(reversed(rows)):
                if i % 3 == 2:
                    continue  # deleted for good
                names = list(row.cells)
                cells = [row.cells[n] for n in names]
                rowid = [row.rowid] if row.rowid is not None and not alias else []
                columns = ["rowid"] * len(rowid) + [q(n) for n in names]
                marks = ["?"] * len(rowid) + ["CAST(? AS TEXT)" if s == "text" else "?" for s, _ in cells]
                conn.execute(f"INSERT INTO {q(table)} ({', '.join(columns)}) VALUES ({', '.join(marks)})",
                             rowid + [v for _, v in cells])
                written += 1
        conn.execute("COMMIT")
    finally:
        conn.close()
    return written


def check_catch_up(path: Path, params: dict, policy: str) -> list[str]:
    """Migrate with capture under `policy`, have the application rewrite every row, apply the
    change log with the cutover's catch-up, then hold MySQL to the same contract. A preflight
    that blocks (fail) has nothing to catch up: no problems."""
    import MySQLdb

    from sqlite_to_mysql import migration
    from sqlite_to_mysql.cutover.catchup import ForwardSync, catch_up
    from sqlite_to_mysql.errors import PreflightBlocked
    from sqlite_to_mysql.planner import Settings
    from sqlite_to_mysql.source import open_source
    from tools.bench import connector
    from tools.bench_cutover import migrate_with_capture

    database = f"fz_{uuid.uuid4().hex[:12]}"
    label = f"catch-up ({policy})"
    problems: list[str] = []
    try:
        try:
            result = migrate_with_capture(path, params, database, run_id="fuzz",
                                          settings=Settings(on_type_conflict=policy))
        except PreflightBlocked:
            return []
        if not result["verification_ok"]:
            problems.append(f"{label}: the copy did not verify: {[v for v in result['verdicts'] if not v['ok']]}")
        rewrite(path)
        src = open_source(path, read_only=False)
        dst = connector(params, database)()
        try:
            plan = result["plan"]
            catch_up(ForwardSync(src, dst, plan), max_lag_changes=0, timeout=120)
            for tp in plan.tables:
                verdict = migration.verify_one(src, dst, plan, tp.source)
                if not verdict["ok"]:
                    problems.append(f"{label}: verification of {tp.source} after catch-up: {verdict}"[:1500])
        finally:
            src.close()
            dst.close()
        conn = MySQLdb.connect(**params, db=database, charset="utf8mb4")
        try:
            verdict = Verdict()
            for table in all_tables(path):
                compare_table(path, conn, table, verdict)
            problems += [f"{label}: {p}" for p in verdict.problems]
        finally:
            conn.close()
    except Exception as exc:  # a copy or catch-up error on a value the preflight saw
        problems.append(f"{label}: {type(exc).__name__}: {exc}"[:3000])
    finally:
        admin = MySQLdb.connect(**params)
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{database}`")
        admin.close()
    return problems
