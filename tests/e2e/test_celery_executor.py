"""The scale-out path: the same migration with the CeleryExecutor, this machine's Redis as
broker and two Celery workers started here; the tasks spread over both and the result
verifies clean. The Celery result backend is a SQLite file in the test's AIRFLOW_HOME."""
from __future__ import annotations

import os
import re
import shutil
import uuid

import pytest

from tests.e2e.airflow_stack import DATASETS, MIGRATION_DAG, airflow_stack, connection_uri
from tests.e2e.migration_checks import source_counts, target_counts, verification_table

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
# A Redis database of its own: the keys this test's workers create are deleted afterwards.
REDIS_URL = os.environ.get("E2E_REDIS_URL", "redis://127.0.0.1:6379/15")
WORKERS = ("worker1", "worker2")


def tasks_run_by(worker_log: str) -> set[str]:
    """Task ids of the workloads a Celery worker received, from its own log."""
    return {m.group(1) for line in worker_log.splitlines() if "Executing workload in Celery" in line
            for m in [re.search(r"task_id='([^']+)'", line)] if m}


@pytest.fixture
def celery_queue():
    """A queue name of this test only, so no other worker on this Redis takes its tasks."""
    import redis

    queue = f"e2e-migration-{uuid.uuid4().hex[:8]}"
    yield queue
    broker = redis.Redis.from_url(REDIS_URL)
    keys = [key for key in broker.scan_iter() if queue.encode() in key or key.startswith(b"_kombu.")]
    if keys:
        broker.delete(*keys)
    broker.close()


def test_migration_spreads_over_two_celery_workers_and_verifies_clean(tmp_path, new_database, mysql_params,
                                                                      mysql_connect, celery_queue):
    queue = celery_queue
    source = tmp_path / "chinook.sqlite"
    shutil.copyfile(DATASETS / "chinook.sqlite", source)
    database = new_database("e2e_celery")
    env = {
        "AIRFLOW_CONN_SQLITE_SOURCE": connection_uri("sqlite", host=str(source)),
        "AIRFLOW_CONN_MYSQL_TARGET": connection_uri(
            "mysql", host=mysql_params["host"], port=mysql_params["port"], login=mysql_params["user"],
            password=mysql_params["passwd"], schema=database),
        "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
        "AIRFLOW__CELERY__RESULT_BACKEND": f"db+sqlite:///{tmp_path / 'celery-results.db'}",
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
    }
    with airflow_stack(tmp_path / "airflow", executor="CeleryExecutor", env=env) as stack:
        for name in WORKERS:
            stack.start(name, "celery", "worker", "--queues", queue, "--concurrency", "2",
                        "--celery-hostname", f"{name}@%h", "--skip-serve-logs")
        api = stack.start_core()
        api.post("/pools", {"name": "mysql_connections", "slots": 4})
        api.wait_for_dag(MIGRATION_DAG)
        api.unpause(MIGRATION_DAG)
        api.trigger(MIGRATION_DAG, {}, "e2e_celery")
        assert api.wait_for_run(MIGRATION_DAG, "e2e_celery") == "success"

        tis = api.task_instances(MIGRATION_DAG, "e2e_celery")
        ran = {task for task, ti in tis.items() if ti["state"] == "success"}
        by_worker = {name: tasks_run_by(stack.component_log(name)) for name in WORKERS}
        assert all(by_worker.values()), by_worker  # both workers took tasks
        assert by_worker["worker1"] | by_worker["worker2"] == ran
        assert {ti["queue"] for ti in tis.values()} == {queue}
        status, rows = verification_table(api.log(MIGRATION_DAG, "e2e_celery", "report", 1))

    expected = source_counts(source)
    assert status == "OK"
    assert {t: (int(r["source rows"]), int(r["target rows"])) for t, r in rows.items()} == \
        {t: (n, n) for t, n in expected.items()}
    conn = mysql_connect(database)
    try:
        counts = target_counts(conn, expected)
    finally:
        conn.close()  # its metadata locks would block dropping the database
    assert counts == {t: (n, n) for t, n in expected.items()}
