"""The cutover forward, SQLite -> MySQL, as plain functions over open connections (the Airflow
tasks call one each; tests and the benchmark call them in a row):

prepare -> catch_up -> verify_live -> freeze_and_switch, and release() whenever a step may
have left a freeze behind (the teardown task, the next run's first step, a failure handler).

The freeze lasts from the freeze triggers' commit to the end of the switch (or, in a
rehearsal, to their removal): the last changes, a check of only what may have moved since
the live verification, the counters, the switch. Everything slow happens before it.
"""
from __future__ import annotations

import logging
import sqlite3
import time

from mysql_common.identifiers import quote
from sqlite_to_mysql.cutover import freeze, mysql_capture, sqlite_capture, switch_actions, verification
from sqlite_to_mysql.cutover.catchup import catch_up
from sqlite_to_mysql.cutover.context import Cutover
from sqlite_to_mysql.cutover.errors import CutoverError, SwitchFailed, error_text
from sqlite_to_mysql.cutover.freeze_window import brief, freeze_window, maintenance_off, raise_if_maintenance_stuck
from sqlite_to_mysql.cutover.release import release
from sqlite_to_mysql.cutover.return_to_sqlite import undo_switch
from sqlite_to_mysql.cutover.switch_actions import CAN, SwitchConfig
from sqlite_to_mysql.errors import MigrationDataLoss
from sqlite_to_mysql.plan import Plan
from sqlite_to_mysql.planner import Settings, selected_tables
from sqlite_to_mysql.source_schema import qi, read_schema

log = logging.getLogger(__name__)
MODES = ("rehearsal", "switch")
NO_ACTION = ("no switch action is configured (settings_file, command or webhook in the Airflow Variable "
             "sqlite_to_mysql_cutover): nothing would point the application at MySQL")


# --- checks -----------------------------------------------------------------------------

def schema_drift(src: sqlite3.Connection, plan: Plan) -> list[str]:
    """What changed in the source's schema since the plan: a new column or table would not
    reach MySQL, so the cutover refuses instead of losing it."""
    schema = read_schema(src)
    issues = []
    for tp in plan.tables:
        table = schema.tables.get(tp.source)
        if table is None:
            issues.append(f"table {tp.source} no longer exists")
            continue
        columns = [c.name for c in table.columns if not c.generated]
        if columns != [c.source for c in tp.columns]:
            issues.append(f"{tp.source}: columns are now {columns}, the migration planned {[c.source for c in tp.columns]}")
        if not tp.hidden_rowid and [qi(c) for c in table.primary_key] != tp.key_source:
            issues.append(f"{tp.source}: primary key changed to {table.primary_key}")
    planned = {t.source for t in plan.tables}
    for name in selected_tables(schema, Settings(**plan.settings)):
        if name not in planned:
            issues.append(f"table {name} appeared after the migration")
    return issues


def foreign_writes(dst) -> int:
    """Rows written to the MySQL target by anything but us before the switch."""
    count, _seconds = mysql_capture.pending(dst)
    dst.commit()
    return count


