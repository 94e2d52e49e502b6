"""A private mariadbd with performance_schema on (and a binary log, for the backup the scratch
copy is restored from), holding the demo shop as the migration leaves it."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from mysql_backup.access import SimpleAccess
from mysql_backup.crypto import AgeKey
from mysql_backup.storage import LocalStorage
from tests.support.paths import ROOT
from tools.private_mariadb import PrivateMariaDB

sys.path.insert(0, str(ROOT / "include" / "demo_shop"))  # a standalone Django project, not a package

pytestmark = pytest.mark.integration

PERFORMANCE_SCHEMA = {"performance_schema": "ON",
                      "performance-schema-consumer-events-statements-current": "ON",
                      "performance-schema-consumer-events-statements-history-long": "ON",
                      "performance_schema_events_statements_history_long_size": 10000}


@dataclass
class Shop:
    server: PrivateMariaDB
    database: str = "shop"

    @property
    def params(self) -> dict:
        return {"host": "127.0.0.1", "port": self.server.port, "user": "root", "passwd": ""}

    @property
    def access(self) -> SimpleAccess:
        return SimpleAccess("127.0.0.1", self.server.port, "root", "", self.database)

    def now(self):
        """The server's clock (UTC): snapshots are stamped with it."""
        from datetime import timezone

        (moment,), = self.server.sql("SELECT UTC_TIMESTAMP(6)")
        return moment.replace(tzinfo=timezone.utc)

    def connect(self, database: str | None = "shop"):
        from mysql_common.session import configure_session

        conn = self.server.connect(database or "")
        conn.autocommit(True)
        configure_session(conn)
        return conn


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory):
    from generate import generate

    path = tmp_path_factory.mktemp("demo") / "shop.sqlite3"
    generate(path, scale=0.1, seed=7)
    return path


@pytest.fixture
def shop(private_mariadb, demo_sqlite, tmp_path) -> Shop:
    from tests.support.migrate import migrate

    server = private_mariadb(log_bin=True, options=PERFORMANCE_SCHEMA)
    shop = Shop(server)
    result = migrate(demo_sqlite, shop.database, shop.params, tmp_path)
    assert result["status"] == "OK", result
    return shop


@pytest.fixture
def age_key() -> AgeKey:
    identity = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
    return AgeKey.from_config(secret=identity)


@pytest.fixture
def storage(tmp_path) -> LocalStorage:
    return LocalStorage(tmp_path / "backups")
