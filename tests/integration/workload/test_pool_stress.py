"""Connection pool stress as users meet it: the shop under gunicorn keeps a persistent MySQL
connection per thread (CONN_MAX_AGE=600) and has more threads than the server's max_connections;
locust's users get HTTP 500s (MySQL 1040 in the app's log), and mysql_health_monitor, run by
Airflow, raises CONNECTION_POOL_EXHAUSTED once while the sessions are held and resolves it once
after the application stopped. Figures are reported, never asserted."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.paths import ROOT
from tests.support.webhook import webhook_receiver
from tools import workload

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

sys.path.insert(0, str(ROOT / "include" / "demo_shop"))  # a standalone Django project, not a package


def run_monitor(env: dict) -> str:
    out = subprocess.run([f"{env['ROOT']}/.venv/bin/airflow", "dags", "test", "mysql_health_monitor",
                          "-c", json.dumps({"alert_webhook_endpoint": "/alerts"})],
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    return "\n".join(line for line in (out.stdout + out.stderr).splitlines() if "connections [" in line)


def test_stress_raises_and_clears_connection_pool_exhausted(private_mariadb, airflow_env, tmp_path, report_figures):
    from generate import generate

    source = tmp_path / "shop.sqlite3"
    generate(source, scale=0.01, seed=3)
    server = private_mariadb(options={"max_connections": 12})
    params = {"host": "127.0.0.1", "port": server.port, "user": "root", "passwd": ""}
    workload.migrate(source, params, "shop")
    params_file = workload.workload_params(source, tmp_path / "params.json", 3)
    with webhook_receiver() as (port, received):
        env = {**airflow_env,
               "AIRFLOW_CONN_MYSQL_MONITOR": json.dumps({"conn_type": "mysql", "host": "127.0.0.1",
                                                         "port": server.port, "login": "root"}),
               "AIRFLOW_CONN_MYSQL_ALERT_WEBHOOK": json.dumps({"conn_type": "http", "host": "127.0.0.1",
                                                               "port": port, "schema": "http"})}
        run_monitor(env)  # before the load: the monitor's baseline, nothing to say
        assert received == []
        log = tmp_path / "gunicorn.log"
        with workload.shop_server(workload.mysql_url(params, "shop"), workers=2, threads=16, conn_max_age="600",
                                  log=log) as url:
            result = workload.run_locust(url, 24, 8, params_file, tmp_path)
            # The load is over, but every thread keeps its session: the pool is still exhausted.
            run_monitor(env)
            run_monitor(env)
        result["server_errors"] = workload._error_lines(log)
        # While the server refused the monitor, its last reading is from before the load; so the
        # first reading after it may still say the limit was reached since then. One more clears it.
        after = [run_monitor(env) for _ in range(2)]

    total = result["requests"]["total"]
    report_figures("pool stress: max_connections=12, 2 x 16 gunicorn threads, CONN_MAX_AGE=600, 24 users, 8 s",
                   f"{total['requests']} requests, {total['errors']} errors, p95 {total['p95_ms']} ms; "
                   f"users saw: {workload._what_users_saw(result)}\n")
    assert total["errors"] > 0
    assert any("1040" in line for line in result["server_errors"])
    assert [(body["kind"], body["code"]) for _, body in received] == [
        ("opened", "CONNECTION_POOL_EXHAUSTED"), ("resolved", "CONNECTION_POOL_EXHAUSTED")], after
