"""Verification while the application writes, and the final check while writes are frozen.

A full verification of a large database takes longer than a write freeze should last, so it
runs before the freeze, on live data, with the same segment checksums as the migration's:

- the live pass records each leaf range whose checksums differ instead of diffing it (rows
  may be changing there right now), and notes the last change applied when it started;
- the freeze check then compares, row by row, those ranges and every key logged since
  that point, and the row counts of every table.

Why that proves the whole table: a row outside both sets changed on neither side since
the live pass began (the source logs every change, and the target changes only by applying
logged ones), so the live pass saw it as it is now, and its range checksum matched.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import asdict

from mysql_common.identifiers import quote
from sqlite_to_mysql import target_state
from sqlite_to_mysql.cutover import mysql_capture, sqlite_capture
from sqlite_to_mysql.cutover.sqlite_capture import key_columns
from sqlite_to_mysql.cutover.catchup import chunks, key_param, mysql_key, sqlite_match
from sqlite_to_mysql.key_sql import mysql_in, sqlite_in
from sqlite_to_mysql.plan import Plan, TablePlan
from sqlite_to_mysql.source_schema import qi
from sqlite_to_mysql.row_transport import show_key
from sqlite_to_mysql.verify import TableVerifier


class _LiveVerifier(TableVerifier):
    """Segment checksums on live data: differing leaf ranges are recorded, not diffed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.suspects: list[list] = []

    def _diff_rows(self, low, high) -> None:
        self.suspects.append([low, high])


class _RowsVerifier(TableVerifier):
    """Row-by-row comparison restricted to some keys (both sides' predicates given)."""

    def __init__(self, src, dst, tp: TablePlan, *, flavor: str, max_examples: int,
                 source_pred: tuple[str, list] = ("1", []), target_pred: tuple[str, list] = ("1", [])) -> None:
        super().__init__(src, dst, tp, flavor=flavor, max_examples=max_examples)
        self.source_pred, self.target_pred = source_pred, target_pred

    def _source_where(self, low, high):
        where, params = super()._source_where(low, high)
        return f"({where}) AND ({self.source_pred[0]})", tuple(params) + tuple(self.source_pred[1])

    def _target_where(self, low, high):
        where, params = super()._target_where(low, high)
        return f"({where}) AND ({self.target_pred[0]})", tuple(params) + tuple(self.target_pred[1])

    def compare(self, low=None, high=None) -> None:
        try:
            self._diff_rows(low, high)
        finally:
            self.pool.shutdown(wait=True)


def encode(value):
    """Key values in JSON (XCom): bytes tagged, everything else as it is."""
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, bytes):
        return {"b64": base64.b64encode(value).decode()}
    return value


def decode(value):
    if isinstance(value, dict):
        return base64.b64decode(value["b64"])
    if isinstance(value, list):
        return tuple(decode(v) for v in value)
    return value


def verify_while_writing(src, dst, plan: Plan, *, baseline_seq: int) -> dict:
    """Every table's checksums while the application writes (see module doc)."""
    tables = {}
    for tp in plan.tables:
        verifier = _LiveVerifier(src, dst, tp, flavor=plan.flavor)
        verdict = verifier.run()
        tables[tp.source] = {"segments": verdict.segments, "seconds": round(verdict.seconds, 3),
                             "suspects": encode(verifier.suspects), "source_rows": verdict.source_rows,
                             "target_rows": verdict.target_rows}
    return {"baseline_seq": baseline_seq, "tables": tables,
            "suspect_ranges": sum(len(t["suspects"]) for t in tables.values()),
            "seconds": round(sum(t["seconds"] for t in tables.values()), 3)}


def counts(src, dst, tp: TablePlan) -> tuple[int, int, int]:
    """(source rows, target rows, quarantined rows) of one table, as they are now."""
    source = src.execute(f"SELECT count(*) FROM {qi(tp.source)}").fetchone()[0]
    cur = dst.cursor()
    cur.execute(f"SELECT COUNT(*) FROM {quote(tp.target)}")
    return source, cur.fetchone()[0], target_state.quarantined_count(dst, tp.target)


def check_frozen(src, dst, plan: Plan, live: dict, *, max_examples: int = 20) -> dict:
    """The final check while nothing moves: counts, the ranges the live pass could not settle,
    and every key logged since it began (see module doc)."""

    def work(tp: TablePlan):
        info = live["tables"].get(tp.source)
        if info is None:  # not checked live: the whole table, row by row
            return [(None, None)], []
        ranges = [(decode(lo), decode(hi)) for lo, hi in info["suspects"]]
        keys = sqlite_capture.changed_keys(src, tp, live["baseline_seq"])
        preds = []
        for chunk in chunks(keys):
            targets = [k for k in (mysql_key(tp, key) for key in chunk) if k is not None]
            preds.append((len(chunk), sqlite_in(tp.key_source, chunk),
                          mysql_in(tp.key_target, targets) if targets else ("0", [])))
        return ranges, preds

    return _check(src, dst, plan, work, max_examples)


