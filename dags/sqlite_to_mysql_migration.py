"""sqlite_to_mysql_migration: move the SQLite database of `sqlite_source` into the MySQL
database named by the schema of `mysql_target`, one task group per table in foreign-key
order, and prove with counts and checksums that nothing was lost."""
from __future__ import annotations

from airflow.providers.standard.operators.python import ShortCircuitOperator
from airflow.sdk import DAG, TaskGroup

from operators.cutover_operators import CaptureChangesOperator
from dag_building.dag_params import optional
from dag_building.migration_layout import source_layout, task_name
from operators.migration_operators import (CopyTableOperator, FinalizeOperator, MigrationPreflightOperator,
                                           MigrationReportOperator, SetupTargetOperator, VerifyTableOperator)
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL

layout, not_ready = source_layout("sqlite_source")

DOC = f"""
### Move a SQLite database into MySQL without losing a value

1. **Connections** (Admin > Connections, `AIRFLOW_CONN_*` variables, or a secrets backend):
   - `sqlite_source`: type *sqlite*, **host** = absolute path of the SQLite file.
   - `mysql_target`: type *mysql*, host/port/login/password, **schema** = target database
     (created if missing). Extras: `{{"ssl": {{"ca": "/path/ca.pem"}}}}` for TLS.
2. Trigger with **dry_run** first: the preflight report lists every table, each column's MySQL
   type and why, and every value that would not fit.
3. Trigger for real. Each table has a `copy` and a `verify` task; the `report` task's log has
   the verification table, the files are in `$AIRFLOW_HOME/reports/<run_id>/`.

A failed table can be cleared alone: its copy resumes after its last committed batch.

Source as parsed now: **{layout.source_path + f" ({len(layout.tables)} tables)" if layout else
"not configured: " + not_ready}**
"""

PARAMS = {
    "dry_run": optional(False, "Preflight and plan only: the target is not touched.", type="boolean",
                        title="Dry run"),
    "batch_size": optional(20000, "Rows per committed batch: bounds memory and the work a retry repeats.",
                           type="integer", minimum=100, maximum=1_000_000, title="Batch size (rows)"),
    "include_tables": optional([], "Names or glob patterns of the tables to copy; empty = every table.",
                               type="array", items={"type": "string"}, title="Tables to include"),
    "exclude_tables": optional([], "Names or glob patterns of tables left out; empty = none.",
                               type="array", items={"type": "string"}, title="Tables to exclude"),
    "on_type_conflict": optional("fail", "fail: stop before writing, naming table, column, key and value. "
                                         "widen: give the column a type that holds every value (propagated "
                                         "along foreign keys). quarantine: set those rows aside in "
                                         "_s2m_quarantine; the report counts them.",
                                 enum=["fail", "widen", "quarantine"], title="Values that do not fit"),
    "type_overrides": optional({}, 'JSON map {"table.column": "MYSQL TYPE"}, e.g. '
                                   '{"shop_product.price": "DECIMAL(12,2)"}; empty = the types the preflight '
                                   'decides.', type="object", title="Type overrides"),
    "load_method": optional("auto", "auto = LOAD DATA LOCAL INFILE when the server allows it, else "
                                    "multi-row INSERT.", enum=["auto", "load_data", "insert"],
                            title="Bulk load method"),
    "if_target_exists": optional("fail", "fail: refuse to touch them. replace: drop and recreate them.",
                                 enum=["fail", "replace"], title="Target tables not created by this tool"),
    "restart_tables": optional([], "Ignore these tables' checkpoints (a rerun otherwise resumes); "
                                   "empty = every table resumes.", type="array", items={"type": "string"},
                               title="Tables to copy from scratch"),
    "integrity_check": optional("full", "PRAGMA integrity_check (full) or quick_check before anything; "
                                        "skip = none.", enum=["full", "quick", "skip"],
                                title="SQLite integrity check"),
    "diff_examples": optional(20, "Differing rows listed per table in the verification report.",
                              type="integer", minimum=1, maximum=1000, title="Differences shown per table"),
    "capture_changes": optional(False, "Before the copy, install triggers in the SQLite file that log every "
                                       "write the application makes from then on, so it can keep running "
                                       "during the migration and sqlite_to_mysql_cutover applies those writes "
                                       "(docs/cutover.md). Verification then counts them as pending.",
                                type="boolean", title="Capture changes for a cutover"),
}

with DAG(
    dag_id="sqlite_to_mysql_migration",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=PARAMS,
    tags=["migration", "sqlite", "mysql"],
    doc_md=DOC,
) as dag:
    preflight = MigrationPreflightOperator(task_id="preflight", dag_tables=layout.tables if layout else [])
    proceed = ShortCircuitOperator(task_id="stop_if_dry_run", ignore_downstream_trigger_rules=True,
                                   python_callable=lambda params: not params["dry_run"])
    setup = SetupTargetOperator(task_id="setup_target", pool=MYSQL_POOL)
    finalize = FinalizeOperator(task_id="finalize", pool=MYSQL_POOL, trigger_rule="none_failed")
    tasks: dict[str, tuple] = {}
    taken: set[str] = set()
    for table in layout.tables if layout else []:
        with TaskGroup(group_id=task_name(table, taken), tooltip=f"table {table}") as group:
            copy = CopyTableOperator(task_id="copy", table=table, pool=MYSQL_POOL, trigger_rule="none_failed")
            verify = VerifyTableOperator(task_id="verify", table=table, pool=MYSQL_POOL)
            copy >> verify
        tasks[table] = (copy, verify)
        setup >> copy >> finalize
    for table, (copy, _verify) in tasks.items():
        for parent in layout.depends_on[table]:
            tasks[parent][0] >> copy
    report = MigrationReportOperator(
        task_id="report", pool=MYSQL_POOL, trigger_rule="none_failed",
        tables={t: (c.task_id, v.task_id) for t, (c, v) in tasks.items()})
    capture = CaptureChangesOperator(task_id="capture_changes")
    preflight >> proceed >> capture >> setup
    setup >> finalize >> report
    for _copy, verify in tasks.values():
        verify >> report
