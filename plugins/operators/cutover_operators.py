"""Operators of the cutover, rollback and cleanup DAGs, and the migration DAG's capture task.

Each opens its connections through the hooks and runs one step of sqlite_to_mysql.cutover (forward,
rollback, release). The migration plan travels in the SQLite file itself (capture stores it there), so
these DAGs need nothing from the migration run's XCom. Every step holds a MySQL named lock
for the target database while it runs: two steps (say, a rollback and a cutover's teardown)
never work on the same databases at once, and a dead worker's lock goes with its session.
"""
from __future__ import annotations

import contextlib
import json
import logging
import sqlite3

from airflow.sdk import BaseOperator, Variable

from approvals import cutover as cutover_evidence
from hooks.mysql_server_hook import MySqlServerHook
from hooks.sqlite_source_hook import SqliteSourceHook
from mysql_common.errors import ConfigurationError, TransientError
from mysql_common.identifiers import quote
from operators.approval_gate import approved
from sqlite_to_mysql import report
from sqlite_to_mysql.cutover import forward, mysql_capture, rollback, sqlite_capture, switch_actions
from sqlite_to_mysql.cutover import report as cutover_report
from sqlite_to_mysql.cutover.context import Cutover
from sqlite_to_mysql.cutover.errors import CutoverError
from sqlite_to_mysql.cutover.release import release
from sqlite_to_mysql.plan import Plan
from sqlite_to_mysql.cutover.switch_actions import SwitchConfig, mysql_database, sqlite_database

log = logging.getLogger(__name__)
SWITCH_VARIABLE = "sqlite_to_mysql_cutover"
LOCK_WAIT_SECONDS = 10


def switch_config() -> SwitchConfig:
    """The switch actions, from the Airflow Variable the deployer sets (never the trigger form)."""
    return SwitchConfig.from_dict(Variable.get(SWITCH_VARIABLE, default=None, deserialize_json=True))


def require_confirmation(params: dict, word: str, database: str) -> None:
    expected = f"{word} {database}"
    if (params.get("confirm") or "").strip() != expected:
        raise ConfigurationError(f"this run needs the confirmation {expected!r} in the trigger form's confirm "
                                 f"field (got {params.get('confirm')!r})")


