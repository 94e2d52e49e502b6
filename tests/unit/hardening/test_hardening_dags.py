"""The hardening DAGs import with no connection defined and carry the design's defaults."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    for name in [k for k in os.environ if k.startswith("AIRFLOW_CONN_")]:
        del os.environ[name]
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(ROOT / "dags"))


def test_dags_import_without_connections(dagbag):
    errors = {path: err for path, err in dagbag.import_errors.items()
              if Path(path).name in ("mysql_health_monitor.py", "mysql_hardening.py")}
    assert errors == {}


def test_health_monitor_schedule_and_thresholds(dagbag):
    dag = dagbag.dags["mysql_health_monitor"]
    assert dag.max_active_runs == 1 and dag.tags and dag.default_args["owner"]
    params = dag.params.dump()
    assert params["connection_usage_pct"] == 80 and params["slow_query_seconds"] == 5
    assert params["disk_usage_pct"] == 90
    assert {t.task_id for t in dag.tasks} == {"check_health", "raise_alerts"}
    assert all(t.on_failure_callback for t in dag.tasks)


def test_hardening_dag_phases(dagbag):
    dag = dagbag.dags["mysql_hardening"]
    assert dag.params.dump()["apply_schema_changes"] is False  # plans are reports until asked
    analyze = dag.get_task("analyze_tables")
    assert {"plan_indexes", "plan_partitions"} <= analyze.upstream_task_ids
    assert "plan_indexes" in dag.get_task("plan_partitions").upstream_task_ids


def test_replica_seed_is_manual_only(dagbag):
    dag = dagbag.dags["mysql_hardening"]
    params = dag.params.dump()
    assert params["seed_replica"] is False and params["reseed_replica"] is False
    seed = dag.get_task("seed_replica")
    assert seed.retries == 0 and not seed.upstream_task_ids


def test_schema_plans_run_after_the_accounts_exist(dagbag):
    """plan_indexes and plan_partitions log in as the migration account: on a fresh server that
    account exists only once apply_account has run, so the first run must not race it."""
    dag = dagbag.dags["mysql_hardening"]
    for task_id in ("plan_indexes", "plan_partitions", "analyze_tables"):
        assert "apply_account" in dag.get_task(task_id).get_flat_relative_ids(upstream=True), task_id
