"""sqlite_to_mysql_cutover under Airflow itself (`airflow dags test`): a rehearsal runs every
step, freezes and unfreezes without switching; mode=switch without its confirmation is refused
before anything is frozen or switched."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sqlite_to_mysql import capture, target_capture

pytestmark = [pytest.mark.integration, pytest.mark.airflow]
ROOT = Path(__file__).resolve().parents[3]


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

    def run(conf: dict) -> subprocess.CompletedProcess:
        return subprocess.run([str(ROOT / ".venv/bin/airflow"), "dags", "test", "sqlite_to_mysql_cutover",
                               "-c", json.dumps(conf)], env=env, capture_output=True, text=True, timeout=600)

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
    assert migrated.phase() == capture.CAPTURING and not (tmp_path / "app.env").exists()
    migrated.app().execute("UPDATE kv SET v = 'writable' WHERE k = 'key 1'")  # not frozen any more
    steps = [e["step"] for e in target_capture.journal(migrated.mysql())]
    assert steps == ["prepare", "catch_up", "verify_live", "rehearsal"]


def test_switch_without_confirmation_is_refused_before_any_freeze(cutover_dag, tmp_path):
    run, migrated = cutover_dag
    out = run({"mode": "switch"})
    log = out.stdout + out.stderr
    assert out.returncode != 0
    assert f"this run needs the confirmation 'SWITCH {migrated.database}'" in log
    assert migrated.phase() == capture.CAPTURING and not (tmp_path / "app.env").exists()
    assert not list((tmp_path / "reports").glob("*/cutover.json"))
    assert target_capture.existing_triggers(migrated.mysql(), "ckfg") == {}  # prepare stopped at once
