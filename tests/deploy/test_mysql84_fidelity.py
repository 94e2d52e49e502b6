"""The fidelity fuzzer's fixed cases against MySQL 8.4, the server of the compose stack.

Where the type mapping differs from MariaDB's (no UUID type, JSON as LONGTEXT with a check,
utf8mb4_0900 collations, no long unique keys, local_infile off by default) only MySQL itself can
say whether every value still round-trips. This starts the compose file's own `mysql` image
(with LOAD DATA LOCAL allowed, so both bulk paths run) on a free loopback port and runs
tests/integration/migration/test_fidelity_regressions.py against it through MYSQL_URL.

It needs a Docker engine; these machines have only the client (no engine, no compose plugin),
so here it is skipped, saying so. docs/type-mapping.md lists the paths only this exercises.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "fidelity-" + uuid.uuid4().hex[:12]


def docker_engine() -> str | None:
    """Why no Docker engine can run a container here, or None when one can."""
    if not shutil.which("docker"):
        return "no docker client on PATH"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
    if info.returncode != 0:
        said = (info.stderr or info.stdout).strip().splitlines()
        return f"no Docker engine answers: {said[-1] if said else 'docker info failed'}"
    return None


def mysql_image() -> str:
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    return compose["x-mysql"]["image"]


def test_compose_names_the_mysql_image_this_check_runs():
    """Runs everywhere: the image this check starts is the one the compose stack pins."""
    image = mysql_image()
    assert image.startswith("mysql:8.4"), image


@pytest.fixture
def mysql84():
    reason = docker_engine()
    if reason:
        pytest.skip(f"MySQL 8.4 paths need Docker ({reason}); they run wherever a Docker engine exists")
    name = f"s2m-fidelity-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", name, "-e", f"MYSQL_ROOT_PASSWORD={PASSWORD}",
                    "-p", "127.0.0.1::3306", mysql_image(), "--local-infile=1"], check=True, capture_output=True)
    try:
        port = subprocess.run(["docker", "port", name, "3306/tcp"], check=True, capture_output=True,
                              text=True).stdout.strip().splitlines()[0].rsplit(":", 1)[1]
        url = f"mysql://root:{PASSWORD}@127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            import MySQLdb
            try:
                MySQLdb.connect(host="127.0.0.1", port=int(port), user="root", passwd=PASSWORD).close()
                break
            except MySQLdb.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(2)
        yield url
    finally:
        subprocess.run(["docker", "stop", name], capture_output=True)


def test_the_fuzzers_fixed_cases_hold_on_mysql_84(mysql84, tmp_path):
    env = dict(os.environ, MYSQL_URL=mysql84)
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", f"--basetemp={tmp_path}",
                          "-q", "tests/integration/migration/test_fidelity_regressions.py"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