def check_rolled_back(src, dst, plan: Plan, *, max_examples: int = 20) -> dict:
    """After MySQL's writes came back to SQLite: counts, and every key MySQL logged."""

    def work(tp: TablePlan):
        preds = []
        cols = key_columns(tp)
        for chunk in chunks(mysql_capture.logged_keys(dst, tp)):
            params = [tuple(key_param(c, v) for c, v in zip(cols, key)) for key in chunk]
            preds.append((len(chunk), sqlite_match(tp, chunk), mysql_in(tp.key_target, params)))
        return [], preds

    return _check(src, dst, plan, work, max_examples)


def _check(src, dst, plan: Plan, work, max_examples: int) -> dict:
    started = time.monotonic()
    tables = []
    for tp in plan.tables:
        source, target, quarantined = counts(src, dst, tp)
        ranges, preds = work(tp)
        differences: dict[str, dict] = {}
        for low, high in ranges:
            verifier = _RowsVerifier(src, dst, tp, flavor=plan.flavor, max_examples=max_examples)
            verifier.compare(tuple(low) if low else None, tuple(high) if high else None)
            _collect(differences, verifier)
        for _n, source_pred, target_pred in preds:
            verifier = _RowsVerifier(src, dst, tp, flavor=plan.flavor, max_examples=max_examples,
                                     source_pred=source_pred, target_pred=target_pred)
            verifier.compare()
            _collect(differences, verifier)
        issues = []
        if source != target + quarantined:
            issues.append(f"row counts do not add up: source {source} != target {target} + quarantined {quarantined}")
        tables.append({"table": tp.source, "source_rows": source, "target_rows": target, "quarantined": quarantined,
                       "keys_checked": sum(n for n, _s, _t in preds), "ranges_checked": len(ranges),
                       "differing_rows": len(differences), "differences": list(differences.values())[:max_examples],
                       "issues": issues, "ok": not issues and not differences})
    return {"ok": all(t["ok"] for t in tables), "tables": tables, "seconds": round(time.monotonic() - started, 3),
            "keys_checked": sum(t["keys_checked"] for t in tables),
            "ranges_checked": sum(t["ranges_checked"] for t in tables)}


def failures(check: dict) -> str:
    """The failed tables of a check, for an error message: each differing row's key, and the
    columns that differ with both values."""
    parts = []
    for t in check["tables"]:
        if not t["ok"]:
            keys = ", ".join(f"{d['key']} {d['kind']}" + _columns(d) for d in t["differences"][:5])
            parts.append(f"{t['table']}: {'; '.join(t['issues'] + ([keys] if keys else []))}")
    return " | ".join(parts)


def _columns(diff: dict) -> str:
    if not diff.get("columns"):
        return ""
    return " in " + "; ".join(f"{c} (SQLite {v['source']!r}, MySQL {v['target']!r})"
                              for c, v in diff["columns"].items())


def _collect(found: dict, verifier: TableVerifier) -> None:
    for diff in verifier.differences:
        found.setdefault(json.dumps(diff.key, sort_keys=True, default=str), asdict(diff))
    if verifier.differing > len(verifier.differences):
        found.setdefault(f"more:{id(verifier)}", {"key": {}, "kind": f"{verifier.differing} differing rows "
                                                                    f"in all", "columns": {}})


def explain_pending(src, tp: TablePlan, verdict: dict, *, max_examples: int) -> dict:
    """The migration's own verification while capture runs: a difference on a key logged
    since capture began is a pending change (the cutover applies and re-checks it), not a
    loss, and the table's state is PENDING (never OK while its rows differ). Differences
    elsewhere, or more than were listed, still fail."""
    changed = {tuple(show_key(v) for v in key) for key in sqlite_capture.changed_keys(src, tp)}
    listed = verdict["differences"]
    unexplained = [d for d in listed if tuple(d["key"].values()) not in changed]
    complete = verdict["differing_rows"] == len(listed)
    gap = verdict["source_rows"] - verdict["target_rows"] - verdict["quarantined"]
    counts_explained = abs(gap) <= len(changed)
    explained = complete and not unexplained and counts_explained
    result = dict(verdict)
    result["pending_changes"] = len(changed)
    result["pending_differences"] = len(listed) - len(unexplained)
    if explained:  # the counts and checksum stay as measured: pending is not OK
        result.update(differences=[], differing_rows=0,
                      issues=[i for i in verdict["issues"] if not i.startswith("row counts do not add up")])
    else:
        result["differences"] = unexplained[:max_examples] if complete else listed[:max_examples]
        result["differing_rows"] = len(unexplained) if complete else verdict["differing_rows"]
    result["ok"] = not result["issues"] and result["differing_rows"] == 0
    result["state"] = "FAIL" if not result["ok"] else "PENDING" if result["pending_differences"] else "OK"
    return result