def sync_counters(src: sqlite3.Connection, dst, plan: Plan) -> dict[str, int]:
    """AUTO_INCREMENT above every id SQLite has issued (sqlite_sequence included), so MySQL
    never hands out an id the application already used, even one since deleted."""
    cur = dst.cursor()
    try:
        cur.execute("SET SESSION information_schema_stats_expiry = 0")  # MySQL 8 caches the value
    except Exception:  # MariaDB has no such cache (nor the variable)
        pass
    sequences = {}
    if src.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        sequences = dict(src.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    raised = {}
    for tp in plan.tables:
        if tp.auto_increment_next is None:
            continue
        highest = src.execute(f"SELECT max({tp.key_source[0]}) FROM {qi(tp.source)}").fetchone()[0] or 0
        wanted = max(int(highest), int(sequences.get(tp.source) or 0)) + 1
        cur.execute("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s", (tp.target,))
        row = cur.fetchone()
        if row and row[0] is not None and int(row[0]) >= wanted:
            continue
        cur.execute(f"ALTER TABLE {quote(tp.target)} AUTO_INCREMENT = {int(wanted)}")
        raised[tp.target] = wanted
    return raised


# --- steps ------------------------------------------------------------------------------

def check_switch_actions(cut: Cutover, *, refuse: bool) -> list[dict]:
    """Every configured switch action, tried without being performed (switch_actions.check), logged;
    with `refuse`, a switch that has none or whose actions could not run is refused here,
    before anything is frozen."""
    checks = switch_actions.check(cut.config, run_id=cut.run_id)
    for c in checks:
        (log.info if c["ok"] else log.error)("switch action %s %s: %s", c["action"], c["target"],
                                             "can run" if c["ok"] else c["problem"])
    if refuse and not cut.config.acts:
        raise CutoverError(NO_ACTION)
    if refuse and switch_actions.problems(checks):
        raise CutoverError(f"the switch actions could not run, so nothing was frozen or switched: "
                           f"{switch_actions.problems(checks)}")
    return checks


def prepare(cut: Cutover, *, mode: str = "rehearsal") -> dict:
    """First step of every run: resolve what an earlier run left, check that the cutover can
    proceed (for a switch: that its actions can run), and install change capture on MySQL
    (for a later rollback)."""
    released = release(cut)
    phase = sqlite_capture.phase(cut.src)
    if phase == sqlite_capture.SWITCHED:
        raise CutoverError("the application already runs on MySQL (switched): trigger sqlite_to_mysql_rollback "
                           "to go back, or sqlite_to_mysql_cutover_cleanup to end the rollback window")
    if phase != sqlite_capture.CAPTURING:
        raise CutoverError(f"change capture is not running (phase {phase}): run the migration with "
                           f"capture_changes=true first")
    checks = check_switch_actions(cut, refuse=mode == "switch")
    drift = schema_drift(cut.src, cut.plan)
    if drift:
        raise CutoverError("the source schema changed since the migration: " + "; ".join(drift)
                           + ". Run the migration again")
    installed = mysql_capture.install(cut.dst, cut.plan)
    foreign = foreign_writes(cut.dst)
    if foreign:
        raise CutoverError(f"{foreign} writes reached the MySQL target from something other than this cutover "
                           f"(see {mysql_capture.CHANGELOG}): point that client back at SQLite, re-run the "
                           f"migration, then cut over")
    result = {"released": released, "mysql_capture": installed, "capture": sqlite_capture.summary(cut.src),
              "switch_checks": checks}
    cut.record("prepare", None, result)
    return result


def catch_up_step(cut: Cutover, *, max_lag_changes: int, timeout: float) -> dict:
    result = catch_up(cut.forward(), max_lag_changes=max_lag_changes, timeout=timeout)
    log.info("caught up: %d changes applied (%d rows written, %d deleted) in %.1fs; lag now %d changes, %.1fs",
             result["changes"], result["written"], result["deleted"], result["seconds"], result["lag_changes"],
             result["lag_seconds"])
    cut.record("catch_up", result["seconds"], result)
    return result


def verify_live(cut: Cutover, *, max_lag_changes: int, timeout: float) -> dict:
    """Catch up, then verify every table while the application writes (verification.verify_while_writing)."""
    sync = cut.forward()
    caught = catch_up(sync, max_lag_changes=max_lag_changes, timeout=timeout)
    live = verification.verify_while_writing(cut.src, cut.dst, cut.plan, baseline_seq=sync.applied_seq())
    live["catch_up"] = caught
    log.info("live verification: %d tables in %.1fs, %d leaf ranges changing while checked (re-checked in "
             "the freeze)", len(live["tables"]), live["seconds"], live["suspect_ranges"])
    cut.record("verify_live", live["seconds"], {k: v for k, v in live.items() if k != "tables"})
    return live


def freeze_and_switch(cut: Cutover, live: dict, *, mode: str, timeout: float, max_lag_changes: int,
                      catch_up_timeout: float, report: dict | None = None) -> dict:
    """Freeze SQLite writes, apply the last changes, check, then switch (or, in a rehearsal,
    unfreeze). The freeze never outlives `timeout` seconds unless the switch is committed.

    `report` (filled in place, returned) holds what happened even when the step fails, and
    ends with the verdict line `safe_to_switch`; a rehearsal that finds the switch unsafe
    (say, an action that could not run) fails after its report is complete."""
    report = {} if report is None else report
    report.update(mode=mode, run_id=cut.run_id, freeze_timeout_seconds=timeout)
    try:
        _freeze_and_switch(cut, live, report, mode=mode, timeout=timeout, max_lag_changes=max_lag_changes,
                           catch_up_timeout=catch_up_timeout)
    except BaseException as exc:
        report.update(outcome="failed", error=error_text(exc))
        _conclude(cut, report)
        raise
    _conclude(cut, report)
    if not report["safe"]:
        raise CutoverError(f"rehearsal done, but not safe to switch: {report['safe_to_switch']}")
    return report


def _freeze_and_switch(cut: Cutover, live: dict, report: dict, *, mode: str, timeout: float,
                       max_lag_changes: int, catch_up_timeout: float) -> None:
    if mode not in MODES:
        raise CutoverError(f"mode must be one of {MODES}")
    report["switch_checks"] = check_switch_actions(cut, refuse=mode == "switch")
    if sqlite_capture.phase(cut.src) != sqlite_capture.CAPTURING:  # an earlier attempt of this step died: resolve it
        release(cut)
    if sqlite_capture.phase(cut.src) != sqlite_capture.CAPTURING:
        raise CutoverError(f"cannot freeze in phase {sqlite_capture.phase(cut.src)}")
    sync = cut.forward()
    report["catch_up"] = catch_up(sync, max_lag_changes=max_lag_changes, timeout=catch_up_timeout)
    report["counters_before_freeze"] = sync_counters(cut.src, cut.dst, cut.plan)
    report["maintenance_on"] = switch_actions.maintenance(cut.config, True, run_id=cut.run_id)

    def lift() -> None:
        if sqlite_capture.phase(cut.src) == sqlite_capture.FROZEN:
            freeze.unfreeze_source(cut.src)

    with freeze_window(cut, report, timeout=timeout, name="the freeze", frozen="the SQLite source",
                       freeze=lambda deadline: freeze.freeze_source(cut.src, cut.plan, deadline=deadline,
                                                                    run_id=cut.run_id),
                       lift=lift, stopped="cutover stopped after %.1fs of write freeze, writes to SQLite released: %s",
                       failed_step="freeze_failed") as window:
        step = time.monotonic()
        report["drain"] = catch_up(sync, max_lag_changes=0, timeout=timeout, deadline=window.deadline)
        report["drain_seconds"] = round(time.monotonic() - step, 3)
        drift = schema_drift(cut.src, cut.plan)
        if drift:
            raise CutoverError("the source schema changed: " + "; ".join(drift))
        if foreign_writes(cut.dst):
            raise CutoverError("something other than this cutover wrote to the MySQL target: not switching")
        check = verification.check_frozen(cut.src, cut.dst, cut.plan, live)
        report["verification"] = check
        window.check_deadline(" during the final check")
        if not check["ok"]:
            raise MigrationDataLoss("verification during the freeze failed: " + verification.failures(check))
        report["counters"] = sync_counters(cut.src, cut.dst, cut.plan)
        window.check_deadline(" before the switch")
        if mode == "rehearsal":
            freeze.unfreeze_source(cut.src)
        else:
            freeze.commit_switch(cut.src, cut.plan, applied_seq=sync.applied_seq())
    if mode == "rehearsal":
        _finish(cut, report, window.started, "rehearsal")
    else:
        _switch(cut, report, window.started)


def _switch(cut: Cutover, report: dict, started: float) -> None:
    """Past the point of no return: SQLite is guarded; point the application at MySQL."""
    try:
        freeze.unfreeze_target(cut.dst)  # a guard left by an earlier rollback
        mysql_capture.clear_applied(cut.dst)
        step = time.monotonic()
        report["switch"] = switch_actions.apply(cut.config, cut.app_mysql, run_id=cut.run_id, event="switch")
        report["switch_seconds"] = round(time.monotonic() - step, 3)
    except BaseException as exc:
        log.error("switch failed (%s): making SQLite the application's database again", exc)
        report["frozen_seconds"] = round(time.monotonic() - started, 3)
        undone = undo_switch(cut, reason=str(exc))
        report["undone"] = undone.get("summary")
        maintenance_off(cut, report)  # the application is back on SQLite: no maintenance page left behind
        raise SwitchFailed(f"the switch to MySQL failed ({exc}); SQLite is the application's database again, "
                           f"nothing lost: {undone.get('summary')}") from exc
    with sqlite_capture.Transaction(cut.src):
        sqlite_capture.transition(cut.src, sqlite_capture.SWITCHED, switched_at=time.time(),
                                  switch_run_id=cut.run_id)
    _finish(cut, report, started, "switch")


def _finish(cut: Cutover, report: dict, started: float, outcome: str) -> None:
    report["frozen_seconds"] = round(time.monotonic() - started, 3)
    report["outcome"] = outcome
    maintenance_off(cut, report)
    changes = report["catch_up"]["changes"] + report["drain"]["changes"]
    if outcome == "switch":
        log.warning("SWITCHED to MySQL: writes were frozen for %.2fs; %d changes applied before and %d during "
                    "the freeze; application now at %s", report["frozen_seconds"], report["catch_up"]["changes"],
                    report["drain"]["changes"], cut.app_mysql.shown)
    else:
        log.warning("REHEARSAL done, nothing switched: writes were frozen for %.2fs; %d changes applied before "
                    "and %d during the freeze; SQLite writable again", report["frozen_seconds"],
                    report["catch_up"]["changes"], report["drain"]["changes"])
    report["changes_applied"] = changes
    cut.record(outcome, report["frozen_seconds"], brief(report))
    raise_if_maintenance_stuck(report, outcome)


def _conclude(cut: Cutover, report: dict) -> None:
    """The freezes an earlier run left, released by this run, and the verdict line."""
    report["released"] = mysql_capture.releases(cut.dst, cut.run_id)
    report["safe"], because = safe_to_switch(cut.config, report)
    report["safe_to_switch"] = f"safe to switch: {'yes' if report['safe'] else 'no'}, because {because}"
    (log.warning if report["safe"] else log.error)("%s", report["safe_to_switch"])


def safe_to_switch(config: SwitchConfig, report: dict) -> tuple[bool, str]:
    """(safe, because) for a rehearsal or switch report: what the operator decides on."""
    if report.get("error"):
        return False, report["error"]
    checks = report.get("switch_checks") or []
    if not config.acts:
        return False, NO_ACTION
    if switch_actions.problems(checks):
        return False, switch_actions.problems(checks)
    check = report["verification"]
    actions = ", ".join(f"{c['action']} {c['target']} {CAN[c['action']]}" for c in checks)
    because = (f"every table matched SQLite during the freeze ({check['keys_checked']} keys and "
               f"{check['ranges_checked']} ranges re-checked), {actions}, and writes were frozen for "
               f"{report['frozen_seconds']:.2f}s of the {report['freeze_timeout_seconds']:.0f}s allowed")
    if report.get("outcome") == "switch":
        because += "; the application now runs on MySQL"
    return True, because
