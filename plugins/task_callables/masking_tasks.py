"""Task callables of the mysql_masked_copy DAG.

Thin glue: Airflow connections and Variables in, data_masking (Airflow-free) does the work.

Where things are:
  source   the latest full backup, restored into the scratch database `mask_<backup id>` through
           `mysql_restore` (else `mysql_target`), like the restore drill; or, with Param
           source=replica, the database of the `mysql_replica` connection, read in place;
  dev      the `mysql_dev` connection: its server and schema receive the masked copy, built in
           `<schema>_mask_stage` and renamed into place once verified;
  key      Variable `mysql_masking_secret_key` (masked in logs: its name says secret);
  password Variable `mysql_masking_dev_password` (optional): staff accounts log in with it;
  parquet  Variable `mysql_masked_copy_parquet_location` (a directory or s3://bucket/prefix, the
           AWS connection of the backups), default $AIRFLOW_HOME/parquet-snapshots.
"""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from airflow.sdk import Variable

from hooks.backup_storage_hook import BackupStorageHook
from mysql_common.errors import ConfigurationError
from task_callables.backup_tasks import HookAccess, backup_conn_id, restore_conn_id
from task_callables.hardening_tasks import connection_or_none

log = logging.getLogger(__name__)

DEV_CONN = "mysql_dev"
REPLICA_CONN = "mysql_replica"
SECRET_KEY = "mysql_masking_secret_key"
DEV_PASSWORD = "mysql_masking_dev_password"
PARQUET_LOCATION = "mysql_masked_copy_parquet_location"


def _defined(conn_id: str) -> bool:
    return connection_or_none(conn_id) is not None


def access(conn_id: str, database: str | None = None) -> HookAccess:
    """A MySqlAccess whose Airflow connection is resolved now, so the copy's threads never ask Airflow."""
    resolved = HookAccess(conn_id, database)
    resolved.hook.connection = resolved.hook.airflow_connection()
    return resolved


def keyed():
    from airflow.sdk.log import mask_secret

    from data_masking.masking_strategies import Keyed

    secret = Variable.get(SECRET_KEY, default=None)
    if not secret:
        raise ConfigurationError(f"the masking key is missing: set Variable {SECRET_KEY} (at least 16 characters, "
                                 "e.g. `openssl rand -hex 32`)")
    mask_secret(secret)
    return Keyed(secret.strip())


def dev_password() -> str | None:
    from airflow.sdk.log import mask_secret

    value = Variable.get(DEV_PASSWORD, default=None)
    if value:
        mask_secret(value)
    return value or None


def production_database() -> str:
    return HookAccess(backup_conn_id()).database


def rules_file(params: dict, database: str) -> Path:
    from data_masking import RULES_DIR

    name = (params.get("rules") or "").strip()
    if name:
        path = Path(name)
        return path if path.is_absolute() else RULES_DIR / path
    return RULES_DIR / f"{database}.yaml"


def _server_identity(conn) -> tuple:
    cur = conn.cursor()
    cur.execute("SELECT @@hostname, @@port, @@datadir")
    return tuple(cur.fetchone())


def check_configuration(params: dict) -> dict:
    """Every problem at once, each with what to configure; nothing is written."""
    problems = []
    if not _defined(DEV_CONN):
        problems.append(f"connection '{DEV_CONN}' is not defined: a mysql connection to the development server "
                        "whose schema is the database to (re)create with the masked copy")
    elif not connection_or_none(DEV_CONN).schema:
        problems.append(f"connection '{DEV_CONN}' has no schema: set it to the development database")
    try:
        key = Variable.get(SECRET_KEY, default=None)
        if not key or len(key.strip()) < 16:
            problems.append(f"Variable {SECRET_KEY} is missing or shorter than 16 characters "
                            "(e.g. `openssl rand -hex 32`)")
    except Exception as exc:
        problems.append(str(exc))
    database = None
    if params["source"] == "replica":
        if not _defined(REPLICA_CONN):
            problems.append(f"source=replica needs connection '{REPLICA_CONN}' (its schema: the replicated database)")
        else:
            database = access(REPLICA_CONN).database
    else:
        from task_callables.backup_tasks import check_configuration as backups

        try:
            backups(need_secret=True, need_target=True)
            database = production_database()
        except ConfigurationError as exc:
            problems.append(exc.args[0])
    if database:
        path = rules_file(params, database)
        if not path.is_file():
            problems.append(f"no masking rules for database {database!r}: create {path} (docs/masking.md)")
    if not problems and database:
        dev = access(DEV_CONN)
        source_conn_id = REPLICA_CONN if params["source"] == "replica" else backup_conn_id()
        a, b = dev.connect(), access(source_conn_id).connect()
        try:
            same_server = _server_identity(a) == _server_identity(b)
        finally:
            a.close()
            b.close()
        if same_server and dev.database == database:
            problems.append(f"connection '{DEV_CONN}' points at the production database {database!r} itself: "
                            "the masked copy would replace it; use another database or server")
    if problems:
        raise ConfigurationError("the masked copy is not configured: " + " | ".join(problems))
    summary = {"source": params["source"], "database": database, "dev": access(DEV_CONN).describe(),
               "dev_database": access(DEV_CONN).database, "rules": str(rules_file(params, database))}
    log.info("masked copy configuration: %s", summary)
    return summary


