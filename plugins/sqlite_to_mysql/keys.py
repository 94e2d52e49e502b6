"""Keys, indexes and foreign keys of the target, with MySQL's limits applied by rule:

- key length: InnoDB allows 3072 bytes per index (utf8mb4 = 4 bytes per character);
  a non-unique index over the limit gets prefix lengths, shared among its text columns;
  a UNIQUE index over the limit becomes a MariaDB long unique (USING HASH), which keeps
  the exact uniqueness; MySQL has no such index, so there it is a blocker with the fix;
- partial and expression indexes have no MySQL equivalent: partial non-unique indexes
  become full indexes, the rest are reported;
- constraint names are unique per database and at most 64 characters.
"""
from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from mysql_common.identifiers import mysql_safe_name
from mysql_common.session import ServerInfo
from sqlite_to_mysql.plan import ForeignKeyPlan, IndexPlan, Plan, TablePlan
from sqlite_to_mysql.source_schema import SourceTable, qi

MAX_KEY_BYTES = 3072


def rowid_expr(column_names: list[str]) -> str:
    """A name for the rowid that no column shadows."""
    taken = {c.lower() for c in column_names}
    for name in ("rowid", "_rowid_", "oid"):
        if name not in taken:
            return name
    raise ValueError("table has columns named rowid, _rowid_ and oid: its rowid is unreachable")


def table_key(table: SourceTable, targets: dict[str, str], hidden_name: str):
    """(source key expressions, target key columns, hidden rowid?) of the table."""
    if table.primary_key:
        return [qi(c) for c in table.primary_key], [targets[c] for c in table.primary_key], False
    return [rowid_expr([c.name for c in table.columns])], [hidden_name], True


def key_bytes(ddl: str) -> int | None:
    """Bytes a column takes in an index key; None when it needs a prefix (TEXT/BLOB/JSON)."""
    upper = ddl.upper()
    match = re.match(r"(VAR)?CHAR\((\d+)\)", upper)
    if match:
        return 4 * int(match.group(2))
    match = re.match(r"VARBINARY\((\d+)\)", upper)
    if match:
        return int(match.group(1))
    if any(word in upper for word in ("TEXT", "BLOB", "JSON")):
        return None
    if upper.startswith("DECIMAL"):
        return 32
    if upper == "UUID":
        return 16
    return 8


def fits_key(columns) -> bool:
    """Can these columns (ColumnPlans) be one InnoDB key without prefixes?"""
    sizes = [key_bytes(c.ddl_type) for c in columns]
    return None not in sizes and sum(sizes) <= MAX_KEY_BYTES


def _key_layout(columns, tp: TablePlan):
    by_target = {c.target: c for c in tp.columns}
    sizes = [key_bytes(by_target[c].ddl_type) if c in by_target else 8 for c in columns]
    return sizes, sum(s for s in sizes if s is not None), any(s is None for s in sizes)


def index_plans(table: SourceTable, tp: TablePlan, server: ServerInfo, plan: Plan) -> list[IndexPlan]:
    targets = {c.source: c.target for c in tp.columns}
    result: list[IndexPlan] = []
    names: set[str] = set()
    for index in table.indexes:
        if index.origin == "pk":
            continue
        where = f"{table.name}: index {index.name}"
        if index.expression:
            plan.warnings.append(f"{where} is on an expression: not migrated (MySQL 8 functional indexes or "
                                 f"a generated column can replace it)")
            continue
        if any(c not in targets for c in index.columns):
            plan.warnings.append(f"{where} uses a generated column: not migrated")
            continue
        note = ""
        if index.partial:
            if index.unique:
                plan.warnings.append(f"{where} is a partial UNIQUE index: MySQL has none; not migrated "
                                     f"(uniqueness of that subset is no longer enforced)")
                continue
            note = "partial index created as a full index (MySQL has no partial indexes)"
        cols = [targets[c] for c in index.columns]
        if index.origin == "u" or index.name.startswith("sqlite_autoindex"):
            base = f"uq_{tp.target}_{'_'.join(cols)}"
        else:
            base = index.name
        name = mysql_safe_name(base)
        while name.lower() in names or name.upper() == "PRIMARY":
            name = mysql_safe_name(base + "\x00" + str(len(names)))
        names.add(name.lower())
        sizes, total, unbounded = _key_layout(cols, tp)
        prefix: list[int | None] = [None] * len(cols)
        using_hash = False
        if unbounded or total > MAX_KEY_BYTES:
            if index.unique:
                if server.is_mariadb:
                    using_hash = True
                    note = (f"unique key over {MAX_KEY_BYTES} bytes: MariaDB long unique (USING HASH) keeps "
                            f"exact uniqueness")
                else:
                    plan.blockers.append(
                        f"{where}: its values can be longer than {MAX_KEY_BYTES} bytes, and MySQL enforces no "
                        f"UNIQUE key over longer values (MariaDB does: a long unique key). Where every value is "
                        f"shorter, give its columns shorter types with type_overrides; otherwise exclude the table "
                        f"(exclude_tables) or shorten those values in SQLite")
                    continue
            else:
                prefix = _prefixes(sizes)
                note = (f"key over {MAX_KEY_BYTES} bytes: prefix lengths {prefix} (characters) on its text "
                        f"columns; lookups still use it, uniqueness is not involved")
        result.append(IndexPlan(name=name, columns=cols, prefix=prefix, unique=index.unique,
                                using_hash=using_hash, source_name=index.name, note=note))
    return result


