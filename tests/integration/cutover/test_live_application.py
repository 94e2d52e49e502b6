"""The cutover as a user does it, with the demo shop's application writing the whole time.

The application runs as a process of its own (include/demo_shop/app_writer.py): Django's ORM
with the sample settings (IMMEDIATE transactions on SQLite, writes retried through a freeze)
places, changes and cancels orders and reprices products, follows the settings file the
switch writes, and journals every write that committed. Through the migration with capture,
the rehearsal, the switch, writes on MySQL, the rollback and writes on SQLite again; then
every journaled write is checked on the side that should hold it, and the ORM must find
every order by its UUID on both sides. tools/bench_cutover runs the same at scale 1.
"""
from __future__ import annotations

import sys

import pytest

from tests.support.paths import ROOT
from tools import bench_cutover

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    sys.path.insert(0, str(ROOT / "include" / "demo_shop"))
    from generate import generate

    path = tmp_path_factory.mktemp("shop") / "shop.sqlite3"
    generate(path, scale=0.01, seed=7)
    return path


def test_every_write_of_a_live_application_survives_migration_switch_and_rollback(shop, mysql_params):
    result = bench_cutover.run(shop, mysql_params, writes=40, pause=0.005)

    assert result["migration_verification_ok"] and result["pending_after_migration"] > 0  # it wrote meanwhile
    assert result["safe_to_switch"].startswith("safe to switch: yes, because")
    for side in ("sqlite", "mysql"):
        journal = result["journal"][side]
        assert journal["writes"] >= 80 and journal["lost"] == 0 and journal["stale"] == 0, (side, journal)
        found = result["orders_by_uuid"][side]
        assert found["orders"] > 1000 and found["not_found"] == 0, (side, found)
    # the rollback brought back what was written on MySQL, and MySQL kept nothing written after it
    assert result["journal"]["sqlite"]["writes"] > result["journal"]["mysql"]["writes"]
    app = result["application"]
    assert app["committed"] >= 120 and app.get("locked", 0) == 0, app  # IMMEDIATE transactions wait instead
    assert app["moved"] >= 2  # it met the guard on each side and followed the settings the switch wrote
    for step in ("rehearsal", "switch", "rollback"):
        assert 0 < result[step]["frozen_seconds"] < 60, (step, result[step])
