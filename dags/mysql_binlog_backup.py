"""mysql_binlog_backup: ship the binary logs every 4 hours, for point-in-time recovery.

FLUSH BINARY LOGS closes the file being written; every closed binlog not yet in storage is
copied over the network (`mariadb-binlog --read-from-remote-server --raw`), checked, compressed,
encrypted and recorded. What was shipped is read from storage itself (a cron run has no data
interval to go by), so reruns ship nothing twice. A binlog the server purged before it was
shipped fails the run with BACKUP_CHAIN_BROKEN and the time window that cannot be recovered,
after shipping everything still available.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import CronTriggerTimetable, dag, task

from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL


@dag(
    dag_id="mysql_binlog_backup",
    schedule=CronTriggerTimetable("0 */4 * * *", timezone="UTC"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    dagrun_timeout=timedelta(hours=3),
    tags=["mysql", "backup"],
    doc_md=__doc__,
)
def mysql_binlog_backup():
    @task
    def check_configuration() -> dict:
        from task_callables.backup_tasks import check_configuration as run

        return run(need_secret=False)

    @task(pool=MYSQL_POOL)
    def ship_binlogs() -> dict:
        from task_callables.backup_tasks import ship_binlogs as run

        return run(required=True)

    check_configuration() >> ship_binlogs()


mysql_binlog_backup()
