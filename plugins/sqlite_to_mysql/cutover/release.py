"""release(): whatever a step cut short left behind, resolved by the phase it left."""
from __future__ import annotations

import logging
import time

from sqlite_to_mysql.cutover import freeze, sqlite_capture
from sqlite_to_mysql.cutover.context import Cutover
from sqlite_to_mysql.cutover.report import how_lifted
from sqlite_to_mysql.cutover.return_to_sqlite import finish_rollback, undo_switch

log = logging.getLogger(__name__)


def release(cut: Cutover) -> dict:
    """Leave no write freeze behind (teardown, next run, failure handler):
    - a timed freeze on SQLite left by a task that died is lifted (it expires on its own too);
    - a switch cut short after its point of no return is undone: SQLite again, MySQL's writes kept;
    - a rollback cut short after its point of no return is finished;
    - a timed freeze on MySQL left by a rollback that died before that point is lifted."""
    state = sqlite_capture.read_state(cut.src)
    phase = state.get("phase")
    if phase == sqlite_capture.FROZEN:
        dropped = freeze.unfreeze_source(cut.src)
        result = {"action": "released SQLite freeze", "left_by": state.get("cutover_run_id"),
                  **_held(state.get("frozen_at"), state.get("freeze_deadline"))}
        log.error("a write freeze on SQLite left by run %s held the application's writes for %.1fs, from %s %s; "
                  "%d triggers dropped", result["left_by"], result["held_seconds"], result["frozen_at"],
                  how_lifted(result), dropped)
    elif phase == sqlite_capture.SWITCHING:
        log.error("a switch was cut short by run %s: undoing it", state.get("cutover_run_id"))
        result = {"action": "undid interrupted switch",
                  "detail": undo_switch(cut, reason="switch interrupted")}
    elif phase == sqlite_capture.ROLLING_BACK:
        log.error("a rollback was cut short after MySQL was guarded: finishing it")
        result = {"action": "finished interrupted rollback", "detail": finish_rollback(cut, strict=True)}
    elif phase == sqlite_capture.SWITCHED and freeze.target_blocks(cut.dst)["freeze"]:
        freeze.unfreeze_target(cut.dst)
        result = {"action": "released MySQL freeze", "left_by": state.get("rollback_run_id"),
                  **_held(state.get("target_frozen_at"), state.get("target_freeze_deadline"))}
        log.error("a write freeze on MySQL left by rollback run %s held the application's writes for %.1fs, "
                  "from %s %s", result["left_by"], result["held_seconds"], result["frozen_at"], how_lifted(result))
    else:
        return {"action": "nothing to release", "phase": phase}
    cut.record("release", None, result)
    return result


def _held(frozen_at, deadline) -> dict:
    """How long a freeze left behind held the application's writes: from its start until its
    deadline (it lifted itself there) or until now (released now), in UTC."""
    now = time.time()
    start = float(frozen_at) if frozen_at else now
    end = float(deadline) if deadline and float(deadline) <= now else now
    return {"frozen_at": freeze.utc(start), "until": freeze.utc(end), "held_seconds": round(end - start, 3),
            "lifted_by_deadline": end != now}
