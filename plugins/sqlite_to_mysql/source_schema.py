"""What the SQLite file declares: tables, columns, keys, indexes, foreign keys, and the
objects that cannot move as they are (views, triggers, virtual tables)."""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field


def qi(name: str) -> str:
    """Quote a SQLite identifier (double quotes, embedded quotes doubled)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass
class SourceColumn:
    name: str
    declared_type: str
    notnull: bool
    default: str | None
    pk_position: int  # 1-based position in the primary key, 0 if not part of it
    generated: bool = False
    json_checked: bool = False  # a CHECK (json_valid(col)) guards it (Django JSONField)


@dataclass
class SourceIndex:
    name: str
    columns: list[str]
    unique: bool
    origin: str  # "c" CREATE INDEX, "u" UNIQUE constraint, "pk" primary key
    partial: bool = False
    expression: bool = False  # indexes on expressions cannot be carried over as they are


@dataclass
class SourceForeignKey:
    columns: list[str]
    ref_table: str
    ref_columns: list[str]  # empty in the schema means "the parent's primary key"
    on_delete: str = "NO ACTION"
    on_update: str = "NO ACTION"


@dataclass
class SourceTable:
    name: str
    columns: list[SourceColumn]
    without_rowid: bool
    indexes: list[SourceIndex] = field(default_factory=list)
    foreign_keys: list[SourceForeignKey] = field(default_factory=list)
    autoincrement: bool = False
    sequence: int | None = None  # sqlite_sequence: the highest id ever issued
    sql: str = ""
    # the declared primary key, when MySQL's primary key is another (see planner._row_keyed), and why
    row_key_from: list[str] = field(default_factory=list)
    row_key_why: str = ""

    @property
    def primary_key(self) -> list[str]:
        cols = sorted((c for c in self.columns if c.pk_position), key=lambda c: c.pk_position)
        return [c.name for c in cols]

    @property
    def rowid_alias(self) -> str | None:
        """The INTEGER PRIMARY KEY column, which is the rowid itself."""
        pk = [c for c in self.columns if c.pk_position]
        if self.without_rowid or len(pk) != 1:
            return None
        return pk[0].name if pk[0].declared_type.strip().upper() == "INTEGER" else None

    def column(self, name: str) -> SourceColumn:
        for col in self.columns:
            if col.name.lower() == name.lower():
                return col
        raise KeyError(name)


@dataclass
class SourceObject:
    """A view, trigger or virtual table: reported, not copied as data."""

    kind: str
    name: str
    table: str
    sql: str


@dataclass
class SourceSchema:
    tables: dict[str, SourceTable]
    views: list[SourceObject]
    triggers: list[SourceObject]
    virtual_tables: list[SourceObject]
    shadow_tables: list[str]


_AUTOINC = re.compile(r"\bAUTOINCREMENT\b", re.IGNORECASE)
_WITHOUT_ROWID = re.compile(r"\)\s*WITHOUT\s+ROWID\s*;?\s*$", re.IGNORECASE)
# Objects this project itself adds to the SQLite file (change capture for cutover).
INTERNAL_TABLES = {"_s2m_changelog", "_s2m_state"}
INTERNAL_TRIGGER_PREFIX = "_s2m_"


def read_schema(conn: sqlite3.Connection) -> SourceSchema:
    objects = conn.execute(
        "SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master ORDER BY rowid").fetchall()
    table_kinds = _table_kinds(conn)
    sequences = _sequences(conn)
    tables: dict[str, SourceTable] = {}
    views, triggers, virtual, shadow = [], [], [], []
    for kind, name, tbl_name, sql in objects:
        if kind == "view":
            views.append(SourceObject("view", name, tbl_name, sql))
        elif kind == "trigger":
            if not name.startswith(INTERNAL_TRIGGER_PREFIX):
                triggers.append(SourceObject("trigger", name, tbl_name, sql))
        elif kind == "table":
            if name.startswith("sqlite_") or name in INTERNAL_TABLES:
                continue
            if sql.upper().startswith("CREATE VIRTUAL TABLE"):
                virtual.append(SourceObject("virtual table", name, tbl_name, sql))
                continue
            if table_kinds.get(name) == "shadow":
                shadow.append(name)
                continue
            tables[name] = _read_table(conn, name, sql, sequences.get(name))
    shadow += _fts3_shadow_tables(virtual, tables)
    for name in shadow:
        tables.pop(name, None)
    return SourceSchema(tables, views, triggers, virtual, sorted(set(shadow)))


def _table_kinds(conn: sqlite3.Connection) -> dict[str, str]:
    try:
        return {row[1]: row[2] for row in conn.execute("PRAGMA table_list") if row[0] == "main"}
    except sqlite3.DatabaseError:  # SQLite older than 3.37
        return {}


def _fts3_shadow_tables(virtual: list[SourceObject], tables: dict) -> list[str]:
    """FTS3/4 shadow tables are not flagged by PRAGMA table_list on every SQLite version."""
    suffixes = ("_content", "_segments", "_segdir", "_docsize", "_stat", "_data", "_idx", "_config")
    names = []
    for vt in virtual:
        names += [vt.name + s for s in suffixes if vt.name + s in tables]
    return names


def _sequences(conn: sqlite3.Connection) -> dict[str, int]:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone()
    if not exists:
        return {}
    return {name: seq for name, seq in conn.execute("SELECT name, seq FROM sqlite_sequence")}


def _read_table(conn: sqlite3.Connection, name: str, sql: str, sequence: int | None) -> SourceTable:
    columns = []
    for _cid, col, ctype, notnull, default, pk, hidden in conn.execute(f"PRAGMA table_xinfo({qi(name)})"):
        if hidden == 1:  # hidden columns of virtual tables
            continue
        columns.append(SourceColumn(col, ctype or "", bool(notnull), default, pk, generated=hidden in (2, 3)))
    json_cols = _json_checked_columns(sql)
    for col in columns:
        col.json_checked = col.name.lower() in json_cols
    table = SourceTable(
        name=name, columns=columns, without_rowid=bool(_WITHOUT_ROWID.search(sql)),
        autoincrement=bool(_AUTOINC.search(sql)), sequence=sequence, sql=sql)
    table.indexes = _read_indexes(conn, name)
    table.foreign_keys = _read_foreign_keys(conn, name)
    return table


def _json_checked_columns(sql: str) -> set[str]:
    found = set()
    for match in re.finditer(r'json_valid\s*\(\s*("(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|\w+)\s*\)', sql, re.I):
        token = match.group(1)
        if token[0] in '"`[':
            token = token[1:-1].replace('""', '"')
        found.add(token.lower())
    return found


def _read_indexes(conn: sqlite3.Connection, table: str) -> list[SourceIndex]:
    indexes = []
    for _seq, name, unique, origin, partial in conn.execute(f"PRAGMA index_list({qi(table)})"):
        cols, expression = [], False
        for row in conn.execute(f"PRAGMA index_xinfo({qi(name)})"):
            _seqno, cid, cname, _desc, _coll, key = row
            if not key:
                continue
            if cid == -2:
                expression = True
            elif cid >= 0:
                cols.append(cname)
        indexes.append(SourceIndex(name, cols, bool(unique), origin, bool(partial), expression))
    return indexes


def _read_foreign_keys(conn: sqlite3.Connection, table: str) -> list[SourceForeignKey]:
    grouped: dict[int, SourceForeignKey] = {}
    for fid, _seq, ref_table, from_col, to_col, on_update, on_delete, _match in conn.execute(
            f"PRAGMA foreign_key_list({qi(table)})"):
        fk = grouped.setdefault(fid, SourceForeignKey([], ref_table, [], on_delete, on_update))
        fk.columns.append(from_col)
        if to_col is not None:
            fk.ref_columns.append(to_col)
    return [grouped[k] for k in sorted(grouped)]
