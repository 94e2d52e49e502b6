"""Rollback: the application goes back to SQLite with every write it made on MySQL.

Same shape as the cutover, mirrored: catch up MySQL -> SQLite while the application still
writes to MySQL; freeze MySQL (timed); apply the rest; check counts and every row MySQL
logged; guard MySQL for good (the point of no return); point the application at SQLite;
unfreeze SQLite. A rollback cut short before the guard expires on its own and leaves the
application on MySQL; after it, `release` (or a rerun) finishes it.

`undo_switch` is the same walk for a switch that failed or was cut short: SQLite becomes the
application's database again even if an action that points it there fails, because SQLite is
where it was running a moment ago. `cleanup` ends the rollback window.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from typing import TYPE_CHECKING

from sqlite_to_mysql import capture, cutover_verify, freeze, switch, target_capture
from sqlite_to_mysql.catchup import BackwardSync, catch_up
from sqlite_to_mysql.cutover_errors import CutoverError, FreezeTimeout, SwitchFailed, error_text
from sqlite_to_mysql.errors import MigrationDataLoss
from sqlite_to_mysql.plan import Plan

if TYPE_CHECKING:
    from sqlite_to_mysql.cutover import Cutover

log = logging.getLogger(__name__)
UNDO_FREEZE_SECONDS = 120.0


def sync_counters_back(src: sqlite3.Connection, dst, plan: Plan) -> dict[str, int]:
    """sqlite_sequence above every id MySQL issued, for tables declared AUTOINCREMENT."""
    if not src.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        return {}
    cur = dst.cursor()
    raised = {}
    with capture.Transaction(src):
        for tp in plan.tables:
            row = src.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (tp.source,)).fetchone()
            if row is None or tp.auto_increment_next is None:
                continue
            cur.execute("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                        "AND TABLE_NAME = %s", (tp.target,))
            issued = (cur.fetchone() or [None])[0]
            if issued is not None and int(issued) - 1 > int(row[0] or 0):
                src.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (int(issued) - 1, tp.source))
                raised[tp.source] = int(issued) - 1
    return raised


def check(cut: "Cutover") -> dict:
    """The rollback DAG's first step: resolve what an earlier run left (say, the MySQL freeze of
    a rollback that died: lifted, and how long it held writes recorded), then make sure there
    is something to roll back."""
    from sqlite_to_mysql.cutover import release

    released = release(cut)
    phase = capture.phase(cut.src)
    if phase not in (capture.SWITCHED, capture.ROLLING_BACK):
        raise CutoverError(f"nothing to roll back: the cutover is in phase {phase}, not switched")
    if phase == capture.SWITCHED:
        _require_capture(cut)
    return {"released": released, "capture": capture.summary(cut.src)}


def _require_capture(cut: "Cutover") -> None:
    if len(target_capture.existing_triggers(cut.dst, "c")) < 3 * len(cut.plan.tables):
        raise CutoverError("change capture on MySQL is gone (cleanup ran): writes made on MySQL cannot be "
                           "brought back, the rollback window is closed")


def rollback(cut: "Cutover", *, timeout: float, max_lag_changes: int, catch_up_timeout: float,
             report: dict | None = None) -> dict:
    """The rollback DAG's work (see module doc); a rerun after a crash finishes it. `report`
    (filled in place) says what happened even when it fails."""
    report = {} if report is None else report
    try:
        return _rollback(cut, report, timeout=timeout, max_lag_changes=max_lag_changes,
                         catch_up_timeout=catch_up_timeout)
    except BaseException as exc:
        report.update(outcome="failed", error=error_text(exc))
        raise
    finally:  # freezes an earlier run left, released by this one (its check step)
        report["released"] = target_capture.releases(cut.dst, cut.run_id)


def _rollback(cut: "Cutover", report: dict, *, timeout: float, max_lag_changes: int,
              catch_up_timeout: float) -> dict:
    phase = capture.phase(cut.src)
    if phase == capture.ROLLING_BACK:
        report.update(run_id=cut.run_id, resumed=True)
        return finish_rollback(cut, strict=True, report=report)
    if phase != capture.SWITCHED:
        raise CutoverError(f"nothing to roll back: the cutover is in phase {phase}, not switched")
    _require_capture(cut)
    checks = switch.check(cut.config, run_id=cut.run_id)
    if not cut.config.acts or switch.problems(checks):
        raise CutoverError("the switch actions that would point the application back at SQLite could not run, "
                           "so nothing was frozen: " + (switch.problems(checks) or "none is configured"))
    # An earlier attempt that failed before the point of no return may have brought rows back
    # wrong (and flagged them applied): every change made on MySQL since the switch is applied
    # again, which re-reads each row and so repairs them; the check covers them all anyway.
    reapplied = target_capture.reapply_all(cut.dst)
    sync = BackwardSync(cut.src, cut.dst, cut.plan, batch_size=cut.batch_size)
    report.update(run_id=cut.run_id, reapplied=reapplied, switch_checks=checks)
    report["catch_up"] = catch_up(sync, max_lag_changes=max_lag_changes, timeout=catch_up_timeout)
    report["maintenance_on"] = switch.maintenance(cut.config, True, run_id=cut.run_id)
    return _freeze_and_return(cut, sync, report, timeout=timeout, strict=True)


def undo_switch(cut: "Cutover", *, reason: str) -> dict:
    """Back to SQLite after a switch that failed or was cut short (see module doc)."""
    sync = BackwardSync(cut.src, cut.dst, cut.plan, batch_size=cut.batch_size)
    report: dict = {"run_id": cut.run_id, "reason": reason}
    return _freeze_and_return(cut, sync, report, timeout=UNDO_FREEZE_SECONDS, strict=False)


def _freeze_and_return(cut: "Cutover", sync: BackwardSync, report: dict, *, timeout: float, strict: bool) -> dict:
    deadline = time.time() + timeout
    started = time.monotonic()
    with capture.Transaction(cut.src):  # so whoever finds this freeze left behind can say how long it held
        capture.write_state(cut.src, target_frozen_at=time.time(), target_freeze_deadline=deadline,
                            rollback_run_id=cut.run_id)
    freeze.freeze_target(cut.dst, cut.plan, deadline=deadline)
    log.warning("writes to MySQL are frozen until %s (%.0fs at most)", freeze.utc(deadline), timeout)
    try:
        report["drain"] = catch_up(sync, max_lag_changes=0, timeout=timeout, deadline=deadline)
        check = cutover_verify.check_rolled_back(cut.src, cut.dst, cut.plan)
        report["verification"] = check
        if not check["ok"]:
            raise MigrationDataLoss("after bringing MySQL's writes back, SQLite differs: "
                                    + cutover_verify.failures(check))
        if time.time() >= deadline:
            raise FreezeTimeout(f"the MySQL freeze reached its {timeout:.0f}s deadline")
        freeze.guard_target(cut.dst, cut.plan)
        with capture.Transaction(cut.src):
            capture.write_state(cut.src, phase=capture.ROLLING_BACK, rollback_run_id=cut.run_id)
    except BaseException as exc:
        freeze.unfreeze_target(cut.dst)
        log.error("rollback stopped after %.1fs of MySQL write freeze, MySQL writable again: %s",
                  time.monotonic() - started, exc)
        if report.get("maintenance_on") is not None:
            try:
                switch.maintenance(cut.config, False, run_id=cut.run_id)
            except Exception as off_error:
                log.error("maintenance_off failed too: %s", off_error)
        cut.record("rollback_failed", time.monotonic() - started, {"error": str(exc)})
        raise
    return finish_rollback(cut, strict=strict, report=report, started=started)


def finish_rollback(cut: "Cutover", *, strict: bool, report: dict | None = None,
                    started: float | None = None) -> dict:
    """From the point of no return (MySQL guarded): the last changes, SQLite's counters, the
    application pointed at SQLite, SQLite writable. `strict`: when pointing the application at
    SQLite fails, lift MySQL's guard and stay switched (the application is still on MySQL)."""
    report = report if report is not None else {"run_id": cut.run_id, "resumed": True}
    started = started if started is not None else time.monotonic()
    sync = BackwardSync(cut.src, cut.dst, cut.plan, batch_size=cut.batch_size)
    last = catch_up(sync, max_lag_changes=0, timeout=UNDO_FREEZE_SECONDS)
    report["final_drain"] = last
    if last["changes"] or "verification" not in report:
        check = cutover_verify.check_rolled_back(cut.src, cut.dst, cut.plan)
        report["verification"] = check
        if not check["ok"]:
            _stay_on_mysql(cut)
            raise MigrationDataLoss("SQLite differs from MySQL after the last changes: "
                                    + cutover_verify.failures(check))
    report["counters"] = sync_counters_back(cut.src, cut.dst, cut.plan)
    try:
        report["switch"] = switch.apply(cut.config, cut.app_sqlite, run_id=cut.run_id, event="rollback")
    except SwitchFailed as exc:
        if strict:
            _stay_on_mysql(cut)
            cut.record("rollback_failed", time.monotonic() - started, {"error": str(exc)})
            raise SwitchFailed(f"{exc}; MySQL is writable again and remains the application's database") from None
        report["switch_error"] = str(exc)
        log.error("pointing the application back at SQLite failed (%s); SQLite is unfrozen anyway: the "
                  "application ran on it until the failed switch", exc)
    freeze.unfreeze_source(cut.src, phase=capture.CAPTURING)
    report["frozen_seconds"] = round(time.monotonic() - started, 3)
    if report.get("maintenance_on") is not None:
        report["maintenance_off"] = switch.maintenance(cut.config, False, run_id=cut.run_id)
    changes = report.get("catch_up", {}).get("changes", 0) + report.get("drain", {}).get("changes", 0) \
        + last["changes"]
    report["changes_applied"] = changes
    report["summary"] = (f"{changes} changes made on MySQL brought back to SQLite, MySQL writes frozen for "
                         f"{report['frozen_seconds']:.2f}s, application at {cut.app_sqlite.shown}")
    report["outcome"] = "rolled back"
    log.warning("ROLLED BACK to SQLite: %s", report["summary"])
    brief = {k: v for k, v in report.items() if k != "verification"}
    cut.record("rollback", report["frozen_seconds"], brief)
    return report