def _prefixes(sizes: list[int | None]) -> list[int | None]:
    fixed = sum(s for s in sizes if s is not None and s <= 32)
    flexible = [i for i, s in enumerate(sizes) if s is None or s > 32]
    share = max(1, (MAX_KEY_BYTES - fixed) // 4 // max(1, len(flexible)))
    return [share if i in flexible else None for i in range(len(sizes))]


def foreign_key_plans(table: SourceTable, tp: TablePlan, table_names: dict[str, str], plan: Plan,
                      parents: dict[str, SourceTable], parent_columns: dict[str, dict[str, str]]
                      ) -> list[ForeignKeyPlan]:
    result = []
    for i, fk in enumerate(table.foreign_keys, 1):
        where = f"{table.name}: foreign key ({', '.join(fk.columns)}) -> {fk.ref_table}"
        parent = parents.get(fk.ref_table)
        if parent is None or fk.ref_table not in table_names:
            plan.warnings.append(f"{where}: parent table is not migrated; constraint not created")
            continue
        ref_cols = fk.ref_columns or parent.primary_key
        uniques = [parent.primary_key] + [ix.columns for ix in parent.indexes if ix.unique and not ix.partial]
        if [c.lower() for c in ref_cols] not in [[c.lower() for c in u] for u in uniques]:
            plan.warnings.append(f"{where}: the referenced columns {ref_cols} are not a primary or unique key "
                                 f"(SQLite reports 'foreign key mismatch' for it too); constraint not created")
            continue
        child_targets = {c.source: c for c in tp.columns}
        parent_map = parent_columns[fk.ref_table]
        if any(c not in child_targets for c in fk.columns) or any(c not in parent_map for c in ref_cols):
            plan.warnings.append(f"{where}: uses columns that are not migrated; constraint not created")
            continue
        parent_plan = plan.table(fk.ref_table)
        mismatched = [(c, r) for c, r in zip(fk.columns, ref_cols)
                      if child_targets[c].ddl_type != parent_plan.column(r).ddl_type]
        if mismatched:
            plan.warnings.append(f"{where}: column types differ ({mismatched}); constraint not created")
            continue
        on_delete, on_update = _action(fk.on_delete, where, plan), _action(fk.on_update, where, plan)
        result.append(ForeignKeyPlan(
            name=mysql_safe_name(f"fk_{tp.target}_{i}"), columns=[child_targets[c].target for c in fk.columns],
            ref_table=table_names[fk.ref_table], ref_columns=[parent_map[c] for c in ref_cols],
            on_delete=on_delete, on_update=on_update))
    return result


def _action(action: str, where: str, plan: Plan) -> str:
    action = (action or "NO ACTION").upper()
    if action == "SET DEFAULT":
        plan.warnings.append(f"{where}: SET DEFAULT is not supported by InnoDB; created as NO ACTION")
        return "NO ACTION"
    return action


@dataclass
class Collision:
    """Rows whose values of one unique key are distinct in SQLite but one value in MySQL."""

    label: str  # "primary key" or "unique index <name>"
    columns: list[str]  # source columns
    groups: int
    rows: int
    example: str  # the first group's values, as SQLite holds them

    @property
    def name(self) -> str:
        return f"{self.label} ({', '.join(self.columns)})"


def unique_keys(table: SourceTable) -> list[tuple[str, list[str]]]:
    """(label, columns) of every key MySQL enforces: the primary key and full unique indexes."""
    uniques = [("primary key", table.primary_key)] if table.primary_key else []
    return uniques + [(f"unique index {ix.name}", ix.columns) for ix in table.indexes
                      if ix.unique and not ix.partial and not ix.expression and ix.origin != "pk"]


def may_collide(col) -> bool:
    """Can two values SQLite keeps apart become one in this column? When the column converts
    them (dates, numbers, booleans), or holds other storage classes than its kind's own
    (0 and '0' in a text column, 'a' and x'61' in a BLOB column)."""
    own = {"int": ("integer",), "text": ("text",), "json": ("text",), "blob": ("blob",)}.get(col.kind)
    if own is None:
        return col.kind != "uuid"  # UUID text is converted one to one
    return any(n for storage, n in col.storage.items() if storage in ("integer", "real", "text", "blob")
               and storage not in own)


def collisions(conn: sqlite3.Connection, table: SourceTable, tp: TablePlan) -> list[Collision]:
    """Distinct source values that become equal once converted (one instant written with and
    without a UTC offset; 0 and '0' in a text key) would collide in a MySQL unique key."""
    from sqlite_to_mysql import row_sql

    by_source = {c.source: c for c in tp.columns}
    found = []
    for label, cols in unique_keys(table):
        plans = [by_source.get(c) for c in cols]
        if any(p is None for p in plans) or not any(may_collide(p) for p in plans):
            continue
        groups = row_sql.colliding_groups_sql(tp, cols)
        try:
            count, rows = conn.execute(f"SELECT count(*), sum(n) FROM ({groups})").fetchone()
            if not count:
                continue
            cells = ", ".join(f"typeof({qi(c)}), {row_sql.raw_sql(qi(c))}" for c in cols)
            first = conn.execute(f"SELECT {cells} FROM {qi(table.name)} WHERE "
                                 f"{row_sql.collides_sql(tp, cols, groups=1)} LIMIT 3").fetchall()
        except sqlite3.OperationalError:
            continue  # values that do not convert are conflicts, reported as such
        example = " and ".join("(" + ", ".join(_shown(r[2 * i], r[2 * i + 1]) for i in range(len(cols))) + ")"
                               for r in first)
        found.append(Collision(label, cols, count, rows, example))
    return found


def _shown(storage: str, raw) -> str:
    if storage == "text":
        return repr(raw.decode("utf-8", "backslashreplace"))
    if storage == "blob":
        return "x'" + raw.hex() + "'"
    return repr(raw)


def _lit(value) -> str:
    return "NULL" if value is None else str(int(value))