def source_access(source: dict) -> HookAccess:
    conn_id = REPLICA_CONN if source["kind"] == "replica" else restore_conn_id()
    return access(conn_id, source["database"])


def restore_source(params: dict) -> dict:
    """The latest full backup restored into a scratch database (dump only), or the replica as it is."""
    if params["source"] == "replica":
        replica = access(REPLICA_CONN)
        return {"kind": "replica", "database": replica.database, "production_database": replica.database,
                "backup_id": None}
    from mysql_backup.catalog import load_catalog
    from mysql_backup.manifest import Layout
    from mysql_backup.restore import choose_database, drop_database, restore_backup
    from task_callables.backup_tasks import server_name

    storage_hook = BackupStorageHook()
    storage, key = storage_hook.get_storage(), storage_hook.get_key()
    database = production_database()
    catalog = load_catalog(storage, Layout(server_name()))
    database = choose_database(catalog, database)
    fulls = [f for f in catalog.fulls if f.database == database]
    if not fulls:
        raise ConfigurationError(f"no complete full backup of {database!r} to build the masked copy from: "
                                 "run mysql_full_backup first")
    backup_id = fulls[-1].backup_id
    scratch = f"mask_{backup_id.lower().replace('-', '_')}"[:64]
    target = access(restore_conn_id(), database)
    drop_database(target, scratch)  # left over by an interrupted run
    report = restore_backup(target, storage, key, server=server_name(), database=database, backup_id=backup_id,
                            target_database=scratch, dump_only=True)
    log.info("restored backup %s into the scratch database %s in %.1fs", backup_id, scratch, report.rto_seconds)
    return {"kind": "backup", "database": scratch, "production_database": database, "backup_id": backup_id,
            "restore_seconds": report.rto_seconds}


def _prepared(source: dict, params: dict):
    from data_masking.masking_pipeline import prepare

    conn = source_access(source).connect()
    try:
        return prepare(conn, source["database"], rules_file(params, source["production_database"]), keyed(),
                       dev_password=dev_password())
    finally:
        conn.close()


def check_coverage(source: dict, params: dict) -> dict:
    from data_masking.masking_pipeline import describe

    prepared = _prepared(source, params)
    tables = describe(prepared)
    for name, entry in tables.items():
        log.info("%s: %s%s", name, entry["action"], "".join(f"\n  {c}: {s}" for c, s in entry.get("masked", {}).items()))
    return {"source": source, "tables": tables, "stale_rules": prepared.coverage.stale, "not_copied": prepared.coverage.not_copied}


def mask_and_copy(source: dict, params: dict) -> dict:
    from data_masking.masking_pipeline import copy_to_stage

    prepared = _prepared(source, params)
    dev = access(DEV_CONN)
    return copy_to_stage(source_access(source), dev, source["database"], dev.database, prepared, keyed(),
                         workers=int(params["workers"]), batch_rows=int(params["batch_rows"]))


def verify_and_scan(source: dict, params: dict) -> dict:
    from data_masking.masking_pipeline import verify_and_scan as run

    prepared = _prepared(source, params)
    dev = access(DEV_CONN)
    verified, scanned = run(source_access(source), dev, source["database"], dev.database, prepared)
    return {"verify": verified, "scan": scanned}


def publish() -> dict:
    from data_masking.masking_pipeline import publish_stage

    dev = access(DEV_CONN)
    tables = publish_stage(dev, dev.database)
    log.info("published the masked copy as %s on %s (%d tables)", dev.database, dev.describe(), len(tables))
    return {"database": dev.database, "tables": len(tables)}


def parquet_storage():
    location = Variable.get(PARQUET_LOCATION, default=None) or os.path.join(
        os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "parquet-snapshots")
    return BackupStorageHook(location=location).get_storage()


