"""docker-compose.yaml and the Dockerfile, checked without a Docker engine (none runs on these
machines, and the compose plugin is not installed): the file parses, everything it references
exists, every image is pinned, and every service the DAGs and their connections need is there."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
SERVICES = COMPOSE["services"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
AIRFLOW_IMAGE = COMPOSE["x-airflow-common"]["image"]
AIRFLOW_SERVICES = {name: s for name, s in SERVICES.items() if s.get("image") == AIRFLOW_IMAGE}
# Connections the DAGs use by default (plugins/operators, plugins/hooks).
DAG_CONNECTIONS = {"sqlite_source", "mysql_target", "mysql_backup", "mysql_restore", "mysql_monitor",
                   "mysql_dev", "aws_default"}
# Host folder the operator fills with the SQLite file; Docker creates it when missing.
USER_PROVIDED = {"./data"}


def interpolate(value: str) -> str:
    """Compose's ${VAR:-default} and ${VAR} with nothing set: the development defaults."""
    return re.sub(r"\$\{[A-Z0-9_]+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


def env(service: dict) -> dict[str, str]:
    return {k: interpolate(str(v)) for k, v in (service.get("environment") or {}).items()}


def connections(service: dict) -> dict[str, dict]:
    return {k[len("AIRFLOW_CONN_"):].lower(): json.loads(v) for k, v in env(service).items()
            if k.startswith("AIRFLOW_CONN_")}


def command(service: dict) -> str:
    value = service.get("command") or ""
    return " ".join(value) if isinstance(value, list) else value


def bind_mounts(service: dict) -> list[tuple[str, str]]:
    mounts = []
    for volume in service.get("volumes") or []:
        source, target = interpolate(volume).split(":")[:2]
        if source.startswith("."):
            mounts.append((source, target))
    return mounts


def test_every_image_is_pinned_to_a_version():
    for name, service in SERVICES.items():
        image = service["image"]
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {image} is not pinned"
    base = re.search(r"^FROM (\S+)$", DOCKERFILE, re.M).group(1)
    requirements = (ROOT / "requirements.txt").read_text()
    version = re.search(r"^apache-airflow==(\S+)$", requirements, re.M).group(1)
    assert base == f"apache/airflow:{version}-python3.11"  # the Airflow and Python the lock was made with
    assert AIRFLOW_IMAGE.endswith(f":{version}")


def test_every_referenced_file_exists():
    for name, service in SERVICES.items():
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").is_file()
        for source, _target in bind_mounts(service):
            assert source in USER_PROVIDED or (ROOT / source).exists(), f"{name}: {source} is missing"
        for volume in service.get("volumes") or []:
            source = interpolate(volume).split(":")[0]
            assert source.startswith(".") or source in COMPOSE["volumes"], f"{name}: {source} undeclared"
    for source in re.findall(r"^COPY (?:--\S+ )*(.+) \S+$", DOCKERFILE, re.M):
        for path in source.split():
            assert (ROOT / path).exists(), f"Dockerfile copies {path}, which is missing"


def test_the_image_installs_the_runtime_lock_and_the_tools_the_dags_run():
    program = re.search(r"awk '([^']+)'", DOCKERFILE).group(1)
    runtime = subprocess.run(["awk", program, str(ROOT / "requirements.txt")], capture_output=True, text=True,
                             check=True).stdout
    names = {line.split("==")[0].split("[")[0].lower() for line in runtime.splitlines()
             if line and not line.startswith("#")}
    assert {"apache-airflow", "apache-airflow-providers-mysql", "apache-airflow-providers-sqlite",
            "apache-airflow-providers-amazon", "apache-airflow-providers-celery", "mysqlclient", "pyrage",
            "zstandard", "boto3"} <= names
    assert not names & {"pytest", "playwright", "moto", "hypothesis", "django"}
    assert "-c /opt/airflow/deps/constraints.txt" in DOCKERFILE
    for package in ("age", "zstd", "pkg-config", "gcc", "libmariadb-dev", "mysql-community-client",
                    "mariadb-client"):
        assert re.search(rf"\s{re.escape(package)}(\s|;)", DOCKERFILE), f"the image lacks {package}"


def test_airflow_runs_on_celery_with_two_workers_postgres_and_redis():
    common = env(COMPOSE["x-airflow-common"])
    assert common["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert urlparse(common["AIRFLOW__CELERY__BROKER_URL"]).hostname == "redis"
    assert urlparse(common["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname == "postgres"
    assert urlparse(common["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]).hostname == "airflow-apiserver"
    commands = [command(s) for s in AIRFLOW_SERVICES.values()]
    for component in ("api-server", "scheduler", "dag-processor", "triggerer"):
        assert commands.count(component) == 1, component
    workers = [name for name, s in AIRFLOW_SERVICES.items() if command(s) == "celery worker"]
    assert len(workers) >= 2
    assert len({SERVICES[w].get("hostname") for w in workers}) == len(workers)  # told apart in the UI


def test_every_connection_the_dags_use_points_at_a_service_of_the_stack():
    for name, service in AIRFLOW_SERVICES.items():
        assert connections(service) == connections(COMPOSE["x-airflow-common"]), f"{name} differs"
    conns = connections(COMPOSE["x-airflow-common"])
    assert DAG_CONNECTIONS <= set(conns)
    mounts = (volume.split(":")[:2] for volume in COMPOSE["x-airflow-common"]["volumes"])
    tls_mount = next(target for source, target in mounts if source == "tls")
    for conn_id, conn in conns.items():
        if conn["conn_type"] == "mysql":
            assert conn["host"] in SERVICES, conn_id
            assert conn["extra"]["ssl"]["ca"].startswith(tls_mount + "/"), f"{conn_id} does not verify TLS"
    assert urlparse(conns["aws_default"]["extra"]["endpoint_url"]).hostname == "minio"
    location = env(COMPOSE["x-airflow-common"])["AIRFLOW_VAR_MYSQL_BACKUP_LOCATION"]
    assert location.startswith("s3://")  # backups go to MinIO, not to one worker's disk


def test_the_sqlite_source_is_mounted_into_every_airflow_container():
    path = connections(COMPOSE["x-airflow-common"])["sqlite_source"]["host"]
    for name, service in AIRFLOW_SERVICES.items():
        if name == "tls-init":
            continue
        targets = [target for _source, target in bind_mounts(service)]
        assert any(path.startswith(target + "/") for target in targets), f"{name} cannot read {path}"


def test_mysql_primary_has_row_binlog_gtid_and_mandatory_tls_and_a_replica():
    primary, replica = SERVICES["mysql-primary"], SERVICES["mysql-replica"]
    assert primary["image"].split(":")[1].startswith("8.4.")
    flags = command(primary)
    for flag in ("--log-bin", "--binlog-format=ROW", "--gtid-mode=ON", "--enforce-gtid-consistency=ON",
                 "--require-secure-transport=ON", "--ssl-ca=", "--ssl-cert=", "--ssl-key="):
        assert flag in flags, flag
    assert "--server-id=2" in command(replica) and "--gtid-mode=ON" in command(replica)
    init = (ROOT / "deploy/mysql/replica-init.sh").read_text()
    assert "SOURCE_HOST = 'mysql-primary'" in init and "SOURCE_SSL_VERIFY_SERVER_CERT = 1" in init
    assert replica["depends_on"]["mysql-primary"]["condition"] == "service_healthy"


def test_every_long_running_service_has_a_healthcheck_and_the_init_creates_the_pool():
    from dag_building.task_policy import MYSQL_POOL

    for name, service in SERVICES.items():
        if service.get("restart") != "no":
            assert "healthcheck" in service, f"{name} has no healthcheck"
    init = SERVICES["airflow-init"]
    assert command(init) == "bash /opt/airflow/deploy/airflow-init.sh"
    volumes = (volume.split(":") for volume in COMPOSE["x-airflow-common"]["volumes"])
    writable = {target for source, target, *mode in volumes if source in COMPOSE["volumes"] and not mode}
    assert set(env(init)["AIRFLOW_WRITABLE_DIRS"].split()) == writable  # owned by the services' user
    assert f"airflow pools set {MYSQL_POOL} " in (ROOT / "deploy/airflow-init.sh").read_text()
    for name, service in AIRFLOW_SERVICES.items():
        if name not in ("airflow-init", "tls-init"):
            assert service["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


@pytest.mark.parametrize("script", sorted(p.relative_to(ROOT) for p in (ROOT / "deploy").rglob("*.sh")))
def test_deploy_scripts_are_valid_bash(script):
    subprocess.run(["bash", "-n", str(ROOT / script)], check=True)


def test_mysql_servers_are_encrypted_at_rest_with_the_keyring_outside_the_datadir():
    """The MySQL 8.4 keyring component (Docker only: no MySQL 8.4 binaries on these machines)."""
    from mysql_hardening.encryption_at_rest import mysql_component_files

    manifest = json.loads((ROOT / "deploy/mysql/keyring/mysqld.my").read_text())
    assert manifest == {"components": "file://component_keyring_file"}
    config = json.loads((ROOT / "deploy/mysql/keyring/component_keyring_file.cnf").read_text())
    assert {name: (ROOT / "deploy/mysql/keyring" / name).read_text()
            for name in ("mysqld.my", "component_keyring_file.cnf")} == mysql_component_files(config["path"])
    for name in ("mysql-primary", "mysql-replica", "mysql-dev"):
        service = SERVICES[name]
        assert "--default-table-encryption=ON" in command(service), name
        targets = {interpolate(v).split(":")[1]: interpolate(v).split(":")[0] for v in service["volumes"]}
        assert targets["/usr/sbin/mysqld.my"] == "./deploy/mysql/keyring/mysqld.my"
        assert targets["/usr/lib64/mysql/plugin/component_keyring_file.cnf"].endswith("component_keyring_file.cnf")
        keyring_dir = str(Path(config["path"]).parent)
        datadir = next(t for t, s in targets.items() if s.endswith("-data"))
        assert targets[keyring_dir] in COMPOSE["volumes"] and targets[keyring_dir] != targets[datadir]
        assert not keyring_dir.startswith(datadir + "/")
        assert service["depends_on"]["keyring-init"]["condition"] == "service_completed_successfully"
        init_targets = [interpolate(v).split(":") for v in SERVICES["keyring-init"]["volumes"]]
        assert any(source == targets[keyring_dir] for source, _ in init_targets), name
    for flag in ("--innodb-redo-log-encrypt=ON", "--innodb-undo-log-encrypt=ON", "--binlog-encryption=ON"):
        assert flag in command(SERVICES["mysql-primary"]) and flag in command(SERVICES["mysql-replica"])
    assert "chmod 700" in " ".join(SERVICES["keyring-init"]["entrypoint"])


def test_the_masked_copy_goes_to_the_dev_server_and_its_snapshots_to_their_own_bucket():
    common = env(COMPOSE["x-airflow-common"])
    dev = connections(COMPOSE["x-airflow-common"])["mysql_dev"]
    assert dev["host"] == "mysql-dev" and dev["host"] not in ("mysql-primary", "mysql-replica")
    assert "AIRFLOW_VAR_MYSQL_MASKING_SECRET_KEY" in common
    parquet = urlparse(common["AIRFLOW_VAR_MYSQL_MASKED_COPY_PARQUET_LOCATION"])
    assert parquet.scheme == "s3" and parquet.netloc != urlparse(common["AIRFLOW_VAR_MYSQL_BACKUP_LOCATION"]).netloc
    assert "AIRFLOW_VAR_MYSQL_MASKED_COPY_PARQUET_LOCATION" in (ROOT / "deploy/airflow-init.sh").read_text()
