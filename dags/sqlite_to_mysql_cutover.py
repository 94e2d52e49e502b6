"""Cutover of the application from SQLite to MySQL with a write freeze of seconds, a rollback
that loses nothing, and the cleanup that ends the rollback window. Three DAGs, one file:

- sqlite_to_mysql_cutover: prepare -> catch_up -> verify_live -> switch_evidence ->
  approve_switch -> freeze_and_switch, and the `release` teardown that leaves no freeze behind
  whatever happened; a switch waits for a person's approval of the evidence (a rehearsal asks none);
- sqlite_to_mysql_rollback: check -> rollback_evidence -> approve_rollback -> rollback (back to
  SQLite with every write made on MySQL), with the same `release` teardown;
- sqlite_to_mysql_cutover_cleanup: removes change capture on both sides.

The source must have been migrated with capture_changes=true (docs/cutover.md).
"""
from __future__ import annotations

from airflow.sdk import DAG, Param

from operators.approval_gate import ApprovalGateOperator
from operators.cutover_operators import (CatchUpOperator, CleanupOperator, CutoverPrepareOperator,
                                         FreezeAndSwitchOperator, ReleaseOperator, RollbackCheckOperator,
                                         RollbackEvidenceOperator, RollbackOperator, SwitchEvidenceOperator,
                                         VerifyLiveOperator)
from dag_building.dag_params import optional
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL

TAGS = ["migration", "cutover", "sqlite", "mysql"]


def _confirm(word: str, what: str) -> Param:
    return optional("", f"Type `{word} <target database>` (the schema of mysql_target) to {what}; "
                        "empty = refused.", type="string", title="Confirmation")


def _approvers() -> Param:
    return optional("", "User ids (comma-separated) who may approve this run, narrowing the Variable "
                        "approval_gate_approvers; empty = whoever that Variable names, or anyone allowed to act "
                        "on this DAG when it names nobody.", type="string", title="Approvers")


def _timing_params(freeze_default: int) -> dict:
    return {
        "freeze_timeout_seconds": optional(freeze_default, "Writes are frozen at most this long: past it the "
                                                           "freeze lifts itself (it is written into the freeze "
                                                           "triggers) and the run fails, having switched nothing.",
                                           type="integer", minimum=5, maximum=900, title="Freeze timeout (s)"),
        "max_lag_changes": optional(1000, "Catch up until at most this many captured changes wait.",
                                    type="integer", minimum=0, title="Lag before freezing (changes)"),
        "catch_up_timeout_minutes": optional(60, "Fail when the lag does not shrink below the limit in time.",
                                             type="integer", minimum=1, title="Catch-up timeout (minutes)"),
        "batch_size": optional(2000, "Captured changes applied per transaction.", type="integer", minimum=100,
                               maximum=50000, title="Changes per batch"),
    }


CUTOVER_DOC = """
### Switch the application from SQLite to MySQL

Needs a migration run with **capture_changes** on (every write since its copy is captured).

1. Trigger with **mode = rehearsal**: everything runs (catch-up, live verification, freeze, last
   changes, final check) except the switch; writes are unfrozen again, and every switch action is
   tried without being performed. The `freeze_and_switch` log and report say how long writes were
   frozen and end with `safe to switch: yes/no, because ...`; a rehearsal that is not safe fails.
2. Trigger with **mode = switch**. After the catch-up and the live verification, `approve_switch`
   waits in **Required Actions** with the evidence: the lag, the verification per table, the freeze
   of the last rehearsal and the exact switch actions. Approve, and the switch runs; reject (or no
   answer in time), and nothing is changed and the run fails. The switch actions come from the
   Airflow Variable `sqlite_to_mysql_cutover` (settings file, command, webhook): see
   docs/cutover.md. SQLite stays read-only afterwards (a guard against stale app instances).

The freeze lasts `freeze_timeout_seconds` at most, even if the worker dies (the deadline is in the
triggers); the `release` teardown and the next run's `prepare` remove anything left behind.
Reports: `$AIRFLOW_HOME/reports/<run_id>/cutover.{json,md}`.
"""

