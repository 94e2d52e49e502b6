"""Strict coverage: every column of every table is classified before anything is written.

A column without a rule (a column added by a schema change, say) fails the run by name. The
failure proposes a rule for the columns whose names or sampled values look personal (email,
name, phone, address, IP, token, card); sampled values are only matched, never shown. Rules are
also checked against the schema: a strategy that cannot apply to the column's type, a foreign
key masked differently from the key it references, a dropped table that others reference.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from mysql_common.identifiers import quote

from data_masking import CoverageError, MaskingError
from data_masking.masking_rules import Ruleset
from data_masking.masking_schema import BINARY_TYPES, Schema, Table
from data_masking.masking_strategies import STRATEGIES, luhn_valid

SAMPLE_ROWS = 200
_NAME_HINTS = [
    (re.compile(r"e-?mail", re.I), "email"),
    (re.compile(r"phone|mobile|fax|tel(ephone)?$", re.I), "phone"),
    (re.compile(r"card|pan$|iban|account_?n(o|umber)", re.I), "card"),
    (re.compile(r"(^|_)ip(_|$)|ip_?addr|remote_addr", re.I), "ip"),
    (re.compile(r"first_?name|given_?name", re.I), "first_name"),
    (re.compile(r"last_?name|surname|family_?name", re.I), "last_name"),
    (re.compile(r"user_?name|login|nick", re.I), "username"),
    (re.compile(r"(^|_)name$|full_?name|contact", re.I), "full_name"),
    (re.compile(r"addr|street|city|zip|postal|post_?code|address", re.I), "lorem"),
    (re.compile(r"token|secret|api_?key|passw|hash|session", re.I), "pseudonym"),
    (re.compile(r"birth|dob|born", re.I), "date_shift"),
    (re.compile(r"ssn|passport|national_?id|tax_?id|licen[cs]e", re.I), "pseudonym"),
]
_VALUE_HINTS = [
    (re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"), "email"),
    (re.compile(r"^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,7}$", re.I), "ip"),
    (re.compile(r"^\+?[\d\s().-]{7,20}$"), "phone"),
    (re.compile(r"^[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]{10,}$|^[0-9a-f]{32,}$", re.I), "pseudonym"),
]


@dataclass
class CoverageReport:
    unclassified: dict[str, list[str]] = field(default_factory=dict)  # table -> columns
    proposals: dict[str, str] = field(default_factory=dict)  # table.column -> why and what
    problems: list[str] = field(default_factory=list)  # rules that do not fit the schema
    stale: list[str] = field(default_factory=list)  # rules for tables/columns that do not exist
    not_copied: list[str] = field(default_factory=list)  # views, triggers, routines

    def message(self, rules_file: str) -> str:
        lines = []
        if self.unclassified:
            count = sum(len(c) for c in self.unclassified.values())
            lines.append(f"{count} column(s) have no masking rule in {rules_file}; nothing was written. "
                         "Classify each one (mask, or keep with a reason):")
            for table, columns in sorted(self.unclassified.items()):
                for column in columns:
                    hint = self.proposals.get(f"{table}.{column}")
                    lines.append(f"  {table}.{column}" + (f"  <- looks personal: {hint}" if hint else ""))
        if self.problems:
            lines.append("rules that do not fit the schema:")
            lines += [f"  {p}" for p in self.problems]
        return "\n".join(lines)


def _value_hint(values) -> str | None:
    """The kind most sampled values look like (strings and JSON leaves), or None."""
    counts: dict[str, int] = {}
    seen = 0
    for value in values:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        text = text.strip()
        if not text:
            continue
        seen += 1
        digits = re.sub(r"[\s-]", "", text)
        if digits.isdigit() and 13 <= len(digits) <= 19 and luhn_valid(digits):
            counts["card"] = counts.get("card", 0) + 1
            continue
        for pattern, kind in _VALUE_HINTS:
            if pattern.match(text):
                counts[kind] = counts.get(kind, 0) + 1
                break
    if not seen:
        return None
    kind, hits = max(counts.items(), key=lambda kv: kv[1], default=(None, 0))
    return kind if hits * 5 >= seen else None  # a fifth of the sample is a pattern, not chance


def _json_leaves(doc, path: str = "$"):
    if isinstance(doc, dict):
        for key, value in doc.items():
            step = f".{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", str(key)) else f"[{json.dumps(key)}]"
            yield from _json_leaves(value, path + step)
    elif isinstance(doc, list):
        for value in doc:
            yield from _json_leaves(value, path + "[*]")
    elif isinstance(doc, (str, int)) and not isinstance(doc, bool):
        yield path, doc


def propose(cur, database: str, table: Table, column: str) -> str | None:
    """Why a column looks personal and a rule to start from, from its name and a sample."""
    col = table.column(column)
    for pattern, strategy in _NAME_HINTS:
        if pattern.search(column):
            return f"the name says {strategy}: e.g. {{mask: {strategy}}}"
    if not (col.is_string or col.data_type in BINARY_TYPES) or col.data_type in ("enum", "set"):
        return None
    cur.execute(f"SELECT {quote(column)} FROM {quote(database)}.{quote(table.name)} "
                f"WHERE {quote(column)} IS NOT NULL LIMIT {SAMPLE_ROWS}")
    values = [r[0] for r in cur.fetchall()]
    if col.json:
        paths: dict[str, list] = {}
        for value in values:
            try:
                doc = json.loads(value)
            except (TypeError, ValueError):
                continue
            for path, leaf in _json_leaves(doc):
                paths.setdefault(path, []).append(leaf)
        found = {path: kind for path, leaves in paths.items() if (kind := _value_hint(leaves))}
        if found:
            shown = ", ".join(f"{p}: {k}" for p, k in sorted(found.items()))
            return f"JSON values look personal at {shown}: e.g. {{mask: json, paths: {{{shown}}}}}"
        return None
    kind = _value_hint(values)
    return f"the values look like {kind}: e.g. {{mask: {kind}}}" if kind else None


def check_coverage(cur, schema: Schema, rules: Ruleset) -> CoverageReport:
    """Every problem at once; raise_if_incomplete() turns the report into the run's failure."""
    report = CoverageReport()
    for name, table in schema.tables.items():
        rule = rules.tables.get(name)
        if rule is not None and rule.action != "copy":
            continue
        columns = rule.columns if rule else {}
        missing = [c.name for c in table.stored_columns if c.name not in columns]
        if missing:
            report.unclassified[name] = missing
            for column in missing:
                hint = propose(cur, schema.database, table, column)
                if hint:
                    report.proposals[f"{name}.{column}"] = hint
        for column, col_rule in columns.items():
            if not any(c.name == column for c in table.columns):
                report.stale.append(f"{name}.{column}: no such column")
                continue
            col = table.column(column)
            if col.generated:
                report.problems.append(f"{name}.{column} is a generated column: the server computes it "
                                       "from the masked columns; remove its rule")
                continue
            if col_rule.keep:
                continue
            kind = STRATEGIES[col_rule.strategy][3]
            if kind == "temporal" and not col.is_temporal:
                report.problems.append(f"{name}.{column}: date_shift needs a DATE/DATETIME/TIMESTAMP column, "
                                       f"not {col.column_type}")
            if kind == "json" and not col.json:
                report.problems.append(f"{name}.{column}: json paths need a JSON column, not {col.column_type}")
            for other in col_rule.build(name).context:
                if not any(c.name == other for c in table.columns):
                    report.problems.append(f"{name}.{column}: the rule reads column {other!r}, which "
                                           f"{name} does not have")
        report.problems += _fk_problems(schema, rules, table)
    for name, rule in rules.tables.items():
        if name not in schema.tables:
            report.stale.append(f"{name}: no such table")
    report.not_copied = ([f"view {v}" for v in schema.views] + [f"trigger {t}" for t in schema.triggers]
                         + [f"routine {r}" for r in schema.routines])
    return report


