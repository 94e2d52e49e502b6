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
    "mysql_query_insights", "mysql_masked_copy",
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
                              "retry_policy_class": type(t.retry_policy).__name__,
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
            # One retry mechanism (dag_building/task_policy.py), for operators and @task callables alike.
            assert not task["retries"] or task["retry_policy_class"] == "RetryTransientOnly", \
                f"{dag_id}.{task_id} decides its retries another way"


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
            mysql_target=mysql, mysql_backup=mysql, mysql_monitor=mysql, mysql_admin=mysql, mysql_dev=mysql,
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


# For every DAG with a teardown: twins with the same task ids, edges, trigger rules and
# setup/teardown flags (which alone decide a run's state), whose tasks succeed or fail on
# demand, run through dag.test() as `airflow dags test` runs it (that command exits non-zero
# exactly when the run ends failed). The twins need no connection or server, so the rule is
# checked for every such DAG, including ones added later. dag.test() runs DAGs from the
# configured DAG folder, so the twins are written to one (TWIN_MODULE reads their shapes).
TWIN_MODULE = """
import json
from pathlib import Path
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from airflow.sdk.exceptions import AirflowFailException


def outcome(task_id, failing):
    def run():
        if task_id == failing:
            raise AirflowFailException(f"{task_id} fails on purpose")
    return run


for dag_id, shape in json.loads((Path(__file__).parent / "shapes.json").read_text()).items():
    for failing in [None] + [t for t, task in shape.items() if not task["teardown"]]:
        with DAG(dag_id=f"twin__{dag_id}__{failing or '-'}", schedule=None, catchup=False) as twin:
            tasks = {}
            for task_id, task in shape.items():
                tasks[task_id] = t = PythonOperator(task_id=task_id, python_callable=outcome(task_id, failing),
                                                    retries=0, trigger_rule=task["trigger_rule"])
                t.is_setup, t.is_teardown = task["setup"], task["teardown"]
                if task["teardown"]:
                    t.on_failure_fail_dagrun = task["fail_dagrun"]
            for task_id, task in shape.items():
                for upstream in task["upstream"]:
                    tasks[upstream] >> tasks[task_id]
        globals()[twin.dag_id] = twin
"""
TEARDOWN_RUNS = """
import json, sys
from pathlib import Path
from airflow.dag_processing.dagbag import DagBag

real, twins = DagBag(dag_folder=sys.argv[1]), Path(sys.argv[2])
shapes = {dag_id: {t.task_id: {"setup": t.is_setup, "teardown": t.is_teardown, "trigger_rule": getattr(t.trigger_rule, "value", t.trigger_rule),
                               "fail_dagrun": t.on_failure_fail_dagrun, "upstream": sorted(t.upstream_task_ids)}
                   for t in dag.tasks}
          for dag_id, dag in real.dags.items() if any(t.is_teardown for t in dag.tasks)}
(twins / "shapes.json").write_text(json.dumps(shapes))
bag = DagBag(dag_folder=str(twins))
assert not bag.import_errors, bag.import_errors
result = {dag_id: {} for dag_id in shapes}
for twin_id, twin in sorted(bag.dags.items()):
    _, dag_id, failing = twin_id.split("__")
    run = twin.test()
    result[dag_id][failing] = {"state": str(run.state),
                               "tasks": {ti.task_id: str(ti.state) for ti in run.get_task_instances()}}
print(json.dumps({"shapes": shapes, "runs": result}))
"""


@pytest.fixture(scope="module")
def teardown_runs(airflow_env, tmp_path_factory) -> dict:
    twins = tmp_path_factory.mktemp("twin_dags")
    (twins / "twins.py").write_text(TWIN_MODULE)
    env = {k: v for k, v in airflow_env.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(twins)
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", TEARDOWN_RUNS, str(ROOT / "dags"), str(twins)],
                         env=env, capture_output=True, text=True, cwd=ROOT, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_failed_task_fails_the_run_of_every_dag_with_a_teardown_and_the_teardown_still_runs(teardown_runs):
    """The trap of every cutover tool: the cleanup step deciding the run's state, so a failed
    switch looks green. Whichever task fails, the run ends failed (`airflow dags test` exits
    non-zero); every teardown whose setup succeeded still runs, and succeeds; and with nothing
    failing, the run succeeds (so the twins can tell the two apart)."""
    shapes, runs = teardown_runs["shapes"], teardown_runs["runs"]
    assert {"sqlite_to_mysql_cutover", "sqlite_to_mysql_rollback"} <= set(shapes)
    for dag_id, shape in shapes.items():
        failing_tasks = {t for t, task in shape.items() if not task["teardown"]}
        assert set(runs[dag_id]) == failing_tasks | {"-"}, (dag_id, sorted(runs[dag_id]))
        assert runs[dag_id]["-"]["state"] == "success", (dag_id, "nothing failed, yet:", runs[dag_id]["-"])
        for failing in failing_tasks:
            run = runs[dag_id][failing]
            assert run["tasks"][failing] == "failed", (dag_id, failing, run)
            assert run["state"] == "failed", f"{dag_id}: {failing} failed, but the run ended {run['state']}: {run}"
            for teardown, task in shape.items():
                setups = [u for u in task["upstream"] if shape[u]["setup"]]
                if task["teardown"] and (not setups or any(run["tasks"][s] == "success" for s in setups)):
                    assert run["tasks"][teardown] == "success", (dag_id, failing, teardown, run)


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
