"""EXPLAIN FORMAT=JSON of a sample statement, and the index a full scan in it asks for.

Only SELECT statements are explained (EXPLAIN runs nothing, and the account that explains is
read-only). Plans are shown with the literals of their conditions masked, like statements.

A candidate index for a table read by a full scan is taken from the plan itself: the columns
the attached condition compares for equality (=, <=>, IN, IS NULL) in their order, then one
range column (<, >, BETWEEN, LIKE 'prefix%') or else the sort key when the rows are sorted on
this table alone. That is the classic equality-range/sort order; whether it helps is not
guessed but measured (index_advisor).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from mysql_common.identifiers import quote
from mysql_hardening.monitoring import mask_literals

FULL_SCAN_ACCESS = {"ALL", "index"}
_SELECT = re.compile(r"^\s*\(*\s*select\b", re.IGNORECASE)
_COLUMN = r"(?:`(?P<alias>[^`]+)`|(?P<alias_bare>[\w$]+))\.(?:`(?P<column>(?:[^`]|``)+)`|(?P<column_bare>[\w$]+))"
_EQUALITY = [re.compile(rf"^{_COLUMN}{tail}", re.IGNORECASE | re.DOTALL)
             for tail in (r"\s*(?:=|<=>)\s*\S", r"\s+in\s*\(", r"\s+is\s+null$")]
_RANGE = re.compile(rf"^{_COLUMN}\s*(?:<=|>=|<|>|\s+between\s+|\s+like\s+'(?!%))", re.IGNORECASE | re.DOTALL)


@dataclass
class Candidate:
    table: str          # as the plan names it (the table, or its alias)
    columns: list[str]
    rows: int           # the optimizer's estimate of rows read by the scan
    reason: str


def is_select(statement: str) -> bool:
    return bool(_SELECT.match(statement))


def explain(conn, schema: str, statement: str) -> dict:
    """The plan as the server gives it (literals included: never log it, mask it first)."""
    cur = conn.cursor()
    try:
        cur.execute(f"USE {quote(schema)}")
        cur.execute("EXPLAIN FORMAT=JSON " + statement)
        raw = cur.fetchone()[0]
    finally:
        cur.close()
    return json.loads(raw.decode() if isinstance(raw, bytes) else raw)


def masked(plan) -> object:
    """A copy of the plan with every condition's literals replaced by '?'."""
    if isinstance(plan, dict):
        return {k: (mask_literals(v, limit=2000) if isinstance(v, str) and "condition" in k else masked(v))
                for k, v in plan.items()}
    if isinstance(plan, list):
        return [masked(v) for v in plan]
    return plan


def split_conjuncts(condition: str, word: str = "and") -> list[str]:
    """Top-level AND (or `word`) terms of a condition (quotes and parentheses respected)."""
    text = condition.strip()
    while text.startswith("(") and _closing(text, 0) == len(text) - 1:
        text = text[1:-1].strip()
    parts, depth, quote_char, start, i = [], 0, None, 0, 0
    while i < len(text):
        ch = text[i]
        if quote_char:
            if ch == "\\":
                i += 1
            elif ch == quote_char:
                quote_char = None
        elif ch in "'\"`":
            quote_char = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0 and text[i:i + len(word) + 2].lower() == f" {word} ":
            parts.append(text[start:i])
            start = i + len(word) + 2
            i += len(word) + 1
        i += 1
    parts.append(text[start:])
    cleaned = []
    for part in parts:
        part = part.strip()
        while part.startswith("(") and _closing(part, 0) == len(part) - 1:
            part = part[1:-1].strip()
        cleaned.append(part)
    return [p for p in cleaned if p]


def _closing(text: str, at: int) -> int:
    depth, quote_char = 0, None
    for i in range(at, len(text)):
        ch = text[i]
        if quote_char:
            if ch == quote_char:
                quote_char = None
        elif ch in "'\"`":
            quote_char = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _column_of(match: re.Match, alias: str) -> str | None:
    groups = {k: v for k, v in match.groupdict().items() if v is not None}
    found_alias = next((v for k, v in groups.items() if k.startswith("alias")), None)
    column = next((v for k, v in groups.items() if k.startswith("column")), None)
    if found_alias is None or column is None or found_alias != alias:
        return None
    return column.replace("``", "`")


def columns_for(condition: str, alias: str) -> tuple[list[str], list[str]]:
    """(equality columns, range columns) of this table in a condition, in order, no repeats."""
    equality: list[str] = []
    ranges: list[str] = []
    for term in split_conjuncts(condition):
        if len(split_conjuncts(term, "or")) > 1:
            continue  # a disjunction narrows nothing an index on one column could use
        match = next((m for m in (p.match(term) for p in _EQUALITY) if m), None)
        column = _column_of(match, alias) if match else None
        if column is not None:
            if column not in equality:
                equality.append(column)
            continue
        match = _RANGE.match(term)
        column = _column_of(match, alias) if match else None
        if column is not None and column not in ranges:
            ranges.append(column)
    return equality, [c for c in ranges if c not in equality]


def sort_columns(sort_key: str | None, alias: str) -> list[str]:
    """Columns of 'a.x desc, a.y' when every one is on this table, else none."""
    if not sort_key:
        return []
    columns = []
    for part in sort_key.split(","):
        match = re.match(rf"^\s*{_COLUMN}(?:\s+(?:asc|desc))?\s*$", part, re.IGNORECASE)
        column = _column_of(match, alias) if match else None
        if column is None:
            return []
        columns.append(column)
    return columns


def candidates(plan: dict, min_rows: int = 100) -> list[Candidate]:
    """A candidate per table the plan reads by a full scan of at least min_rows rows."""
    found: list[Candidate] = []

    def walk(node, sort_key: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item, sort_key)
            return
        if not isinstance(node, dict):
            return
        if "filesort" in node and isinstance(node["filesort"], dict):
            sort_key = node["filesort"].get("sort_key", sort_key)
        table = node.get("table")
        if isinstance(table, dict) and table.get("access_type") in FULL_SCAN_ACCESS:
            rows = int(table.get("rows") or 0)
            alias = table.get("table_name", "")
            if rows >= min_rows and alias and not alias.startswith("<"):
                equality, ranges = columns_for(table.get("attached_condition") or "", alias)
                tail = ranges[:1] or sort_columns(node.get("sort_key") or sort_key, alias)
                columns = (equality + [c for c in tail if c not in equality])[:4]
                if columns:
                    found.append(Candidate(alias, columns, rows, f"{table['access_type']} scan of about {rows:,} "
                                           f"rows; equality on {', '.join(equality) or 'nothing'}"
                                           + (f", then {', '.join(tail)}" if tail else "")))
        for value in node.values():
            walk(value, sort_key)

    walk(plan, None)
    return found
