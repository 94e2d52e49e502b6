"""sqlite_to_mysql_cutover under Airflow itself (`airflow dags test`): a rehearsal runs every
step, freezes and unfreezes without switching and asks no approval; a switch whose approval is
rejected freezes and switches nothing; an approved switch, an approved rollback and the cleanup
DAG take the application to MySQL, back to SQLite with MySQL's writes, and end capture. The
approvals are answered as a person would (tests/support/hitl.py)."""
from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from pathlib import Path

import MySQLdb
import pytest

from approvals import journal
from sqlite_to_mysql.cutover import freeze, mysql_capture, sqlite_capture
from tests.support.hitl import dags_test

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


@pytest.fixture
def cutover_dag(airflow_env, app_db, migrate, tmp_path):
    """Runs the cutover DAG on a migrated source with capture armed: (run(conf), migrated)."""
    migrated = migrate(app_db)
    params = migrated.params
    env = dict(airflow_env,
               AIRFLOW_CONN_SQLITE_SOURCE=json.dumps({"conn_type": "sqlite", "host": str(app_db)}),
               AIRFLOW_CONN_MYSQL_TARGET=json.dumps({"conn_type": "mysql", "host": params["host"],
                                                     "port": params["port"], "login": params["user"],
                                                     "password": params["passwd"], "schema": migrated.database}),
               AIRFLOW_VAR_SQLITE_TO_MYSQL_CUTOVER=json.dumps({"settings_file": str(tmp_path / "app.env")}),
               S2M_REPORT_DIR=str(tmp_path / "reports"))

    def run(conf: dict, dag_id: str = "sqlite_to_mysql_cutover", switch: dict | None = None,
            answer: tuple[str, str] | None = None) -> subprocess.CompletedProcess:
        """One `dags test` run; `answer` = (gate, "Approve" or "Reject") when it asks."""
        run_env = dict(env)
        if switch is not None:  # the switch actions the deployer configured
            run_env["AIRFLOW_VAR_SQLITE_TO_MYSQL_CUTOVER"] = json.dumps(switch)
        return dags_test(dag_id, conf, run_env, [answer] if answer else [])

    return run, migrated


