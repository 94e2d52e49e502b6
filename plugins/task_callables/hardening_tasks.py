"""Task callables of the mysql_hardening and mysql_health_monitor DAGs.

Thin glue: Airflow connections and Variables in, mysql_hardening (Airflow-free) does the work.
Every callable opens its own connection and closes it, so a retry starts clean.
"""
from __future__ import annotations

import contextlib
import logging
from datetime import date, datetime, timezone

from airflow.exceptions import AirflowNotFoundException
from airflow.sdk import BaseHook, Variable

from hooks.mysql_server_hook import MySqlServerHook
from mysql_common.errors import ConfigurationError, mysql_errno
from mysql_hardening import accounts, audit, incidents, index_plan, monitoring, partition_plan, server_settings
from task_callables.hardening_alerts import deliver

log = logging.getLogger(__name__)


def connection_or_none(conn_id: str):
    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None


def require_connection(conn_id: str, purpose: str):
    conn = connection_or_none(conn_id)
    if conn is None:
        raise ConfigurationError(f"connection '{conn_id}' is not defined: create a mysql connection "
                                 f"named {conn_id} ({purpose}); see docs/hardening.md")
    return conn


@contextlib.contextmanager
def mysql(conn_id: str, purpose: str, *, with_database: bool = True):
    require_connection(conn_id, purpose)
    conn = MySqlServerHook(conn_id).get_conn(with_database=with_database)
    try:
        yield conn
    finally:
        conn.close()


# --- mysql_hardening -------------------------------------------------------------------------

def check_server_settings(admin_conn_id: str) -> list[dict]:
    with mysql(admin_conn_id, "an administrative account", with_database=False) as conn:
        results = server_settings.check(conn)
    for r in results:
        if r.status in ("differs", "missing"):
            log.warning("setting %s: %s is %r, recommended %r - %s", r.name, r.variable, r.actual,
                        r.expected, r.why)
    return [r.as_dict() for r in results]


def _account(role: str, params: dict) -> accounts.Account:
    """The account of one role: login and password from its connection, host from its extra."""
    source = require_connection(params["role_connections"][role], f"login and password of the {role} account")
    host = source.extra_dejson.get("account_host", params["account_host"])
    return accounts.Account(source.login or "", host, source.password or "")


def _database(params: dict) -> str:
    target = require_connection(params["target_conn_id"], "the migration target, its schema names "
                                "the application database")
    if not target.schema:
        raise ConfigurationError(f"connection '{params['target_conn_id']}' has no schema: set it to "
                                 "the application database")
    return target.schema


def _admin_login(params: dict) -> str | None:
    return require_connection(params["admin_conn_id"], "an administrative account with CREATE USER "
                              "and GRANT OPTION").login


def plan_accounts(params: dict) -> dict:
    """Read every selected account and plan its convergence; changes nothing. Returns the steps
    as logs show them (no secrets): {"anonymous": [...], "accounts": {role: {"account", "steps"}}},
    what drop_anonymous_accounts and apply_account will do, and nothing else."""
    roles = [r for r in sorted(accounts.ROLE_CONNECTIONS) if r in params["roles"]]
    database, admin_login = _database(params), _admin_login(params)
    wanted = {role: _account(role, params) for role in roles}
    logins: dict[str, list[str]] = {}
    for role, account in wanted.items():
        logins.setdefault(account.user, []).append(role)
    shared = {user: rs for user, rs in logins.items() if len(rs) > 1}
    if shared:
        raise ConfigurationError(f"one login serves several jobs {shared}: each account has one template, "
                                 "give every job its own login")
    plans: dict = {"accounts": {}}
    with mysql(params["admin_conn_id"], "an administrative account", with_database=False) as conn:
        plans["anonymous"] = accounts.plan_anonymous(conn)
        if plans["anonymous"]:
            log.warning("anonymous accounts catch the logins of every account from their hosts: %s",
                        plans["anonymous"])
        for role, account in wanted.items():
            plan = accounts.plan_role(conn, role, account, database, admin_login=admin_login)
            log.info("%s: %s: %s", role, account.grantee, "; ".join(plan.shown) or "nothing to change")
            plans["accounts"][role] = {"account": account.grantee, "steps": plan.shown}
    return plans


