"""Operators of the migration DAG: each opens its connections through the hooks and runs
one phase of sqlite_to_mysql.migration. Data moves between tasks only through XCom (the
plan, per-table results), never through local files, so tasks may run on any worker."""
from __future__ import annotations

import json
import logging

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from hooks.mysql_server_hook import MySqlServerHook
from hooks.sqlite_source_hook import SqliteSourceHook
from mysql_common.session import server_info
from mysql_hardening import server_settings
from sqlite_to_mysql import migration, report
from sqlite_to_mysql.cutover import sqlite_capture
from sqlite_to_mysql.cutover.while_migrating import PENDING_EXAMPLES, catch_up_for_report, settle_pending
from sqlite_to_mysql.errors import PreflightBlocked
from sqlite_to_mysql.plan import Plan
from sqlite_to_mysql.planner import Settings

log = logging.getLogger(__name__)
PREFLIGHT_TASK = "preflight"


def settings_from_params(params: dict) -> Settings:
    overrides = params.get("type_overrides") or {}
    if isinstance(overrides, str):
        overrides = json.loads(overrides or "{}")
    return Settings(batch_rows=int(params.get("batch_size", 20000)),
                    include_tables=list(params.get("include_tables") or []),
                    exclude_tables=list(params.get("exclude_tables") or []),
                    on_type_conflict=params.get("on_type_conflict", "fail"),
                    type_overrides=dict(overrides),
                    examples_per_column=int(params.get("examples_per_column", 5)),
                    integrity_check=params.get("integrity_check", "full"))


