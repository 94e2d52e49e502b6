"""The live schema of one database as the index and partition plans need it, from
information_schema. Names read here are untrusted: they are only ever used quoted."""
from __future__ import annotations

from dataclasses import dataclass, field

TEXT_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}
# A B-tree key over these needs a prefix length, which a plan entry does not give.
PREFIX_ONLY_TYPES = {"tinytext", "text", "mediumtext", "longtext", "tinyblob", "blob", "mediumblob",
                     "longblob", "json", "geometry"}


@dataclass
class Index:
    name: str
    columns: list[tuple[str, int | None]]  # (column, prefix length)
    unique: bool
    kind: str  # BTREE, FULLTEXT, SPATIAL, HASH

    @property
    def column_names(self) -> list[str]:
        return [c.lower() for c, _ in self.columns]


@dataclass
class Table:
    name: str
    engine: str | None
    columns: dict[str, str] = field(default_factory=dict)  # lower-case name -> data type
    column_names: dict[str, str] = field(default_factory=dict)  # lower-case name -> as defined
    indexes: dict[str, Index] = field(default_factory=dict)
    foreign_keys: list[str] = field(default_factory=list)  # "name (cols) -> table"
    referenced_by: list[str] = field(default_factory=list)
    partition_expression: str | None = None

    def has_columns(self, names: list[str]) -> list[str]:
        """The names among `names` this table does not have."""
        return [n for n in names if n.lower() not in self.columns]


def load(cur, database: str) -> dict[str, Table]:
    tables: dict[str, Table] = {}
    cur.execute("SELECT TABLE_NAME, ENGINE FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE'", (database,))
    for name, engine in cur.fetchall():
        tables[name] = Table(name, engine)
    cur.execute("SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION", (database,))
    for table, column, data_type in cur.fetchall():
        if table in tables:
            tables[table].columns[column.lower()] = data_type.lower()
            tables[table].column_names[column.lower()] = column
    cur.execute("SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, SUB_PART, NON_UNIQUE, INDEX_TYPE "
                "FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = %s "
                "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX", (database,))
    for table, index, column, sub_part, non_unique, kind in cur.fetchall():
        if table not in tables:
            continue
        entry = tables[table].indexes.setdefault(index, Index(index, [], not int(non_unique), kind))
        entry.columns.append((column, int(sub_part) if sub_part is not None else None))
    cur.execute("SELECT CONSTRAINT_NAME, TABLE_SCHEMA, TABLE_NAME, REFERENCED_TABLE_SCHEMA, "
                "REFERENCED_TABLE_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) "
                "FROM information_schema.KEY_COLUMN_USAGE WHERE REFERENCED_TABLE_NAME IS NOT NULL "
                "AND (TABLE_SCHEMA = %s OR REFERENCED_TABLE_SCHEMA = %s) "
                "GROUP BY CONSTRAINT_NAME, TABLE_SCHEMA, TABLE_NAME, REFERENCED_TABLE_SCHEMA, "
                "REFERENCED_TABLE_NAME", (database, database))
    for constraint, schema, table, ref_schema, ref_table, columns in cur.fetchall():
        if schema == database and table in tables:
            tables[table].foreign_keys.append(f"{constraint} ({columns}) -> {ref_table}")
        if ref_schema == database and ref_table in tables and (schema, table) != (database, ref_table):
            tables[ref_table].referenced_by.append(f"{table}.{constraint} ({columns})")
    cur.execute("SELECT TABLE_NAME, PARTITION_METHOD, PARTITION_EXPRESSION FROM "
                "information_schema.PARTITIONS WHERE TABLE_SCHEMA = %s AND PARTITION_NAME IS NOT NULL "
                "GROUP BY TABLE_NAME, PARTITION_METHOD, PARTITION_EXPRESSION", (database,))
    for table, method, expression in cur.fetchall():
        if table in tables:
            tables[table].partition_expression = f"{method} ({expression})"
    return tables


def resolve(tables: dict[str, Table], candidates: list[str]) -> Table | None:
    """The first of the candidate names that exists (the design names Django's default app
    tables, e.g. products_product; an app may call the same table shop_product)."""
    return next((tables[name] for name in candidates if name in tables), None)