def export_parquet(source: dict, run_id: str) -> dict:
    from data_masking import MaskingError
    from data_masking.parquet_snapshot import check_snapshot, export_snapshot

    dev = access(DEV_CONN)
    storage = parquet_storage()
    conn = dev.connect()
    try:
        manifest = export_snapshot(conn, dev.database, storage,
                                   source={"backup_id": source.get("backup_id"), "kind": source["kind"],
                                           "run_id": run_id})
        problems = check_snapshot(conn, dev.database, storage, manifest)
    finally:
        conn.close()
    if problems:
        raise MaskingError("the Parquet snapshot does not match the masked copy: " + "; ".join(problems))
    rows = sum(t["rows"] for t in manifest["tables"].values())
    log.info("Parquet snapshot %s of %s: %d tables, %d rows, in %s; counts and DECIMAL sums equal MySQL's",
             manifest["snapshot_id"], dev.database, len(manifest["tables"]), rows, storage.description)
    return {"snapshot_id": manifest["snapshot_id"], "location": storage.description, "tables": len(manifest["tables"]),
            "rows": rows}


def drop_scratch(source: dict | None) -> None:
    """Teardown: the scratch restore (never the replica) and any staging copy left by a failure."""
    from data_masking.masked_copy import stage_name
    from mysql_backup.restore import drop_database

    if source and source.get("kind") == "backup":
        drop_database(source_access(source), source["database"])
        log.info("dropped the scratch database %s", source["database"])
    if _defined(DEV_CONN):
        dev = access(DEV_CONN)
        conn = dev.connect()
        try:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS `{stage_name(dev.database)}`")
        finally:
            conn.close()


def write_report(run_id: str, parts: dict) -> str:
    """JSON and Markdown next to the other reports ($AIRFLOW_HOME/reports/<run id>/masked_copy.*)."""
    from sqlite_to_mysql.report import md_table, report_dir

    directory = report_dir(run_id)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "masked_copy.json").write_text(json.dumps(parts, indent=2, sort_keys=True, default=str) + "\n")
    coverage, copied = parts.get("coverage") or {}, parts.get("copy") or {}
    counts = (parts.get("checks") or {}).get("verify", {}).get("counts", {})
    rows = []
    for name, entry in sorted((coverage.get("tables") or {}).items()):
        source_rows, copy_rows = counts.get(name, ["", ""])
        rows.append([name, entry["action"], source_rows, copy_rows, ", ".join(
            f"{c}: {s}" for c, s in entry.get("masked", {}).items()) or "-", copied.get(name, {}).get("seconds", "")])
    scan = (parts.get("checks") or {}).get("scan", {})
    text = [f"# Masked copy {run_id}", "", f"Source: {parts.get('source')}", "",
            md_table(["table", "action", "source rows", "copy rows", "masked columns", "seconds"], rows), "",
            f"Leak scan: {scan.get('cells_scanned', '?')} cells against {scan.get('originals_hashed', '?')} keyed "
            f"hashes of originals, {scan.get('leak_count', '?')} leak(s).",
            f"Parquet: {parts.get('parquet')}"]
    (directory / "masked_copy.md").write_text("\n".join(text) + "\n")
    return str(directory)


def alert_on_failure(context) -> None:
    """on_failure_callback: the ALERT line, and the alert channels of the health monitor if configured
    (Param alert_email_to / connection mysql_alert_webhook); a leak is a security incident."""
    from task_callables.hardening_alerts import deliver

    exc = context.get("exception")
    ti = context.get("task_instance")
    log.error("ALERT mysql masked copy: %s.%s failed: %s", getattr(ti, "dag_id", "?"), getattr(ti, "task_id", "?"), exc)
    params = {"monitor_conn_id": DEV_CONN, "alert_email_to": context["params"].get("alert_email_to") or [],
              "smtp_conn_id": "smtp_default", "alert_webhook_conn_id": "mysql_alert_webhook",
              "alert_webhook_endpoint": ""}
    notice = {"kind": "opened", "key": f"masked_copy:{getattr(ti, 'task_id', '?')}",
              "code": getattr(exc, "code", "MASKED_COPY_FAILED"),
              "summary": f"{getattr(ti, 'dag_id', '?')}.{getattr(ti, 'task_id', '?')}: {exc}"[:500]}
    try:
        deliver(notice, params, context)
    except Exception as err:  # a callback cannot retry; the ALERT line above is already logged
        log.warning("masked copy alert not delivered: %s", err)
