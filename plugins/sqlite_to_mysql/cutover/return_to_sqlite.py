"""The way back to SQLite, shared by the rollback, a failed switch and release().

Freeze MySQL (timed), apply the rest of its writes to SQLite, check, guard MySQL for good
(the point of no return), point the application at SQLite, unfreeze SQLite.
`undo_switch` is this walk for a switch that failed or was cut short: SQLite becomes the
application's database again even if an action that points it there fails, because SQLite
is where it was running a moment ago.
"""
from __future__ import annotations

import logging
import sqlite3
import time

from sqlite_to_mysql.cutover import freeze, sqlite_capture, switch_actions, verification
from sqlite_to_mysql.cutover.catchup import BackwardSync, catch_up
from sqlite_to_mysql.cutover.context import Cutover
from sqlite_to_mysql.cutover.errors import SwitchFailed
from sqlite_to_mysql.cutover.freeze_window import freeze_window, maintenance_off, raise_if_maintenance_stuck
from sqlite_to_mysql.errors import MigrationDataLoss
from sqlite_to_mysql.plan import Plan

log = logging.getLogger(__name__)
UNDO_FREEZE_SECONDS = 120.0


def sync_counters_back(src: sqlite3.Connection, dst, plan: Plan) -> dict[str, int]:
    """sqlite_sequence above every id MySQL issued, for tables declared AUTOINCREMENT."""
    if not src.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        return {}
    cur = dst.cursor()
    raised = {}
    with sqlite_capture.Transaction(src):
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


def undo_switch(cut: Cutover, *, reason: str) -> dict:
    """Back to SQLite after a switch that failed or was cut short (see module doc)."""
    sync = BackwardSync(cut.src, cut.dst, cut.plan, batch_size=cut.batch_size)
    report: dict = {"run_id": cut.run_id, "reason": reason}
    return freeze_and_return(cut, sync, report, timeout=UNDO_FREEZE_SECONDS, strict=False)


def freeze_and_return(cut: Cutover, sync: BackwardSync, report: dict, *, timeout: float, strict: bool) -> dict:
    def freeze_mysql(deadline: float) -> None:
        with sqlite_capture.Transaction(cut.src):  # so whoever finds this freeze left behind can say how long it held
            sqlite_capture.write_state(cut.src, target_frozen_at=time.time(), target_freeze_deadline=deadline,
                                       rollback_run_id=cut.run_id)
        freeze.freeze_target(cut.dst, cut.plan, deadline=deadline)

    with freeze_window(cut, report, timeout=timeout, name="the MySQL freeze", frozen="MySQL", freeze=freeze_mysql,
                       lift=lambda: freeze.unfreeze_target(cut.dst),
                       stopped="rollback stopped after %.1fs of MySQL write freeze, MySQL writable again: %s",
                       failed_step="rollback_failed") as window:
        report["drain"] = catch_up(sync, max_lag_changes=0, timeout=timeout, deadline=window.deadline)
        check = verification.check_rolled_back(cut.src, cut.dst, cut.plan)
        report["verification"] = check
        if not check["ok"]:
            raise MigrationDataLoss("after bringing MySQL's writes back, SQLite differs: "
                                    + verification.failures(check))
        window.check_deadline()
        freeze.guard_target(cut.dst, cut.plan)
        with sqlite_capture.Transaction(cut.src):
            sqlite_capture.transition(cut.src, sqlite_capture.ROLLING_BACK, rollback_run_id=cut.run_id)
    return finish_rollback(cut, strict=strict, report=report, started=window.started)


def finish_rollback(cut: Cutover, *, strict: bool, report: dict | None = None,
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
        check = verification.check_rolled_back(cut.src, cut.dst, cut.plan)
        report["verification"] = check
        if not check["ok"]:
            _stay_on_mysql(cut)
            raise MigrationDataLoss("SQLite differs from MySQL after the last changes: "
                                    + verification.failures(check))
    report["counters"] = sync_counters_back(cut.src, cut.dst, cut.plan)
    try:
        report["switch"] = switch_actions.apply(cut.config, cut.app_sqlite, run_id=cut.run_id, event="rollback")
    except SwitchFailed as exc:
        if strict:
            _stay_on_mysql(cut)
            cut.record("rollback_failed", time.monotonic() - started, {"error": str(exc)})
            raise SwitchFailed(f"{exc}; MySQL is writable again and remains the application's database") from None
        report["switch_error"] = str(exc)
        log.error("pointing the application back at SQLite failed (%s); SQLite is unfrozen anyway: the "
                  "application ran on it until the failed switch", exc)
    freeze.unfreeze_source(cut.src, phase=sqlite_capture.CAPTURING)
    report["frozen_seconds"] = round(time.monotonic() - started, 3)
    maintenance_off(cut, report)
    changes = report.get("catch_up", {}).get("changes", 0) + report.get("drain", {}).get("changes", 0) \
        + last["changes"]
    report["changes_applied"] = changes
    report["summary"] = (f"{changes} changes made on MySQL brought back to SQLite, MySQL writes frozen for "
                         f"{report['frozen_seconds']:.2f}s, application at {cut.app_sqlite.shown}")
    report["outcome"] = "rolled back"
    log.warning("ROLLED BACK to SQLite: %s", report["summary"])
    cut.record("rollback", report["frozen_seconds"], {k: v for k, v in report.items() if k != "verification"})
    raise_if_maintenance_stuck(report, "rollback")
    return report


def _stay_on_mysql(cut: Cutover) -> None:
    freeze.unfreeze_target(cut.dst)
    with sqlite_capture.Transaction(cut.src):
        sqlite_capture.transition(cut.src, sqlite_capture.SWITCHED)
