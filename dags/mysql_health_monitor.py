"""mysql_health_monitor: every 5 minutes, check the MySQL/MariaDB server and alert once per incident.

Checks: connection usage against max_connections, slow statements (running now, and statement
digests from performance_schema with the top statements by total time), long-running
transactions, replica health and lag, InnoDB tablespace and binlog size, buffer pool hit rate,
audit logging. Thresholds are Params with the design's defaults (connections 80%, slow query
5 s, disk 90%). Alerts go by email (SmtpNotifier) and/or webhook (HttpNotifier) with the codes
CONNECTION_POOL_EXHAUSTED, QUERY_TIMEOUT, REPLICATION_LAG_HIGH (and LONG_TRANSACTION,
DISK_USAGE_HIGH, BUFFER_POOL_HIT_RATE_LOW, AUDIT_LOGGING_OFF); an incident alerts when it
opens and when it is resolved, not on every run. When the monitor itself cannot run (server
down, wrong credentials), MONITOR_FAILED is one such incident: sent once when the outage
starts, resolved by the first run that works again. See docs/hardening.md.

Configure: connection `mysql_monitor` (the monitor account, include/sql/users/*/monitor.sql);
for alerts the Param alert_email_to plus connection `smtp_default`, and/or an http connection
`mysql_alert_webhook`; for replicas, their connection ids in the Param replica_conn_ids.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from dag_building.dag_params import optional
from dag_building.task_policy import DEFAULT_ARGS


def monitor_failed(context) -> None:
    """on_failure_callback: the monitor could not run; one MONITOR_FAILED incident per outage."""
    from task_callables.hardening_tasks import monitor_failed as run

    run(context)


# Not in the MYSQL_POOL: monitoring must run while a restore or migration holds every slot.
# One retry, 30 s later (TASK_RETRY_DELAY_SECONDS shortens it in tests), before MONITOR_FAILED.
MONITOR_ARGS = {**DEFAULT_ARGS, "retries": 1,
                "retry_delay": timedelta(seconds=float(os.environ.get("TASK_RETRY_DELAY_SECONDS", "30"))),
                "execution_timeout": timedelta(minutes=4), "on_failure_callback": monitor_failed}


@dag(
    dag_id="mysql_health_monitor",
    schedule="*/5 * * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # the incident state is read-modify-write
    default_args=MONITOR_ARGS,
    tags=["mysql", "monitoring"],
    doc_md=__doc__,
    params={
        "monitor_conn_id": optional("mysql_monitor", "connection of the monitor account", type="string"),
        "replica_conn_ids": optional([], "connections of the replicas to check; empty = no replica",
                                     type="array"),
        "connection_usage_pct": optional(80, "alert when connections in use reach this % of max_connections "
                                             "(design: 80%)", type="number"),
        "slow_query_seconds": optional(5, "alert on statements running longer (design: 5 s)", type="number"),
        "long_transaction_seconds": optional(60, "alert on transactions open longer", type="number"),
        "replication_lag_seconds": optional(60, "alert when a replica is further behind", type="number"),
        "disk_usage_pct": optional(90, "alert when data and binlogs fill this % of disk_capacity_gb "
                                       "(design: 90%)", type="number"),
        "disk_capacity_gb": Param(None, type=["null", "number"],
                                  description="size of the server's data volume; empty = sizes are reported "
                                              "without a percentage. Default: empty."),
        "buffer_pool_hit_rate_pct": optional(95, "alert when the InnoDB buffer pool hit rate falls below",
                                             type="number"),
        "buffer_pool_min_requests": optional(10000, "read requests needed before the hit rate is judged",
                                             type="integer"),
        "top_statements": optional(5, "statement digests by total time listed in the log", type="integer"),
        "alert_email_to": optional([], "recipients; empty = no email", type="array"),
        "alert_email_from": optional("", "sender; empty = the smtp connection's", type="string"),
        "smtp_conn_id": optional("smtp_default", "smtp connection for alert emails", type="string"),
        "alert_webhook_conn_id": optional("mysql_alert_webhook", "http connection of the alert webhook; "
                                                                 "alerts go there when it is defined",
                                          type="string"),
        "alert_webhook_endpoint": optional("", "path appended to the webhook connection's URL; empty = none",
                                           type="string"),
    },
)
def mysql_health_monitor():
    @task
    def check_health() -> dict:
        from task_callables.hardening_tasks import check_health as run

        return run(get_current_context()["params"])

    @task
    def raise_alerts(checked: dict) -> dict:
        from task_callables.hardening_tasks import raise_alerts as run

        context = get_current_context()
        return run(checked, context["params"], context)

    raise_alerts(check_health())


mysql_health_monitor()
