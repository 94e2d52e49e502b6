"""Airflow plugin: the "State of the data" page in the UI's navigation (an external view showing a
FastAPI app of the API server, mounted at /data-state/).

Access follows Airflow's auth: the page resolves the user exactly as the REST API does (JWT in
the Authorization header, or the UI's session cookie), so an anonymous request gets 401 and
nothing else; each section is shown only to a user allowed to read the runs of the DAGs that
produce it. The data comes from what the DAGs write (data_state.readers); Airflow's own run
records only turn a report directory into a link to the run that wrote it.
"""
from __future__ import annotations

import logging
from pathlib import Path

from airflow.plugins_manager import AirflowPlugin
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from airflow.api_fastapi.core_api.security import GetUserDep, get_auth_manager

log = logging.getLogger(__name__)
INCIDENT_STATE_PREFIXES = ("mysql_health_state__", "mysql_query_insights_state__")
BACKUP_DAGS = ("mysql_full_backup", "mysql_binlog_backup", "mysql_restore_drill")
APPROVAL_DAGS = ("sqlite_to_mysql_cutover", "sqlite_to_mysql_rollback", "mysql_restore", "mysql_backup_retention",
                 "mysql_hardening")

app = FastAPI(title="State of the data", docs_url=None, redoc_url=None, openapi_url=None)


def _allowed(user, dag_ids: tuple[str, ...]) -> bool:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    manager = get_auth_manager()
    return all(manager.is_authorized_dag(method="GET", access_entity=DagAccessEntity.RUN,
                                         details=DagDetails(id=dag_id), user=user) for dag_id in dag_ids)


def _run_lookup():
    """report directory name -> (dag_id, run_id) of the run that wrote it, from Airflow's runs."""
    from sqlalchemy import select

    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from data_state.readers import CUTOVER_DAGS, MIGRATION_DAGS
    from sqlite_to_mysql.report import report_dir

    dags = (*MIGRATION_DAGS, *CUTOVER_DAGS, *APPROVAL_DAGS)
    by_dir: dict[str, list[tuple[str, str]]] = {}
    with create_session() as session:
        for dag_id, run_id in session.execute(select(DagRun.dag_id, DagRun.run_id).where(DagRun.dag_id.in_(dags))):
            by_dir.setdefault(report_dir(run_id).name, []).append((dag_id, run_id))

    def lookup(directory: str, wanted: tuple[str, ...]):
        found = [run for run in by_dir.get(directory, []) if run[0] in wanted]
        return min(found, key=lambda r: wanted.index(r[0])) if found else None

    return lookup


def _incident_states() -> dict[str, dict]:
    from sqlalchemy import or_, select

    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    with create_session() as session:
        keys = session.scalars(select(Variable.key).where(
            or_(*(Variable.key.startswith(p) for p in INCIDENT_STATE_PREFIXES)))).all()
    return {key: Variable.get(key, deserialize_json=True) for key in keys}


def _storage(problems: list[str]):
    """The backup storage the DAGs use; None when none was ever written (a fresh install)."""
    try:
        from hooks.backup_storage_hook import BackupStorageHook

        hook = BackupStorageHook()
        if "://" not in hook.location and not Path(hook.location).exists():
            return None
        return hook.get_storage()
    except Exception as exc:
        problems.append(f"backup storage unusable: {exc}")
        return None


@app.get("/", response_class=HTMLResponse)
def data_state(user: GetUserDep) -> HTMLResponse:
    from data_state import page, readers
    from sqlite_to_mysql.report import report_dir

    root = report_dir("_").parent
    runs = _run_lookup()
    sections: dict = {}
    if _allowed(user, readers.MIGRATION_DAGS):
        sections["migrations"] = readers.migration_runs(root, runs)
    if _allowed(user, readers.CUTOVER_DAGS):
        sections["cutovers"] = readers.cutover_runs(root, runs)
    if _allowed(user, APPROVAL_DAGS):
        shown = {item["dir"] for item in sections.get("cutovers", readers.Section()).items}
        sections["approvals"] = readers.approvals_without_report(root, shown, runs)
    if _allowed(user, BACKUP_DAGS):
        problems: list[str] = []
        storage = _storage(problems)
        sections["backups"] = readers.backups(storage)
        sections["backups"].problems += problems
        if _allowed(user, ("mysql_query_insights",)):
            sections["queries"] = readers.query_p95(storage, readers.servers(storage) if storage else [])
    if _allowed(user, ("mysql_health_monitor",)):
        sections["incidents"] = readers.incidents(_incident_states())
    return HTMLResponse(page.render(user=user.get_name(), sections=sections),
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                 # no script at all; shown only inside Airflow's own UI
                                 "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                            "frame-ancestors 'self'"})


class DataStatePlugin(AirflowPlugin):
    name = "data_state"
    fastapi_apps = [{"app": app, "url_prefix": "/data-state", "name": "State of the data"}]
    external_views = [{"name": "State of the data", "href": "/data-state/", "url_route": "data-state",
                       "destination": "nav", "category": "browse"}]
