"""`make airflow` (tools/airflow_local.sh) as a developer runs it: it prints the UI's address
and admin login, the login works against the REST API, all four components report healthy,
the DAGs of this checkout are there, and stopping it leaves no process behind."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import pytest

from tests.e2e.airflow_stack import MIGRATION_DAG, ROOT, Api, free_port, processes_using

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def test_make_airflow_starts_every_component_and_prints_a_working_login(tmp_path):
    port = free_port()
    home = tmp_path / "home"
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW_PORT": str(port),
           "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
           "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port())}
    env.pop("AIRFLOW_ADMIN_PASSWORD", None)
    out = open(tmp_path / "make-airflow.log", "w+")
    proc = subprocess.Popen(["bash", str(ROOT / "tools/airflow_local.sh")], env=env, stdout=out,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        login = None
        deadline = time.monotonic() + 180
        while login is None and time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "make-airflow.log").read_text()[-3000:]
            printed = (tmp_path / "make-airflow.log").read_text()
            login = re.search(r"Airflow UI: (\S+)\s+login: admin / (\S+)", printed)
            time.sleep(0.5)
        assert login, "no login printed"
        assert login.group(1) == f"http://localhost:{port}"
        api = None
        while api is None and time.monotonic() < deadline:
            try:
                api = Api(f"http://127.0.0.1:{port}", "admin", login.group(2))
            except Exception:
                time.sleep(1)
        assert api, (tmp_path / "make-airflow.log").read_text()[-3000:]
        components = ("scheduler", "dag_processor", "triggerer")
        while time.monotonic() < deadline:
            health = api.get("/monitor/health")
            if all(health.get(c, {}).get("status") == "healthy" for c in components):
                break
            time.sleep(1)
        assert all(health[c]["status"] == "healthy" for c in components), health
        api.wait_for_dag(MIGRATION_DAG, timeout=max(1, deadline - time.monotonic()))
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
        try:
            proc.wait(120)
        finally:
            left = processes_using(home)
            for pid in left:
                os.kill(pid, signal.SIGKILL)
    assert left == [], "components still running after Ctrl-C"
