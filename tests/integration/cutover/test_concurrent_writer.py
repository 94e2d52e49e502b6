"""The application keeps writing through the whole migration and cutover: after the switch
every write it committed is in MySQL, verification is clean, and the freeze is measured."""
from __future__ import annotations

import re
import sqlite3
import time

import pytest

from sqlite_to_mysql.cutover import forward, freeze, mysql_capture

from tests.support.cutover_app import Writer, missing_writes, verify_all

pytestmark = pytest.mark.integration


def wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_every_write_committed_during_migration_and_cutover_reaches_mysql(app_db, migrate):
    writer = Writer(app_db)
    writer.start()
    try:
        wait_for(lambda: writer.committed >= 20, "the writer to start")
        migrated = migrate(app_db)
        assert migrated.migration["pending_differences"] >= 0
        cut = migrated.cutover()
        forward.prepare(cut)
        caught = forward.catch_up_step(cut, max_lag_changes=50, timeout=300)
        live = forward.verify_live(cut, max_lag_changes=50, timeout=300)
        rehearsal = forward.freeze_and_switch(cut, live, mode="rehearsal", timeout=60, max_lag_changes=50,
                                              catch_up_timeout=300)
        after_rehearsal = writer.committed
        wait_for(lambda: writer.committed >= after_rehearsal + 20, "writes after the rehearsal's unfreeze")
        switched = forward.freeze_and_switch(cut, live, mode="switch", timeout=60, max_lag_changes=50,
                                             catch_up_timeout=300)
        refused = writer.refused
        wait_for(lambda: writer.refused > refused, "the guard to refuse a write")
    finally:
        writer.stop()

    assert caught["changes"] > 0 and writer.committed > 100
    assert rehearsal["outcome"] == "rehearsal" and rehearsal["verification"]["ok"]
    assert switched["outcome"] == "switch" and switched["verification"]["ok"]
    assert switched["frozen_seconds"] > 0 and switched["changes_applied"] >= switched["drain"]["changes"]
    dst = migrated.mysql()
    steps = {e["step"]: e for e in mysql_capture.journal(dst)}
    assert steps["switch"]["seconds"] == pytest.approx(switched["frozen_seconds"], abs=1e-3)
    assert steps["rehearsal"]["detail"]["outcome"] == "rehearsal"

    assert missing_writes(writer.model, dst, migrated.plan, app_db) == []
    assert verify_all(app_db, dst, migrated.plan) == []
    assert f"DATABASE_URL=mysql://root@127.0.0.1:3306/{migrated.database}" in (migrated.tmp / "app.env").read_text()
    with pytest.raises(sqlite3.IntegrityError, match=re.escape(freeze.SOURCE_GUARD_MESSAGE)):
        migrated.app().execute("DELETE FROM kv")


def test_without_writes_the_live_pass_settles_every_range_so_the_freeze_rechecks_none(app_db, migrate):
    """The live pass verifies on the session that applies changes (NO_BACKSLASH_ESCAPES): its
    checksums must mean the same there, or every range would be re-checked row by row inside
    the freeze, and the freeze would last as long as a full verification."""
    migrated = migrate(app_db)
    cut = migrated.cutover()
    forward.prepare(cut)
    live = forward.verify_live(cut, max_lag_changes=0, timeout=120)
    assert live["suspect_ranges"] == 0, {t: v["suspects"] for t, v in live["tables"].items() if v["suspects"]}
    rehearsal = forward.freeze_and_switch(cut, live, mode="rehearsal", timeout=60, max_lag_changes=0,
                                          catch_up_timeout=60)
    check = rehearsal["verification"]
    assert check["ok"] and check["ranges_checked"] == 0 and check["keys_checked"] == 0