class _MigrationOperator(BaseOperator):
    ui_color = "#e8f4ea"

    def __init__(self, *, sqlite_conn_id: str = "sqlite_source", mysql_conn_id: str = "mysql_target",
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.sqlite_conn_id = sqlite_conn_id
        self.mysql_conn_id = mysql_conn_id

    def source(self):
        return SqliteSourceHook(self.sqlite_conn_id).get_conn()

    def target(self, **kwargs) -> MySqlServerHook:
        return MySqlServerHook(self.mysql_conn_id, **kwargs)

    @staticmethod
    def plan(context) -> Plan:
        text = context["ti"].xcom_pull(task_ids=PREFLIGHT_TASK, key="plan")
        if not text:
            raise PreflightBlocked("no plan from the preflight task of this run: clear 'preflight' first")
        return Plan.from_json(text)


class MigrationPreflightOperator(_MigrationOperator):
    """Reads and profiles the source, decides every type; touches nothing in the target."""

    def __init__(self, *, dag_tables: list[str] | None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dag_tables = dag_tables

    def execute(self, context):
        params = context["params"]
        settings = settings_from_params(params)
        hook = self.target()
        source_hook = SqliteSourceHook(self.sqlite_conn_id)
        src = source_hook.get_conn()
        server_conn = hook.get_conn(with_database=False)
        try:
            plan = migration.preflight(src, source_path=str(source_hook.path()), database=hook.database_name(),
                                      server=server_info(server_conn), settings=settings, server_conn=server_conn)
        finally:
            server_conn.close()
            src.close()
        data = json.loads(plan.to_json())
        directory = report.report_dir(context["run_id"])
        paths = report.write(directory, "preflight", data, report.preflight_markdown(data))
        log.info("preflight report: %s", ", ".join(map(str, paths)))
        missing = [t.source for t in plan.tables if self.dag_tables is not None and t.source not in self.dag_tables]
        if missing:
            plan.blockers.append(
                f"the source has tables this DAG does not show yet: {missing}. The DAG file is re-parsed "
                f"within a minute of a schema change; trigger again once the Graph view shows them")
        migration.require_no_blockers(plan)
        context["ti"].xcom_push(key="plan", value=plan.to_json())
        return {"tables": [t.source for t in plan.tables], "report_dir": str(directory),
                "warnings": len(plan.warnings), "dry_run": bool(params.get("dry_run"))}


class SetupTargetOperator(_MigrationOperator):
    """Creates the database (utf8mb4) and the tables (primary keys only: indexes come after
    the data), and picks the bulk load method the server allows."""

    def execute(self, context):
        plan = self.plan(context)
        hook = self.target()
        server_conn = hook.get_conn(with_database=False)
        try:
            server = hook.server()
            actions = migration.setup_target(server_conn, hook.get_conn, plan, server, run_id=context["run_id"],
                                            if_target_exists=context["params"].get("if_target_exists", "fail"))
            settings = server_settings.check(server_conn)
        finally:
            server_conn.close()
        for action in actions:
            log.info("%s", action)
        # Reported, never applied: most server settings need my.cnf and a restart.
        for item in settings:
            if item.status in ("differs", "missing"):
                log.warning("server setting %s: %s is %s, recommended %s: %s", item.name, item.variable,
                            item.actual, item.expected, item.why)
        conn = hook.get_conn()
        try:
            method = migration.load_method(conn, context["params"].get("load_method", "auto"))
        finally:
            conn.close()
        log.info("bulk load method: %s", method)
        return {"actions": actions, "method": method,
                "server_settings_differing": [i.name for i in settings if i.status in ("differs", "missing")]}


class _TableOperator(_MigrationOperator):
    """One table's task (of its task group)."""

    template_fields = ("table",)

    def __init__(self, *, table: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.table = table

    def table_plan(self, context, skipped: str) -> Plan:
        """This run's plan; skips the task when the run excludes its table."""
        plan = self.plan(context)
        if self.table not in {t.source for t in plan.tables}:
            raise AirflowSkipException(f"{self.table} is excluded from this run{skipped}")
        return plan


class CopyTableOperator(_TableOperator):
    """Copies one table in keyset batches; a retry or a cleared task resumes after the last
    committed batch of this run."""

    def execute(self, context):
        plan = self.table_plan(context, " (include/exclude tables)")
        setup = context["ti"].xcom_pull(task_ids="setup_target") or {}
        restart = self.table in (context["params"].get("restart_tables") or [])
        src = self.source()
        dst = self.target().get_conn()
        try:
            return migration.copy_one(src, dst, plan, self.table, run_id=context["run_id"],
                                     method=setup.get("method", "load_data"), restart=restart)
        finally:
            dst.close()
            src.close()


class VerifyTableOperator(_TableOperator):
    """Counts and content checksums of one table against the source, as they are now."""

    def execute(self, context):
        plan = self.table_plan(context, "")
        capturing = bool(context["params"].get("capture_changes"))
        src = self.source()
        dst = self.target().get_conn()
        try:
            verdict = migration.verify_one(src, dst, plan, self.table, max_examples=PENDING_EXAMPLES if capturing
                                          else int(context["params"].get("diff_examples", 20)))
            if capturing:  # the application keeps writing: pending changes are not losses
                verdict = settle_pending(src, plan, self.table, verdict,
                                         diff_examples=int(context["params"].get("diff_examples", 20)))
            return verdict
        finally:
            dst.close()
            src.close()


class FinalizeOperator(_MigrationOperator):
    """Foreign keys, AUTO_INCREMENT counters and portable views, after all data is in."""

    def execute(self, context):
        plan = self.plan(context)
        dst = self.target().get_conn()
        try:
            return migration.finalize(dst, plan)
        finally:
            dst.close()


class MigrationReportOperator(_MigrationOperator):
    """The verification report: a table in this log, JSON and Markdown files; fails the run
    with MIGRATION_DATA_LOSS when any row or value is unaccounted for."""

    def __init__(self, *, tables: dict[str, tuple[str, str]], **kwargs) -> None:
        super().__init__(**kwargs)
        self.tables = tables  # source table -> (copy task id, verify task id)

    def execute(self, context):
        plan = self.plan(context)
        ti = context["ti"]
        verdicts, copies = [], {}
        for tp in plan.tables:
            copy_id, verify_id = self.tables[tp.source]
            verdict = ti.xcom_pull(task_ids=verify_id)
            if not verdict:
                raise PreflightBlocked(f"no verification result for {tp.source}: its verify task did not run")
            verdicts.append(verdict)
            copies[tp.source] = ti.xcom_pull(task_ids=copy_id) or {}
        dst = self.target().get_conn()
        try:
            if context["params"].get("capture_changes"):
                src = self.source()
                try:
                    catch_up_for_report(src, dst, plan, context["run_id"])
                finally:
                    src.close()
            checks = migration.database_checks(dst, plan)
        finally:
            dst.close()
        result = migration.assemble(plan, verdicts, copies, checks)
        result["finalize"] = ti.xcom_pull(task_ids="finalize")
        result["capture"] = bool(context["params"].get("capture_changes"))
        directory = migration.publish(result, context["run_id"])
        return {"status": result["status"], "report_dir": directory, "totals": result["totals"]}


class VerifyDatabaseOperator(_MigrationOperator):
    """Verification of every table against the plan stored in the target by the last migration
    run, at any time (say, right before a cutover). Reads both sides, writes neither."""

    def execute(self, context):
        params = context["params"]
        src = self.source()
        dst = self.target().get_conn()
        try:
            migration_run, plan = migration.stored_plan(dst)
            log.info("verifying %d tables of %s against the plan of migration run %s", len(plan.tables),
                     plan.database, migration_run)
            capturing = sqlite_capture.has_tables(src) and sqlite_capture.phase(src) == sqlite_capture.CAPTURING
            shown = int(params.get("diff_examples", 20))
            result = migration.verify_all(
                src, dst, plan, max_examples=PENDING_EXAMPLES if capturing else shown,
                settle=(lambda table, verdict: settle_pending(src, plan, table, verdict, diff_examples=shown))
                if capturing else None)
            result["capture"] = capturing
        finally:
            dst.close()
            src.close()
        directory = migration.publish(result, context["run_id"])
        return {"status": result["status"], "report_dir": directory, "totals": result["totals"],
                "migration_run": migration_run}
