"""This checkout's Airflow, started for real: api-server, scheduler, dag-processor (and Celery
workers), each in its own process group, in a throwaway AIRFLOW_HOME with SQLite metadata,
driven only through the public REST API (/api/v2) with a JWT from /auth/token.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.paths import DATASETS, ROOT

MIGRATION_DAG = "sqlite_to_mysql_migration"
BIG_TABLE = "TrackPlay"  # generated, big enough that a kill lands mid-copy
BIG_TABLE_ROWS = 300_000
FINISHED = {"success", "failed"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_source(path: Path) -> Path:
    """Chinook (a real SQLite database) plus a generated child table of Track."""
    path.write_bytes((DATASETS / "chinook.sqlite").read_bytes())
    with sqlite3.connect(path) as conn:
        conn.execute(f'CREATE TABLE "{BIG_TABLE}" (PlayId INTEGER PRIMARY KEY, '
                     'TrackId INTEGER NOT NULL REFERENCES Track (TrackId), PlayedAt TEXT NOT NULL, '
                     'Client NVARCHAR(40), Seconds REAL)')
        conn.execute(
            f'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {BIG_TABLE_ROWS}) '
            f'INSERT INTO "{BIG_TABLE}" SELECT i, 1 + i % 3503, '
            "strftime('%Y-%m-%d %H:%M:%f', 1700000000 + i * 37.25, 'unixepoch'), "
            "CASE i % 4 WHEN 0 THEN 'web' WHEN 1 THEN 'iOS ✓' WHEN 2 THEN NULL ELSE 'android' END, "
            "(i % 1000) / 8.0 FROM n")
    return path


def processes_using(home: Path) -> list[int]:
    """Live processes (not this one) whose environment has AIRFLOW_HOME=home."""
    marker = f"AIRFLOW_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def connection_uri(conn_type: str, **fields) -> str:
    """An AIRFLOW_CONN_* value in Airflow's JSON form."""
    return json.dumps({"conn_type": conn_type, **fields})


_LOG_CONTEXT = {"timestamp", "level", "event", "logger", "filename", "lineno", "dag_id", "task_id", "ti_id",
                "map_index", "run_id", "try_number", "error_detail"}


def _log_line(item) -> str:
    if not isinstance(item, dict):
        return str(item)
    extras = " ".join(f"{k}={v}" for k, v in item.items() if k not in _LOG_CONTEXT)
    errors = "".join(f"\n{e['exc_type']}: {e['exc_value']}" for e in item.get("error_detail") or [])
    return f"{item.get('event', '')}{' ' + extras if extras else ''}{errors}"


