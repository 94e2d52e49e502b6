"""Shared pieces of the backup integration tests (imported by name: a conftest cannot be)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone

from mysql_backup.access import SimpleAccess
from mysql_backup.catalog import load_catalog
from mysql_backup.manifest import BinlogManifest, Layout
from tools.private_mariadb import PrivateMariaDB


@dataclass
class Source:
    """The server being backed up, and its application database `shop`."""

    server: PrivateMariaDB
    database: str = "shop"

    @property
    def access(self) -> SimpleAccess:
        return SimpleAccess("127.0.0.1", self.server.port, "root", "", self.database)

    def sql(self, statement: str, database: str | None = "shop"):
        return self.server.sql(statement, database)

    def scalar(self, statement: str, database: str | None = "shop"):
        return self.sql(statement, database)[0][0]

    def binlogs(self) -> list[str]:
        return [row[0] for row in self.sql("SHOW BINARY LOGS", None)]

    def purge_to(self, name: str) -> None:
        """PURGE BINARY LOGS silently keeps files InnoDB's crash recovery still needs until
        the binlog checkpoint moves on (about a second): repeat until it took effect."""
        deadline = time.monotonic() + 30
        while self.binlogs()[0] != name:
            if time.monotonic() > deadline:
                raise AssertionError(f"the server kept binlogs before {name}")
            self.sql(f"PURGE BINARY LOGS TO '{name}'", None)
            time.sleep(0.2)


def shipped(storage, server: str = "src") -> dict[str, BinlogManifest]:
    """The binlogs of the newest epoch in storage, by file name."""
    epoch = load_catalog(storage, Layout(server)).newest_epoch
    return {m.name: m for m in epoch.binlogs.values()} if epoch else {}


def manifest_key(manifest: BinlogManifest) -> str:
    return Layout(manifest.server).binlog_manifest(manifest.epoch, manifest.name)


def s3_client(endpoint: str, **config):
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing",
                        config=Config(retries={"mode": "standard", "max_attempts": 2}, **config))



def fill(source: Source, table: str = "orders", rows: int = 2000) -> None:
    source.sql(f"CREATE TABLE {table} (id int PRIMARY KEY, customer varchar(40) NOT NULL, "
               "total decimal(10,2) NOT NULL, note text, created_at datetime(6) NOT NULL)")
    source.sql(f"INSERT INTO {table} SELECT seq, CONCAT('customer ', seq % 97), seq / 7, "
               f"IF(seq % 5 = 0, NULL, REPEAT('n', seq % 50)), TIMESTAMP'2026-01-01 00:00:00' + INTERVAL seq SECOND "
               f"FROM seq_1_to_{rows}")


def next_second() -> datetime:
    """Wait until a new wall-clock second starts; binlog events carry whole-second times."""
    now = time.time()
    time.sleep(int(now) + 1 - now + 0.01)
    return datetime.fromtimestamp(int(time.time()), timezone.utc)
