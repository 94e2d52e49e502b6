"""The migration plan: every decision about the target, made once in preflight and handed
to every task as JSON (through XCom), so a cleared task reruns with the same decisions."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


# The invisible column that keeps the rowid of a table without a usable primary key (or, in
# a WITHOUT ROWID table whose key MySQL cannot key, a number MySQL generates).
HIDDEN_ROWID = "_sqlite_rowid"


@dataclass
class Conflict:
    """Values of one column that do not fit its planned type as they are."""

    column: str
    problem: str  # first problem text
    count: int
    examples: list[dict]  # [{"key": {...}, "value": "...", "problem": "..."}]


@dataclass
class ColumnPlan:
    source: str
    target: str
    kind: str  # int, decimal, double, bool, text, json, blob, datetime, date, time
    ddl_type: str  # e.g. "DECIMAL(10,2)", "VARCHAR(150)"
    nullable: bool
    reason: str  # why this type: declared, inferred from data, override, widened
    # converter arguments: int (min, max), decimal (precision, scale), datetime/time (fsp, -),
    # text (max characters, 1 for a fixed-width CHAR) or None where there is no limit
    args: list = field(default_factory=lambda: [None, None])
    collation: str | None = None
    default_sql: str | None = None
    auto_increment: bool = False
    # what the profile saw, which decides whether the fast SQL path is exact
    storage: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # values the server's own type refuses (server_types; asked in the preflight), as SQLite
    # holds them: None when the server was not asked, and kept only for the quarantine's filter
    refused: list | None = None


@dataclass
class IndexPlan:
    name: str
    columns: list[str]  # target column names
    prefix: list[int | None]  # prefix length per column (None = whole column)
    unique: bool
    using_hash: bool = False  # MariaDB long UNIQUE over the key length limit
    source_name: str = ""
    note: str = ""


@dataclass
class ForeignKeyPlan:
    name: str
    columns: list[str]
    ref_table: str  # target name
    ref_columns: list[str]
    on_delete: str
    on_update: str
    deferred: bool = False  # part of a cycle: ignored for copy order
    orphans: int = 0  # child rows with no parent already in the source


@dataclass
class TablePlan:
    source: str
    target: str
    columns: list[ColumnPlan]
    key_source: list[str]  # source expressions of the key the target is ordered by
    key_target: list[str]  # target columns of that key (the primary key)
    copy_by_rowid: bool  # scan the source in rowid order (rowid tables) or by key
    hidden_rowid: bool  # no primary key in SQLite: the target keeps rowid in an invisible column
    # a WITHOUT ROWID table whose key MySQL cannot make its primary key: an invisible generated
    # column is, and key_target (the declared key, a UNIQUE key) still addresses the rows
    generated_key: bool = False
    indexes: list[IndexPlan] = field(default_factory=list)
    foreign_keys: list[ForeignKeyPlan] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)  # source names of parent tables
    rows: int = 0
    bytes: int = 0
    auto_increment_next: int | None = None
    quarantine_columns: list[str] = field(default_factory=list)  # columns whose bad rows are quarantined
    # unique keys (name -> source columns) whose rows sharing one MySQL value are quarantined
    quarantine_keys: dict[str, list[str]] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def column(self, source_name: str) -> ColumnPlan:
        for col in self.columns:
            if col.source == source_name:
                return col
        raise KeyError(source_name)


@dataclass
class Plan:
    source_path: str
    database: str
    flavor: str  # mariadb or mysql
    server_version: str
    tables: list[TablePlan]  # in copy order
    settings: dict  # the validated trigger parameters the plan was made with
    name_map: dict[str, str] = field(default_factory=dict)  # source -> target (where they differ)
    not_migrated: list[dict] = field(default_factory=list)  # views, triggers, virtual tables
    deferred_edges: list[list[str]] = field(default_factory=list)
    blockers: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    integrity: str = "ok"
    orphans: list[dict] = field(default_factory=list)

    def table(self, source_name: str) -> TablePlan:
        for table in self.tables:
            if table.source == source_name:
                return table
        raise KeyError(f"table {source_name!r} is not in the plan")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @property
    def fingerprint(self) -> str:
        """Identifies the decisions (not the run): a checkpoint made under another plan
        is not resumed."""
        decisions = [(t.source, t.target, [(c.target, c.ddl_type, c.collation) for c in t.columns],
                      t.key_target, t.quarantine_columns, t.quarantine_keys) for t in self.tables]
        return hashlib.sha1(json.dumps(decisions, sort_keys=True).encode()).hexdigest()

    @classmethod
    def from_json(cls, text: str | dict) -> "Plan":
        data = json.loads(text) if isinstance(text, str) else text
        tables = []
        for t in data.pop("tables"):
            t["columns"] = [ColumnPlan(**c) for c in t["columns"]]
            t["indexes"] = [IndexPlan(**i) for i in t["indexes"]]
            t["foreign_keys"] = [ForeignKeyPlan(**f) for f in t["foreign_keys"]]
            t["conflicts"] = [Conflict(**c) for c in t["conflicts"]]
            tables.append(TablePlan(**t))
        return cls(tables=tables, **data)
