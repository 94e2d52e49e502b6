"""Real servers for the backup tests: a private mariadbd with a binary log per test, and a bucket
on the S3-compatible server (moto in server mode, tests/conftest.py) on a loopback port."""
from __future__ import annotations

import subprocess
import uuid

import pytest

from mysql_backup.crypto import AgeKey
from mysql_backup.storage import LocalStorage
from backup_support import Source, s3_client


@pytest.fixture
def source(private_mariadb) -> Source:
    server = private_mariadb(log_bin=True)
    server.sql("CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")
    return Source(server)


@pytest.fixture
def age_identity() -> str:
    return subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def age_key(age_identity) -> AgeKey:
    return AgeKey.from_config(secret=age_identity)


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "backups")


@pytest.fixture
def s3_bucket(moto_server):
    """(client, bucket) with a fresh bucket on the moto server."""
    client = s3_client(moto_server)
    bucket = f"backups-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=bucket)
    return client, bucket


@pytest.fixture
def scratch_cleanup(source):
    """Names of databases the test restores into; dropped afterwards."""
    names: list[str] = []
    yield names
    for name in names:
        try:
            source.sql(f"DROP DATABASE IF EXISTS `{name}`", None)
        except Exception:
            pass
