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

from airflow.sdk import dag, get_current_context, task

from dag_building.dag_params import optional
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL


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
        "monitor_conn_id": optional("mysql_monitor", "reads performance_schema (the monitor account)",
                                    type="string"),
        "explain_conn_id": optional("mysql_reporting", "read-only account of the application database, for "
                                                       "EXPLAIN and the schema; mysql_target when not defined",
                                    type="string"),
        "schemas": optional([], "schemas whose statements count; empty = the application database of "
                                "explain_conn_id", type="array"),
        "record_baseline": optional(False, "record the last baseline_hours as the baseline now", type="boolean"),
        "baseline_hours": optional(72, "length of the baseline window; recorded by itself over the first hours "
                                       "of the history when none exists", type="number"),
        "alert_window_hours": optional(6, "the window compared with the baseline each hour", type="number"),
        "latency_ratio": optional(2.0, "regression: average latency at least this x the baseline", type="number"),
        "p95_ratio": optional(2.0, "regression: p95 at least this x the baseline", type="number"),
        "min_latency_increase_ms": optional(1.0, "and at least this many ms slower (noise floor)", type="number"),
        "rows_examined_ratio": optional(10.0, "regression: rows examined per execution at least this x",
                                        type="number"),
        "min_rows_examined_increase": optional(100, "and at least this many rows more", type="number"),
        "min_executions": optional(20, "executions in both windows before judging", type="integer"),
        "min_samples": optional(20, "sampled executions before a p95 is given", type="integer"),
        "report_now": optional(False, "write the report of the last 24 hours now", type="boolean"),
        "top": optional(10, "rows per ranking in the report", type="integer"),
        "explain_top": optional(5, "top digests by total time that get a plan", type="integer"),
        "max_candidates": optional(3, "full-scan digests that get an index candidate", type="integer"),
        "validate_indexes": optional(True, "time candidates on a scratch copy restored from the latest backup",
                                     type="boolean"),
        "validation_repeat": optional(5, "timed runs before and after", type="integer"),
        "min_gain": optional(1.5, "median speed-up needed to recommend", type="number"),
        "unused_min_days": optional(7, "uptime before an index can be called unused", type="number"),
        "history_days": optional(90, "days of hourly history kept", type="integer"),
        "alert_email_to": optional([], "recipients; empty = no email", type="array"),
        "alert_email_from": optional("", "sender; empty = the smtp connection's", type="string"),
        "smtp_conn_id": optional("smtp_default", "smtp connection for alert emails", type="string"),
        "alert_webhook_conn_id": optional("mysql_alert_webhook", "http connection of the alert webhook; alerts "
                                                                 "go there when it is defined", type="string"),
        "alert_webhook_endpoint": optional("", "path appended to the webhook connection's URL; empty = none",
                                           type="string"),
    },
)
def mysql_query_insights():
    @task
    def snapshot() -> dict:
        from task_callables.query_insights_tasks import snapshot as run

        return run(get_current_context()["params"])

    @task
    def baseline() -> dict | None:
        from task_callables.query_insights_tasks import record_baseline as run

        return run(get_current_context()["params"])

    @task
    def raise_regressions() -> dict:
        from task_callables.query_insights_tasks import raise_regressions as run

        context = get_current_context()
        return run(context["params"], context)

    # Restores a scratch copy when there are candidates: bounded like the restore drill.
    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=6))
    def daily_report() -> dict:
        from task_callables.query_insights_tasks import daily_report as run

        return run(get_current_context()["params"])

    recorded = snapshot() >> baseline()
    recorded >> [raise_regressions(), daily_report()]


mysql_query_insights()
