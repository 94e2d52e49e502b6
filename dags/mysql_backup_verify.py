"""mysql_backup_verify: prove a usable, fresh backup exists, without restoring; daily at 06:00 UTC.

Like pgBackRest's `verify`: each object listed in a manifest must be present with its size
and SHA-256, and the binlog chain must run without a hole from each full backup's position
to the newest binlog shipped (its epoch's epoch.json), across no numbering reset. A missing
location, no complete full backup, or a newest backup without manifest is a failure, never
"0 objects verified". The server's binlogs must continue the shipped chain. Freshness: the
newest full backup younger than its schedule allows, binlog coverage within one shipping
interval of now. With `deep`, every object is also decrypted and its zstd checksums tested.

Each failing check (BACKUP_CORRUPTION, BACKUP_CHAIN_BROKEN, BACKUP_FULL_STALE,
BACKUP_BINLOG_STALE) is an incident, alerted once when it opens and once when it is
resolved, through the channels of mysql_health_monitor (email and/or webhook); any
problem fails the run with BACKUP_VERIFY_FAILED. See docs/backups.md.
"""
from __future__ import annotations

from datetime import datetime

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from dag_building.dag_params import optional
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL


@dag(
    dag_id="mysql_backup_verify",
    schedule=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,  # the incident state is read-modify-write
    default_args=DEFAULT_ARGS,
    tags=["mysql", "backup"],
    doc_md=__doc__,
    params={
        "deep": optional(False, "also decrypt and decompress every object (off: sizes and SHA-256 only)",
                         type="boolean"),
        "full_backup_every_hours": optional(24, "schedule of mysql_full_backup: a newer full backup must exist "
                                                "within this many hours (plus the grace)", type="number", minimum=1),
        "binlog_backup_every_hours": optional(4, "schedule of mysql_binlog_backup: binlog coverage must reach "
                                                 "within this many hours of now (plus the grace)", type="number",
                                              minimum=0.1),
        "grace_minutes": optional(60, "added to both schedules: how long a backup run itself may take",
                                  type="number", minimum=0),
        "alert_email_to": optional([], "recipients of the incident emails; empty = no email", type="array"),
        "alert_email_from": optional("", "sender of the incident emails; empty = the smtp connection's",
                                     type="string"),
        "smtp_conn_id": optional("smtp_default", "connection of the mail server for incident emails",
                                 type="string"),
        "alert_webhook_conn_id": optional("mysql_alert_webhook", "connection of the incident webhook",
                                          type="string"),
        "alert_webhook_endpoint": optional("", "path on the webhook connection's host; empty = its root",
                                           type="string"),
    },
)
def mysql_backup_verify():
    @task
    def check_configuration() -> dict:
        from task_callables.backup_tasks import check_configuration as run

        return run(need_secret=get_current_context()["params"]["deep"])

    @task(pool=MYSQL_POOL)
    def verify() -> dict:
        from task_callables.backup_tasks import verify as run

        return run(get_current_context()["params"])

    @task
    def raise_alerts(verified: dict) -> dict:
        from task_callables.backup_tasks import raise_alerts as run

        context = get_current_context()
        return run(verified, context["params"], context)

    verified = verify()
    check_configuration() >> verified
    raise_alerts(verified)


mysql_backup_verify()
