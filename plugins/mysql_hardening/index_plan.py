"""The design's index strategy (include/sql/index_plan.yaml) fitted to the live schema.

plan() decides per entry and says why; apply() runs the decided statements; analyze()
refreshes the optimizer statistics of the tables changed (by this plan or the partition plan).
Re-running is safe: an index created by an earlier run is reported as already present.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from mysql_common.errors import ConfigurationError, PermanentError
from mysql_common.identifiers import check_identifier, quote

from mysql_hardening import SQL_DIR, schema

INDEX_PLAN = SQL_DIR / "index_plan.yaml"


@dataclass
class IndexDecision:
    name: str
    table: str  # the live table, or the design's name when missing
    columns: list[str]
    kind: str
    action: str  # create | exists | skip
    reason: str
    statement: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def load_plan(path: Path = INDEX_PLAN) -> dict:
    plan = yaml.safe_load(path.read_text())
    for entry in plan["indexes"]:
        check_identifier(entry["name"])
        if entry.get("kind", "BTREE").upper() not in ("BTREE", "FULLTEXT"):
            raise ConfigurationError(f"{path.name}: {entry['name']}: kind must be BTREE or FULLTEXT")
    return plan


def _covers(existing: schema.Index, columns: list[str], kind: str) -> bool:
    """Does the existing index already serve what the proposed one would?"""
    if kind == "FULLTEXT":
        return existing.kind == "FULLTEXT" and set(existing.column_names) == set(columns)
    if existing.kind != "BTREE":
        return False
    leading = existing.columns[: len(columns)]
    return ([c.lower() for c, _ in leading] == columns
            and all(prefix is None for _, prefix in leading))


def decide(entry: dict, tables: dict[str, schema.Table], aliases: dict) -> IndexDecision:
    name, kind = entry["name"], entry.get("kind", "BTREE").upper()
    columns = [c.lower() for c in entry["columns"]]
    table = schema.resolve(tables, aliases.get(entry["table"], [entry["table"]]))

    def skip(reason: str, where: str | None = None) -> IndexDecision:
        return IndexDecision(name, where or entry["table"], entry["columns"], kind, "skip", reason)

    if table is None:
        return skip(f"table {entry['table']} does not exist (looked for "
                    f"{', '.join(aliases.get(entry['table'], [entry['table']]))})")
    missing = table.has_columns(columns)
    if missing:
        return skip(f"column(s) {', '.join(missing)} do not exist in {table.name}", table.name)
    types = {c: table.columns[c] for c in columns}
    if kind == "BTREE":
        long_columns = [f"{c} ({t})" for c, t in types.items() if t in schema.PREFIX_ONLY_TYPES]
        if long_columns:
            return skip(f"a B-tree key over {', '.join(long_columns)} needs a prefix length and "
                        "would not serve text search; the FULLTEXT entry does that", table.name)
    else:
        not_text = [f"{c} ({t})" for c, t in types.items() if t not in schema.TEXT_TYPES]
        if not_text:
            return skip(f"FULLTEXT needs text columns; {', '.join(not_text)} are not", table.name)
        if table.partition_expression:
            return skip("InnoDB partitioned tables cannot have FULLTEXT indexes", table.name)
    present = {n.lower(): ix for n, ix in table.indexes.items()}
    same_name = present.get(name.lower())
    if same_name is not None:
        if same_name.column_names == columns and same_name.kind == kind:
            return IndexDecision(name, table.name, entry["columns"], kind, "exists",
                                 "already present (created by an earlier run or by hand)")
        return skip(f"an index named {same_name.name} already exists on "
                    f"({', '.join(same_name.column_names)}): choose another name", table.name)
    for existing in table.indexes.values():
        if _covers(existing, columns, kind):
            return skip(f"duplicate: existing index {existing.name} "
                        f"({', '.join(existing.column_names)}) starts with the same columns", table.name)
    real = [table.column_names[c] for c in columns]
    cols = ", ".join(quote(c) for c in real)
    if kind == "FULLTEXT":
        # The first FULLTEXT index of a table rebuilds it (hidden FTS_DOC_ID): no LOCK=NONE.
        statement = f"ALTER TABLE {quote(table.name)} ADD FULLTEXT INDEX {quote(name)} ({cols})"
    else:
        # Online or not at all: fail rather than silently lock the table.
        statement = (f"ALTER TABLE {quote(table.name)} ADD INDEX {quote(name)} ({cols}), "
                     "ALGORITHM=INPLACE, LOCK=NONE")
    decision = IndexDecision(name, table.name, entry["columns"], kind, "create",
                             "fits the schema and no existing index covers it", statement)
    if kind == "BTREE":
        for existing in table.indexes.values():
            ecols = existing.column_names
            if (existing.kind == "BTREE" and not existing.unique and len(ecols) < len(columns)
                    and columns[: len(ecols)] == ecols):
                decision.notes.append(
                    f"existing index {existing.name} ({', '.join(ecols)}) becomes a left prefix of this "
                    "one; it is kept (it may back a foreign key) - drop it only if unused")
    return decision


def plan(cur, database: str, path: Path = INDEX_PLAN) -> list[IndexDecision]:
    spec = load_plan(path)
    tables = schema.load(cur, database)
    return [decide(entry, tables, spec.get("tables", {})) for entry in spec["indexes"]]


def analyze(cur, tables: list[str]) -> list[str]:
    """ANALYZE TABLE so the optimizer's statistics include the new indexes/partitions."""
    report = []
    for table in sorted(set(tables)):
        cur.execute(f"ANALYZE TABLE {quote(table)}")
        for _, op, msg_type, text in cur.fetchall():
            if msg_type.lower() == "error":
                raise PermanentError(f"ANALYZE TABLE {table}: {text}")
            report.append(f"{table}: {op} {msg_type}: {text}")
    return report


def apply(cur, decisions: list[IndexDecision]) -> list[str]:
    """Run the create statements; returns the tables changed (then ANALYZE them)."""
    touched = []
    for decision in decisions:
        if decision.action == "create":
            cur.execute(decision.statement)
            touched.append(decision.table)
    return touched
