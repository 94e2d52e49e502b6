"""mysql_query_insights: hourly statement-digest history, regressions against a baseline, index advice.

Every hour:
1. `snapshot`: performance_schema's statement digests (events_statements_summary_by_digest) read
   through the monitor account; the work since the previous reading is kept as Parquet in the
   backup storage (`<server>/query-insights/`), with the executions sampled from
   events_statements_history_long for p95. Server restarts and TRUNCATE of the summary table are
   handled (the counters start again; nothing goes negative).
2. `baseline`: recorded by itself over the first `baseline_hours` of the history (the first days
   after the cutover), or on demand with the Param record_baseline (the last `baseline_hours`).
3. `raise_regressions`: the last `alert_window_hours` against the baseline, digest by digest; a
   regression beyond the thresholds opens one QUERY_REGRESSION incident, sent once by email and/or
   webhook like mysql_health_monitor's, and once more when it is resolved.
4. `daily_report`: the first run of each UTC day reports on the day before (or Param report_now:
   the last 24 hours): top digests by total time, p95 and rows examined per row sent; full scans
   and temporary disk tables; regressions; EXPLAIN FORMAT=JSON of the top offenders; unused and
   redundant indexes; candidate indexes for frequent full scans, each timed on a scratch copy
   restored from the latest backup before and after, and recommended only with a measured gain.
   A recommendation is an entry for include/sql/index_plan.yaml: nothing is applied here; the
   mysql_hardening DAG validates and applies the plan (apply_schema_changes).

MariaDB has performance_schema OFF by default: the run fails with what to put in my.cnf
(docs/query-insights.md). Configure: `mysql_monitor` (performance_schema), `mysql_reporting`
(read-only on the application database, for EXPLAIN; else mysql_target), the backup storage and
key as for the backups (the history lives there), the alert channels as for mysql_health_monitor.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from operators.task_policy import DEFAULT_ARGS, MYSQL_POOL, fail_fast_on_permanent


@dag(
    dag_id="mysql_query_insights",
    schedule="7 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # each snapshot is the next one's starting point
    default_args=DEFAULT_ARGS,
    tags=["mysql", "monitoring", "optimization"],
    doc_md=__doc__,
    params={
        "monitor_conn_id": Param("mysql_monitor", type="string",
                                 description="reads performance_schema (the monitor account)"),
        "explain_conn_id": Param("mysql_reporting", type="string",
                                 description="read-only account of the application database, for EXPLAIN and "
                                             "the schema; mysql_target when not defined"),
        "schemas": Param([], type="array", description="schemas whose statements count; empty = the application "
                                                       "database of explain_conn_id"),
        "record_baseline": Param(False, type="boolean",
                                 description="record the last baseline_hours as the baseline now"),
        "baseline_hours": Param(72, type="number",
                                description="length of the baseline window; recorded by itself over the first "
                                            "hours of the history when none exists"),
        "alert_window_hours": Param(6, type="number", description="the window compared with the baseline each hour"),
        "latency_ratio": Param(2.0, type="number", description="regression: average latency at least this x the baseline"),
        "p95_ratio": Param(2.0, type="number", description="regression: p95 at least this x the baseline"),
        "min_latency_increase_ms": Param(1.0, type="number",
                                         description="and at least this many ms slower (noise floor)"),
        "rows_examined_ratio": Param(10.0, type="number",
                                     description="regression: rows examined per execution at least this x"),
        "min_rows_examined_increase": Param(100, type="number", description="and at least this many rows more"),
        "min_executions": Param(20, type="integer", description="executions in both windows before judging"),
        "min_samples": Param(20, type="integer", description="sampled executions before a p95 is given"),
        "report_now": Param(False, type="boolean", description="write the report of the last 24 hours now"),
        "top": Param(10, type="integer", description="rows per ranking in the report"),
        "explain_top": Param(5, type="integer", description="top digests by total time that get a plan"),
        "max_candidates": Param(3, type="integer", description="full-scan digests that get an index candidate"),
        "validate_indexes": Param(True, type="boolean",
                                  description="time candidates on a scratch copy restored from the latest backup"),
        "validation_repeat": Param(5, type="integer", description="timed runs before and after"),
        "min_gain": Param(1.5, type="number", description="median speed-up needed to recommend"),
        "unused_min_days": Param(7, type="number", description="uptime before an index can be called unused"),
        "history_days": Param(90, type="integer", description="days of hourly history kept"),
        "alert_email_to": Param([], type="array", description="recipients; empty = no email"),
        "alert_email_from": Param("", type="string", description="empty = the smtp connection's"),
        "smtp_conn_id": Param("smtp_default", type="string"),
        "alert_webhook_conn_id": Param("mysql_alert_webhook", type="string"),
        "alert_webhook_endpoint": Param("", type="string"),
    },
)
def mysql_query_insights():
    @task
    @fail_fast_on_permanent
    def snapshot() -> dict:
        from operators.query_insights_tasks import snapshot as run

        return run(get_current_context()["params"])

    @task
    @fail_fast_on_permanent
    def baseline() -> dict | None:
        from operators.query_insights_tasks import record_baseline as run

        return run(get_current_context()["params"])

    @task
    @fail_fast_on_permanent
    def raise_regressions() -> dict:
        from operators.query_insights_tasks import raise_regressions as run

        context = get_current_context()
        return run(context["params"], context)

    # Restores a scratch copy when there are candidates: bounded like the restore drill.
    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=6))
    @fail_fast_on_permanent
    def daily_report() -> dict:
        from operators.query_insights_tasks import daily_report as run

        return run(get_current_context()["params"])

    recorded = snapshot() >> baseline()
    recorded >> [raise_regressions(), daily_report()]


mysql_query_insights()
