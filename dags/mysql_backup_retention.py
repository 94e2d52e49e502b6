"""mysql_backup_retention: delete backups and binlogs no longer needed, daily at 05:00 UTC.

Keeps every full backup finished in the last `retention_days`, the newest one before that
(the base for recovering to the first hours of the window), hence always the newest complete
backup, and every binlog from the oldest kept backup's position on. Binlogs are deleted only
because no kept backup needs them, never for their age. Interrupted uploads and backups
without manifest are cleaned up once two days old and superseded.

Scheduled runs apply the policy. A run triggered by hand is a dry run unless `dry_run` is
unticked: the log lists each object that would be deleted, and why.
"""
from __future__ import annotations

from datetime import datetime

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from dag_building.dag_params import optional
from dag_building.task_policy import DEFAULT_ARGS


@dag(
    dag_id="mysql_backup_retention",
    schedule=CronTriggerTimetable("0 5 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["mysql", "backup"],
    doc_md=__doc__,
    params={
        "retention_days": optional(30, "keep full backups finished this many days back (and the newest one "
                                       "before them)", type="integer", minimum=1),
        "dry_run": optional(True, "manual runs only: list what would be deleted, delete nothing "
                                  "(scheduled runs always apply)", type="boolean"),
    },
)
def mysql_backup_retention():
    @task
    def check_configuration() -> dict:
        from task_callables.backup_tasks import check_configuration as run

        return run(need_secret=False)

    @task
    def apply_retention() -> dict:
        from task_callables.backup_tasks import apply_retention as run

        context = get_current_context()
        params = context["params"]
        scheduled = context["dag_run"].run_type == "scheduled"
        return run(keep_days=params["retention_days"], dry_run=False if scheduled else params["dry_run"])

    check_configuration() >> apply_retention()


mysql_backup_retention()