def accounts_evidence(plans: dict) -> dict | None:
    """What the approver of the account changes reads: every planned step, per account, as the
    log shows it (hashes and names, never passwords); None when nothing would change."""
    changing = {role: p for role, p in plans["accounts"].items() if p["steps"]}
    if not changing and not plans["anonymous"]:
        return None
    rows = [[role, p["account"], n, step] for role, p in sorted(changing.items())
            for n, step in enumerate(p["steps"], 1)]
    unchanged = sorted(set(plans["accounts"]) - set(changing))
    return {"summary": "Converge the database accounts to their templates: each account's steps run all or "
                       "nothing, exactly as planned; an account changed since the plan is refused.",
            "figures": {"Accounts changed": len(changing), "Accounts already as planned": len(unchanged),
                        "Anonymous accounts dropped": len(plans["anonymous"])},
            "tables": [{"title": "Planned steps", "columns": ["job", "account", "step", "statement"], "rows": rows}],
            "actions": [f"drop anonymous account {a}" for a in plans["anonymous"]]
                       + [f"apply the {len(p['steps'])} step(s) of {p['account']}" for _r, p in sorted(changing.items())],
            "notes": [f"unchanged: {', '.join(unchanged)}"] if unchanged else []}


def drop_anonymous_accounts(params: dict, plans: dict) -> list[str]:
    with mysql(params["admin_conn_id"], "an administrative account", with_database=False) as conn:
        done = accounts.drop_anonymous(conn, planned=plans["anonymous"])
    for action in done:
        log.info("%s", action)
    return done


def apply_account(role: str, params: dict, plans: dict) -> list[str]:
    """Apply the plan made for this role, provided the account has not changed since."""
    account = _account(role, params)
    with mysql(params["admin_conn_id"], "an administrative account", with_database=False) as conn:
        actions = accounts.apply_role(conn, role, account, _database(params), admin_login=_admin_login(params),
                                      planned=plans["accounts"][role]["steps"])
    for action in actions:
        log.info("%s: %s", role, action)
    return actions


def enable_audit(admin_conn_id: str) -> dict:
    with mysql(admin_conn_id, "an administrative account", with_database=False) as conn:
        status = audit.enable(conn)
    (log.info if status.enabled else log.warning)("audit: %s", status.detail)
    return status.as_dict()


def plan_indexes(target_conn_id: str, apply: bool) -> dict:
    with mysql(target_conn_id, "the migration user, which owns the schema") as conn:
        cur = conn.cursor()
        database = MySqlServerHook(target_conn_id).database_name()
        decisions = index_plan.plan(cur, database)
        for d in decisions:
            log.info("index %s on %s: %s - %s%s", d.name, d.table, d.action, d.reason,
                     "".join(f"\n  note: {n}" for n in d.notes))
        touched = index_plan.apply(cur, decisions) if apply else []
        if not apply and any(d.action == "create" for d in decisions):
            log.warning("apply_schema_changes is off: nothing created; trigger with it on to apply")
    return {"decisions": [d.as_dict() for d in decisions], "changed_tables": touched}


def plan_partitions(target_conn_id: str, apply: bool) -> dict:
    with mysql(target_conn_id, "the migration user, which owns the schema") as conn:
        cur = conn.cursor()
        database = MySqlServerHook(target_conn_id).database_name()
        decisions = partition_plan.plan(cur, database, date.today())
        for d in decisions:
            log.info("partition %s by %s(%s): %s - %s%s", d.table, d.by, d.column, d.action,
                     "; ".join(d.reasons), "".join(f"\n  would allow it: {f}" for f in d.fixes))
        touched = partition_plan.apply(cur, decisions) if apply else []
    return {"decisions": [d.as_dict() for d in decisions], "changed_tables": touched}


def analyze_tables(target_conn_id: str, tables: list[str]) -> list[str]:
    if not tables:
        return []
    with mysql(target_conn_id, "the migration user") as conn:
        report = index_plan.analyze(conn.cursor(), tables)
    for line in report:
        log.info("%s", line)
    return report


def replication_source(conn_id: str):
    """The primary as the replica reaches it: host/port, replication login, `ssl` extra (CA, cert, key)."""
    import json

    from mysql_hardening.replica_seed import ReplicationSource

    link = require_connection(conn_id, "host and port of the primary as the replica reaches it, login of "
                              "an account with only REPLICATION SLAVE")
    ssl = link.extra_dejson.get("ssl") or {}
    if isinstance(ssl, str):
        ssl = json.loads(ssl) if ssl.strip() else {}
    return ReplicationSource(link.host or "", int(link.port or 3306), link.login or "", link.password or "",
                             ssl.get("ca"), ssl.get("cert"), ssl.get("key"))


