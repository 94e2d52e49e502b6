"""Rollback: the application goes back to SQLite with every write it made on MySQL.

Same shape as the cutover, mirrored: catch up MySQL -> SQLite while the application still
writes to MySQL, then the way back (return_to_sqlite): freeze MySQL (timed); apply the rest;
check counts and every row MySQL logged; guard MySQL for good (the point of no return); point
the application at SQLite; unfreeze SQLite. A rollback cut short before the guard expires on
its own and leaves the application on MySQL; after it, `release` (or a rerun) finishes it.
`cleanup` ends the rollback window.
"""
from __future__ import annotations

import logging
import time

from sqlite_to_mysql.cutover import freeze, mysql_capture, sqlite_capture, switch_actions
from sqlite_to_mysql.cutover.catchup import BackwardSync, catch_up
from sqlite_to_mysql.cutover.context import Cutover
from sqlite_to_mysql.cutover.errors import CutoverError, error_text
from sqlite_to_mysql.cutover.release import release
from sqlite_to_mysql.cutover.return_to_sqlite import finish_rollback, freeze_and_return

log = logging.getLogger(__name__)


def check(cut: Cutover) -> dict:
    """The rollback DAG's first step: resolve what an earlier run left (say, the MySQL freeze of
    a rollback that died: lifted, and how long it held writes recorded), then make sure there
    is something to roll back."""
    released = release(cut)
    phase = sqlite_capture.phase(cut.src)
    if phase not in (sqlite_capture.SWITCHED, sqlite_capture.ROLLING_BACK):
        raise CutoverError(f"nothing to roll back: the cutover is in phase {phase}, not switched")
    if phase == sqlite_capture.SWITCHED:
        _require_capture(cut)
    return {"released": released, "capture": sqlite_capture.summary(cut.src)}


def _require_capture(cut: Cutover) -> None:
    if len(mysql_capture.existing_triggers(cut.dst, "c")) < 3 * len(cut.plan.tables):
        raise CutoverError("change capture on MySQL is gone (cleanup ran): writes made on MySQL cannot be "
                           "brought back, the rollback window is closed")


def rollback(cut: Cutover, *, timeout: float, max_lag_changes: int, catch_up_timeout: float,
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
        report["released"] = mysql_capture.releases(cut.dst, cut.run_id)


def _rollback(cut: Cutover, report: dict, *, timeout: float, max_lag_changes: int,
              catch_up_timeout: float) -> dict:
    phase = sqlite_capture.phase(cut.src)
    if phase == sqlite_capture.ROLLING_BACK:
        report.update(run_id=cut.run_id, resumed=True)
        return finish_rollback(cut, strict=True, report=report)
    if phase != sqlite_capture.SWITCHED:
        raise CutoverError(f"nothing to roll back: the cutover is in phase {phase}, not switched")
    _require_capture(cut)
    checks = switch_actions.check(cut.config, run_id=cut.run_id)
    if not cut.config.acts or switch_actions.problems(checks):
        raise CutoverError("the switch actions that would point the application back at SQLite could not run, "
                           "so nothing was frozen: " + (switch_actions.problems(checks) or "none is configured"))
    # An earlier attempt that failed before the point of no return may have brought rows back
    # wrong (and flagged them applied): every change made on MySQL since the switch is applied
    # again, which re-reads each row and so repairs them; the check covers them all anyway.
    reapplied = mysql_capture.reapply_all(cut.dst)
    sync = BackwardSync(cut.src, cut.dst, cut.plan, batch_size=cut.batch_size)
    report.update(run_id=cut.run_id, reapplied=reapplied, switch_checks=checks)
    report["catch_up"] = catch_up(sync, max_lag_changes=max_lag_changes, timeout=catch_up_timeout)
    report["maintenance_on"] = switch_actions.maintenance(cut.config, True, run_id=cut.run_id)
    return freeze_and_return(cut, sync, report, timeout=timeout, strict=True)


def cleanup(cut: Cutover, *, remove_guard: bool) -> dict:
    """End of the rollback window: capture triggers and change logs go on both sides. The
    guard on the side the application left stays unless `remove_guard`."""
    phase = sqlite_capture.phase(cut.src)
    if phase in (sqlite_capture.FROZEN, sqlite_capture.SWITCHING, sqlite_capture.ROLLING_BACK):
        raise CutoverError(f"a cutover step was cut short (phase {phase}): run the cutover or rollback DAG "
                           f"again (its first step resolves it) before cleaning up")
    # MySQL's block triggers go unless they hold the guard that stays
    blocks = remove_guard or not freeze.target_blocks(cut.dst)["guard"]
    result = {"phase": phase, "sqlite": sqlite_capture.remove(cut.src), "mysql": mysql_capture.remove(cut.dst,
                                                                                                blocks=blocks)}
    if remove_guard:
        result["sqlite_guard_triggers_dropped"] = freeze.unfreeze_source(cut.src, phase=phase or sqlite_capture.CAPTURING)
        result["mysql_guard_lifted"] = freeze.unfreeze_target(cut.dst)
    with sqlite_capture.Transaction(cut.src):
        # after a rollback (or none), a new migration may arm capture again
        sqlite_capture.transition(cut.src, None if phase == sqlite_capture.CAPTURING else phase,
                                  cleaned_at=time.time())
    log.warning("cleanup: SQLite %s; MySQL %s%s", result["sqlite"], result["mysql"],
                "; guards removed" if remove_guard else "")
    cut.record("cleanup", None, result)
    return result
