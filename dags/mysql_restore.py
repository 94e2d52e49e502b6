"""mysql_restore: restore a backup, optionally to a point in time (manual trigger).

Every object is fetched and checked against its manifest (size, SHA-256), the key against
the backup's recipients, and every binlog decrypted, before anything is applied. Then the
dump is loaded and the binlogs replayed from the exact position the dump recorded, up to the
requested time. The log shows the plan, each phase's duration and the RTO.

By default the restore goes into a NEW scratch database `<db>_restore_<timestamp>` on the
`mysql_target` server. Overwriting an existing database needs its name in `confirm_overwrite`
(it says WHICH database) and the approval of `approve_overwrite` in Required Actions, which
shows the backup, the point it reaches and what the database holds now; reject or no answer
restores nothing and fails the run. It is refused while any session (the application) uses it. Restoring
the backed-up database over itself is recorded as a break: no later point-in-time recovery
from an earlier backup crosses it; take a full backup afterwards.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, get_current_context, task

from operators.approval_gate import ApprovalGateOperator, approved
from dag_building.dag_params import optional
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL


@dag(
    dag_id="mysql_restore",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={**DEFAULT_ARGS, "retries": 0},  # a human watches; a failed restore is investigated, not retried
    tags=["mysql", "backup", "restore"],
    doc_md=__doc__,
    params={
        "backup_id": optional("latest", "'latest' (the newest complete backup) or a backup id such as "
                                        "20260301T020000Z", type="string"),
        "point_in_time": optional("latest", "'latest' (end of the shipped binlogs) or a time, e.g. "
                                            "'2026-03-01 14:30:00' (UTC) or '2026-03-01T16:30:00+02:00'",
                                  type="string"),
        "target_database": optional("", "database restored into; empty = a new scratch database "
                                        "<db>_restore_<timestamp>", type="string"),
        "confirm_overwrite": optional("", "to overwrite an existing database, its name (the same as "
                                          "target_database); the run then waits for an approval that shows "
                                          "what is replaced. Empty = an existing database is refused",
                                      type="string"),
        "approvers": optional("", "user ids (comma-separated) who may approve an overwrite; empty = whoever "
                                  "the Variable approval_gate_approvers names, or anyone allowed on this DAG",
                              type="string"),
    },
)
def mysql_restore():
    @task
    def check_configuration() -> dict:
        from task_callables.backup_tasks import check_configuration as run

        return run(need_secret=True, need_target=True)

    @task(pool=MYSQL_POOL)
    def overwrite_evidence() -> dict | None:
        from task_callables.backup_tasks import restore_evidence

        return restore_evidence(get_current_context()["params"])

    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=12))
    def restore() -> dict:
        from task_callables.backup_tasks import restore as run

        context = get_current_context()
        if (context["params"].get("confirm_overwrite") or "").strip():
            approved(context, "approve_overwrite")
        return run(context["params"])

    evidence = overwrite_evidence()
    gate = ApprovalGateOperator(task_id="approve_overwrite", subject="Overwrite a database with a backup",
                                evidence=evidence, ask="{{ (params.confirm_overwrite or '') | trim != '' }}",
                                approvers="{{ params.approvers }}")
    check_configuration() >> evidence
    gate >> restore()


mysql_restore()