def seed_replica(params: dict) -> dict:
    """Seed the replica from the latest full backup of the database the backup DAGs back up."""
    from hooks.backup_storage_hook import BackupStorageHook
    from mysql_hardening.replica_seed import seed_replica as seed
    from task_callables.backup_tasks import HookAccess, backup_conn_id, server_name

    replica_id = params["replica_conn_id"]
    require_connection(replica_id, "the replica server, with an account that can load the backup and run "
                       "CHANGE MASTER (docs/replica.md)")
    source = replication_source(params["replication_conn_id"])
    database = HookAccess(backup_conn_id()).database
    storage_hook = BackupStorageHook()
    backup_id = (params.get("replica_backup_id") or "latest").strip()
    report = seed(HookAccess(replica_id, database), source, storage_hook.get_storage(), storage_hook.get_key(),
                  server=server_name(), database=database, backup_id=None if backup_id == "latest" else backup_id,
                  reseed=bool(params.get("reseed_replica")))
    log.info("replica %s: %s (backup %s, start %s)", report.replica, report.action, report.backup_id,
             report.start)
    return report.as_dict()


# --- mysql_health_monitor --------------------------------------------------------------------

def state_key(conn_id: str) -> str:
    return f"mysql_health_state__{conn_id}"


def thresholds(params: dict) -> monitoring.Thresholds:
    names = monitoring.Thresholds.__dataclass_fields__
    return monitoring.Thresholds(**{k: v for k, v in params.items() if k in names})


MONITOR = "monitor"  # the incident key of the monitor itself


def check_health(params: dict) -> dict:
    """Run every check; a server at max_connections is itself the finding, not a task failure.
    Reaching the end means the monitor works: its own incident (MONITOR_FAILED) is resolved."""
    conn_id = params["monitor_conn_id"]
    th = thresholds(params)
    state = Variable.get(state_key(conn_id), default=None, deserialize_json=True) or incidents.empty()
    previous = state.get("samples", {})
    require_connection(conn_id, "login of the monitor account (include/sql/users/*/monitor.sql)")
    working = monitoring.CheckResult(MONITOR, "ok", "the monitor reached the server and ran its checks")
    try:
        conn = MySqlServerHook(conn_id).get_conn(with_database=False)
    except Exception as exc:
        if mysql_errno(exc) != 1040:
            raise
        return {"results": [monitoring.connections_refused(exc).as_dict(), working.as_dict()], "samples": previous}
    try:
        results, samples = monitoring.run_checks(conn, th, previous)
    finally:
        conn.close()
    for replica_id in params["replica_conn_ids"]:
        if connection_or_none(replica_id) is None:
            results.append(monitoring.CheckResult(
                f"replication:{replica_id}", "unavailable",
                f"connection '{replica_id}' is not defined: create it with the monitor login, "
                "pointing at the replica"))
            continue
        with mysql(replica_id, "the replica", with_database=False) as replica:
            results.append(monitoring.check_replica(replica, replica_id, th))
    for r in results:
        (log.warning if r.status == "alert" else log.info)("%s [%s] %s", r.key, r.status, r.summary)
    results.append(working)
    return {"results": [r.as_dict() for r in results], "samples": samples}


def raise_alerts(checked: dict, params: dict, context) -> dict:
    return publish_incidents(state_key(params["monitor_conn_id"]), checked["results"], params, context,
                             samples=checked["samples"])


def publish_incidents(key: str, results: list[dict], params: dict, context, samples: dict | None = None) -> dict:
    """Open/resolve incidents and deliver what is pending; state is saved after each delivery.
    Shared with mysql_query_insights (QUERY_REGRESSION), which keeps its own state key."""
    state = Variable.get(key, default=None, deserialize_json=True)
    state = incidents.update(state, results, datetime.now(timezone.utc))
    if samples is not None:
        state["samples"] = samples
    Variable.set(key, state, serialize_json=True)
    sent = []
    for notice in incidents.pending(state):
        deliver(notice, params, context)
        state = incidents.mark_delivered(state, notice)
        Variable.set(key, state, serialize_json=True)
        sent.append(f"{notice['kind']} {notice['code']} {notice['key']}")
    return {"open_incidents": sorted(state["incidents"]), "sent": sent}


def monitor_failed(context) -> None:
    """on_failure_callback of the monitor's tasks: the monitor itself failed (server down, bad
    credentials, a bug). That is one incident, MONITOR_FAILED, for as long as it lasts: opened
    (and sent) once, refreshed by each further failure, resolved by the next run that works."""
    params, ti = context["params"], context["ti"]
    key = state_key(params["monitor_conn_id"])
    failure = monitoring.CheckResult(MONITOR, "alert", f"task {ti.task_id} of {ti.dag_id} failed: "
                                     f"{context.get('exception')}", monitoring.MONITOR_FAILED)
    try:
        publish_incidents(key, [failure.as_dict()], params, context)
    except Exception as exc:  # a callback cannot retry; the notice stays pending, the red task visible
        log.error("could not send the monitor failure alert: %s", exc)
