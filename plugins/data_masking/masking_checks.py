"""Proof that the masked copy is both faithful and masked.

verify_copy: row counts equal (zero for truncated tables), every foreign key resolves in the
copy, and the aggregates of kept columns are equal: sums of DECIMAL columns to the cent, and
MIN/MAX of dates. (Unique keys are enforced by the server while loading.)

scan_for_leaks: every original value of every masked column is looked for in the copy. Only
keyed hashes of the originals are held (BLAKE2b under a key drawn for this scan and never
stored), never the values. A hit is a leak when
  - a masked cell equals its own row's original (masking did not happen, or a NULL was not
    nulled), or
  - any cell of a kept column, any JSON string outside the masked paths, or an output of a
    strategy whose outputs cannot be real data (reserved email domains, test card ranges,
    documentation IP ranges) equals an original of an identifying column anywhere.
Names drawn from a fake-name pool can equal somebody's real first name; they are only checked
against their own row. Values shorter than MIN_SCAN_CHARS are too common to mean anything
outside their own row.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import asdict, dataclass, field

from mysql_common.identifiers import quote

from data_masking import MaskingError, MaskingLeak
from data_masking.masked_copy import TablePlan, read_sql
from data_masking.masking_schema import keyset_batches
from data_masking.masking_strategies import Strategy, json_leaves

log = logging.getLogger(__name__)
MIN_SCAN_CHARS = 5
SCAN_BATCH = 20_000
MAX_REPORTED = 50


@dataclass
class VerifyReport:
    counts: dict[str, list[int]] = field(default_factory=dict)  # table -> [source, copy]
    foreign_keys_checked: int = 0
    unique_keys: int = 0
    aggregates: dict[str, list[str]] = field(default_factory=dict)  # table.column AGG -> [source, copy]
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _scalar(conn, sql: str, params: tuple = ()):
    cur = conn.cursor()
    cur.execute(sql, params)
    return cur.fetchone()[0]


def verify_copy(source_conn, copy_conn, source_db: str, copy_db: str, plans: dict[str, TablePlan]) -> VerifyReport:
    report = VerifyReport()
    for name, plan in sorted(plans.items()):
        if plan.action == "drop":
            continue
        src_count = _scalar(source_conn, f"SELECT COUNT(*) FROM {quote(source_db)}.{quote(name)}")
        copy_count = _scalar(copy_conn, f"SELECT COUNT(*) FROM {quote(copy_db)}.{quote(name)}")
        report.counts[name] = [src_count, copy_count]
        expected = 0 if plan.action == "truncate" else src_count
        if copy_count != expected:
            report.problems.append(f"{name}: {copy_count} rows in the copy, {expected} expected "
                                   f"({src_count} in the source{', truncated by rule' if plan.action == 'truncate' else ''})")
        if plan.action != "copy":
            continue
        report.unique_keys += len(plan.table.unique_keys) + bool(plan.table.primary_key)
        for fk in plan.table.foreign_keys:
            join = " AND ".join(f"c.{quote(a)} = p.{quote(b)}" for a, b in zip(fk.columns, fk.ref_columns))
            present = " AND ".join(f"c.{quote(a)} IS NOT NULL" for a in fk.columns)
            orphans = _scalar(copy_conn, f"SELECT COUNT(*) FROM {quote(copy_db)}.{quote(name)} c LEFT JOIN "
                                         f"{quote(copy_db)}.{quote(fk.ref_table)} p ON {join} WHERE {present} "
                                         f"AND p.{quote(fk.ref_columns[0])} IS NULL")
            report.foreign_keys_checked += 1
            if orphans:
                report.problems.append(f"{name}.{fk.name}: {orphans} row(s) reference a missing "
                                       f"{fk.ref_table} row in the copy")
        aggregates = []
        for col in plan.kept:
            if col.data_type == "decimal":
                aggregates.append(("SUM", col.name))
            elif col.is_temporal:
                aggregates += [("MIN", col.name), ("MAX", col.name)]
        if aggregates:
            sql = ", ".join(f"{fn}({quote(c)})" for fn, c in aggregates)
            cur_s, cur_c = source_conn.cursor(), copy_conn.cursor()
            cur_s.execute(f"SELECT {sql} FROM {quote(source_db)}.{quote(name)}")
            cur_c.execute(f"SELECT {sql} FROM {quote(copy_db)}.{quote(name)}")
            for (fn, c), a, b in zip(aggregates, cur_s.fetchone(), cur_c.fetchone()):
                report.aggregates[f"{name}.{c} {fn}"] = [str(a), str(b)]
                if a != b:
                    report.problems.append(f"{name}.{c}: {fn} is {b} in the copy, {a} in the source")
    return report


# --- residual-PII scan -------------------------------------------------------------------------

class _Hasher:
    def __init__(self):
        self.key = os.urandom(32)

    def __call__(self, value) -> int:
        if isinstance(value, bytes):
            data = value
        else:
            data = (json.dumps(value) if isinstance(value, float) else str(value)).encode("utf-8", "surrogatepass")
        return int.from_bytes(hashlib.blake2b(data, key=self.key, digest_size=8).digest(), "big")


def _long_enough(value) -> bool:
    return value is not None and len(value if isinstance(value, (str, bytes)) else str(value)) >= MIN_SCAN_CHARS


def _json_doc(value):
    if value is None:
        return None
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def _all_leaves(doc, at=()):
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _all_leaves(v, at + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _all_leaves(v, at + (i,))
    elif isinstance(doc, (str, int, float)) and not isinstance(doc, bool):
        yield at, doc


def _masked_leaves(doc, strategy: Strategy):
    """(path, value, inner strategy) of the leaves a json rule masks."""
    for tokens, inner in strategy.options["paths"]:
        for container, key, at in json_leaves(doc, tokens):
            yield at, container[key], inner


@dataclass
class Leak:
    table: str
    column: str
    key: str
    why: str

    def __str__(self) -> str:
        return f"{self.table}.{self.column} at {self.key}: {self.why}"


@dataclass
class ScanReport:
    originals_hashed: int = 0
    cells_scanned: int = 0
    leaks: list[Leak] = field(default_factory=list)
    leak_count: int = 0

    def add(self, leak: Leak) -> None:
        self.leak_count += 1
        if len(self.leaks) < MAX_REPORTED:
            self.leaks.append(leak)

    def as_dict(self) -> dict:
        return {"originals_hashed": self.originals_hashed, "cells_scanned": self.cells_scanned,
                "leak_count": self.leak_count, "leaks": [str(x) for x in self.leaks]}


def _keyset(conn, database: str, plan: TablePlan, columns: list[str], batch: int = SCAN_BATCH):
    return keyset_batches(conn, database, plan.table, [read_sql(plan.table.column(c)) for c in columns], batch)


def _key_text(plan: TablePlan, key_values) -> str:
    """The row's key for the report, unless a key column is masked (then only its position)."""
    masked = {c.name for c, _ in plan.masked}
    key = plan.table.scan_key
    if not key or masked & set(key):
        return "a row whose key is masked"
    return ", ".join(f"{k}={v!r}" for k, v in zip(key, key_values))


