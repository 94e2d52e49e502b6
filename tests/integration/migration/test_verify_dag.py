"""sqlite_to_mysql_verify re-runs the verification alone, through the real Airflow CLI, with the
plan the migration stored in the target: clean when nothing changed, MIGRATION_DATA_LOSS with
the exact key when a value was changed in MySQL afterwards."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from mysql_common.identifiers import quote
from tests.support.migrate import connector, migrate
from tests.support.torture import build_clean

pytestmark = [pytest.mark.integration, pytest.mark.airflow]
ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


def dags_test(env: dict, dag_id: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv/bin/airflow"), "dags", "test", dag_id], env=env,
                          capture_output=True, text=True, timeout=600)


def test_verification_reruns_alone_and_catches_a_later_change(tmp_path, new_database, mysql_params, airflow_env):
    source = tmp_path / "clean.sqlite3"
    build_clean(source)
    database = new_database("verify_dag")
    migrate(source, database, mysql_params, tmp_path)
    env = dict(airflow_env,
               AIRFLOW_CONN_SQLITE_SOURCE=json.dumps({"conn_type": "sqlite", "host": str(source)}),
               AIRFLOW_CONN_MYSQL_TARGET=json.dumps({"conn_type": "mysql", "host": mysql_params["host"],
                                                     "port": mysql_params["port"], "login": mysql_params["user"],
                                                     "password": mysql_params["passwd"], "schema": database}),
               S2M_REPORT_DIR=str(tmp_path / "reports"))

    clean = dags_test(env, "sqlite_to_mysql_verify")
    assert clean.returncode == 0, clean.stdout[-3000:] + clean.stderr[-3000:]
    reports = sorted((tmp_path / "reports").glob("manual__*/verification.json"))
    assert len(reports) == 1 and json.loads(reports[0].read_text())["status"] == "OK"

    conn = connector(mysql_params, database)()
    cur = conn.cursor()
    cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
                "AND table_name NOT LIKE '\\_s2m\\_%%' AND table_type = 'BASE TABLE' AND table_rows > 0 "
                "ORDER BY table_name LIMIT 1")
    table = cur.fetchone()[0]
    cur.execute("SET SESSION foreign_key_checks = 0")
    cur.execute(f"DELETE FROM {quote(table)} LIMIT 1")
    conn.commit()
    conn.close()

    broken = dags_test(env, "sqlite_to_mysql_verify")
    output = broken.stdout + broken.stderr
    assert broken.returncode != 0
    assert "MIGRATION_DATA_LOSS" in output
    result = json.loads(max((tmp_path / "reports").glob("manual__*/verification.json"),
                            key=lambda p: p.stat().st_mtime).read_text())
    bad = [t for t in result["tables"] if not t["ok"]]
    assert [t["target"] for t in bad] == [table]
    assert bad[0]["source_rows"] == bad[0]["target_rows"] + 1


def test_verify_dag_refuses_a_database_the_migration_never_set_up(tmp_path, new_database, mysql_params,
                                                                  airflow_env):
    source = tmp_path / "clean.sqlite3"
    build_clean(source)
    database = new_database("verify_dag_empty")
    connector(mysql_params)().cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    env = dict(airflow_env,
               AIRFLOW_CONN_SQLITE_SOURCE=json.dumps({"conn_type": "sqlite", "host": str(source)}),
               AIRFLOW_CONN_MYSQL_TARGET=json.dumps({"conn_type": "mysql", "host": mysql_params["host"],
                                                     "port": mysql_params["port"], "login": mysql_params["user"],
                                                     "password": mysql_params["passwd"], "schema": database}))
    run = dags_test(env, "sqlite_to_mysql_verify")
    assert run.returncode != 0
    assert "run sqlite_to_mysql_migration into it first" in run.stdout + run.stderr
