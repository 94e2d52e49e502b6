"""One write-freeze window, for the cutover (SQLite frozen) and the way back (MySQL frozen):
freeze until a deadline, let the body drain and check (window.check_deadline where a check
would prove nothing past it), and on any failure lift the freeze, turn maintenance off,
record what happened, and raise the failure.

What a failed maintenance_off means, on every path: the data is safe (the freeze is lifted,
or the step completed), but the application may still show its maintenance page. It never
undoes a step: it is recorded (report["maintenance_off_error"]); a step that completed then
ends failed with SWITCH_FAILED once its report and journal entry are complete
(raise_if_maintenance_stuck), so the operator turns maintenance off by hand; a step that
already failed raises its own error.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Callable

from sqlite_to_mysql.cutover import switch_actions
from sqlite_to_mysql.cutover.context import Cutover
from sqlite_to_mysql.cutover.errors import FreezeTimeout, SwitchFailed
from sqlite_to_mysql.cutover.freeze import utc

log = logging.getLogger(__name__)


@dataclass
class Window:
    deadline: float  # epoch seconds: the freeze lifts itself here
    started: float  # time.monotonic() when the freeze began
    timeout: float
    name: str  # "the freeze", "the MySQL freeze"

    def seconds(self) -> float:
        return time.monotonic() - self.started

    def check_deadline(self, when: str = "") -> None:
        """Past the deadline writes were let through: what was checked proves nothing."""
        if time.time() >= self.deadline:
            raise FreezeTimeout(f"{self.name} reached its {self.timeout:.0f}s deadline{when}")


@contextlib.contextmanager
def freeze_window(cut: Cutover, report: dict, *, timeout: float, name: str, frozen: str,
                  freeze: Callable[[float], None], lift: Callable[[], None], stopped: str, failed_step: str):
    """freeze(deadline) now; on failure lift(), log `stopped` (seconds, error), maintenance
    off, journal `failed_step`, re-raise."""
    window = Window(deadline=time.time() + timeout, started=time.monotonic(), timeout=timeout, name=name)
    freeze(window.deadline)
    log.warning("writes to %s are frozen until %s (%.0fs at most)", frozen, utc(window.deadline), timeout)
    try:
        yield window
    except BaseException as exc:
        lift()
        seconds = window.seconds()
        report["frozen_seconds"] = round(seconds, 3)
        log.error(stopped, seconds, exc)
        maintenance_off(cut, report)
        cut.record(failed_step, seconds, {"error": str(exc), **brief(report)})
        raise


def maintenance_off(cut: Cutover, report: dict) -> None:
    """Turn maintenance off if this step turned it on; a failure is recorded, never raised."""
    if report.get("maintenance_on") is None:
        return
    try:
        report["maintenance_off"] = switch_actions.maintenance(cut.config, False, run_id=cut.run_id)
    except Exception as exc:
        log.error("maintenance_off failed: %s", exc)
        report["maintenance_off_error"] = str(exc)


def raise_if_maintenance_stuck(report: dict, done: str) -> None:
    """Last line of a step that completed: a failed maintenance_off fails it (see module doc)."""
    if report.get("maintenance_off_error"):
        raise SwitchFailed(f"{done} done, but maintenance_off failed: {report['maintenance_off_error']}")


def brief(report: dict) -> dict:
    """The report without per-table detail, for the journal."""
    short = {k: v for k, v in report.items() if k != "verification"}
    if "verification" in report:
        v = report["verification"]
        short["verification"] = {"ok": v["ok"], "seconds": v["seconds"], "keys_checked": v["keys_checked"],
                                 "ranges_checked": v["ranges_checked"]}
    return short
