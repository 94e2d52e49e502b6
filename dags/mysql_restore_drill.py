"""mysql_restore_drill: prove the newest backup restores, weekly and after every full backup.

Restores the newest full backup into a scratch database `drill_<backup id>` on the
`mysql_target` server, replays binlogs up to the position where the backup recorded its
per-table checksums, compares every table, records the RTO (seconds per phase) in the log
and in `<server>/drills/` next to the backups, and drops the scratch database. Any failure
fails the run (RESTORE_DRILL_FAILED, or the corruption code) and logs an ALERT line.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, task

from dag_building.backup_assets import FULL_BACKUP
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL


def _alert(context):
    from task_callables.backup_tasks import alert_on_failure

    alert_on_failure(context)


@dag(
    dag_id="mysql_restore_drill",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 4 * * 0", timezone="UTC"), assets=FULL_BACKUP),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "on_failure_callback": _alert},
    tags=["mysql", "backup", "restore"],
    doc_md=__doc__,
)
def mysql_restore_drill():
    @task
    def check_configuration() -> dict:
        from task_callables.backup_tasks import check_configuration as run

        return run(need_secret=True, need_target=True)

    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=12))
    def restore_and_compare() -> dict:
        from task_callables.backup_tasks import drill

        return drill()

    check_configuration() >> restore_and_compare()


mysql_restore_drill()
