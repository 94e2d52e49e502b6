"""mysql_hardening: set up and tune the target MySQL/MariaDB after the migration (manual trigger).

1. server settings compared with include/sql/server_recommendations.yaml (report only; this is
   where the my.cnf lines for performance_schema are given, which mysql_query_insights needs);
2. one least-privilege account per job from include/sql/users/<flavor>/<role>.sql, with login
   and password from that job's connection (mysql_target, mysql_app, mysql_reporting,
   mysql_backup, mysql_monitor): `plan_accounts` reads each account whole (roles, default role,
   every grant level, limits, plugin, other host entries) and logs its plan; when it changes
   anything, `approve_accounts` waits in Required Actions showing every planned step (reject or
   no answer changes nothing and fails the run); `apply_account` applies exactly that plan, all
   or nothing, sending password hashes, never passwords;
   anonymous accounts, which would catch those logins, are dropped first;
3. audit logging (MariaDB server_audit; reported as unavailable on MySQL Community);
4. the design's index plan and partition plan fitted to the live schema (include/sql/*_plan.yaml),
   each decision reported; applied only with apply_schema_changes, then ANALYZE TABLE;
5. encryption at rest: every unencrypted tablespace reported as a health finding; with the Param
   encrypt_existing_tables, the application's tables re-encrypted in place (docs/hardening.md);
6. only with the Param seed_replica: a read replica loaded from the latest full backup, replicating
   from the position the backup recorded (connections mysql_replica, mysql_replication;
   docs/replica.md).

A separate DAG rather than phases of the migration: it is re-run whenever a password rotates or
a template changes, and its schema changes belong in a maintenance window the DBA picks.

Configure: connection `mysql_admin` (CREATE USER, GRANT OPTION, SUPER/plugin install), the
migration target `mysql_target` (its schema is the application database) and one mysql
connection per account. See docs/hardening.md.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task, task_group

from mysql_hardening.accounts import ROLE_CONNECTIONS
from operators.approval_gate import ApprovalGateOperator, approved
from dag_building.dag_params import optional
from dag_building.task_policy import DEFAULT_ARGS, MYSQL_POOL


@dag(
    dag_id="mysql_hardening",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["mysql", "security", "optimization"],
    doc_md=__doc__,
    params={
        "admin_conn_id": optional("mysql_admin", "connection of an admin account (CREATE USER, GRANT OPTION) that "
                                                 "applies accounts, audit and schema changes", type="string"),
        "target_conn_id": optional("mysql_target", "connection whose schema is the application database",
                                   type="string"),
        "role_connections": optional(ROLE_CONNECTIONS, "account role -> connection holding its login and password",
                                     type="object"),
        "roles": optional(sorted(ROLE_CONNECTIONS), "accounts to create or correct", type="array"),
        "account_host": optional("%", "host part of the accounts (a connection's extra account_host wins), "
                                      "e.g. 10.0.%", type="string"),
        "approvers": optional("", "user ids (comma-separated) who may approve the account changes; empty = "
                                  "whoever the Variable approval_gate_approvers names, or anyone allowed on "
                                  "this DAG", type="string"),
        "enable_audit": optional(True, "turn on audit logging (MariaDB server_audit)", type="boolean"),
        "apply_schema_changes": optional(False, "create the planned indexes and partitions (off: plans are "
                                                "only reported)", type="boolean"),
        "seed_replica": optional(False, "seed the read replica from the latest full backup (docs/replica.md)",
                                 type="boolean"),
        "replica_conn_id": optional("mysql_replica", "connection of the replica to seed", type="string"),
        "replication_conn_id": optional("mysql_replication", "the primary as the replica reaches it, "
                                                             "replication login", type="string"),
        "replica_backup_id": optional("latest", "full backup the replica is seeded from", type="string"),
        "reseed_replica": optional(False, "stop replication, drop and reload the replica's database",
                                   type="boolean"),
        "encrypt_existing_tables": optional(False, "rebuild the application's unencrypted tables encrypted "
                                                   "(needs the server's encryption options)", type="boolean"),
        "encryption_key_id": Param(None, type=["null", "integer"],
                                   description="move tables to this key id (MariaDB key rotation); empty = keep "
                                               "their key. Default: empty."),
    },
)
def mysql_hardening():
    @task
    def check_server_settings() -> list:
        from task_callables.hardening_tasks import check_server_settings as run

        return run(get_current_context()["params"]["admin_conn_id"])

    @task(pool=MYSQL_POOL)
    def plan_accounts() -> dict:
        from task_callables.hardening_tasks import plan_accounts as run

        return run(get_current_context()["params"])

    @task
    def account_evidence(plans: dict) -> dict | None:
        from task_callables.hardening_tasks import accounts_evidence

        return accounts_evidence(plans)

    def require_approval(context) -> None:
        if context["ti"].xcom_pull(task_ids="account_evidence"):  # something changes
            approved(context, "approve_accounts")

    @task(pool=MYSQL_POOL)
    def drop_anonymous_accounts(plans: dict) -> list:
        from task_callables.hardening_tasks import drop_anonymous_accounts as run

        require_approval(get_current_context())
        return run(get_current_context()["params"], plans)

    @task(pool=MYSQL_POOL)
    def apply_account(role: str, plans: dict) -> list:
        from airflow.exceptions import AirflowSkipException

        from task_callables.hardening_tasks import apply_account as run

        if role not in plans["accounts"]:
            raise AirflowSkipException(f"role {role} not selected in Param roles")
        require_approval(get_current_context())
        return run(role, get_current_context()["params"], plans)

    @task
    def enable_audit() -> dict:
        from airflow.exceptions import AirflowSkipException

        from task_callables.hardening_tasks import enable_audit as run

        params = get_current_context()["params"]
        if not params["enable_audit"]:
            raise AirflowSkipException("Param enable_audit is off")
        return run(params["admin_conn_id"])

    @task(pool=MYSQL_POOL)
    def plan_indexes() -> dict:
        from task_callables.hardening_tasks import plan_indexes as run

        params = get_current_context()["params"]
        return run(params["target_conn_id"], params["apply_schema_changes"])

    @task(pool=MYSQL_POOL)
    def plan_partitions() -> dict:
        from task_callables.hardening_tasks import plan_partitions as run

        params = get_current_context()["params"]
        return run(params["target_conn_id"], params["apply_schema_changes"])

    @task(pool=MYSQL_POOL)
    def analyze_tables(indexes: dict, partitions: dict) -> list:
        from task_callables.hardening_tasks import analyze_tables as run

        tables = indexes["changed_tables"] + partitions["changed_tables"]
        return run(get_current_context()["params"]["target_conn_id"], tables)

    # A human watches a seed; a failed one is investigated (the log says how), not retried.
    @task(pool=MYSQL_POOL, retries=0, execution_timeout=timedelta(hours=12))
    def seed_replica() -> dict:
        from airflow.exceptions import AirflowSkipException

        from task_callables.hardening_tasks import seed_replica as run

        params = get_current_context()["params"]
        if not params["seed_replica"]:
            raise AirflowSkipException("Param seed_replica is off")
        return run(params)

    settings = check_server_settings()
    plans = plan_accounts()
    users = apply_account.partial(plans=plans).expand(role=sorted(ROLE_CONNECTIONS))
    evidence = account_evidence(plans)
    gate = ApprovalGateOperator(task_id="approve_accounts", subject="Change the database accounts",
                                evidence=evidence, approvers="{{ params.approvers }}",
                                ask="{{ ti.xcom_pull(task_ids='account_evidence') is not none }}")
    settings >> plans
    gate >> drop_anonymous_accounts(plans) >> users  # they would catch the accounts' logins
    users >> enable_audit.override(trigger_rule="none_failed")()
    # The plans log in as the migration account: on a fresh server it exists only after
    # apply_account (a role left out of Param roles is skipped, which does not block them).
    indexes = plan_indexes.override(trigger_rule="none_failed")()
    partitions = plan_partitions()
    users >> indexes
    indexes >> partitions  # both ALTER the same tables: one after the other
    analyze_tables(indexes, partitions)
    seed_replica()
    encryption_at_rest()


@task_group
def encryption_at_rest():
    @task
    def check() -> dict:
        from task_callables.encryption_tasks import check_encryption

        return check_encryption(get_current_context()["params"]["admin_conn_id"])

    @task(pool=MYSQL_POOL, execution_timeout=timedelta(hours=12))
    def encrypt_tables(checked: dict) -> dict:
        from airflow.exceptions import AirflowSkipException

        from task_callables.encryption_tasks import encrypt_tables as run

        params = get_current_context()["params"]
        if not params["encrypt_existing_tables"]:
            raise AirflowSkipException("Param encrypt_existing_tables is off")
        return run(params["target_conn_id"], params["admin_conn_id"], params["encryption_key_id"])

    encrypt_tables(check())


mysql_hardening()