with DAG(
    dag_id="sqlite_to_mysql_cutover",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=TAGS,
    doc_md=CUTOVER_DOC,
    params={
        "mode": optional("rehearsal", "rehearsal: everything but the switch, then unfreeze. switch: the real one.",
                         enum=["rehearsal", "switch"], title="Mode"),
        "approvers": _approvers(),
        **_timing_params(30),
    },
) as cutover_dag:
    prepare = CutoverPrepareOperator(task_id="prepare", pool=MYSQL_POOL)
    catch_up = CatchUpOperator(task_id="catch_up", pool=MYSQL_POOL)
    verify_live = VerifyLiveOperator(task_id="verify_live", pool=MYSQL_POOL)
    switch_evidence = SwitchEvidenceOperator(task_id="switch_evidence", pool=MYSQL_POOL)
    approve_switch = ApprovalGateOperator(
        task_id="approve_switch", subject="Switch the application to MySQL", evidence=switch_evidence.output,
        ask="{{ params.mode == 'switch' }}", approvers="{{ params.approvers }}")
    freeze_and_switch = FreezeAndSwitchOperator(task_id="freeze_and_switch", pool=MYSQL_POOL)
    release = ReleaseOperator(task_id="release", pool=MYSQL_POOL)
    # The work decides the run's state, the teardown never does: Airflow ignores a teardown
    # for the run's state unless on_failure_fail_dagrun is set, and with it set the teardown
    # would be the only task that counts, so a failed switch followed by a clean release
    # would end green (tests/dags checks this for every DAG with a teardown).
    (prepare >> catch_up >> verify_live >> switch_evidence >> approve_switch >> freeze_and_switch
     >> release.as_teardown(setups=prepare))

ROLLBACK_DOC = """
### Roll the application back to SQLite

Every write made on MySQL since the switch (captured by triggers there) is applied to SQLite
first: catch-up while the application writes, a short MySQL write freeze, the rest, a check of
counts and of every changed row; then the switch actions point the application at SQLite and
SQLite accepts writes again. MySQL stays read-only as a guard. Before anything is applied,
`approve_rollback` waits in **Required Actions** with what will be returned (the writes made on
MySQL, per table) and the actions that point the application back; reject or no answer changes
nothing and fails the run.
"""

with DAG(
    dag_id="sqlite_to_mysql_rollback",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=TAGS,
    doc_md=ROLLBACK_DOC,
    params={"approvers": _approvers(), **_timing_params(60)},
) as rollback_dag:
    check = RollbackCheckOperator(task_id="check", pool=MYSQL_POOL)
    rollback_evidence = RollbackEvidenceOperator(task_id="rollback_evidence", pool=MYSQL_POOL)
    approve_rollback = ApprovalGateOperator(
        task_id="approve_rollback", subject="Roll the application back to SQLite",
        evidence=rollback_evidence.output, approvers="{{ params.approvers }}")
    rollback_task = RollbackOperator(task_id="rollback", pool=MYSQL_POOL)
    rollback_release = ReleaseOperator(task_id="release", pool=MYSQL_POOL)
    (check >> rollback_evidence >> approve_rollback >> rollback_task
     >> rollback_release.as_teardown(setups=check))

CLEANUP_DOC = """
### End the rollback window

Removes change capture (triggers and change logs) from SQLite and MySQL. After this, a rollback
can no longer bring MySQL's writes back. The read-only guard on the side the application left
stays unless **remove_guard** is set. Confirm with `CLEANUP <database>`.
"""

with DAG(
    dag_id="sqlite_to_mysql_cutover_cleanup",
    schedule=None,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=TAGS,
    doc_md=CLEANUP_DOC,
    params={"confirm": _confirm("CLEANUP", "remove change capture"),
            "remove_guard": optional(False, "Make the side the application left writable again.",
                                     type="boolean", title="Remove the read-only guard too")},
) as cleanup_dag:
    CleanupOperator(task_id="cleanup", pool=MYSQL_POOL)
