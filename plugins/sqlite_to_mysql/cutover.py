"""The cutover's steps as plain functions over open connections (the Airflow tasks call one
each; tests and the benchmark call them in a row):

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
from dataclasses import dataclass

from mysql_common.identifiers import quote
from sqlite_to_mysql import capture, cutover_verify, freeze, rollback, switch, target_capture
from sqlite_to_mysql.catchup import ForwardSync, catch_up
from sqlite_to_mysql.cutover_errors import CutoverError, FreezeTimeout, SwitchFailed, error_text
from sqlite_to_mysql.errors import MigrationDataLoss
from sqlite_to_mysql.plan import Plan
from sqlite_to_mysql.planner import Settings, selected_tables
from sqlite_to_mysql.source_schema import qi, read_schema
from sqlite_to_mysql.switch import AppDatabase, SwitchConfig

log = logging.getLogger(__name__)
MODES = ("rehearsal", "switch")
NO_ACTION = ("no switch action is configured (settings_file, command or webhook in the Airflow Variable "
             "sqlite_to_mysql_cutover): nothing would point the application at MySQL")
CAN = {"settings_file": "can be written", "command": "can be run", "webhook": "answers",
       "maintenance_on": "can be run", "maintenance_off": "can be run"}


@dataclass
class Cutover:
    """Everything a step needs: both connections, the plan, the run, the switch settings."""

    src: sqlite3.Connection  # the application's SQLite file, opened read-write
    dst: object  # MySQL connection to the target database
    plan: Plan
    run_id: str
    config: SwitchConfig
    app_mysql: AppDatabase
    app_sqlite: AppDatabase
    batch_size: int = 2000

    def forward(self) -> ForwardSync:
        run = capture.read_state(self.src).get("capture_run_id", self.run_id)
        return ForwardSync(self.src, self.dst, self.plan, batch_size=self.batch_size, quarantine_run_id=run)

    def record(self, step: str, seconds: float | None, detail: dict) -> None:
        target_capture.record(self.dst, self.run_id, step, seconds, detail)


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
    count, _seconds = target_capture.pending(dst)
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
    """Every configured switch action, tried without being performed (switch.check), logged;
    with `refuse`, a switch that has none or whose actions could not run is refused here,
    before anything is frozen."""
    checks = switch.check(cut.config, run_id=cut.run_id)
    for c in checks:
        (log.info if c["ok"] else log.error)("switch action %s %s: %s", c["action"], c["target"],
                                             "can run" if c["ok"] else c["problem"])
    if refuse and not cut.config.acts:
        raise CutoverError(NO_ACTION)
    if refuse and switch.problems(checks):
        raise CutoverError(f"the switch actions could not run, so nothing was frozen or switched: "
                           f"{switch.problems(checks)}")
    return checks


def prepare(cut: Cutover, *, mode: str = "rehearsal") -> dict:
    """First step of every run: resolve what an earlier run left, check that the cutover can
    proceed (for a switch: that its actions can run), and install change capture on MySQL
    (for a later rollback)."""
    released = release(cut)
    phase = capture.phase(cut.src)
    if phase == capture.SWITCHED:
        raise CutoverError("the application already runs on MySQL (switched): trigger sqlite_to_mysql_rollback "
                           "to go back, or sqlite_to_mysql_cutover_cleanup to end the rollback window")
    if phase != capture.CAPTURING:
        raise CutoverError(f"change capture is not running (phase {phase}): run the migration with "
                           f"capture_changes=true first")
    checks = check_switch_actions(cut, refuse=mode == "switch")
    drift = schema_drift(cut.src, cut.plan)
    if drift:
        raise CutoverError("the source schema changed since the migration: " + "; ".join(drift)
                           + ". Run the migration again")
    installed = target_capture.install(cut.dst, cut.plan)
    foreign = foreign_writes(cut.dst)
    if foreign:
        raise CutoverError(f"{foreign} writes reached the MySQL target from something other than this cutover "
                           f"(see {target_capture.CHANGELOG}): point that client back at SQLite, re-run the "
                           f"migration, then cut over")
    result = {"released": released, "mysql_capture": installed, "capture": capture.summary(cut.src),
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
    """Catch up, then verify every table while the application writes (cutover_verify)."""
    sync = cut.forward()
    caught = catch_up(sync, max_lag_changes=max_lag_changes, timeout=timeout)
    live = cutover_verify.verify_live(cut.src, cut.dst, cut.plan, baseline_seq=sync.applied_seq())
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
    if capture.phase(cut.src) != capture.CAPTURING:  # an earlier attempt of this step died: resolve it
        release(cut)
    if capture.phase(cut.src) != capture.CAPTURING:
        raise CutoverError(f"cannot freeze in phase {capture.phase(cut.src)}")
    sync = cut.forward()
    report["catch_up"] = catch_up(sync, max_lag_changes=max_lag_changes, timeout=catch_up_timeout)
    report["counters_before_freeze"] = sync_counters(cut.src, cut.dst, cut.plan)
    report["maintenance_on"] = switch.maintenance(cut.config, True, run_id=cut.run_id)
    deadline = time.time() + timeout
    started = time.monotonic()
    freeze.freeze_source(cut.src, cut.plan, deadline=deadline, run_id=cut.run_id)
    log.warning("writes to the SQLite source are frozen until %s (%.0fs at most)", freeze.utc(deadline), timeout)
    try:
        step = time.monotonic()
        report["drain"] = catch_up(sync, max_lag_changes=0, timeout=timeout, deadline=deadline)
        report["drain_seconds"] = round(time.monotonic() - step, 3)
        drift = schema_drift(cut.src, cut.plan)
        if drift:
            raise CutoverError("the source schema changed: " + "; ".join(drift))
        if foreign_writes(cut.dst):
            raise CutoverError("something other than this cutover wrote to the MySQL target: not switching")
        check = cutover_verify.check_frozen(cut.src, cut.dst, cut.plan, live)
        report["verification"] = check
        if time.time() >= deadline:  # writes were let through meanwhile: the check proves nothing
            raise FreezeTimeout(f"the freeze reached its {timeout:.0f}s deadline during the final check")
        if not check["ok"]:
            raise MigrationDataLoss("verification during the freeze failed: " + cutover_verify.failures(check))
        report["counters"] = sync_counters(cut.src, cut.dst, cut.plan)
        if time.time() >= deadline:
            raise FreezeTimeout(f"the freeze reached its {timeout:.0f}s deadline before the switch")
        if mode == "rehearsal":
            freeze.unfreeze_source(cut.src)
        else:
            freeze.commit_switch(cut.src, cut.plan, applied_seq=sync.applied_seq())
    except BaseException as exc:
        if capture.phase(cut.src) == capture.FROZEN:
            freeze.unfreeze_source(cut.src)
        frozen = time.monotonic() - started
        report["frozen_seconds"] = round(frozen, 3)
        log.error("cutover stopped after %.1fs of write freeze, writes to SQLite released: %s", frozen, exc)
        _maintenance_off(cut, report)
        cut.record("freeze_failed", frozen, {"error": str(exc), **_brief(report)})
        raise
    if mode == "rehearsal":
        _finish(cut, report, started, "rehearsal")
    else:
        _switch(cut, report, started)


def _switch(cut: Cutover, report: dict, started: float) -> None:
    """Past the point of no return: SQLite is guarded; point the application at MySQL."""
    try:
        freeze.unfreeze_target(cut.dst)  # a guard left by an earlier rollback
        target_capture.clear_applied(cut.dst)
        step = time.monotonic()
        report["switch"] = switch.apply(cut.config, cut.app_mysql, run_id=cut.run_id, event="switch")
        report["switch_seconds"] = round(time.monotonic() - step, 3)
    except BaseException as exc:
        log.error("switch failed (%s): making SQLite the application's database again", exc)
        report["frozen_seconds"] = round(time.monotonic() - started, 3)
        undone = rollback.undo_switch(cut, reason=str(exc))
        report["undone"] = undone.get("summary")
        raise SwitchFailed(f"the switch to MySQL failed ({exc}); SQLite is the application's database again, "
                           f"nothing lost: {undone.get('summary')}") from exc
    with capture.Transaction(cut.src):
        capture.write_state(cut.src, phase=capture.SWITCHED, switched_at=time.time(), switch_run_id=cut.run_id)
    _finish(cut, report, started, "switch")


def _finish(cut: Cutover, report: dict, started: float, outcome: str) -> None:
    report["frozen_seconds"] = round(time.monotonic() - started, 3)
    report["outcome"] = outcome
    _maintenance_off(cut, report)
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
    cut.record(outcome, report["frozen_seconds"], _brief(report))
    if report.get("maintenance_off_error"):
        raise SwitchFailed(f"{outcome} done, but maintenance_off failed: {report['maintenance_off_error']}")


def _conclude(cut: Cutover, report: dict) -> None:
    """The freezes an earlier run left, released by this run, and the verdict line."""
    report["released"] = target_capture.releases(cut.dst, cut.run_id)
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
    if switch.problems(checks):
        return False, switch.problems(checks)
    check = report["verification"]
    actions = ", ".join(f"{c['action']} {c['target']} {CAN[c['action']]}" for c in checks)
    because = (f"every table matched SQLite during the freeze ({check['keys_checked']} keys and "
               f"{check['ranges_checked']} ranges re-checked), {actions}, and writes were frozen for "
               f"{report['frozen_seconds']:.2f}s of the {report['freeze_timeout_seconds']:.0f}s allowed")
    if report.get("outcome") == "switch":
        because += "; the application now runs on MySQL"
    return True, because


def _maintenance_off(cut: Cutover, report: dict) -> None:
    if report.get("maintenance_on") is None:
        return
    try:
        report["maintenance_off"] = switch.maintenance(cut.config, False, run_id=cut.run_id)
    except Exception as exc:
        log.error("maintenance_off failed: %s", exc)
        report["maintenance_off_error"] = str(exc)


def _brief(report: dict) -> dict:
    """The report without per-table detail, for the journal."""
    brief = {k: v for k, v in report.items() if k != "verification"}
    if "verification" in report:
        v = report["verification"]
        brief["verification"] = {"ok": v["ok"], "seconds": v["seconds"], "keys_checked": v["keys_checked"],
                                 "ranges_checked": v["ranges_checked"]}
    return brief


def release(cut: Cutover) -> dict:
    """Leave no write freeze behind (teardown, next run, failure handler):
    - a timed freeze on SQLite left by a task that died is lifted (it expires on its own too);
    - a switch cut short after its point of no return is undone: SQLite again, MySQL's writes kept;
    - a rollback cut short after its point of no return is finished;
    - a timed freeze on MySQL left by a rollback that died before that point is lifted."""
    state = capture.read_state(cut.src)
    phase = state.get("phase")
    if phase == capture.FROZEN:
        dropped = freeze.unfreeze_source(cut.src)
        result = {"action": "released SQLite freeze", "left_by": state.get("cutover_run_id"),
                  **_held(state.get("frozen_at"), state.get("freeze_deadline"))}
        log.error("a write freeze on SQLite left by run %s held the application's writes for %.1fs, from %s %s; "
                  "%d triggers dropped", result["left_by"], result["held_seconds"], result["frozen_at"],
                  _how_lifted(result), dropped)
    elif phase == capture.SWITCHING:
        log.error("a switch was cut short by run %s: undoing it", state.get("cutover_run_id"))
        result = {"action": "undid interrupted switch",
                  "detail": rollback.undo_switch(cut, reason="switch interrupted")}
    elif phase == capture.ROLLING_BACK:
        log.error("a rollback was cut short after MySQL was guarded: finishing it")
        result = {"action": "finished interrupted rollback", "detail": rollback.finish_rollback(cut, strict=True)}
    elif phase == capture.SWITCHED and freeze.target_blocks(cut.dst)["freeze"]:
        freeze.unfreeze_target(cut.dst)
        result = {"action": "released MySQL freeze", "left_by": state.get("rollback_run_id"),
                  **_held(state.get("target_frozen_at"), state.get("target_freeze_deadline"))}
        log.error("a write freeze on MySQL left by rollback run %s held the application's writes for %.1fs, "
                  "from %s %s", result["left_by"], result["held_seconds"], result["frozen_at"], _how_lifted(result))
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


def _how_lifted(result: dict) -> str:
    return (f"until its deadline {result['until']}, when it lifted itself" if result["lifted_by_deadline"]
            else f"until it was released at {result['until']}")


def summary(result: dict) -> dict:
    """The figures an operator looks for first (the task's XCom)."""
    keys = ("mode", "outcome", "frozen_seconds", "changes_applied", "drain_seconds", "switch_seconds", "summary",
            "report_dir", "switch_error", "safe_to_switch")
    brief = {k: result[k] for k in keys if k in result}
    if "verification" in result:
        brief["verification_ok"] = result["verification"]["ok"]
    return brief


def markdown(name: str, result: dict) -> str:
    """The cutover or rollback report as Markdown: timings first, then what was checked and switched."""
    from sqlite_to_mysql.report import md_table

    lines = [f"# {name.capitalize()}: {result.get('outcome', name)}", ""]
    if result.get("error"):
        lines += [f"**Error:** {result['error']}", ""]
    for earlier in result.get("released") or []:
        if "held_seconds" in earlier:
            lines += [f"- An earlier {earlier['action'].split()[1]} freeze (left by run `{earlier['left_by']}`) held "
                      f"the application's writes for {earlier['held_seconds']:.1f}s, from {earlier['frozen_at']} "
                      f"{_how_lifted(earlier)}.", ""]
    rows = [[label, result[k]["changes"] if isinstance(result.get(k), dict) else result.get(k)]
            for label, k in (("changes applied before the freeze", "catch_up"),
                             ("changes applied during the freeze", "drain"),
                             ("changes applied after the guard", "final_drain"))
            if k in result]
    rows += [[label, result[k]] for label, k in (("writes frozen (s)", "frozen_seconds"),
                                                  ("last changes applied in (s)", "drain_seconds"),
                                                  ("switch actions took (s)", "switch_seconds")) if k in result]
    lines += [md_table(["", "value"], rows), ""]
    check = result.get("verification")
    if check:
        lines += [f"## Verification: {'OK' if check['ok'] else 'FAILED'} ({check['seconds']}s)", "",
                  md_table(["table", "source rows", "target rows", "quarantined", "keys re-checked",
                            "ranges re-checked", "differing", "result"],
                           [[t["table"], t["source_rows"], t["target_rows"], t["quarantined"], t["keys_checked"],
                             t["ranges_checked"], t["differing_rows"], "OK" if t["ok"] else "FAIL"]
                            for t in check["tables"]]), ""]
    for c in result.get("switch_checks") or []:
        lines.append(f"- switch action `{c['action']}` `{c['target']}`: "
                     + (CAN[c["action"]] if c["ok"] else f"**could not run**: {c['problem']}"))
    for action in result.get("switch") or []:
        lines.append(f"- switch action `{action['action']}` ran: "
                     + ", ".join(f"{k} `{v}`" for k, v in action.items() if k != "action"))
    if result.get("switch_error"):
        lines.append(f"- switch error: {result['switch_error']}")
    if result.get("safe_to_switch"):
        lines += ["", result["safe_to_switch"]]
    return "\n".join(lines) + "\n"