class _CutoverOperator(BaseOperator):
    ui_color = "#f4ece8"

    def __init__(self, *, sqlite_conn_id: str = "sqlite_source", mysql_conn_id: str = "mysql_target",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.sqlite_conn_id = sqlite_conn_id
        self.mysql_conn_id = mysql_conn_id

    @contextlib.contextmanager
    def opened(self, context):
        """A Cutover over fresh connections, holding the target database's cutover lock."""
        source_hook = SqliteSourceHook(self.sqlite_conn_id)
        src = source_hook.get_conn(read_only=False)
        dst = None
        try:
            plan = sqlite_capture.captured_plan(src)
            dst = MySqlServerHook(self.mysql_conn_id, database=plan.database).get_conn()
            config = switch_config()
            app = MySqlServerHook(config.app_conn_id).airflow_connection()
            ssl = app.extra_dejson.get("ssl") or {}
            app_mysql = mysql_database(host=app.host or "localhost", port=app.port or 3306, user=app.login or "",
                                       password=app.password, database=plan.database,
                                       ssl=json.loads(ssl) if isinstance(ssl, str) else ssl)
            cut = Cutover(src=src, dst=dst, plan=plan, run_id=context["run_id"], config=config,
                                  app_mysql=app_mysql, app_sqlite=sqlite_database(str(source_hook.path())),
                                  batch_size=int(context["params"].get("batch_size", 2000)))
            with _locked(dst, plan.database):
                try:
                    yield cut
                except sqlite3.OperationalError as exc:
                    if "locked" in str(exc) or "busy" in str(exc):  # the application's writer, for a while
                        raise TransientError(f"SQLite stayed locked past the busy timeout: {exc}") from exc
                    raise
        finally:
            if dst is not None:
                dst.close()
            src.close()


@contextlib.contextmanager
def _locked(dst, database: str):
    name = f"s2m_cutover:{database}"[:64]
    cur = dst.cursor()
    cur.execute("SELECT GET_LOCK(%s, %s)", (name, LOCK_WAIT_SECONDS))
    if cur.fetchone()[0] != 1:
        raise CutoverError(f"another cutover, rollback or cleanup step is working on {database} right now: "
                           f"wait for it to finish")
    try:
        yield
    finally:
        cur.execute("SELECT RELEASE_LOCK(%s)", (name,))


@contextlib.contextmanager
def _reported(context, name: str, data: dict):
    """Write the step's report (JSON and Markdown) whether it succeeds or fails: a failed run
    is the one whose report matters most. A step refused before it began writes none."""
    try:
        yield data
    finally:
        if data:
            directory = report.report_dir(context["run_id"])
            data["report_dir"] = str(directory)
            paths = report.write(directory, name, data, cutover_report.markdown(name, data))
            log.info("report: %s", ", ".join(map(str, paths)))


class CaptureChangesOperator(BaseOperator):
    """Migration DAG, before the copy: with capture_changes, triggers log every write the
    application makes from now on, so the cutover can apply them."""

    ui_color = "#f4ece8"

    def __init__(self, *, sqlite_conn_id: str = "sqlite_source", plan_task_id: str = "preflight", **kwargs) -> None:
        super().__init__(**kwargs)
        self.sqlite_conn_id = sqlite_conn_id
        self.plan_task_id = plan_task_id

    def execute(self, context):
        if not context["params"].get("capture_changes"):
            log.info("capture_changes is off: writes made during this migration will not reach MySQL; "
                     "stop the application's writes, or trigger with capture_changes=true to cut over later")
            return {"capture": "off"}
        text = context["ti"].xcom_pull(task_ids=self.plan_task_id, key="plan")
        if not text:
            raise CutoverError("no plan from the preflight task of this run: clear 'preflight' first")
        src = SqliteSourceHook(self.sqlite_conn_id).get_conn(read_only=False)
        try:
            return sqlite_capture.install(src, Plan.from_json(text), run_id=context["run_id"])
        finally:
            src.close()


class CutoverPrepareOperator(_CutoverOperator):
    """Resolves what an earlier run left, checks the switch actions, installs capture on MySQL."""

    def execute(self, context):
        params = context["params"]
        with self.opened(context) as cut:
            log.info("switch actions configured (Variable %s): %s", SWITCH_VARIABLE,
                     cut.config.describe() or "none")
            return forward.prepare(cut, mode=params["mode"])


class CatchUpOperator(_CutoverOperator):
    """Applies captured changes to MySQL until the lag is small; logs changes and seconds."""

    def execute(self, context):
        params = context["params"]
        with self.opened(context) as cut:
            return forward.catch_up_step(cut, max_lag_changes=int(params["max_lag_changes"]),
                                         timeout=60.0 * float(params["catch_up_timeout_minutes"]))


class VerifyLiveOperator(_CutoverOperator):
    """Every table's checksums while the application writes; the freeze re-checks what moved."""

    def execute(self, context):
        params = context["params"]
        with self.opened(context) as cut:
            return forward.verify_live(cut, max_lag_changes=int(params["max_lag_changes"]),
                                       timeout=60.0 * float(params["catch_up_timeout_minutes"]))


class SwitchEvidenceOperator(_CutoverOperator):
    """What the switch's approver reads (approvals.cutover): the lag and live verification of
    this run, the freeze of the last rehearsal, the switch actions; none for a rehearsal."""

    def execute(self, context):
        params = context["params"]
        if params["mode"] != "switch":
            return None
        live = context["ti"].xcom_pull(task_ids="verify_live")
        prepared = context["ti"].xcom_pull(task_ids="prepare") or {}
        if not live:
            raise CutoverError("no result from verify_live in this run: clear it first")
        with self.opened(context) as cut:
            history = mysql_capture.journal(cut.dst)
            cut.dst.commit()
            return cutover_evidence.switch_evidence(
                database=cut.plan.database, live=live, checks=prepared.get("switch_checks") or [],
                rehearsal=cutover_evidence.last_freeze(history, "rehearsal"), target=cut.app_mysql.shown,
                freeze_timeout=float(params["freeze_timeout_seconds"]))


class RollbackEvidenceOperator(_CutoverOperator):
    """What the rollback's approver reads: the writes made on MySQL that go back to SQLite, per
    table, the switch they follow, the actions that point the application back."""

    def execute(self, context):
        with self.opened(context) as cut:
            cur = cut.dst.cursor()
            cur.execute(f"SELECT tbl, COUNT(*) FROM {quote(mysql_capture.CHANGELOG)} GROUP BY tbl")
            pending = {str(t): int(n) for t, n in cur.fetchall()}
            _count, seconds = mysql_capture.pending(cut.dst)
            history = mysql_capture.journal(cut.dst)
            cut.dst.commit()
            return cutover_evidence.rollback_evidence(
                database=cut.plan.database, pending=pending, lag_seconds=seconds,
                checks=switch_actions.check(cut.config, run_id=cut.run_id),
                previous=cutover_evidence.last_freeze(history, "rollback"), target=cut.app_sqlite.shown,
                switched=cutover_evidence.last_freeze(history, "switch"),
                freeze_timeout=float(context["params"]["freeze_timeout_seconds"]))


class FreezeAndSwitchOperator(_CutoverOperator):
    """Freeze SQLite writes, apply the last changes, check, switch (or rehearse, then unfreeze);
    a switch only with the approval of `approve_switch` in this run."""

    def execute(self, context):
        params = context["params"]
        live = context["ti"].xcom_pull(task_ids="verify_live")
        if not live:
            raise CutoverError("no result from verify_live in this run: clear it first")
        report: dict = {}
        approval = approved(context, "approve_switch") if params["mode"] == "switch" else None
        with self.opened(context) as cut, _reported(context, "cutover", report):
            if approval:
                report["approval"] = _approval_brief(approval)
            forward.freeze_and_switch(
                cut, live, mode=params["mode"], timeout=float(params["freeze_timeout_seconds"]),
                max_lag_changes=int(params["max_lag_changes"]),
                catch_up_timeout=60.0 * float(params["catch_up_timeout_minutes"]), report=report)
        return cutover_report.key_figures(report)


class ReleaseOperator(_CutoverOperator):
    """Teardown: whatever happened before, leave no freeze behind (see sqlite_to_mysql.cutover.release)."""

    ui_color = "#fbe3dc"

    def execute(self, context):
        with self.opened(context) as cut:
            return release(cut)


class RollbackCheckOperator(_CutoverOperator):
    """Rollback DAG's first step: what an earlier run left, and something to roll back."""

    def execute(self, context):
        with self.opened(context) as cut:
            return rollback.check(cut)


class RollbackOperator(_CutoverOperator):
    """Brings every write made on MySQL back into SQLite, points the application at SQLite;
    only with the approval of `approve_rollback` in this run."""

    def execute(self, context):
        params = context["params"]
        report: dict = {}
        approval = approved(context, "approve_rollback")
        with self.opened(context) as cut, _reported(context, "rollback", report):
            report["approval"] = _approval_brief(approval)
            rollback.rollback(cut, timeout=float(params["freeze_timeout_seconds"]),
                              max_lag_changes=int(params["max_lag_changes"]),
                              catch_up_timeout=60.0 * float(params["catch_up_timeout_minutes"]), report=report)
        return cutover_report.key_figures(report)


class CleanupOperator(_CutoverOperator):
    """Ends the rollback window: capture triggers and change logs removed on both sides."""

    def execute(self, context):
        params = context["params"]
        with self.opened(context) as cut:
            require_confirmation(params, "CLEANUP", cut.plan.database)
            return rollback.cleanup(cut, remove_guard=bool(params["remove_guard"]))


def _approval_brief(entry: dict) -> dict:
    """Who approved, when, and what they were shown, for the step's report."""
    return {k: entry.get(k) for k in ("decision", "by", "at", "task_id", "subject", "evidence")}
