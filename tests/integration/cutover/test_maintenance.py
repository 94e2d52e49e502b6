"""One meaning for a failed maintenance_off, on the cutover and on the rollback: the step
completes (a switch or rollback is never undone for it), its report and journal entry are
complete and say so, and then the step ends failed with SWITCH_FAILED, so the operator turns
the maintenance page off by hand."""
from __future__ import annotations

import pytest

from sqlite_to_mysql.cutover import forward, mysql_capture, rollback, sqlite_capture
from sqlite_to_mysql.cutover.errors import SwitchFailed
from tests.support.cutover_app import switch_over

pytestmark = pytest.mark.integration
STUCK = {"maintenance_on": ["true"], "maintenance_off": ["false"]}  # both exist: they pass the checks


def test_a_rehearsal_whose_maintenance_off_fails_completes_then_fails(app_db, migrate):
    migrated = migrate(app_db)
    cut = migrated.cutover(**STUCK)
    forward.prepare(cut)
    live = forward.verify_live(cut, max_lag_changes=0, timeout=120)
    report: dict = {}
    with pytest.raises(SwitchFailed, match="rehearsal done, but maintenance_off failed"):
        forward.freeze_and_switch(cut, live, mode="rehearsal", timeout=60, max_lag_changes=0, catch_up_timeout=60,
                                  report=report)
    assert migrated.phase() == sqlite_capture.CAPTURING  # writes released
    assert report["verification"]["ok"] and report["maintenance_off_error"]
    assert report["outcome"] == "failed" and "maintenance_off failed" in report["error"]
    assert "rehearsal" in [e["step"] for e in mysql_capture.journal(migrated.mysql(), "cutover_test")]


def test_a_rollback_whose_maintenance_off_fails_completes_then_fails(app_db, migrate):
    migrated = migrate(app_db)
    switch_over(migrated)
    cut = migrated.cutover(run_id="rollback_test", **STUCK)
    report: dict = {}
    with pytest.raises(SwitchFailed, match="rollback done, but maintenance_off failed"):
        rollback.rollback(cut, timeout=60, max_lag_changes=0, catch_up_timeout=120, report=report)
    assert migrated.phase() == sqlite_capture.CAPTURING  # the application is back on SQLite
    assert report["verification"]["ok"] and report["maintenance_off_error"]
    assert report["outcome"] == "failed" and "maintenance_off failed" in report["error"]
    assert "rollback" in [e["step"] for e in mysql_capture.journal(migrated.mysql(), "rollback_test")]


def test_a_switch_undone_after_its_action_failed_turns_maintenance_off(app_db, migrate, tmp_path):
    migrated = migrate(app_db)
    off = tmp_path / "maintenance-off-ran"
    cut = migrated.cutover(command=["false"], maintenance_on=["true"], maintenance_off=["touch", str(off)])
    forward.prepare(cut)
    live = forward.verify_live(cut, max_lag_changes=0, timeout=120)
    report: dict = {}
    with pytest.raises(SwitchFailed):
        forward.freeze_and_switch(cut, live, mode="switch", timeout=60, max_lag_changes=0, catch_up_timeout=60,
                                  report=report)
    assert migrated.phase() == sqlite_capture.CAPTURING  # back on SQLite
    assert off.exists() and "maintenance_off_error" not in report  # and no maintenance page left behind