def _rule_key(rules: Ruleset, table: str, column: str):
    rule = rules.tables.get(table)
    if rule is None or rule.action != "copy" or column not in rule.columns:
        return None
    col = rule.columns[column]
    return None if col.keep else (col.strategy, col.domain or col.strategy)


def _fk_problems(schema: Schema, rules: Ruleset, table: Table) -> list[str]:
    """A foreign key lines up only if both ends are masked alike (or both kept)."""
    problems = []
    own = rules.tables.get(table.name)
    for fk in table.foreign_keys:
        parent = rules.tables.get(fk.ref_table)
        if parent is not None and parent.action == "drop" and (own is None or own.action == "copy"):
            problems.append(f"{table.name}.{fk.name} references {fk.ref_table}, which the rules drop: "
                            "truncate it instead, or drop the referencing table too")
        for column, ref_column in zip(fk.columns, fk.ref_columns):
            mine, theirs = _rule_key(rules, table.name, column), _rule_key(rules, fk.ref_table, ref_column)
            if mine != theirs:
                problems.append(f"{table.name}.{column} references {fk.ref_table}.{ref_column} but is masked "
                                f"differently ({mine or 'kept'} vs {theirs or 'kept'}): give both the same "
                                "strategy and domain, or the foreign key breaks")
    return problems


def raise_if_incomplete(report: CoverageReport, rules_file: str) -> None:
    if report.unclassified:
        raise CoverageError(report.message(rules_file))
    if report.problems:
        raise MaskingError(report.message(rules_file))
