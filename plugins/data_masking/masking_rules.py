"""Masking rules: include/masking/<database>.yaml, per table and column.

    extends: [django, migration_state]      # include/masking/defaults/<name>.yaml, or another rules file
    tables:
      shop_order:
        columns:
          id:      {keep: surrogate key, no personal meaning}
          note:    {mask: lorem}
          user_id: {keep: key of auth_user, whose personal columns are masked}
      django_session: {truncate: signed session data identifies logged-in users}
      _s2m_quarantine: {drop: raw source rows kept by the migration}

A column rule is `{keep: <reason>}` or `{mask: <strategy>, <options>...}` (a bare strategy name is
short for the latter). A table is copied column by column, or `truncate`d (created empty) or
`drop`ped (not created), each with its reason. A file's entry for a table wins over what it
extends, column by column.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from data_masking import RULES_DIR, MaskingError
from data_masking.masking_strategies import Strategy, build

TABLE_ACTIONS = ("truncate", "drop")


@dataclass
class ColumnRule:
    column: str
    strategy: str | None  # None: keep
    reason: str = ""
    options: dict = field(default_factory=dict)
    domain: str | None = None
    source: str = ""  # the file that set it

    @property
    def keep(self) -> bool:
        return self.strategy is None

    def build(self, table: str, max_chars: int | None = None) -> Strategy:
        return build(self.strategy, domain=self.domain, max_chars=max_chars, options=self.options,
                     where=f"{table}.{self.column} ({self.source})")

    def describe(self) -> str:
        if self.keep:
            return f"keep: {self.reason}"
        extra = {k: v for k, v in self.options.items() if not k.startswith("_")}
        return self.strategy + (f" {extra}" if extra else "")


@dataclass
class TableRule:
    table: str
    action: str = "copy"  # copy | truncate | drop
    reason: str = ""
    columns: dict[str, ColumnRule] = field(default_factory=dict)
    source: str = ""


@dataclass
class Ruleset:
    path: Path
    tables: dict[str, TableRule]
    files: list[str]


def rules_path(database: str, rules_dir: Path = RULES_DIR) -> Path:
    return rules_dir / f"{database}.yaml"


def _resolve(name: str, base: Path) -> Path:
    """A name in extends: a file beside the rules (or in its defaults/), else one of this project's."""
    candidates = [d / f"{name}.yaml" for root in dict.fromkeys([base, RULES_DIR]) for d in (root / "defaults", root)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise MaskingError(f"extends: {name!r} is none of {', '.join(str(c) for c in candidates)}")


def _column_rule(table: str, column: str, raw, source: str) -> ColumnRule:
    where = f"{source}: {table}.{column}"
    if isinstance(raw, str):
        raw = {"mask": raw}
    if not isinstance(raw, dict):
        raise MaskingError(f"{where}: a rule is {{keep: <reason>}} or {{mask: <strategy>, ...}}, not {raw!r}")
    if "keep" in raw:
        reason = str(raw["keep"] or "").strip()
        if not reason or len(raw) > 1:
            raise MaskingError(f"{where}: keep needs a reason, and nothing else (keep: why this is not personal)")
        return ColumnRule(column, None, reason, source=source)
    strategy = raw.get("mask")
    if not strategy:
        raise MaskingError(f"{where}: neither keep nor mask")
    options = {k: v for k, v in raw.items() if k not in ("mask", "domain")}
    return ColumnRule(column, str(strategy), options=options, domain=raw.get("domain"), source=source)


def _read(path: Path, base: Path, seen: tuple[Path, ...]) -> tuple[dict[str, TableRule], list[str]]:
    if path in seen:
        raise MaskingError(f"{path}: extends itself through {' -> '.join(p.name for p in seen)}")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise MaskingError(f"no masking rules at {path}: create it (docs/masking.md shows the format)") from None
    except yaml.YAMLError as exc:
        raise MaskingError(f"{path}: not valid YAML: {exc}") from None
    unknown = set(doc) - {"extends", "tables"}
    if unknown:
        raise MaskingError(f"{path}: unknown top-level keys {sorted(unknown)} (only extends and tables)")
    tables: dict[str, TableRule] = {}
    files: list[str] = []
    for name in doc.get("extends") or []:
        parent_tables, parent_files = _read(_resolve(str(name), base), base, seen + (path,))
        files += parent_files
        for table, rule in parent_tables.items():
            tables[table] = rule
    files.append(str(path))
    for table, raw in (doc.get("tables") or {}).items():
        table = str(table)
        if not isinstance(raw, dict):
            raise MaskingError(f"{path}: table {table}: expected columns, truncate or drop")
        actions = [a for a in TABLE_ACTIONS if a in raw]
        if actions:
            reason = str(raw[actions[0]] or "").strip()
            if len(raw) > 1 or not reason:
                raise MaskingError(f"{path}: table {table}: {actions[0]} needs a reason, and nothing else")
            tables[table] = TableRule(table, actions[0], reason, source=str(path))
            continue
        if set(raw) != {"columns"} or not isinstance(raw["columns"], dict):
            raise MaskingError(f"{path}: table {table}: expected `columns:` (or truncate/drop with a reason)")
        previous = tables.get(table)
        merged = dict(previous.columns) if previous and previous.action == "copy" else {}
        for column, rule in raw["columns"].items():
            merged[str(column)] = _column_rule(table, str(column), rule, str(path))
        tables[table] = TableRule(table, "copy", columns=merged, source=str(path))
    return tables, files


def load_rules(path: Path, rules_dir: Path | None = None) -> Ruleset:
    """Read a rules file with what it extends; every rule is checked by building it once."""
    path = Path(path)
    base = rules_dir or path.parent
    tables, files = _read(path, base, ())
    for table in tables.values():
        for rule in table.columns.values():
            if not rule.keep:
                rule.build(table.table)
    return Ruleset(path, tables, files)
