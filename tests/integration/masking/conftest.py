"""A private mariadbd with encryption at rest on (file_key_management, key file outside the
datadir), holding the demo shop migrated by the project's own migration: the source of the
masked copies. Shared by the module's tests; each test writes its own dev databases."""
from __future__ import annotations

import sys
import uuid

import pytest

from mysql_hardening import encryption_at_rest
from tests.support.paths import ROOT
from tools.private_mariadb import PrivateMariaDB

from masking_support import SHOP


@pytest.fixture(scope="session")
def encrypted_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("encrypted")
    key_file = encryption_at_rest.write_key_file(root / "keys" / "keyfile",
                                                 {1: encryption_at_rest.new_key(), 2: encryption_at_rest.new_key()})
    server = PrivateMariaDB(log_bin=True, options=encryption_at_rest.mariadb_options(key_file),
                            basedir=str(root / "server"))
    server.start()
    server.key_file = key_file
    yield server
    server.stop()


@pytest.fixture(scope="session")
def demo_shop(encrypted_server, tmp_path_factory) -> str:
    """The demo shop at scale 0.02 (about 19k rows), migrated into `shop` on the encrypted server."""
    if str(ROOT / "include" / "demo_shop") not in sys.path:
        sys.path.insert(0, str(ROOT / "include" / "demo_shop"))
    from generate import generate

    from tests.support.migrate import migrate

    tmp = tmp_path_factory.mktemp("shop")
    generate(tmp / "shop.sqlite3", scale=0.02, seed=42)
    params = {"host": "127.0.0.1", "port": encrypted_server.port, "user": "root", "passwd": ""}
    migrate(tmp / "shop.sqlite3", SHOP, params, tmp)
    return SHOP


@pytest.fixture
def dev_database(encrypted_server):
    """Names of dev databases for one test, dropped (with their staging copies) afterwards."""
    names: list[str] = []

    def make() -> str:
        names.append(f"dev_{uuid.uuid4().hex[:8]}")
        return names[-1]

    yield make
    for name in names:
        encrypted_server.sql(f"DROP DATABASE IF EXISTS `{name}`")
        encrypted_server.sql(f"DROP DATABASE IF EXISTS `{name}_mask_stage`")


