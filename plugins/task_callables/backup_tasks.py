"""Task callables of the backup, restore, drill, verify and retention DAGs.

Thin glue: Airflow connections and Variables in, mysql_backup (Airflow-free) does the work.
Which server: the `mysql_backup` connection (a least-privilege backup account) when it is
defined, else `mysql_target`; its schema is the database backed up. Restores and drills
write through `mysql_restore` when defined (an account allowed to create scratch databases
and replay binlogs, see docs/backups.md), else `mysql_target`. The storage folder of a
server is named after the Variable `mysql_backup_server_name`, else after the backup
connection's host and port; backup and restore derive it from the same connection so they
always agree. Verify's findings become incidents through the health monitor's alerting.
"""
from __future__ import annotations

import contextlib
import logging
import re
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

from airflow.exceptions import AirflowNotFoundException
from airflow.sdk import BaseHook, Variable

from hooks.backup_storage_hook import BackupStorageHook
from hooks.mysql_server_hook import MySqlServerHook
from mysql_common.errors import ConfigurationError

log = logging.getLogger(__name__)

BACKUP_CONN = "mysql_backup"
TARGET_CONN = "mysql_target"
RESTORE_CONN = "mysql_restore"
SERVER_NAME = "mysql_backup_server_name"


class HookAccess:
    """mysql_backup.access.MySqlAccess over an Airflow mysql connection."""

    def __init__(self, conn_id: str, database: str | None = None):
        self.hook = MySqlServerHook(conn_id)
        conn = self.hook.airflow_connection()
        self.database = database or self.hook.database_name()
        self._where = f"{conn.login}@{conn.host}:{conn.port or 3306} (connection '{conn_id}')"

    def connect(self):
        return self.hook.get_conn(with_database=False)

    def option_file(self):
        return self.hook.client_option_file()

    def describe(self) -> str:
        return self._where


def _defined(conn_id: str) -> bool:
    try:
        BaseHook.get_connection(conn_id)
        return True
    except AirflowNotFoundException:
        return False


def backup_conn_id() -> str:
    """mysql_backup if defined (least privilege), else mysql_target."""
    return BACKUP_CONN if _defined(BACKUP_CONN) else TARGET_CONN


def restore_conn_id() -> str:
    return RESTORE_CONN if _defined(RESTORE_CONN) else TARGET_CONN


def server_name() -> str:
    configured = Variable.get(SERVER_NAME, default=None)
    if configured:
        return configured
    conn = BaseHook.get_connection(backup_conn_id())
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{conn.host or 'localhost'}-{conn.port or 3306}")


def check_configuration(*, need_secret: bool, need_target: bool = False) -> dict:
    """Every problem at once, each with what to configure; the first task of every DAG."""
    problems = []
    if not _defined(BACKUP_CONN) and not _defined(TARGET_CONN):
        problems.append(f"no MySQL connection: define '{BACKUP_CONN}' (the backup account) or "
                        f"'{TARGET_CONN}', with the application database as schema "
                        "(e.g. AIRFLOW_CONN_MYSQL_TARGET=mysql://user:pass@host:3306/shop)")
    elif not BaseHook.get_connection(backup_conn_id()).schema:
        problems.append(f"connection '{backup_conn_id()}' has no schema: set it to the database to back up")
    if need_target and not _defined(RESTORE_CONN) and not _defined(TARGET_CONN):
        problems.append(f"restores write through connection '{RESTORE_CONN}' (or '{TARGET_CONN}'): define it")
    key = None
    try:
        key = BackupStorageHook.get_key()
        if need_secret and not key.can_decrypt:
            problems.append("restoring needs the age secret key in Variable `mysql_backup_age_secret_key`")
    except ConfigurationError as exc:
        problems.append(exc.args[0])
    storage = None
    try:
        storage = BackupStorageHook().get_storage()
        problem = storage.problem()
        if problem:
            problems.append(f"backup storage {storage.description} unusable: {problem}")
    except Exception as exc:
        problems.append(f"backup storage unusable: {exc}")
    if problems:
        raise ConfigurationError("backups are not configured: " + " | ".join(problems))
    summary = {"connection": backup_conn_id(), "server": server_name(), "storage": storage.description,
               "recipients": key.recipients}
    log.info("backup configuration: %s", summary)
    return summary


