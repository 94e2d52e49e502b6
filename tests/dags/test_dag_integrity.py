"""Every DAG file in dags/ loads the way the dag-processor loads it (DagBag, this checkout's
plugins, a fresh AIRFLOW_HOME): without import errors on a fresh install that has no
connections or variables, and without touching any server while it is parsed.

DagBag turns a file that takes longer than [core] dagbag_import_timeout (30 s) into an import
error, so a file doing heavy work at import fails here too, without a timing threshold of our own.
"""
from __future__ import annotations

import json
import shutil
import socket
import subprocess

import pytest

from tests.support.paths import DATASETS, ROOT

pytestmark = pytest.mark.airflow

REQUIRED_DAGS = {
    "sqlite_to_mysql_migration", "sqlite_to_mysql_cutover", "sqlite_to_mysql_rollback",
    "sqlite_to_mysql_cutover_cleanup", "mysql_full_backup", "mysql_binlog_backup", "mysql_backup_retention",
    "mysql_backup_verify", "sqlite_to_mysql_verify", "mysql_restore", "mysql_restore_drill", "mysql_hardening", "mysql_health_monitor",
    "mysql_query_insights",
}
# Required DAG ids whose files are still being written; an id leaves this set with its file.
PENDING_DAGS: set[str] = set()

PARSE = """
import json, sys
from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "import_errors": bag.import_errors,
    "files": {stat.file: stat.dag_num for stat in bag.dagbag_stats},
    "dags": {dag_id: {
        "file": dag.fileloc, "tags": sorted(dag.tags), "default_args": sorted(dag.default_args),
        "params": {name: dag.params.get_param(name).dump() for name in dag.params},
        "tasks": {t.task_id: {"owner": t.owner, "retries": t.retries,
                              "retry_policy": t.retry_policy is not None,
                              "upstream": sorted(t.upstream_task_ids)} for t in dag.tasks},
    } for dag_id, dag in bag.dags.items()},
}))
"""


def parse_dags(airflow_env: dict, **connections: str) -> dict:
    env = {k: v for k, v in airflow_env.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env.update({f"AIRFLOW_CONN_{name.upper()}": uri for name, uri in connections.items()})
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", PARSE, str(ROOT / "dags")], env=env,
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def fresh_install(airflow_env) -> dict:
    return parse_dags(airflow_env)


def test_every_dag_file_loads_without_connections_or_variables(fresh_install):
    assert fresh_install["import_errors"] == {}
    files = {path.split("/")[-1]: n for path, n in fresh_install["files"].items()}
    assert sorted(files) == sorted(p.name for p in (ROOT / "dags").glob("*.py"))
    assert all(n >= 1 for n in files.values()), files


def test_required_dags_exist(fresh_install):
    present = set(fresh_install["dags"])
    missing = REQUIRED_DAGS - PENDING_DAGS - present
    assert not missing, f"required DAGs missing: {sorted(missing)}"
    assert not PENDING_DAGS & present, "a pending DAG exists now: remove it from PENDING_DAGS"


def test_every_dag_has_tags_an_owner_and_a_retry_policy(fresh_install):
    for dag_id, dag in fresh_install["dags"].items():
        assert dag["tags"], f"{dag_id} has no tags"
        assert {"owner", "retries"} <= set(dag["default_args"]), f"{dag_id}: owner and retries not decided"
        for task_id, task in dag["tasks"].items():
            assert task["owner"] not in ("", "airflow"), f"{dag_id}.{task_id} has no owner of its own"
            # Permanent errors must not be retried: every retried task decides through the policy.
            assert not task["retries"] or task["retry_policy"], f"{dag_id}.{task_id} retries blindly"


def test_migration_dag_without_a_source_still_loads_its_fixed_tasks(fresh_install):
    tasks = fresh_install["dags"]["sqlite_to_mysql_migration"]["tasks"]
    assert {"preflight", "stop_if_dry_run", "setup_target", "finalize", "report"} <= set(tasks)
    assert not [t for t in tasks if t.endswith((".copy", ".verify"))]


def test_parsing_reads_the_sqlite_schema_but_never_connects_to_a_server(airflow_env, tmp_path):
    source = tmp_path / "chinook.sqlite"
    shutil.copyfile(DATASETS / "chinook.sqlite", source)
    with socket.socket() as trap:  # every server connection of every DAG points here
        trap.bind(("127.0.0.1", 0))
        trap.listen(16)
        host, port = trap.getsockname()
        mysql = json.dumps({"conn_type": "mysql", "host": host, "port": port, "login": "x", "schema": "x"})
        parsed = parse_dags(
            airflow_env, sqlite_source=json.dumps({"conn_type": "sqlite", "host": str(source)}),
            mysql_target=mysql, mysql_backup=mysql, mysql_monitor=mysql, mysql_admin=mysql,
            aws_default=json.dumps({"conn_type": "aws", "extra": {"endpoint_url": f"http://{host}:{port}"}}))
        trap.setblocking(False)
        with pytest.raises(BlockingIOError):
            trap.accept()
    assert parsed["import_errors"] == {}
    tasks = parsed["dags"]["sqlite_to_mysql_migration"]["tasks"]
    assert {t.split(".")[0] for t in tasks if t.endswith(".copy")} == {
        "Album", "Artist", "Customer", "Employee", "Genre", "Invoice", "InvoiceLine", "MediaType", "Playlist",
        "PlaylistTrack", "Track"}
    # Foreign keys become edges: a child table is copied after its parents.
    assert {"Album.copy", "MediaType.copy", "Genre.copy"} <= set(tasks["Track.copy"]["upstream"])
    assert {"Invoice.copy", "Track.copy"} <= set(tasks["InvoiceLine.copy"]["upstream"])


def shown_as_required(schema: dict) -> bool:
    """Airflow 3.3's trigger form (ui/dist, the flexible form's required check): a field is
    required when its schema has a type that does not admit null, whatever its default."""
    kind = schema.get("type")
    return bool(kind) and (not isinstance(kind, list) or "null" not in kind)


def test_trigger_forms_mark_no_field_with_a_default_as_required(fresh_install):
    wrong = [f"{dag_id}.{name}" for dag_id, dag in fresh_install["dags"].items()
             for name, param in dag["params"].items()
             if param["value"] is not None and shown_as_required(param["schema"])]
    assert not wrong, f"fields with a default shown as required in the trigger form: {wrong}"


def test_every_trigger_form_field_says_its_default_and_its_effect(fresh_install):
    for dag_id, dag in fresh_install["dags"].items():
        for name, param in dag["params"].items():
            description = param["description"] or ""
            assert "Default: " in description, f"{dag_id}.{name}: the description does not say its default"
            assert len(description.split("Default: ")[0].strip()) > 10, f"{dag_id}.{name}: no effect described"