def scan_for_leaks(source_conn, copy_conn, source_db: str, copy_db: str, plans: dict[str, TablePlan]) -> ScanReport:
    report = ScanReport()
    h = _Hasher()
    originals: set[int] = set()
    copied = [p for p in plans.values() if p.action == "copy"]
    # 1. keyed hashes of every original of every identifying masked column (JSON: its masked leaves)
    for plan in copied:
        columns = [(c, s) for c, s in plan.masked if s.identifying]
        if not columns:
            continue
        nk = len(plan.table.scan_key)
        for rows in _keyset(source_conn, source_db, plan, [c.name for c, _ in columns]):
            for row in rows:
                for i, (_col, strategy) in enumerate(columns):
                    value = row[nk + i]
                    if strategy.name == "json":
                        for _at, leaf, inner in _masked_leaves(_json_doc(value), strategy):
                            if inner.identifying and _long_enough(leaf):
                                originals.add(h(leaf))
                    elif _long_enough(value):
                        originals.add(h(value))
    report.originals_hashed = len(originals)
    # 2. every row of the copy, next to its original where a column is masked
    for plan in copied:
        key = plan.table.scan_key
        nk = len(key)
        masked = {c.name: s for c, s in plan.masked}
        masked_at = {name: i for i, name in enumerate(masked)}
        scanned = [c.name for c in plan.kept if c.is_string] + list(masked)
        if not scanned:
            continue
        json_kept = {c.name for c in plan.kept if c.json}
        plan_key_text = _key_text(plan, ()) if set(key) & set(masked) or not key else None
        for rows in _keyset(copy_conn, copy_db, plan, scanned):
            originals_here = {}
            if masked and key:
                lo, hi = rows[0][:nk], rows[-1][:nk]
                order = ", ".join(quote(k) for k in key)
                marks = ", ".join(["%s"] * nk)
                cur = source_conn.cursor()
                cur.execute(f"SELECT {', '.join([quote(k) for k in key] + [read_sql(plan.table.column(c)) for c in masked])} "
                            f"FROM {quote(source_db)}.{quote(plan.name)} WHERE ({order}) >= ({marks}) AND "
                            f"({order}) <= ({marks})", tuple(lo) + tuple(hi))
                originals_here = {tuple(r[:nk]): r[nk:] for r in cur.fetchall()}
            report.cells_scanned += len(scanned) * len(rows)
            for row in rows:
                key_values = tuple(row[:nk])
                where = plan_key_text or _Where(plan, key_values)
                before = originals_here.get(key_values)
                for i, name in enumerate(scanned):
                    value = row[nk + i]
                    if value is None:
                        continue
                    strategy = masked.get(name)
                    if strategy is None:
                        if name in json_kept:
                            for _at, leaf in _all_leaves(_json_doc(value)):
                                if _long_enough(leaf) and h(leaf) in originals:
                                    report.add(Leak(plan.name, name, str(where),
                                                    "a JSON value equals an original of a masked column"))
                        elif _long_enough(value) and h(value) in originals:
                            report.add(Leak(plan.name, name, str(where),
                                            "a kept value equals an original of a masked column"))
                        continue
                    original = None if before is None else before[masked_at[name]]
                    _check_masked(report, h, originals, plan, name, strategy, where, value, original)
    return report