def _stay_on_mysql(cut: "Cutover") -> None:
    freeze.unfreeze_target(cut.dst)
    with capture.Transaction(cut.src):
        capture.write_state(cut.src, phase=capture.SWITCHED)


def cleanup(cut: "Cutover", *, remove_guard: bool) -> dict:
    """End of the rollback window: capture triggers and change logs go on both sides. The
    guard on the side the application left stays unless `remove_guard`."""
    phase = capture.phase(cut.src)
    if phase in (capture.FROZEN, capture.SWITCHING, capture.ROLLING_BACK):
        raise CutoverError(f"a cutover step was cut short (phase {phase}): run the cutover or rollback DAG "
                           f"again (its first step resolves it) before cleaning up")
    # MySQL's block triggers go unless they hold the guard that stays
    blocks = remove_guard or not freeze.target_blocks(cut.dst)["guard"]
    result = {"phase": phase, "sqlite": capture.remove(cut.src), "mysql": target_capture.remove(cut.dst,
                                                                                                blocks=blocks)}
    if remove_guard:
        result["sqlite_guard_triggers_dropped"] = freeze.unfreeze_source(cut.src, phase=phase or capture.CAPTURING)
        result["mysql_guard_lifted"] = freeze.unfreeze_target(cut.dst)
    with capture.Transaction(cut.src):
        # after a rollback (or none), a new migration may arm capture again
        capture.write_state(cut.src, phase=None if phase == capture.CAPTURING else phase, cleaned_at=time.time())
    log.warning("cleanup: SQLite %s; MySQL %s%s", result["sqlite"], result["mysql"],
                "; guards removed" if remove_guard else "")
    cut.record("cleanup", None, result)
    return result