def test_rehearsal_runs_every_step_and_leaves_the_application_on_sqlite(cutover_dag, tmp_path):
    run, migrated = cutover_dag
    out = run({"mode": "rehearsal"})
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]

    reports = list((tmp_path / "reports").glob("*/cutover.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    assert report["outcome"] == "rehearsal" and report["verification"]["ok"]
    assert report["frozen_seconds"] > 0
    assert migrated.phase() == sqlite_capture.CAPTURING and not (tmp_path / "app.env").exists()
    migrated.app().execute("UPDATE kv SET v = 'writable' WHERE k = 'key 1'")  # not frozen any more
    steps = [e["step"] for e in mysql_capture.journal(migrated.mysql())]
    assert steps == ["prepare", "catch_up", "verify_live", "rehearsal"]


APPROVE_SWITCH, REJECT_SWITCH = ("approve_switch", "Approve"), ("approve_switch", "Reject")
APPROVE_ROLLBACK = ("approve_rollback", "Approve")


def decisions(tmp_path) -> list[dict]:
    return [d for run_dir in sorted((tmp_path / "reports").iterdir()) for d in journal.read(run_dir)]


def test_a_rejected_switch_freezes_and_switches_nothing_and_ends_failed(cutover_dag, tmp_path):
    run, migrated = cutover_dag
    out = run({"mode": "switch"}, answer=REJECT_SWITCH)
    log = out.stdout + out.stderr
    assert out.returncode != 0, log[-4000:]
    assert "rejected by admin (admin)" in log and "nothing was changed; freeze_and_switch not run" in log
    assert final_state(log, "freeze_and_switch") is None and final_state(log, "release") == "success"  # never ran
    assert migrated.phase() == sqlite_capture.CAPTURING and not (tmp_path / "app.env").exists()
    assert not list((tmp_path / "reports").glob("*/cutover.json"))
    steps = [e["step"] for e in mysql_capture.journal(migrated.mysql())]
    assert steps == ["prepare", "catch_up", "verify_live"]  # no freeze, no switch
    migrated.app().execute("UPDATE kv SET v = 'still writable' WHERE k = 'key 1'")
    [decision] = decisions(tmp_path)
    assert (decision["decision"], decision["by"]["id"], decision["task_id"]) == ("rejected", "admin",
                                                                                  "approve_switch")
    figures = decision["evidence"]["figures"]
    assert figures["Database"] == migrated.database and figures["Lag (changes not yet on MySQL)"] >= 0
    assert figures["Freeze in the last rehearsal (s)"] == "no rehearsal yet"


def test_approved_switch_rollback_and_cleanup_through_airflow(cutover_dag, tmp_path):
    run, migrated = cutover_dag
    database = migrated.database
    assert run({"mode": "rehearsal"}).returncode == 0  # asks nobody
    switched = run({"mode": "switch"}, answer=APPROVE_SWITCH)
    assert switched.returncode == 0, (switched.stdout + switched.stderr)[-4000:]
    assert migrated.phase() == sqlite_capture.SWITCHED
    assert f"/{database}" in (tmp_path / "app.env").read_text()
    [decision] = decisions(tmp_path)
    rehearsal = [e for e in mysql_capture.journal(migrated.mysql()) if e["step"] == "rehearsal"][-1]
    assert decision["evidence"]["figures"]["Freeze in the last rehearsal (s)"] == rehearsal["seconds"]
    assert any(str(tmp_path / "app.env") in a for a in decision["evidence"]["actions"])
    [report] = [json.loads(p.read_text()) for p in (tmp_path / "reports").glob("*/cutover.json")
                if json.loads(p.read_text())["mode"] == "switch"]
    assert report["approval"]["by"]["id"] == "admin" and report["approval"]["decision"] == "approved"

    dst = migrated.mysql()
    cur = dst.cursor()
    cur.execute("UPDATE kv SET v = 'written on mysql' WHERE k = 'key 1'")
    cur.execute("INSERT INTO kv VALUES ('key new', 'inserted on mysql')")
    dst.commit()

    rolled = run({}, "sqlite_to_mysql_rollback", answer=APPROVE_ROLLBACK)
    assert rolled.returncode == 0, (rolled.stdout + rolled.stderr)[-4000:]
    shown = decisions(tmp_path)[-1]["evidence"]
    assert shown["figures"]["Writes made on MySQL to bring back"] == 2
    assert shown["tables"][0]["rows"] == [["kv", 2]]
    app = migrated.app()
    assert app.execute("SELECT v FROM kv WHERE k = 'key 1'").fetchone()[0] == "written on mysql"
    assert app.execute("SELECT count(*) FROM kv WHERE k = 'key new'").fetchone()[0] == 1
    assert "sqlite:///" in (tmp_path / "app.env").read_text()
    app.execute("UPDATE kv SET v = 'writable again' WHERE k = 'key 2'")

    cleaned = run({"confirm": f"CLEANUP {database}"}, "sqlite_to_mysql_cutover_cleanup")
    assert cleaned.returncode == 0, (cleaned.stdout + cleaned.stderr)[-4000:]
    with sqlite3.connect(migrated.source) as check:
        assert not sqlite_capture.has_tables(check)
        assert not [name for (name,) in check.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
    mysql = migrated.mysql()
    assert mysql_capture.existing_triggers(mysql, "ck") == {}  # capture gone
    assert freeze.target_blocks(mysql) == {"freeze": 0, "guard": 1}  # MySQL, which the app left, stays read-only
    with pytest.raises(MySQLdb.OperationalError, match=re.escape(freeze.TARGET_GUARD_MESSAGE)):
        mysql.cursor().execute("UPDATE kv SET v = 'late' WHERE k = 'key 2'")


def final_state(log: str, task_id: str) -> str | None:
    """The state a task ended in, from what `airflow dags test` prints."""
    started = re.search(rf"running task <TaskInstance: \S+\.{task_id} .*?ti_id=([0-9a-f-]+)>", log)
    if not started:
        return None
    states = re.findall(rf"new_state=(\w+) rows_affected=\d+ ti_id={started[1]}", log)
    return states[-1] if states else None


def test_a_switch_that_fails_ends_the_run_failed_while_release_still_runs_and_the_report_is_written(
        cutover_dag, tmp_path):
    """The command passes the checks (it exists and is executable) but fails when it runs:
    the switch is undone, the run ends failed (exit code), its teardown ran, and the report
    says what happened and that it was not safe to switch."""
    run, migrated = cutover_dag
    out = run({"mode": "switch"}, switch={"settings_file": str(tmp_path / "app.env"), "command": ["false"]},
              answer=APPROVE_SWITCH)
    log = out.stdout + out.stderr
    assert out.returncode != 0, log[-4000:]
    assert migrated.phase() == sqlite_capture.CAPTURING
    steps = [e["step"] for e in mysql_capture.journal(migrated.mysql())]
    assert steps[:3] == ["prepare", "catch_up", "verify_live"] and "rollback" in steps
    assert final_state(log, "freeze_and_switch") == "failed" and final_state(log, "release") == "success", log[-6000:]
    reports = list((tmp_path / "reports").glob("*/cutover.json"))
    assert len(reports) == 1
    report = json.loads(reports[0].read_text())
    assert report["outcome"] == "failed" and report["error"].startswith("SWITCH_FAILED: ")
    markdown = reports[0].with_suffix(".md").read_text().rstrip().splitlines()
    assert markdown[-1].startswith("safe to switch: no, because SWITCH_FAILED: the switch to MySQL failed")


def test_a_rollback_refused_after_cleanup_ends_the_run_failed(cutover_dag, tmp_path):
    run, migrated = cutover_dag
    database = migrated.database
    assert run({"mode": "switch"}, answer=APPROVE_SWITCH).returncode == 0
    cleaned = run({"confirm": f"CLEANUP {database}"}, "sqlite_to_mysql_cutover_cleanup")
    assert cleaned.returncode == 0, (cleaned.stdout + cleaned.stderr)[-4000:]
    refused = run({}, "sqlite_to_mysql_rollback", answer=APPROVE_ROLLBACK)  # refused before it asks
    log = refused.stdout + refused.stderr
    assert refused.returncode != 0 and "the rollback window is closed" in log, log[-4000:]
    assert final_state(log, "check") == "failed", log[-6000:]
    # nobody was asked; check is the teardown's setup, so with nothing begun there is nothing to release
    assert final_state(log, "approve_rollback") is None and final_state(log, "release") is None
    assert migrated.phase() == sqlite_capture.SWITCHED


def test_the_migration_with_capture_reports_changes_made_meanwhile_as_pending_never_ok(
        airflow_env, tmp_path, new_database, mysql_params):
    """The application keeps inserting while sqlite_to_mysql_migration runs with capture: the
    run succeeds, and its report (file and task log) says which tables are pending and by how
    many changes, never OK while their counts differ, and ends with the safe-to-switch line."""
    import threading

    from tests.integration.migration.test_dag_cli import build_shop, run_dag

    source = build_shop(tmp_path / "shop.sqlite3")
    stop = threading.Event()

    def write() -> None:
        conn = sqlite3.connect(source, timeout=30, isolation_level=None)
        while not stop.is_set():
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO purchase (customer_id, amount, quantity) VALUES (1, '9.99', 1)")
            conn.execute("COMMIT")
            stop.wait(0.01)
        conn.close()

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    try:
        out = run_dag(airflow_env, source, new_database("capdag"), mysql_params, {"capture_changes": True})
    finally:
        stop.set()
        writer.join(30)
    log = out.stdout + out.stderr
    assert out.returncode == 0, log[-4000:]
    run_dir = sorted((Path(airflow_env["AIRFLOW_HOME"]) / "reports").iterdir(), key=lambda p: p.stat().st_mtime)[-1]
    verification = json.loads((run_dir / "verification.json").read_text())
    purchase = next(t for t in verification["tables"] if t["table"] == "purchase")
    assert verification["status"] == "PENDING" and purchase["state"] == "PENDING"
    assert purchase["source_rows"] != purchase["target_rows"] and purchase["pending_differences"] > 0
    line = f"pending: {purchase['pending_differences']} changes, applied by the cutover"
    markdown = (run_dir / "verification.md").read_text()
    assert markdown.startswith("# Verification: PENDING") and line in markdown
    assert re.search(r"Verification: PENDING \(\d+ changes captured since the copy", log) and line in log
    assert markdown.rstrip().splitlines()[-1].startswith("safe to switch: no, because the cutover has not been "
                                                         "rehearsed yet")
