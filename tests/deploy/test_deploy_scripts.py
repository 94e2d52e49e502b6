"""The compose stack's init scripts, run here for real outside Docker: the TLS certificates it
gives MySQL pass the project's own identity-verifying connection, and airflow-init creates the
metadata database, the MySQL pool, the admin password file and the backup bucket, twice over
(idempotent), and hands the shared volumes over. The S3 side is moto's S3 server, a stand-in
for MinIO, which cannot run here."""
from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def make_certs(directory: Path) -> str:
    out = subprocess.run(["bash", str(ROOT / "deploy/tls/make-certs.sh"), str(directory), str(os.getuid())],
                         capture_output=True, text=True, check=True)
    return out.stdout


@pytest.mark.integration
def test_compose_certificates_pass_the_projects_tls_verification(tmp_path, private_mariadb, monkeypatch):
    tls = tmp_path / "tls"
    make_certs(tls)
    # The CA's key is gone: nothing else can be signed with it.
    assert {p.name for p in tls.iterdir()} == {"ca.pem", "server-cert.pem", "server-key.pem"}
    assert not stat.S_IMODE((tls / "server-key.pem").stat().st_mode) & 0o077
    names = subprocess.run(["openssl", "x509", "-in", str(tls / "server-cert.pem"), "-noout", "-ext",
                            "subjectAltName"], capture_output=True, text=True, check=True).stdout
    assert "DNS:mysql-primary" in names and "DNS:mysql-replica" in names
    # Every MySQL service a connection names is in the certificate (verify-identity).
    from tests.deploy.test_compose_static import COMPOSE, connections

    hosts = {c["host"] for c in connections(COMPOSE["x-airflow-common"]).values() if c["conn_type"] == "mysql"}
    assert hosts and all(f"DNS:{host}" in names for host in hosts), (hosts, names)
    before = (tls / "server-cert.pem").read_bytes()
    assert "already" in make_certs(tls) and (tls / "server-cert.pem").read_bytes() == before

    server = private_mariadb(options={"ssl-ca": tls / "ca.pem", "ssl-cert": tls / "server-cert.pem",
                                      "ssl-key": tls / "server-key.pem"})
    monkeypatch.setenv("AIRFLOW_CONN_TLS_CHECK", json.dumps({
        "conn_type": "mysql", "host": "127.0.0.1", "port": server.port, "login": "root",
        "extra": {"ssl": {"ca": str(tls / "ca.pem")}}}))
    from hooks.mysql_server_hook import MySqlServerHook

    conn = MySqlServerHook("tls_check").get_conn(with_database=False)  # VERIFY_IDENTITY
    try:
        cur = conn.cursor()
        cur.execute("SHOW SESSION STATUS LIKE 'Ssl_version'")
        assert cur.fetchone()[1].startswith("TLSv1.")
    finally:
        conn.close()


@pytest.mark.airflow
def test_airflow_init_creates_db_pool_admin_password_and_backup_bucket(airflow_env, tmp_path):
    import boto3
    from moto.server import ThreadedMotoServer

    from dag_building.task_policy import MYSQL_POOL
    from tools.private_mariadb import free_port

    port = free_port()
    shared = tmp_path / "logs"
    shared.mkdir()
    uid = 12345 if os.geteuid() == 0 else os.getuid()  # root hands the shared volumes over
    s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    s3.start()
    try:
        env = {**airflow_env, "AIRFLOW_HOME": str(tmp_path / "home"), "MYSQL_POOL_SLOTS": "5",
               "AIRFLOW_WRITABLE_DIRS": str(shared), "AIRFLOW_UID": str(uid),
               "AIRFLOW_ADMIN_PASSWORD": "s3cr\"et", "AIRFLOW_VAR_MYSQL_BACKUP_LOCATION": "s3://mysql-backups/b",
               "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(tmp_path / "passwords.json"),
               "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({
                   "conn_type": "aws", "login": "minio", "password": "minio-secret",
                   "extra": {"endpoint_url": f"http://127.0.0.1:{port}", "region_name": "us-east-1"}})}
        for _ in range(2):
            out = subprocess.run(["bash", str(ROOT / "deploy/airflow-init.sh")], env=env, capture_output=True,
                                 text=True)
            assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        pool = subprocess.run([str(ROOT / ".venv/bin/airflow"), "pools", "get", MYSQL_POOL, "-o", "json"],
                              env=env, capture_output=True, text=True, check=True).stdout
        assert json.loads(pool)[0]["slots"] == "5"
        assert json.loads((tmp_path / "passwords.json").read_text()) == {"admin": 's3cr"et'}
        client = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                              aws_access_key_id="minio", aws_secret_access_key="minio-secret")
        assert [b["Name"] for b in client.list_buckets()["Buckets"]] == ["mysql-backups"]
        assert shared.stat().st_uid == uid
    finally:
        s3.stop()