@contextlib.contextmanager
def _context(*, restore: bool = False):
    hook = BackupStorageHook()
    storage = hook.get_storage()
    key = hook.get_key()
    source = HookAccess(backup_conn_id())
    yield {"storage": storage, "key": key, "server": server_name(), "source": source,
           "target": HookAccess(restore_conn_id(), source.database) if restore else None}


def full_backup(run_id: str) -> dict:
    from mysql_backup.full_backup import take_full_backup

    with _context() as c:
        manifest = take_full_backup(c["source"], c["storage"], c["key"], server=c["server"], run_id=run_id)
    return {"backup_id": manifest.backup_id, "database": manifest.database, "size": manifest.dump.size,
            "position": str(manifest.position) if manifest.position else None}


def ship_binlogs(*, required: bool) -> dict:
    """required=False (after a full backup): a server without binlog is a warning, not a failure."""
    from mysql_backup.binlog_ship import ship_binlogs as ship
    from mysql_backup.server import server_facts

    with _context() as c:
        if not required:
            conn = c["source"].connect()
            try:
                if not server_facts(conn).log_bin:
                    log.warning("the server has no binary log: nothing to ship, no point-in-time recovery")
                    return {"shipped": []}
            finally:
                conn.close()
        report = ship(c["source"], c["storage"], c["key"], server=c["server"])
    log.info("shipped %d binlog(s), %d already shipped", len(report.shipped), report.already_shipped)
    return {"shipped": report.shipped, "already_shipped": report.already_shipped}


DELETED = "deleted"


def apply_retention(*, keep_days: int, dry_run: bool, approved_deletions: list[str] | None = None) -> dict:
    """`approved_deletions`: what the approver was shown; a plan that would now delete anything
    else (the storage changed meanwhile) deletes nothing and fails."""
    from mysql_backup.retention import retention

    with _context() as c:
        if approved_deletions is not None and not dry_run:
            planned = _deletions(retention(c["storage"], c["server"], keep_days=keep_days, dry_run=True))
            unseen = sorted(set(planned) - set(approved_deletions))
            if unseen:
                raise ConfigurationError(f"retention would now delete {unseen}, which the approval did not show: "
                                         "nothing was deleted; trigger again to see the current plan")
        plan = retention(c["storage"], c["server"], keep_days=keep_days, dry_run=dry_run)
    return {"dry_run": dry_run, "delete_fulls": plan.delete_fulls, "delete_binlogs": plan.delete_binlogs,
            "delete_leftovers": plan.delete_leftovers, "keep_fulls": plan.keep_fulls}


def _name(key) -> str:
    return "/".join(map(str, key)) if isinstance(key, tuple) else str(key)


def _deletions(plan) -> list[str]:
    return [_name(k) for part in (plan.delete_fulls, plan.delete_binlogs, plan.delete_epochs, plan.delete_leftovers)
            for k in part]


def retention_evidence(*, keep_days: int) -> dict:
    """What the approver of a manual retention run reads: the dry run's plan, deleted and kept,
    each with why. The apply step deletes only what this showed (approved_deletions)."""
    from mysql_backup.retention import retention

    with _context() as c:
        plan = retention(c["storage"], c["server"], keep_days=keep_days, dry_run=True)
        server = c["server"]
    rows = [[kind, _name(k), outcome, why] for kind, part, outcome in (
        ("full backup", plan.delete_fulls, DELETED), ("binlog", plan.delete_binlogs, DELETED),
        ("binlog epoch", plan.delete_epochs, DELETED), ("leftover", plan.delete_leftovers, DELETED),
        ("full backup", plan.keep_fulls, "kept")) for k, why in sorted(part.items(), key=lambda i: _name(i[0]))]
    return {"summary": f"Apply the retention of {keep_days} days to the backups of {server}: what is marked "
                       f"{DELETED} is removed from storage for good.",
            "figures": {"Full backups deleted": len(plan.delete_fulls), "Binlogs deleted": len(plan.delete_binlogs),
                        "Leftovers deleted": len(plan.delete_leftovers), "Full backups kept": len(plan.keep_fulls)},
            "tables": [{"title": "Backups", "columns": ["kind", "object", "outcome", "why"], "rows": rows}],
            "actions": [f"delete the {len(_deletions(plan))} object(s) marked {DELETED}"],
            "notes": ["if the plan changed since (a backup finished or aged), the run deletes nothing and fails"]}


