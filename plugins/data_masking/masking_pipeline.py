"""The steps of one masked copy, each callable on its own (the DAG runs them as tasks):

    prepare -> copy_to_stage -> verify_and_scan -> publish

prepare reads the source's schema and the rules and fails on any unclassified column before
anything is written; verify_and_scan drops the staging copy before it raises, so a copy that
leaks or does not match its source never stays on the dev server. build() runs them all.
"""
from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from data_masking import MaskingError
from data_masking.masked_copy import (TablePlan, copy_all, create_stage, drop_database, plan_copy, publish,
                                      resolve_unique_collisions, stage_name)
from data_masking.masking_checks import raise_on_leaks, raise_on_problems, scan_for_leaks, verify_copy
from data_masking.masking_coverage import CoverageReport, check_coverage, raise_if_incomplete
from data_masking.masking_rules import Ruleset, load_rules
from data_masking.masking_schema import Schema, load_schema
from data_masking.masking_strategies import Keyed

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    schema: Schema
    rules: Ruleset
    coverage: CoverageReport
    plans: dict[str, TablePlan]


@dataclass
class MaskedCopyReport:
    source_database: str
    dev_database: str
    tables: dict[str, dict] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    verify: dict = field(default_factory=dict)
    scan: dict = field(default_factory=dict)
    not_copied: list[str] = field(default_factory=list)
    stale_rules: list[str] = field(default_factory=list)


def prepare(source_conn, source_db: str, rules_path: Path, keyed: Keyed, *, dev_password: str | None = None) -> Prepared:
    """Schema + rules + coverage; CoverageError names every unclassified column."""
    rules = load_rules(rules_path)
    schema = load_schema(source_conn.cursor(), source_db)
    if not schema.tables:
        raise MaskingError(f"database {source_db!r} has no tables to copy")
    coverage = check_coverage(source_conn.cursor(), schema, rules)
    raise_if_incomplete(coverage, str(rules_path))
    for line in coverage.stale:
        log.warning("rule for something the source does not have: %s", line)
    for item in coverage.not_copied:
        log.warning("not copied (tables only): %s", item)
    return Prepared(schema, rules, coverage, plan_copy(schema, rules, keyed, dev_password=dev_password))


def describe(prepared: Prepared) -> dict[str, dict]:
    out = {}
    for name, plan in sorted(prepared.plans.items()):
        entry = {"action": plan.action, "reason": plan.rule.reason}
        if plan.action == "copy":
            entry["masked"] = {c.name: s.name + (f" ({s.domain})" if s.domain != s.name else "")
                               for c, s in plan.masked}
            entry["kept"] = len(plan.kept)
        out[name] = entry
    return out


def copy_to_stage(source, dev, source_db: str, dev_db: str, prepared: Prepared, keyed: Keyed, *,
                  workers: int = 3, batch_rows: int = 20_000) -> dict[str, dict]:
    """Masked rows of every table into the staging database; dropped again if anything fails."""
    stage = stage_name(dev_db)
    src, dst = source.connect(), dev.connect()
    try:
        overrides = resolve_unique_collisions(src, source_db, prepared.plans, keyed)
        deferred = create_stage(src, dst, source_db, stage, prepared.plans)
    finally:
        src.close()
        dst.close()
    try:
        results = copy_all(source, dev, source_db, stage, prepared.plans, keyed, overrides, deferred,
                           workers=workers, batch_rows=batch_rows)
    except BaseException:
        _drop(dev, stage)
        raise
    return {r.table: {"rows": r.rows, "seconds": r.seconds} for r in results}


def verify_and_scan(source, dev, source_db: str, dev_db: str, prepared: Prepared) -> tuple[dict, dict]:
    """Counts, keys and aggregates, and the residual-PII scan; the stage is dropped on failure.

    The checks run in the servers and the scan mostly in this process, so they run side by side."""
    stage = stage_name(dev_db)

    def checks():
        src, dst = source.connect(), dev.connect()
        try:
            return verify_copy(src, dst, source_db, stage, prepared.plans)
        finally:
            src.close()
            dst.close()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="masked-copy-verify") as pool:
        verifying = pool.submit(checks)
        src, dst = source.connect(), dev.connect()
        try:
            scanned = scan_for_leaks(src, dst, source_db, stage, prepared.plans)
        finally:
            src.close()
            dst.close()
        verified = verifying.result()
    try:
        raise_on_problems(verified)
        raise_on_leaks(scanned)
    except BaseException:
        _drop(dev, stage)
        log.error("dropped the staging copy %s", stage)
        raise
    log.info("verified: %d tables, %d foreign keys, %d unique keys, %d aggregates equal; leak scan: %d "
             "cells against %d original hashes, no leak", len(verified.counts), verified.foreign_keys_checked,
             verified.unique_keys, len(verified.aggregates), scanned.cells_scanned, scanned.originals_hashed)
    return verified.as_dict(), scanned.as_dict()


def publish_stage(dev, dev_db: str) -> list[str]:
    conn = dev.connect()
    try:
        return publish(conn, stage_name(dev_db), dev_db)
    finally:
        conn.close()


def _drop(dev, database: str) -> None:
    try:
        conn = dev.connect()
        try:
            drop_database(conn, database)
        finally:
            conn.close()
    except Exception as exc:  # the original failure matters more; this one is logged
        log.error("could not drop %s: %s", database, exc)


def build(source, dev, source_db: str, dev_db: str, rules_path: Path, keyed: Keyed, *,
          dev_password: str | None = None, workers: int = 3, batch_rows: int = 20_000) -> MaskedCopyReport:
    """Every step in one call (tests, benchmark); the DAG runs the same steps as tasks."""
    report = MaskedCopyReport(source_db, dev_db)
    started = time.monotonic()
    conn = source.connect()
    try:
        prepared = prepare(conn, source_db, rules_path, keyed, dev_password=dev_password)
    finally:
        conn.close()
    report.phases["prepare"] = round(time.monotonic() - started, 3)
    report.tables = describe(prepared)
    report.not_copied, report.stale_rules = prepared.coverage.not_copied, prepared.coverage.stale
    phase = time.monotonic()
    copied = copy_to_stage(source, dev, source_db, dev_db, prepared, keyed, workers=workers, batch_rows=batch_rows)
    for name, info in copied.items():
        report.tables[name].update(info)
    report.phases["copy"] = round(time.monotonic() - phase, 3)
    phase = time.monotonic()
    report.verify, report.scan = verify_and_scan(source, dev, source_db, dev_db, prepared)
    report.phases["verify_and_scan"] = round(time.monotonic() - phase, 3)
    phase = time.monotonic()
    publish_stage(dev, dev_db)
    report.phases["publish"] = round(time.monotonic() - phase, 3)
    return report
