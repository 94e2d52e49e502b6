"""SQL text for the target: tables (primary key only, so the bulk load runs fast), then
secondary indexes, foreign keys and AUTO_INCREMENT after the data is in."""
from __future__ import annotations

from mysql_common.identifiers import quote
from mysql_common.session import ServerInfo
from sqlite_to_mysql.plan import HIDDEN_ROWID, ColumnPlan, ForeignKeyPlan, IndexPlan, TablePlan


def column_definition(col: ColumnPlan) -> str:
    parts = [quote(col.target), col.ddl_type]
    if col.kind in ("text",) or (col.kind == "json" and col.collation):
        parts.append("CHARACTER SET utf8mb4")
        if col.collation:
            parts.append(f"COLLATE {col.collation}")
    parts.append("NULL" if col.nullable else "NOT NULL")
    if col.kind == "json" and col.ddl_type != "JSON":
        parts.append(f"CHECK (JSON_VALID({quote(col.target)}))")
    if col.auto_increment:
        parts.append("AUTO_INCREMENT")
    elif col.default_sql is not None and not (col.default_sql == "NULL" and not col.nullable):
        parts.append(f"DEFAULT {col.default_sql}")
    return " ".join(parts)


def create_table(tp: TablePlan, server: ServerInfo) -> str:
    lines = [column_definition(c) for c in tp.columns]
    primary = tp.key_target
    if tp.hidden_rowid:
        # AUTO_INCREMENT: rows the application inserts later get a fresh id, as a rowid would
        lines.insert(0, f"{quote(tp.key_target[0])} BIGINT NOT NULL AUTO_INCREMENT INVISIBLE")
    elif tp.generated_key:
        primary = [HIDDEN_ROWID]
        lines.insert(0, f"{quote(HIDDEN_ROWID)} BIGINT NOT NULL AUTO_INCREMENT INVISIBLE")
    lines.append(f"PRIMARY KEY ({', '.join(quote(c) for c in primary)})")
    body = ",\n  ".join(lines)
    return (f"CREATE TABLE {quote(tp.target)} (\n  {body}\n) ENGINE=InnoDB "
            f"DEFAULT CHARSET=utf8mb4 COLLATE={server.text_collation}")


def index_clause(index: IndexPlan) -> str:
    cols = ", ".join(quote(c) + (f"({p})" if p else "") for c, p in zip(index.columns, index.prefix))
    kind = "UNIQUE INDEX" if index.unique else "INDEX"
    using = " USING HASH" if index.using_hash else ""
    return f"ADD {kind} {quote(index.name)} ({cols}){using}"


def foreign_key_clause(fk: ForeignKeyPlan) -> str:
    return (f"ADD CONSTRAINT {quote(fk.name)} FOREIGN KEY ({', '.join(quote(c) for c in fk.columns)}) "
            f"REFERENCES {quote(fk.ref_table)} ({', '.join(quote(c) for c in fk.ref_columns)}) "
            f"ON DELETE {fk.on_delete} ON UPDATE {fk.on_update}")


def add_indexes(tp: TablePlan, missing: list[IndexPlan]) -> str | None:
    """One ALTER for all of a table's missing indexes: InnoDB builds them in a single pass."""
    if not missing:
        return None
    return f"ALTER TABLE {quote(tp.target)} " + ", ".join(index_clause(i) for i in missing)
