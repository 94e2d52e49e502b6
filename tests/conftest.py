"""Shared test harness: real servers only.

- `mysql`: the MariaDB on 127.0.0.1:3306 (or MYSQL_URL); every test database made through
  `new_database` has a unique name and is dropped afterwards.
- `private_mariadb`: a factory of throwaway mariadbd instances (binlog, TLS, replicas, kills).
- `moto_server`: an S3-compatible server (moto) on a loopback port, for the S3 storage paths.
- Airflow runs with this checkout's configuration (bin/airflow-env.sh) in a per-session AIRFLOW_HOME.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.paths import DATASETS, ROOT


def _mysql_params() -> dict:
    url = urlparse(os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306"))
    return {"host": url.hostname or "127.0.0.1", "port": url.port or 3306,
            "user": url.username or "root", "passwd": url.password or ""}


@pytest.fixture(scope="session")
def mysql_params() -> dict:
    params = _mysql_params()
    try:
        import MySQLdb

        MySQLdb.connect(**params).close()
    except Exception as exc:  # a missing server is a broken environment, not a skip
        pytest.fail(f"MariaDB/MySQL at {params['host']}:{params['port']} is not reachable: {exc}")
    return params


@pytest.fixture
def mysql_connect(mysql_params):
    """Open root connections to the shared server; all are closed after the test."""
    import MySQLdb

    opened = []

    def connect(database: str = "", **kwargs):
        conn = MySQLdb.connect(**{**mysql_params, "db": database, "charset": "utf8mb4",
                                  "local_infile": 1, **kwargs})
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        try:
            conn.close()
        except Exception:
            pass


@pytest.fixture
def new_database(mysql_connect):
    """Return a factory of uniquely named databases on the shared server, dropped after the test."""
    created = []
    admin = mysql_connect()

    def make(prefix: str = "t") -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        created.append(name)  # also cleans up databases the code under test creates by this name
        return name

    yield make
    cur = admin.cursor()
    # Sessions the test left open in its databases (mysql_connect closes them only after this
    # teardown) would hold metadata locks and make DROP DATABASE wait forever.
    cur.execute("SET SESSION lock_wait_timeout = 120")
    for name in created:
        cur.execute("SELECT id FROM information_schema.processlist WHERE db = %s AND id <> CONNECTION_ID()",
                    (name,))
        for (session,) in cur.fetchall():
            try:
                cur.execute(f"KILL {int(session)}")
            except Exception:  # already gone
                pass
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")


@pytest.fixture
def private_mariadb():
    """Factory of private mariadbd instances; all are stopped after the test."""
    from tools.private_mariadb import PrivateMariaDB

    servers = []

    def start(**kwargs) -> PrivateMariaDB:
        server = PrivateMariaDB(**kwargs)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def moto_server():
    """http://127.0.0.1:PORT of a moto S3 server process; killed after the session."""
    from tests.support.moto_server import moto_s3

    with moto_s3() as endpoint:
        yield endpoint


@pytest.fixture
def dataset_copy(tmp_path):
    """Copy one of ../shared/datasets into tmp_path (they are read-only inputs)."""

    def copy(name: str) -> Path:
        src = DATASETS / name
        if not src.exists():
            pytest.fail(f"dataset {src} is missing")
        dst = tmp_path / name
        shutil.copyfile(src, dst)
        return dst

    return copy


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory) -> dict:
    """Environment for running this checkout's Airflow CLI in a throwaway AIRFLOW_HOME."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = dict(os.environ)
    env.update({"AIRFLOW_HOME": str(home), "ROOT": str(ROOT)})
    script = f"source {ROOT}/bin/airflow-env.sh && env -0"
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, check=True).stdout
    env = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    subprocess.run([str(ROOT / ".venv/bin/airflow"), "db", "migrate"], env=env, check=True,
                   capture_output=True)
    return env


def sqlite_rows(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]


@pytest.fixture(scope="session")
def migration_stack(tmp_path_factory):
    """This checkout's Airflow (api-server, scheduler, dag-processor; LocalExecutor) with the
    migration DAG's source and a private MariaDB target, shared by tests/e2e and tests/browser."""
    from tests.e2e.airflow_stack import migration_stack

    with migration_stack(tmp_path_factory.mktemp("migration_stack")) as stack:
        yield stack
