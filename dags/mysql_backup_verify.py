"""mysql_backup_verify: check every stored backup without restoring, daily at 06:00 UTC.

Like pgBackRest's `verify`: each object listed in a manifest must be present with its size
and SHA-256, and the binlog chain must run without a hole from each full backup's position.
With `deep`, every object is also decrypted and its zstd checksums tested (needs the secret
key). All findings are in the log; any problem fails the run with BACKUP_CORRUPTION.
"""
from __future__ import annotations

from datetime import datetime

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from operators.dag_params import optional
from operators.task_policy import DEFAULT_ARGS, fail_fast_on_permanent


@dag(
    dag_id="mysql_backup_verify",
    schedule=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["mysql", "backup"],
    doc_md=__doc__,
    params={"deep": optional(False, "also decrypt and decompress every object (off: sizes and SHA-256 only)",
                             type="boolean")},
)
def mysql_backup_verify():
    @task
    @fail_fast_on_permanent
    def check_configuration() -> dict:
        from operators.backup_tasks import check_configuration as run

        return run(need_secret=get_current_context()["params"]["deep"])

    @task
    @fail_fast_on_permanent
    def verify() -> dict:
        from operators.backup_tasks import verify as run

        return run(deep=get_current_context()["params"]["deep"])

    check_configuration() >> verify()


mysql_backup_verify()