class Api:
    """The REST API as an operator's script uses it: a token from /auth/token, then /api/v2."""

    def __init__(self, base_url: str, username: str, password: str) -> None:
        token = httpx.post(f"{base_url}/auth/token", json={"username": username, "password": password},
                           timeout=30)
        token.raise_for_status()
        self.client = httpx.Client(base_url=f"{base_url}/api/v2", timeout=60,
                                   headers={"Authorization": f"Bearer {token.json()['access_token']}"})

    def call(self, method: str, path: str, **kwargs):
        response = self.client.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def get(self, path: str, **params):
        return self.call("GET", path, params=params)

    def post(self, path: str, body: dict):
        return self.call("POST", path, json=body)

    def patch(self, path: str, body: dict):
        return self.call("PATCH", path, json=body)

    # --- the operator's actions ------------------------------------------------------------
    def set_connection(self, conn_id: str, conn_type: str, **fields) -> None:
        body = {"connection_id": conn_id, "conn_type": conn_type, **fields}
        if self.client.get(f"/connections/{conn_id}").status_code == 404:
            self.post("/connections", body)
        else:
            self.patch(f"/connections/{conn_id}", body)

    def set_variable(self, key: str, value: str) -> None:
        if self.client.get(f"/variables/{key}").status_code == 404:
            self.post("/variables", {"key": key, "value": value})
        else:
            self.patch(f"/variables/{key}", {"key": key, "value": value})

    def wait_for_dag(self, dag_id: str, timeout: float = 180) -> dict:
        """Until the dag-processor has parsed it; an import error fails at once with its text."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            errors = self.get("/importErrors")["import_errors"]
            if errors:
                raise AssertionError(f"import errors: {errors}")
            response = self.client.get(f"/dags/{dag_id}")
            if response.status_code == 200:
                return response.json()
            time.sleep(1)
        raise AssertionError(f"DAG {dag_id} was not parsed within {timeout}s")

    def unpause(self, dag_id: str) -> None:
        self.patch(f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict, run_id: str) -> dict:
        body = {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        return self.post(f"/dags/{dag_id}/dagRuns", body)

    def wait_for_scheduled_run(self, dag_id: str, timeout: float = 180) -> dict:
        """The first run the scheduler created on its own (run_type 'scheduled')."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.get(f"/dags/{dag_id}/dagRuns", run_type="scheduled")["dag_runs"]
            if runs:
                return runs[0]
            time.sleep(1)
        raise AssertionError(f"the scheduler created no run of {dag_id} within {timeout}s")

    def run_state(self, dag_id: str, run_id: str) -> str:
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.run_state(dag_id, run_id)
            if state in FINISHED:
                return state
            time.sleep(1)
        raise AssertionError(f"run {run_id} still {state} after {timeout}s: {self.states(dag_id, run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        tis = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]
        return {ti["task_id"]: ti for ti in tis}

    def states(self, dag_id: str, run_id: str) -> dict[str, str]:
        return {task: ti["state"] for task, ti in self.task_instances(dag_id, run_id).items()}

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The task's log as the UI shows it: each event with its extra fields and exceptions."""
        body = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                        full_content="true")
        return "\n".join(_log_line(item) for item in body["content"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
        return self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
                        deserialize="true")["value"]

    def clear(self, dag_id: str, run_id: str, task_ids: list[str]) -> list[str]:
        """Clear the failed task instances named, and what failed because of them (downstream)."""
        body = {"dry_run": False, "dag_run_id": run_id, "task_ids": task_ids, "only_failed": True,
                "include_downstream": True, "reset_dag_runs": True}
        cleared = self.post(f"/dags/{dag_id}/clearTaskInstances", body)["task_instances"]
        return [ti["task_id"] for ti in cleared]


class AirflowStack:
    """Airflow components of this checkout as separate processes sharing one AIRFLOW_HOME."""

    def __init__(self, home: Path, *, executor: str = "LocalExecutor", env: dict | None = None) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(12)
        self.procs: dict[str, subprocess.Popen] = {}
        home.mkdir(parents=True, exist_ok=True)
        (home / "passwords.json").write_text(json.dumps({"admin": self.password}))
        base = dict(os.environ, AIRFLOW_HOME=str(home), ROOT=str(ROOT))
        out = subprocess.run(["bash", "-c", f"source {ROOT}/bin/airflow-env.sh && env -0"], env=base,
                             capture_output=True, check=True).stdout
        self.env = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
        self.env.update({
            "AIRFLOW__CORE__EXECUTOR": executor,
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__COLORED_CONSOLE_LOG": "False",
            # Retries of transient faults after 1, 2, 4 s instead of 10, 20, 40 s.
            "TASK_RETRY_DELAY_SECONDS": "1",
            **(env or {}),
        })
        self._migrate()
        self.api: Api | None = None

    def _migrate(self) -> None:
        out = subprocess.run([str(ROOT / ".venv/bin/airflow"), "db", "migrate"], env=self.env,
                             capture_output=True, text=True)
        if out.returncode:
            raise AssertionError(f"airflow db migrate failed:\n{(out.stdout + out.stderr)[-4000:]}")

    def start(self, name: str, *args: str) -> None:
        """`airflow <args>` (default: `airflow <name>`) in a process group of its own."""
        with open(self.home / f"{name}.log", "ab") as log:
            self.procs[name] = subprocess.Popen(
                [str(ROOT / ".venv/bin/airflow"), *(args or (name,))], env=self.env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def start_core(self) -> Api:
        for name in ("api-server", "dag-processor", "scheduler"):
            self.start(name)
        self.api = self._wait_for_api()
        self._wait_healthy(("scheduler", "dag_processor"))
        return self.api

    def component_log(self, name: str) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_until_paused(self, dag_id: str, run_id: str, task_id: str, timeout: float = 120) -> None:
        """Wait until the scheduler has taken the executor's report that the run which asked for
        input ended. An answer given before that (seconds after the question, which no person
        does) meets a race in Airflow 3.3's scheduler: the resumed task is queued, the late
        report 'finished with state success' finds it queued, and the task is marked failed."""
        event = (f"Received executor event with state success for task instance TaskInstanceKey(dag_id='{dag_id}', "
                 f"task_id='{task_id}', run_id='{run_id}'")
        deadline = time.monotonic() + timeout
        while event not in self.component_log("scheduler"):
            if time.monotonic() > deadline:
                raise AssertionError(f"the scheduler never took the end of {task_id}'s first run in {run_id}")
            time.sleep(0.5)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self._kill_strays()
        self.procs.clear()

    def _kill_strays(self) -> None:
        """Task processes that left their component's process group."""
        for pid in processes_using(self.home):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue

    def _check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                log = self.component_log(name)[-4000:]
                raise AssertionError(f"{name} exited with {proc.returncode}:\n{log}")

    def _wait_for_api(self, timeout: float = 120) -> Api:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                return Api(self.url, "admin", self.password)
            except httpx.HTTPError:
                time.sleep(1)
        log = self.component_log("api-server")[-4000:]
        raise AssertionError(f"api-server did not answer within {timeout}s:\n{log}")

    def _wait_healthy(self, components: tuple[str, ...], timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            health = self.api.get("/monitor/health")
            if all(health.get(c, {}).get("status") == "healthy" for c in components):
                return
            time.sleep(1)
        raise AssertionError(f"not healthy within {timeout}s: {health}")


@contextmanager
def airflow_stack(home: Path, **kwargs):
    stack = AirflowStack(home, **kwargs)
    try:
        yield stack
    finally:
        stack.stop()


class MigrationStack:
    """The stack the e2e and browser tests share: a LocalExecutor Airflow whose `sqlite_source`
    is chinook plus a generated big table, and a private MariaDB (binlog on, for the backups)
    whose lock timeouts are 3 s, so a held table lock fails a copy quickly."""

    LOCK_WAIT_TIMEOUT = 3

    def __init__(self, tmp: Path) -> None:
        from tools.private_mariadb import PrivateMariaDB

        self.source = make_source(tmp / "source.sqlite")
        self.stack = AirflowStack(tmp / "airflow", env={
            "AIRFLOW_CONN_SQLITE_SOURCE": connection_uri("sqlite", host=str(self.source))})
        self.mariadb = PrivateMariaDB(log_bin=True, options={
            "lock-wait-timeout": self.LOCK_WAIT_TIMEOUT, "innodb-lock-wait-timeout": self.LOCK_WAIT_TIMEOUT})

    def start(self) -> "MigrationStack":
        self.mariadb.start()
        self.api = self.stack.start_core()
        self.api.post("/pools", {"name": "mysql_connections", "slots": 4,
                                 "description": "concurrent MySQL sessions of migration tasks"})
        self.api.wait_for_dag(MIGRATION_DAG)
        self.api.unpause(MIGRATION_DAG)
        return self

    def stop(self) -> None:
        self.stack.stop()
        self.mariadb.stop()

    def target(self, database: str) -> None:
        """Point `mysql_target` at a new database of the private server (as an operator would
        in Admin > Connections): each test migrates into a database of its own."""
        self.api.set_connection("mysql_target", "mysql", host="127.0.0.1", port=self.mariadb.port,
                                login="root", schema=database)


@contextmanager
def migration_stack(tmp: Path):
    stack = MigrationStack(tmp)
    try:
        yield stack.start()
    finally:
        stack.stop()
