"""sqlite_to_mysql_migration run by Airflow itself (`bin/airflow dags test`), with the two
connections given only as AIRFLOW_CONN_* variables: a dry run leaves the target untouched, a
real run succeeds and writes its report under $AIRFLOW_HOME/reports/<run_id>/, and a blocked
type conflict fails the command, naming the policy that would let it proceed."""
from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DAG_ID = "sqlite_to_mysql_migration"

pytestmark = [pytest.mark.integration, pytest.mark.airflow]


def build_shop(path: Path, *, conflict: bool = False) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE customer (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(50) NOT NULL);
        CREATE TABLE purchase (id INTEGER PRIMARY KEY AUTOINCREMENT,
                               customer_id INTEGER NOT NULL REFERENCES customer(id),
                               amount decimal NOT NULL, quantity INTEGER NOT NULL);
    """)
    conn.executemany("INSERT INTO customer (name) VALUES (?)", [(f"customer {i}",) for i in range(1, 51)])
    conn.executemany("INSERT INTO purchase (customer_id, amount, quantity) VALUES (?, ?, ?)",
                     [(i % 50 + 1, f"{i}.{i % 100:02d}", i % 7 + 1) for i in range(1, 301)])
    if conflict:
        conn.execute("UPDATE purchase SET quantity = 'a dozen' WHERE id = 42")
    conn.commit()
    conn.close()
    return path


def run_dag(airflow_env: dict, source: Path, database: str, mysql_params: dict, conf: dict):
    env = {k: v for k, v in airflow_env.items() if k != "S2M_REPORT_DIR"}
    env["AIRFLOW_CONN_SQLITE_SOURCE"] = json.dumps({"conn_type": "sqlite", "host": str(source)})
    env["AIRFLOW_CONN_MYSQL_TARGET"] = json.dumps({
        "conn_type": "mysql", "host": mysql_params["host"], "port": mysql_params["port"],
        "login": mysql_params["user"], "password": mysql_params["passwd"], "schema": database})
    return subprocess.run([str(ROOT / "bin" / "airflow"), "dags", "test", DAG_ID, "-c", json.dumps(conf)],
                          env=env, capture_output=True, text=True, timeout=600)


def reports(airflow_env: dict) -> set[Path]:
    base = Path(airflow_env["AIRFLOW_HOME"]) / "reports"
    return set(base.iterdir()) if base.exists() else set()


def tables_of(mysql_connect, database: str) -> set[str]:
    cur = mysql_connect().cursor()
    cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (database,))
    return {r[0] for r in cur.fetchall()}


def test_dry_run_then_real_run(airflow_env, tmp_path, new_database, mysql_params, mysql_connect):
    """The dry run plans and writes the preflight report but creates nothing in the target;
    the real run then exits 0, its report says every row is there, and MySQL has the rows."""
    source = build_shop(tmp_path / "shop.sqlite3")
    database = new_database("dagcli")

    before = reports(airflow_env)
    dry = run_dag(airflow_env, source, database, mysql_params, {"dry_run": True})
    assert dry.returncode == 0, dry.stdout[-3000:] + dry.stderr[-3000:]
    assert tables_of(mysql_connect, database) == set()  # not even the database exists
    (dry_dir,) = reports(airflow_env) - before
    assert (dry_dir / "preflight.json").exists() and not (dry_dir / "verification.json").exists()

    before = reports(airflow_env)
    real = run_dag(airflow_env, source, database, mysql_params, {})
    assert real.returncode == 0, real.stdout[-3000:] + real.stderr[-3000:]
    (run_dir,) = reports(airflow_env) - before
    verification = json.loads((run_dir / "verification.json").read_text())
    assert verification["status"] == "OK"
    with sqlite3.connect(source) as conn:
        expected = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("customer", "purchase")}
    assert {t["table"]: (t["source_rows"], t["target_rows"]) for t in verification["tables"]} == \
        {t: (n, n) for t, n in expected.items()}
    assert (run_dir / "verification.md").read_text().startswith("# Verification: OK")
    cur = mysql_connect(database).cursor()
    cur.execute("SELECT COUNT(*), SUM(amount) FROM purchase")
    count, total = cur.fetchone()
    with sqlite3.connect(source) as conn:
        cents = conn.execute("SELECT sum(CAST(round(amount * 100) AS INTEGER)) FROM purchase").fetchone()[0]
    assert count == expected["purchase"] and int(total * 100) == cents


def test_a_blocked_type_conflict_fails_the_command_and_names_the_policy(airflow_env, tmp_path, new_database,
                                                                        mysql_params, mysql_connect):
    """Text in an INTEGER column under the default policy: `dags test` exits non-zero, the log
    names table, column, key and the policies that would proceed; the target is untouched."""
    source = build_shop(tmp_path / "shop.sqlite3", conflict=True)
    database = new_database("dagcli_conflict")
    run = run_dag(airflow_env, source, database, mysql_params, {})
    log = run.stdout + run.stderr
    assert run.returncode != 0
    assert "TYPE_CONFLICT purchase.quantity" in log and "{'id': 42}" in log and "'a dozen'" in log
    assert "on_type_conflict to 'widen'" in log and "'quarantine'" in log
    assert tables_of(mysql_connect, database) == set()
