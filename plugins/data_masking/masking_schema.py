"""The schema of one database as the masked copy needs it, from information_schema.

Names read here are untrusted input: they are only ever used quoted (mysql_common.identifiers).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from mysql_common.identifiers import quote

STRING_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"}
BINARY_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
TEMPORAL_TYPES = {"date", "datetime", "timestamp"}


@dataclass
class Column:
    name: str
    data_type: str  # lower case: varchar, decimal, datetime, json, uuid, ...
    column_type: str  # varchar(150), decimal(12,2), int(10) unsigned, ...
    nullable: bool
    max_chars: int | None
    charset: str | None
    precision: int | None
    scale: int | None
    datetime_precision: int | None
    generated: bool
    json: bool = False  # MariaDB's JSON is LONGTEXT with a JSON_VALID check
    collation: str | None = None

    @property
    def is_string(self) -> bool:
        return self.data_type in STRING_TYPES or self.json

    @property
    def is_temporal(self) -> bool:
        return self.data_type in TEMPORAL_TYPES


@dataclass
class ForeignKey:
    name: str
    columns: list[str]
    ref_table: str
    ref_columns: list[str]


@dataclass
class Table:
    name: str
    columns: list[Column] = field(default_factory=list)  # in ordinal order, generated ones included
    primary_key: list[str] = field(default_factory=list)
    unique_keys: dict[str, list[str]] = field(default_factory=dict)  # index name -> columns
    foreign_keys: list[ForeignKey] = field(default_factory=list)
    rows_estimate: int = 0
    bytes_estimate: int = 0

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def stored_columns(self) -> list[Column]:
        """What a copy writes: generated columns are recomputed by the server."""
        return [c for c in self.columns if not c.generated]

    @property
    def scan_key(self) -> list[str]:
        """The key for keyset pagination: the primary key, else a unique key of NOT NULL columns."""
        if self.primary_key:
            return self.primary_key
        for cols in self.unique_keys.values():
            if all(not self.column(c).nullable for c in cols):
                return cols
        return []


@dataclass
class Schema:
    database: str
    tables: dict[str, Table]
    views: list[str]
    triggers: list[str]
    routines: list[str]


def load_schema(cur, database: str) -> Schema:
    tables: dict[str, Table] = {}
    views: list[str] = []
    cur.execute("SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", (database,))
    for name, kind, rows, size in cur.fetchall():
        if kind == "VIEW":
            views.append(name)
        else:
            tables[name] = Table(name, rows_estimate=int(rows or 0), bytes_estimate=int(size or 0))
    json_columns = set()
    cur.execute("SELECT TABLE_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS "
                "WHERE CONSTRAINT_SCHEMA = %s AND CHECK_CLAUSE LIKE 'json_valid(%%'", (database,))
    for table, clause in cur.fetchall():
        inner = clause[len("json_valid("):].rstrip(")").strip("`")
        json_columns.add((table, inner.replace("``", "`")))
    cur.execute("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH, "
                "CHARACTER_SET_NAME, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, EXTRA, COLLATION_NAME "
                "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
                (database,))
    for (table, name, data_type, column_type, nullable, max_chars, charset, precision, scale, dt_precision,
         extra, collation) in cur.fetchall():
        if table not in tables:
            continue
        data_type = data_type.lower()
        tables[table].columns.append(Column(
            name, data_type, column_type.lower(), nullable == "YES",
            int(max_chars) if max_chars is not None and data_type in STRING_TYPES else None,
            charset, None if precision is None else int(precision), None if scale is None else int(scale),
            None if dt_precision is None else int(dt_precision), "GENERATED" in (extra or "").upper(),
            data_type == "json" or (table, name) in json_columns, collation))
    cur.execute("SELECT s.TABLE_NAME, s.INDEX_NAME, s.COLUMN_NAME FROM information_schema.STATISTICS s "
                "WHERE s.TABLE_SCHEMA = %s AND s.NON_UNIQUE = 0 ORDER BY s.TABLE_NAME, s.INDEX_NAME, s.SEQ_IN_INDEX",
                (database,))
    for table, index, column in cur.fetchall():
        if table not in tables:
            continue
        if index == "PRIMARY":
            tables[table].primary_key.append(column)
        else:
            tables[table].unique_keys.setdefault(index, []).append(column)
    cur.execute("SELECT CONSTRAINT_NAME, TABLE_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME "
                "FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s "
                "AND REFERENCED_TABLE_NAME IS NOT NULL AND REFERENCED_TABLE_SCHEMA = %s "
                "ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION", (database, database))
    fks: dict[tuple[str, str], ForeignKey] = {}
    for name, table, column, ref_table, ref_column in cur.fetchall():
        if table not in tables:
            continue
        fk = fks.get((table, name))
        if fk is None:
            fk = fks[(table, name)] = ForeignKey(name, [], ref_table, [])
            tables[table].foreign_keys.append(fk)
        fk.columns.append(column)
        fk.ref_columns.append(ref_column)
    cur.execute("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s ORDER BY 1",
                (database,))
    triggers = [r[0] for r in cur.fetchall()]
    cur.execute("SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = %s ORDER BY 1",
                (database,))
    routines = [r[0] for r in cur.fetchall()]
    return Schema(database, tables, views, triggers, routines)


def keyset_batches(conn, database: str, table: Table, select: list[str], batch_rows: int):
    """Lists of rows `(key values..., *select)` in key order, at most batch_rows at a time.

    The one place the masked copy, its checks and the Parquet export read a table: keyset
    pagination on Table.scan_key; a table without a usable key is read in one unbuffered scan
    (the copies read here have no writers)."""
    key = table.scan_key
    columns = ", ".join([quote(k) for k in key] + select)
    source = f"{quote(database)}.{quote(table.name)}"
    if not key:
        import MySQLdb.cursors

        cur = conn.cursor(MySQLdb.cursors.SSCursor)
        cur.execute(f"SELECT {columns} FROM {source}")
        while rows := cur.fetchmany(batch_rows):
            yield rows
        return
    order = ", ".join(quote(k) for k in key)
    cur = conn.cursor()
    last = None
    while True:
        where, params = "", ()
        if last is not None:
            where, params = f"WHERE ({order}) > ({', '.join(['%s'] * len(key))}) ", tuple(last)
        cur.execute(f"SELECT {columns} FROM {source} {where}ORDER BY {order} LIMIT {int(batch_rows)}", params)
        rows = cur.fetchall()
        if not rows:
            return
        last = rows[-1][: len(key)]
        yield rows
