"""mysql_full_backup: a consistent, compressed, encrypted full backup every day at 02:00 UTC.

1. check_configuration: connection, age key and storage, all problems reported at once;
2. full_backup: `mariadb-dump --single-transaction ...` (or MySQL's mysqldump) | zstd | age,
   streamed to storage with its SHA-256, binlog position and GTID recorded; the manifest is
   written last and is what makes it a backup;
3. ship_binlogs: flush and ship the binlogs, so the backup's own binlog (needed by the restore
   drill and by point-in-time recovery right after it) is in storage; then the Asset
   `mysql_full_backup` is updated, which triggers the restore drill.

Configure: connection `mysql_backup` (or `mysql_target`), Variable `mysql_backup_age_secret_key`
(or `mysql_backup_age_recipients`), and `mysql_backup_location`. See docs/backups.md.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from dag_building.backup_assets import FULL_BACKUP
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL


@dag(
    dag_id="mysql_full_backup",
    schedule=CronTriggerTimetable("0 2 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=12),
    tags=["mysql", "backup"],
    doc_md=__doc__,
)
def mysql_full_backup():
    @task
    def check_configuration() -> dict:
        from task_callables.backup_tasks import check_configuration as run

        return run(need_secret=False)

    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=10))
    def full_backup() -> dict:
        from task_callables.backup_tasks import full_backup as run

        return run(get_current_context()["run_id"])

    @task(pool=MYSQL_POOL, outlets=[FULL_BACKUP])
    def ship_binlogs(backup: dict) -> dict:
        from task_callables.backup_tasks import ship_binlogs as run

        return {"backup": backup, **run(required=False)}

    backup = full_backup()
    check_configuration() >> backup
    ship_binlogs(backup)


mysql_full_backup()
