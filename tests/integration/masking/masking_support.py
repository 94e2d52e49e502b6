"""Shared pieces of the masking integration tests (imported by name: a conftest cannot be)."""
from __future__ import annotations

from mysql_backup.access import SimpleAccess
from tests.support.paths import ROOT

SHOP = "shop"
KEY = b"integration-masking-key-0123456789"
RULES = ROOT / "include" / "masking" / "shop.yaml"


def access(server, database: str = "") -> SimpleAccess:
    return SimpleAccess("127.0.0.1", server.port, "root", "", database)


def rows(server, sql: str, database: str | None = None):
    return server.sql(sql, database)


def shop_url(server, database: str) -> str:
    return f"mysql://root@127.0.0.1:{server.port}/{database}"

