"""The nightly full backup as the scheduler runs it: unpaused, the DAG gets its scheduled run
from the scheduler itself (catchup off: the latest 02:00 UTC tick), and the backup's manifest,
written last, is in the storage with the objects it names."""
from __future__ import annotations

import hashlib
import json

import pytest
from pyrage import x25519

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
BACKUP_DAG = "mysql_full_backup"


def test_scheduler_runs_the_full_backup_and_its_manifest_is_in_storage(migration_stack, tmp_path):
    stack = migration_stack
    database, server_name = "e2e_backup", "e2e-primary"
    stack.mariadb.sql(f"CREATE DATABASE {database}")
    stack.mariadb.sql("CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(20))", database)
    stack.mariadb.sql("INSERT INTO orders VALUES (1, 'first'), (2, 'second')", database)
    storage = tmp_path / "backups"
    storage.mkdir()  # a configured backup directory must exist
    stack.api.set_connection("mysql_backup", "mysql", host="127.0.0.1", port=stack.mariadb.port, login="root",
                             schema=database)
    stack.api.set_variable("mysql_backup_location", str(storage))
    stack.api.set_variable("mysql_backup_age_secret_key", str(x25519.Identity.generate()))
    stack.api.set_variable("mysql_backup_server_name", server_name)
    stack.api.wait_for_dag(BACKUP_DAG)

    stack.api.unpause(BACKUP_DAG)
    run = stack.api.wait_for_scheduled_run(BACKUP_DAG)
    assert run["run_type"] == "scheduled" and run["dag_run_id"].startswith("scheduled__")
    try:
        assert stack.api.wait_for_run(BACKUP_DAG, run["dag_run_id"]) == "success"
    finally:
        stack.api.patch(f"/dags/{BACKUP_DAG}", {"is_paused": True})

    manifests = list((storage / server_name / "full").glob("*/manifest.json"))
    assert len(manifests) == 1
    manifest = json.loads(manifests[0].read_text())
    assert manifest["run_id"] == run["dag_run_id"] and manifest["database"] == database
    assert manifest["position"]["file"]  # the binlog position of the snapshot, for point-in-time recovery
    dump = [o for o in manifest["objects"] if o["key"].endswith(f"/{database}.sql.zst.age")]
    assert len(dump) == 1
    stored = (storage / dump[0]["key"]).read_bytes()
    assert len(stored) == dump[0]["size"] and hashlib.sha256(stored).hexdigest() == dump[0]["sha256"]
    assert stored.startswith(b"age-encryption.org/v1")  # never plaintext