def shown_deletions(entry: dict) -> list[str]:
    """The objects an approval of retention_evidence showed as deleted."""
    return [row[1] for row in entry["evidence"]["tables"][0]["rows"] if row[2] == DELETED]


def restore(params: dict) -> dict:
    from mysql_backup.manifest import parse_point_in_time
    from mysql_backup.restore import restore_backup

    target = (params.get("target_database") or "").strip() or None
    confirm = (params.get("confirm_overwrite") or "").strip()
    if confirm and confirm != target:
        raise ConfigurationError(f"confirm_overwrite is {confirm!r} but target_database is {target!r}: "
                                 "type the target database's name exactly to overwrite it")
    backup_id = (params.get("backup_id") or "latest").strip()
    with _context(restore=True) as c:
        report = restore_backup(c["target"], c["storage"], c["key"], server=c["server"],
                                database=c["source"].database,
                                backup_id=None if backup_id == "latest" else backup_id,
                                target_time=parse_point_in_time(params.get("point_in_time")),
                                target_database=target, overwrite=bool(confirm))
    return report.to_dict()


def restore_evidence(params: dict) -> dict | None:
    """What the approver of a restore over an existing database reads: the backup and point in
    time chosen, and what the database holds now (all of it is replaced). None without
    confirm_overwrite: a new scratch database needs no approval."""
    from mysql_backup.catalog import load_catalog
    from mysql_backup.manifest import Layout, parse_point_in_time
    from mysql_backup.restore import choose_database, plan_for

    target = (params.get("confirm_overwrite") or "").strip()
    if not target:
        return None
    backup_id = (params.get("backup_id") or "latest").strip()
    with _context(restore=True) as c:
        catalog = load_catalog(c["storage"], Layout(c["server"]))
        plan = plan_for(catalog, choose_database(catalog, c["source"].database),
                        backup_id=None if backup_id == "latest" else backup_id,
                        target_time=parse_point_in_time(params.get("point_in_time")), stop_at=None)
        conn = c["target"].connect()
        try:
            cur = conn.cursor()
            cur.execute("SELECT TABLE_NAME, TABLE_ROWS, DATA_LENGTH + INDEX_LENGTH FROM information_schema.TABLES "
                        "WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME", (target,))
            tables = [[name, rows, int(size or 0)] for name, rows, size in cur.fetchall()]
        finally:
            conn.close()
    full = plan.full
    return {"summary": f"Replace database {target} with backup {full.backup_id} of {full.database}"
                       f"{' and ' + str(len(plan.binlogs)) + ' binlog(s)' if plan.binlogs else ''}: every table "
                       f"{target} holds now is dropped and loaded again from the backup.",
            "figures": {"Database overwritten": target, "Tables in it now": len(tables), "Backup": full.backup_id,
                        "Backup taken (UTC)": full.finished_at, "Restored data reaches": plan.reaches,
                        "Binlogs replayed": len(plan.binlogs)},
            "tables": [{"title": f"What {target} holds now (replaced)", "columns": ["table", "rows (estimate)",
                                                                                   "size"], "rows": tables}],
            "actions": [f"fetch and check backup {full.backup_id} and {len(plan.binlogs)} binlog(s)",
                        f"drop and load every table of {target} from the dump",
                        f"replay the binlogs up to {plan.reaches}"],
            "notes": ["refused if a session uses the database when the restore starts"]}


def drill() -> dict:
    from mysql_backup.drill import run_drill

    with _context(restore=True) as c:
        report = run_drill(c["target"], c["storage"], c["key"], server=c["server"], database=c["source"].database)
    return {"backup_id": report.backup_id, "rto_seconds": report.rto_seconds, "phases": report.phases,
            "tables_compared": report.tables_compared, "warnings": report.warnings}


