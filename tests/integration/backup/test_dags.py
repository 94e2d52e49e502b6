"""The backup DAGs under Airflow itself: they import with nothing configured, tell the
operator what to configure, and run end to end through `airflow dags test`."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from mysql_backup.catalog import load_catalog
from mysql_backup.manifest import Layout
from mysql_backup.storage import LocalStorage
from tests.support.hitl import dags_test

ROOT = Path(__file__).resolve().parents[3]

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

BACKUP_DAGS = ["mysql_full_backup", "mysql_binlog_backup", "mysql_backup_retention", "mysql_restore",
               "mysql_restore_drill", "mysql_backup_verify"]

INSPECT = """
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder="{folder}")
out = {{"errors": {{k: v[:300] for k, v in bag.import_errors.items()}}, "dags": {{}}}}
for dag_id in {dags!r}:
    dag = bag.get_dag(dag_id)
    out["dags"][dag_id] = None if dag is None else {{
        "tags": sorted(dag.tags), "first": [t.task_id for t in dag.tasks if not t.upstream_task_ids],
        "tasks": {{t.task_id: {{"owner": t.owner, "retries": t.retries, "pool": t.pool}} for t in dag.tasks}}}}
print("JSON" + json.dumps(out))
"""


def airflow(env: dict, *args: str, extra: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv/bin/airflow"), *args], env={**env, **(extra or {})},
                          capture_output=True, text=True, timeout=600)


def test_dags_import_with_nothing_configured(airflow_env):
    env = {k: v for k, v in airflow_env.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    script = INSPECT.format(folder=ROOT / "dags", dags=BACKUP_DAGS)
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", script], env=env, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    info = json.loads(out.split("JSON", 1)[1])
    assert not {k: v for k, v in info["errors"].items() if "backup" in k or "restore" in k}
    for dag_id, dag in info["dags"].items():
        assert dag is not None, dag_id
        assert "backup" in dag["tags"] and dag["first"] == ["check_configuration"]
        for task_id, task in dag["tasks"].items():
            assert task["owner"] == "dba"
            # Tasks holding MySQL sessions share the pool; storage-only tasks do not need it.
            assert (task["pool"] == "mysql_connections") == (task_id in {
                "full_backup", "ship_binlogs", "restore", "restore_and_compare", "verify", "overwrite_evidence"}), \
                (dag_id, task_id)


@pytest.fixture
def dag_env(airflow_env, source, age_identity, tmp_path):
    location = tmp_path / "backups"
    location.mkdir()  # a configured directory must exist: a typo never starts an empty backup set
    return {"AIRFLOW_CONN_MYSQL_TARGET": f"mysql://root@127.0.0.1:{source.server.port}/shop",
            "AIRFLOW_VAR_MYSQL_BACKUP_LOCATION": str(location),
            "AIRFLOW_VAR_MYSQL_BACKUP_AGE_SECRET_KEY": age_identity,
            "AIRFLOW_VAR_MYSQL_BACKUP_SERVER_NAME": "shopdb"}, LocalStorage(location)


def test_unconfigured_full_backup_fails_first_task_with_what_to_configure(airflow_env):
    env = {k: v for k, v in airflow_env.items() if not k.startswith(("AIRFLOW_CONN_", "AIRFLOW_VAR_"))}
    run = airflow(env, "dags", "test", "mysql_full_backup")
    log = run.stdout + run.stderr
    assert "backups are not configured" in log
    assert "define 'mysql_backup' (the backup account) or 'mysql_target'" in log
    assert "mysql_backup_age_secret_key" in log
    assert "Returned value was: {'backup_id'" not in log  # the backup task never ran


@pytest.mark.slow
def test_full_backup_binlog_restore_and_drill_dags(airflow_env, dag_env, source, age_identity, scratch_cleanup):
    extra, storage = dag_env
    source.sql("CREATE TABLE orders (id int PRIMARY KEY, total decimal(10,2))")
    source.sql("INSERT INTO orders SELECT seq, seq / 4 FROM seq_1_to_500")

    run = airflow(airflow_env, "dags", "test", "mysql_full_backup", extra=extra)
    assert "state=success" in run.stdout + run.stderr, (run.stdout + run.stderr)[-3000:]
    catalog = load_catalog(storage, Layout("shopdb"))
    assert len(catalog.fulls) == 1 and catalog.fulls[0].database == "shop"
    assert catalog.fulls[0].position.file in {m.name for m in catalog.binlogs()}  # shipped with the backup
    secret = next(line for line in age_identity.splitlines() if line.startswith("AGE-SECRET-KEY-"))
    assert secret not in run.stdout + run.stderr

    source.sql("INSERT INTO orders VALUES (501, 1.00)")
    run = airflow(airflow_env, "dags", "test", "mysql_binlog_backup", extra=extra)
    assert "state=success" in run.stdout + run.stderr

    scratch_cleanup.append("shop_copy")
    conf = json.dumps({"target_database": "shop_copy", "point_in_time": "latest"})
    run = airflow(airflow_env, "dags", "test", "mysql_restore", "--conf", conf, extra=extra)
    assert "state=success" in run.stdout + run.stderr, (run.stdout + run.stderr)[-3000:]
    assert source.scalar("SELECT COUNT(*) FROM orders", "shop_copy") == 501
    assert "rto_seconds" in run.stdout + run.stderr

    # Over an existing database: only with an approval that shows what is replaced.
    source.sql("INSERT INTO orders VALUES (9001, 9.00)", "shop_copy")
    conf = {"target_database": "shop_copy", "confirm_overwrite": "shop_copy"}
    rejected = dags_test("mysql_restore", conf, {**airflow_env, **extra}, [("approve_overwrite", "Reject")])
    log = rejected.stdout + rejected.stderr
    assert rejected.returncode != 0 and "nothing was changed; restore not run" in log, log[-3000:]
    assert source.scalar("SELECT COUNT(*) FROM orders", "shop_copy") == 502  # untouched
    approved = dags_test("mysql_restore", conf, {**airflow_env, **extra}, [("approve_overwrite", "Approve")])
    log = approved.stdout + approved.stderr
    assert approved.returncode == 0, log[-3000:]
    assert source.scalar("SELECT COUNT(*) FROM orders", "shop_copy") == 501
    assert "| orders |" in log and "Database overwritten" in log  # what the approver read

    run = airflow(airflow_env, "dags", "test", "mysql_restore_drill", extra=extra)
    assert "state=success" in run.stdout + run.stderr, (run.stdout + run.stderr)[-3000:]
    assert len(storage.list("shopdb/drills/")) == 1

    # Retention started by hand that would delete: the plan is shown first; rejected, nothing goes.
    objects = sorted(info.key for info in storage.list("shopdb/"))
    rejected = dags_test("mysql_backup_retention", {"dry_run": False, "retention_days": 1}, {**airflow_env, **extra},
                         [("approve_deletion", "Reject")])
    log = rejected.stdout + rejected.stderr
    assert rejected.returncode != 0 and "nothing was changed; apply_retention not run" in log, log[-3000:]
    assert "Full backups kept" in log and sorted(info.key for info in storage.list("shopdb/")) == objects