class _Where:
    """The row's key text, only written out for a leak (the scan visits every cell)."""

    def __init__(self, plan: TablePlan, key_values: tuple):
        self.plan, self.key_values = plan, key_values

    def __str__(self) -> str:
        return _key_text(self.plan, self.key_values)


def _same(h, a, b) -> bool:
    """Equal as the hashes see them: plain equality when both are of one type."""
    return a == b if type(a) is type(b) else h(a) == h(b)


def _check_masked(report, h, originals, plan, name, strategy, where, value, original) -> None:
    if strategy.name == "null":
        report.add(Leak(plan.name, name, str(where), "not nulled"))
        return
    if strategy.name == "fixed":
        return
    if strategy.name == "json":
        doc, before = _json_doc(value), _json_doc(original)
        masked_at = {}
        for at, leaf, inner in _masked_leaves(before, strategy) if before is not None else ():
            masked_at[at] = (leaf, inner)
        for at, leaf in _all_leaves(doc):
            if at in masked_at:
                orig, inner = masked_at[at]
                if inner.name not in ("null", "fixed") and orig not in (None, "") and _same(h, leaf, orig):
                    report.add(Leak(plan.name, name, str(where), f"JSON path {_path_text(at)} is unmasked"))
            elif _long_enough(leaf) and h(leaf) in originals:
                report.add(Leak(plan.name, name, str(where),
                                f"JSON value at {_path_text(at)} equals an original"))
        return
    if original not in (None, "") and _same(h, value, original):
        report.add(Leak(plan.name, name, str(where), "equals its own original"))
    elif strategy.disjoint and _long_enough(value) and h(value) in originals:
        report.add(Leak(plan.name, name, str(where), "equals an original of a masked column"))


def _path_text(at: tuple) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in at)


def raise_on_leaks(report: ScanReport) -> None:
    if report.leak_count:
        shown = "; ".join(str(x) for x in report.leaks)
        raise MaskingLeak(f"{report.leak_count} value(s) of the source found in the masked copy, which was "
                          f"dropped: {shown}")


def raise_on_problems(report: VerifyReport) -> None:
    if report.problems:
        raise MaskingError("the masked copy does not match its source: " + "; ".join(report.problems))
