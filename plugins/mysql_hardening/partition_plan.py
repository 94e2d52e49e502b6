"""The design's partitioning strategy (include/sql/partition_plan.yaml), only where it is valid.

For each entry: partition the table, or say exactly why not and what schema change would
allow it. Bounds come from the table's data so no row lands in an unintended partition.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path

import yaml

from mysql_common.errors import ConfigurationError
from mysql_common.identifiers import quote

from mysql_hardening import SQL_DIR, schema

PARTITION_PLAN = SQL_DIR / "partition_plan.yaml"
_FUNCTION = {"year": "YEAR", "month": "TO_DAYS"}


@dataclass
class PartitionDecision:
    table: str
    column: str | None
    by: str
    action: str  # partition | exists | skip
    reasons: list[str] = field(default_factory=list)
    fixes: list[str] = field(default_factory=list)
    statement: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def load_plan(path: Path = PARTITION_PLAN) -> dict:
    plan = yaml.safe_load(path.read_text())
    for entry in plan["partitions"]:
        if entry["by"] not in _FUNCTION:
            raise ConfigurationError(f"{path.name}: {entry['table']}: 'by' must be year or month")
    return plan


def blockers(table: schema.Table, column: str) -> tuple[list[str], list[str]]:
    """(why the table cannot be partitioned on column, the schema changes that would allow it)."""
    reasons, fixes = [], []
    data_type = table.columns[column.lower()]
    if data_type not in ("date", "datetime"):
        reasons.append(f"{column} is {data_type}: YEAR()/TO_DAYS() partitioning needs DATE or DATETIME")
        fixes.append(f"change {column} to DATETIME" + (" (a TIMESTAMP column can only be partitioned "
                     "by UNIX_TIMESTAMP())" if data_type == "timestamp" else ""))
    for index in table.indexes.values():
        if index.unique and column.lower() not in index.column_names:
            cols = ", ".join(index.column_names)
            what = "PRIMARY KEY" if index.name == "PRIMARY" else f"UNIQUE {index.name}"
            reasons.append(f"{what} ({cols}) does not contain {column}: every unique key must "
                           "contain the partition column")
            if index.name == "PRIMARY":
                fixes.append(f"make the primary key ({cols}, {column})")
            else:
                fixes.append(f"make {index.name} ({cols}, {column}) - which no longer guarantees "
                             f"({cols}) is unique on its own; the application must then ensure it")
        if index.kind == "FULLTEXT":
            reasons.append(f"FULLTEXT index {index.name}: not supported on partitioned InnoDB tables")
            fixes.append(f"drop FULLTEXT index {index.name} (search elsewhere)")
    if table.foreign_keys:
        reasons.append("has foreign keys (partitioned InnoDB tables cannot): " + "; ".join(table.foreign_keys))
        fixes.append("drop these foreign keys and keep the integrity in the application")
    if table.referenced_by:
        reasons.append("is referenced by foreign keys (not allowed for partitioned InnoDB tables): "
                       + "; ".join(table.referenced_by))
        fixes.append("drop the referencing foreign keys")
    return reasons, fixes


def bounds(by: str, first: date | None, last: date | None, today: date, ahead: int) -> list[tuple[str, str]]:
    """[(partition name, VALUES LESS THAN expression)], ending with p_future MAXVALUE."""
    start = min(first or today, today)
    end = max(last or today, today)
    parts = []
    if by == "year":
        for year in range(start.year, end.year + ahead + 1):
            parts.append((f"p{year}", str(year + 1)))
    else:
        month = start.year * 12 + start.month - 1
        stop = end.year * 12 + end.month - 1 + ahead
        for m in range(month, stop + 1):
            year, mon = divmod(m, 12)
            nyear, nmon = divmod(m + 1, 12)
            parts.append((f"p{year}{mon + 1:02d}", f"TO_DAYS('{nyear:04d}-{nmon + 1:02d}-01')"))
    parts.append(("p_future", "MAXVALUE"))
    return parts


def decide(cur, entry: dict, tables: dict[str, schema.Table], aliases: dict, today: date) -> PartitionDecision:
    by = entry["by"]
    table = schema.resolve(tables, aliases.get(entry["table"], [entry["table"]]))
    if table is None:
        return PartitionDecision(entry["table"], None, by, "skip", [
            f"table {entry['table']} does not exist (looked for "
            f"{', '.join(aliases.get(entry['table'], [entry['table']]))})"])
    column = next((table.column_names[c.lower()] for c in entry["columns"] if c.lower() in table.columns), None)
    if column is None:
        return PartitionDecision(table.name, None, by, "skip",
                                 [f"none of the columns {', '.join(entry['columns'])} exists in {table.name}"])
    expression = f"{_FUNCTION[by]}({quote(column)})"
    if table.partition_expression:
        return PartitionDecision(table.name, column, by, "exists",
                                 [f"already partitioned: {table.partition_expression}"])
    reasons, fixes = blockers(table, column)
    if reasons:
        return PartitionDecision(table.name, column, by, "skip", reasons, fixes)
    cur.execute(f"SELECT DATE(MIN({quote(column)})), DATE(MAX({quote(column)})) FROM {quote(table.name)}")
    first, last = cur.fetchone()
    parts = ",\n  ".join(f"PARTITION {quote(name)} VALUES LESS THAN ({limit})" if limit != "MAXVALUE"
                         else f"PARTITION {quote(name)} VALUES LESS THAN MAXVALUE"
                         for name, limit in bounds(by, first, last, today, int(entry.get("ahead", 1))))
    statement = f"ALTER TABLE {quote(table.name)} PARTITION BY RANGE ({expression}) (\n  {parts}\n)"
    return PartitionDecision(table.name, column, by, "partition",
                             ["every unique key contains the column, no foreign keys, no FULLTEXT"],
                             statement=statement)


def plan(cur, database: str, today: date, path: Path = PARTITION_PLAN) -> list[PartitionDecision]:
    spec = load_plan(path)
    tables = schema.load(cur, database)
    return [decide(cur, entry, tables, spec.get("tables", {}), today) for entry in spec["partitions"]]


def apply(cur, decisions: list[PartitionDecision]) -> list[str]:
    """Partition the tables decided; returns the tables changed (then ANALYZE them)."""
    done = []
    for decision in decisions:
        if decision.action == "partition":
            cur.execute(decision.statement)
            done.append(decision.table)
    return done