def verify(params: dict) -> dict:
    """Collect every finding; raise_alerts turns them into incidents and the run's outcome."""
    from mysql_backup.binlog_ship import server_binlogs
    from mysql_backup.server import server_facts
    from mysql_backup.tools import detect_tools
    from mysql_backup.verify import Freshness, verify_backups

    freshness = Freshness(full_every=timedelta(hours=params["full_backup_every_hours"]),
                          binlog_every=timedelta(hours=params["binlog_backup_every_hours"]),
                          grace=timedelta(minutes=params["grace_minutes"]))
    with _context() as c, tempfile.TemporaryDirectory(prefix="backup-verify-") as tmp:
        deep_with = (c["key"], detect_tools("mariadb", ("zstd", "age"))) if params["deep"] else None
        identify, warnings = None, []
        try:
            conn = c["source"].connect()
            try:
                facts = server_facts(conn)
            finally:
                conn.close()
            if facts.log_bin:
                seen = server_binlogs(c["source"], Path(tmp), flush=False,
                                      tools=detect_tools(facts.flavor, ("binlog",)))
                identify = seen.identify
        except Exception as exc:  # the storage is what verify checks; the server comparison is extra
            warnings.append(f"the server's binlogs were not compared with the chain ({c['source'].describe()}: "
                            f"{exc})")
        report = verify_backups(c["storage"], c["server"], deep_with=deep_with, freshness=freshness,
                                identify=identify)
    report.warnings += warnings
    for warning in report.warnings:
        log.warning("%s", warning)
    for text in report.all_problems():
        log.error("%s", text)
    log.info("verified %d object(s), %d bytes: %d problem(s)", report.objects, report.bytes,
             len(report.all_problems()))
    return {"server": c["server"], "objects": report.objects, "bytes": report.bytes, "problems": report.problems,
            "warnings": report.warnings}


def raise_alerts(verified: dict, params: dict, context) -> dict:
    """One incident per failing check (code from mysql_backup.verify.CHECKS), opened when it
    starts and resolved when verify passes it again, through the health monitor's alerting;
    then the run fails if any check failed."""
    from mysql_backup.verify import CHECKS, VerifyFailed
    from mysql_hardening import incidents
    from task_callables.hardening_alerts import deliver

    server = verified["server"]
    key = f"mysql_backup_incidents__{server}"
    results = [{"key": f"backups:{server}:{check}", "code": code,
                "status": "alert" if verified["problems"][check] else "ok",
                "summary": " | ".join(verified["problems"][check])[:1000] or f"{check}: ok",
                "details": {"problems": verified["problems"][check][:20]}}
               for check, code in CHECKS.items()]
    state = incidents.update(Variable.get(key, default=None, deserialize_json=True), results,
                             datetime.now(timezone.utc))
    Variable.set(key, state, serialize_json=True)
    sent, undelivered = [], None
    for notice in incidents.pending(state):
        try:
            deliver(notice, params, context, server=f"backups of {server}")
        except Exception as exc:  # the findings below matter more; the notice stays pending
            undelivered = exc
            break
        state = incidents.mark_delivered(state, notice)
        Variable.set(key, state, serialize_json=True)
        sent.append(f"{notice['kind']} {notice['code']}")
    problems = [f"[{CHECKS[check]}] {text}" for check, texts in verified["problems"].items() for text in texts]
    if problems:
        raise VerifyFailed(f"{len(problems)} problem(s): " + " | ".join(problems)
                           + (f" (alert not sent: {undelivered})" if undelivered else ""))
    if undelivered:
        raise undelivered
    return {"open_incidents": sorted(state["incidents"]), "sent": sent}


def alert_on_failure(context) -> None:
    """on_failure_callback: one line an operator's log alerting can match (ALERT ...)."""
    ti = context.get("task_instance")
    log.error("ALERT mysql backups: %s.%s failed: %s", getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?"),
              context.get("exception"))
