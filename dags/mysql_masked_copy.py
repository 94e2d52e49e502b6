"""mysql_masked_copy: a masked copy of production for developers, and Parquet snapshots for analysts.

Weekly (Sunday 05:00 UTC) and after every full backup (Asset `mysql_full_backup`):

1. check_configuration: connections, the masking key, the rules file; every problem at once;
2. restore_source: the latest full backup into a scratch database `mask_<backup id>` on the
   restore side (the primary carries no load, and the backup is proved readable once more), or,
   with Param source=replica, the replica's database read in place;
3. check_coverage: every column of every table has a rule in include/masking/<database>.yaml
   (masked, or kept with a reason); an unclassified column fails the run by name, with a proposed
   rule for columns that look personal, before anything is written;
4. mask_and_copy: every table streamed through the keyed masking transform into
   `<dev database>_mask_stage` on the `mysql_dev` server (plaintext never reaches it);
5. verify_and_scan: row counts, foreign keys and aggregates (money sums, date ranges) equal; then
   the residual-PII scan: any original value of a masked column found in the copy fails the run
   with MASKING_LEAK (table, column, key) and the staging copy is dropped;
6. publish: the verified copy replaces the dev database (one RENAME of all tables);
7. export_parquet (Param export_parquet): one Parquet dataset per table with a manifest, checked
   against MySQL (row counts, DECIMAL sums), under Variable mysql_masked_copy_parquet_location;
8. report: $AIRFLOW_HOME/reports/<run id>/masked_copy.{json,md};
teardown drop_scratch: the scratch database and any leftover staging copy, whatever happened.

Configure: connection `mysql_dev`, Variable `mysql_masking_secret_key`, the backup configuration
of mysql_full_backup (or connection `mysql_replica`). See docs/masking.md.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, dag, get_current_context, task

from dag_building.backup_assets import FULL_BACKUP
from dag_building.dag_params import optional
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL


def _alert(context):
    from task_callables.masking_tasks import alert_on_failure

    alert_on_failure(context)


def _params() -> dict:
    return get_current_context()["params"]


@dag(
    dag_id="mysql_masked_copy",
    schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("0 5 * * 0", timezone="UTC"), assets=FULL_BACKUP),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "on_failure_callback": _alert},
    dagrun_timeout=timedelta(hours=12),
    tags=["mysql", "masking", "security"],
    doc_md=__doc__,
    params={
        "source": optional("backup", "backup: the latest full backup, restored into a scratch database; "
                                     "replica: the database of connection mysql_replica, read in place",
                           enum=["backup", "replica"]),
        "rules": optional("", "rules file under include/masking/; empty = <database>.yaml", type="string"),
        "export_parquet": optional(True, "write a Parquet snapshot of the masked copy", type="boolean"),
        "workers": optional(3, "tables copied at once", type="integer", minimum=1),
        "batch_rows": optional(20000, "rows per batch", type="integer", minimum=100),
        "alert_email_to": optional([], "who gets failure alerts by email; empty = nobody", type="array"),
    },
)
def mysql_masked_copy():
    @task
    def check_configuration() -> dict:
        from task_callables.masking_tasks import check_configuration as run

        return run(_params())

    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=6))
    def restore_source() -> dict:
        from task_callables.masking_tasks import restore_source as run

        return run(_params())

    @task
    def check_coverage(source: dict) -> dict:
        from task_callables.masking_tasks import check_coverage as run

        return run(source, _params())

    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=6))
    def mask_and_copy(source: dict, coverage: dict) -> dict:
        from task_callables.masking_tasks import mask_and_copy as run

        return run(source, _params())

    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=4))
    def verify_and_scan(source: dict, copied: dict) -> dict:
        from task_callables.masking_tasks import verify_and_scan as run

        return run(source, _params())

    @task
    def publish(checks: dict) -> dict:
        from task_callables.masking_tasks import publish as run

        return run()

    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=4))
    def export_parquet(source: dict, published: dict) -> dict:
        from task_callables.masking_tasks import export_parquet as run

        if not _params()["export_parquet"]:
            return {"skipped": "Param export_parquet is off"}
        return run(source, get_current_context()["run_id"])

    @task
    def report(coverage: dict, copied: dict, checks: dict, published: dict, parquet: dict) -> str:
        from task_callables.masking_tasks import write_report

        return write_report(get_current_context()["run_id"], {
            "source": coverage["source"], "coverage": coverage, "copy": copied, "checks": checks,
            "published": published, "parquet": parquet})

    @task
    def drop_scratch(source: dict | None) -> None:
        from task_callables.masking_tasks import drop_scratch as run

        run(source)

    configured = check_configuration()
    source = restore_source()
    configured >> source
    coverage = check_coverage(source)
    copied = mask_and_copy(source, coverage)
    checks = verify_and_scan(source, copied)
    published = publish(checks)
    parquet = export_parquet(source, published)
    done = report(coverage, copied, checks, published, parquet)
    cleanup = drop_scratch(source).as_teardown(setups=source)
    done >> cleanup


mysql_masked_copy()
