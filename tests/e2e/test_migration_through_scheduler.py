"""The migration DAG run the way operators run it: triggered through the REST API, scheduled by
the real scheduler, executed by the LocalExecutor in task subprocesses, faults injected into
the real MySQL target, failed tasks cleared through the API, results read from the task logs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.airflow_stack import BIG_TABLE, BIG_TABLE_ROWS, MIGRATION_DAG
from tests.e2e.migration_checks import (TableLock, kill_copy_session, source_counts, target_counts,
                                        verification_table)

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
DAG = MIGRATION_DAG


def assert_verified_clean(stack, run_id: str, database: str, tables: list[str]) -> dict[str, dict]:
    """The report task's log says OK for every table, and MySQL agrees with SQLite row for row."""
    report = stack.api.task_instances(DAG, run_id)["report"]
    status, rows = verification_table(stack.api.log(DAG, run_id, "report", report["try_number"]))
    expected = source_counts(stack.source)
    assert status == "OK"
    assert sorted(rows) == sorted(tables)
    for table in tables:
        assert rows[table]["source rows"] == rows[table]["target rows"] == str(expected[table]), rows[table]
        assert rows[table]["checksum"] == rows[table]["result"] == "OK", rows[table]
    conn = stack.mariadb.connect(database)
    try:
        counts = target_counts(conn, tables)
    finally:
        conn.close()
    assert counts == {t: (expected[t], expected[t]) for t in tables}
    return rows


def test_triggered_run_copies_every_table_and_reports_through_the_api(migration_stack):
    stack = migration_stack
    stack.target("e2e_happy")
    run_id = "e2e_happy"
    stack.api.trigger(DAG, {"exclude_tables": [BIG_TABLE], "batch_size": 500}, run_id)

    assert stack.api.wait_for_run(DAG, run_id) == "success"
    states = stack.api.states(DAG, run_id)
    tables = [t for t in source_counts(stack.source) if t != BIG_TABLE]
    assert {states[f"{t}.copy"] for t in tables} == {states[f"{t}.verify"] for t in tables} == {"success"}
    assert states[f"{BIG_TABLE}.copy"] == states[f"{BIG_TABLE}.verify"] == "skipped"  # the conf took effect
    assert_verified_clean(stack, run_id, "e2e_happy", tables)
    result = stack.api.xcom(DAG, run_id, "report")
    assert result["status"] == "OK"
    files = json.loads((Path(result["report_dir"]) / "verification.json").read_text())
    assert files["status"] == "OK" and {t["table"] for t in files["tables"]} == set(tables)


def test_failed_table_task_is_cleared_alone_and_the_run_completes(migration_stack):
    stack = migration_stack
    database, victim = "e2e_clear", "InvoiceLine"
    stack.target(database)
    run_id = "e2e_clear"
    with TableLock(stack.mariadb, database, victim) as lock:
        stack.api.trigger(DAG, {"exclude_tables": [BIG_TABLE]}, run_id)
        assert lock.acquired.wait(300) and lock.error is None, lock.error
        assert stack.api.wait_for_run(DAG, run_id) == "failed"
        failed = stack.api.task_instances(DAG, run_id)
    # The fault is gone once the other session has unlocked the table.
    copy = failed[f"{victim}.copy"]
    assert {t for t, ti in failed.items() if ti["state"] == "failed"} == {f"{victim}.copy"}
    assert copy["try_number"] == copy["max_tries"] + 1 == 4  # retried as transient, then given up
    assert "Lock wait timeout" in stack.api.log(DAG, run_id, f"{victim}.copy", copy["try_number"])
    others = {t: ti for t, ti in failed.items() if t.endswith(".copy") and t != f"{victim}.copy"
              and not t.startswith(BIG_TABLE)}
    assert {ti["state"] for ti in others.values()} == {"success"}

    cleared = stack.api.clear(DAG, run_id, [f"{victim}.copy"])
    assert {f"{victim}.copy", f"{victim}.verify", "report"} <= set(cleared)
    assert not set(cleared) & set(others)  # the tables that were copied are not copied again
    assert stack.api.wait_for_run(DAG, run_id) == "success"
    after = stack.api.task_instances(DAG, run_id)
    assert {t: after[t]["try_number"] for t in others} == {t: ti["try_number"] for t, ti in others.items()}
    tables = [t for t in source_counts(stack.source) if t != BIG_TABLE]
    assert_verified_clean(stack, run_id, database, tables)


def test_connection_killed_mid_copy_is_retried_by_the_scheduler(migration_stack):
    stack = migration_stack
    database = "e2e_kill"
    stack.target(database)
    run_id = "e2e_kill"
    stack.api.trigger(DAG, {"batch_size": 100}, run_id)  # many small batches: the kill lands mid-copy
    committed = kill_copy_session(stack.mariadb, database, BIG_TABLE)

    assert stack.api.wait_for_run(DAG, run_id) == "success"
    copy = stack.api.task_instances(DAG, run_id)[f"{BIG_TABLE}.copy"]
    assert copy["try_number"] == 2
    first_try = stack.api.log(DAG, run_id, f"{BIG_TABLE}.copy", 1)
    assert "transient fault, retried" in first_try
    result = stack.api.xcom(DAG, run_id, f"{BIG_TABLE}.copy")
    assert result["resumed_from"] is not None
    assert committed <= result["rows_copied"] - result["rows_this_attempt"] < BIG_TABLE_ROWS
    assert result["rows_copied"] == BIG_TABLE_ROWS
    assert_verified_clean(stack, run_id, database, list(source_counts(stack.source)))
