"""Task callables of the mysql_query_insights DAG.

Thin glue: connections, Variables and the backup storage in, query_insights (Airflow-free) does
the work. The history lives in the backup storage under the server's folder (the name the backup
DAGs use), so it needs the same storage configuration as the backups; the index validation needs
what the restore drill needs (the age secret key and the restore connection).
"""
from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta, timezone

from airflow.exceptions import AirflowSkipException

from hooks.backup_storage_hook import BackupStorageHook
from hooks.mysql_server_hook import MySqlServerHook
from mysql_common.errors import ConfigurationError
from task_callables.hardening_tasks import connection_or_none, publish_incidents, require_connection
from query_insights import digest_history, digest_report, insights_run

log = logging.getLogger(__name__)


def state_key(conn_id: str) -> str:
    return f"mysql_query_insights_state__{conn_id}"


def thresholds(params: dict) -> digest_report.Thresholds:
    names = digest_report.Thresholds.__dataclass_fields__
    return digest_report.Thresholds(**{k: params[k] for k in names if k in params})


def _layout() -> tuple:
    from task_callables.backup_tasks import server_name

    return BackupStorageHook().get_storage(), digest_history.InsightsLayout(server_name())


@contextlib.contextmanager
def _performance_schema(params: dict):
    conn_id = params["monitor_conn_id"]
    require_connection(conn_id, "the monitor account (SELECT on performance_schema, include/sql/users/*/monitor.sql)")
    conn = MySqlServerHook(conn_id).get_conn(with_database=False)
    try:
        yield conn, f"the server of connection '{conn_id}'"
    finally:
        conn.close()


def explain_conn_id(params: dict) -> str:
    """A read-only account of the application database (mysql_reporting), else mysql_target."""
    wanted = params["explain_conn_id"]
    if connection_or_none(wanted) is not None:
        return wanted
    require_connection("mysql_target", f"connection '{wanted}' (a read-only account of the application "
                       "database) is not defined either: EXPLAIN and the schema are read through it")
    log.info("connection %s is not defined: plans are read through mysql_target", wanted)
    return "mysql_target"


def _schemas(params: dict, database: str | None) -> list[str] | None:
    return list(params.get("schemas") or []) or ([database] if database else None)


def snapshot(params: dict) -> dict:
    storage, layout = _layout()
    with _performance_schema(params) as (conn, where):
        summary = insights_run.snapshot(conn, storage, layout, where)
    for warning in summary["warnings"]:
        log.warning("%s", warning)
    log.info("snapshot stored under %s: %s", layout.root, {k: v for k, v in summary.items() if k != "warnings"})
    return summary


def record_baseline(params: dict) -> dict | None:
    storage, layout = _layout()
    database = MySqlServerHook(explain_conn_id(params)).database_name()
    meta = insights_run.baseline(storage, layout, datetime.now(timezone.utc), hours=params["baseline_hours"],
                                 on_demand=bool(params["record_baseline"]), schemas=_schemas(params, database),
                                 min_samples=params["min_samples"])
    if meta is None:
        _, meta = digest_history.load_baseline(storage, layout)
        log.info("baseline: %s", meta or f"none yet: recorded by itself once the history covers "
                 f"{params['baseline_hours']} h, or trigger with record_baseline")
    return meta


def raise_regressions(params: dict, context) -> dict:
    from airflow.sdk import Variable

    storage, layout = _layout()
    key = state_key(params["monitor_conn_id"])
    state = Variable.get(key, default=None, deserialize_json=True) or {}
    database = MySqlServerHook(explain_conn_id(params)).database_name()
    results = insights_run.evaluate(storage, layout, datetime.now(timezone.utc), hours=params["alert_window_hours"],
                                    th=thresholds(params), schemas=_schemas(params, database),
                                    open_keys=sorted(state.get("incidents", {})))
    for r in results:
        (log.warning if r["status"] == "alert" else log.info)("%s [%s] %s", r["key"], r["status"], r["summary"])
    return publish_incidents(key, results, params, context)


def _validation(params: dict, database: str):
    """The restore drill's configuration, or why there is none (then nothing is recommended)."""
    from task_callables.backup_tasks import HookAccess, check_configuration, restore_conn_id, server_name

    if not params["validate_indexes"]:
        return None, "Param validate_indexes is off"
    try:
        check_configuration(need_secret=True, need_target=True)
    except ConfigurationError as exc:
        return None, f"a scratch copy cannot be restored: {exc}"
    return insights_run.Validation(HookAccess(restore_conn_id(), database), BackupStorageHook.get_key(),
                                   server_name(), repeat=params["validation_repeat"],
                                   min_gain=params["min_gain"]), ""


def daily_report(params: dict) -> dict:
    """Yesterday's report (UTC), once, from the first run of the day; or the last 24 hours now."""
    storage, layout = _layout()
    now = datetime.now(timezone.utc)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if params["report_now"]:
        start, end = now - timedelta(hours=24), now
    else:
        first = digest_history.first_interval(storage, layout)
        if storage.stat(layout.report((today - timedelta(days=1)).date(), "json")) is not None:
            raise AirflowSkipException(f"the report of {(today - timedelta(days=1)).date()} exists; "
                                       "trigger with report_now for one of the last 24 hours")
        if first is None or first >= today:
            raise AirflowSkipException("the history does not reach back to yesterday yet")
        start, end = today - timedelta(days=1), today
    conn_id = explain_conn_id(params)
    database = MySqlServerHook(conn_id).database_name()
    validation, why_not = _validation(params, database)
    with _performance_schema(params) as (ps, where), contextlib.closing(MySqlServerHook(conn_id).get_conn()) as db:
        state = insights_run.digest_source.check_ready(ps, where)
        explainer = insights_run.Explainer(db, database).load()
        report = insights_run.daily_report(
            ps, explainer, storage, layout, start=start, end=end, th=thresholds(params),
            schemas=_schemas(params, database), top=params["top"], explain_top=params["explain_top"],
            max_candidates=params["max_candidates"], validation=validation, validation_off_reason=why_not,
            unused_min_days=params["unused_min_days"], uptime_seconds=state.uptime_seconds)
    removed = digest_history.prune(storage, layout, (now - timedelta(days=params["history_days"])).date())
    log.info("report of %s to %s stored under %s/reports/ (%d regression(s), %d index recommendation(s)); "
             "%d history file(s) older than %d days removed", start, end, layout.root, len(report["regressions"]),
             len(report["indexes"]["recommended"]), removed, params["history_days"])
    for line in digest_report.markdown(report).splitlines():
        log.info("%s", line)
    return {"regressions": len(report["regressions"]), "recommended": report["indexes"]["recommended"],
            "window": report["window"]}
