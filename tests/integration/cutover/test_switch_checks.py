"""The rehearsal tries every switch action without performing it and ends with one line,
safe to switch or not and why; a switch whose actions could not run is refused before the
freeze; a run that fails still leaves its report."""
from __future__ import annotations

import pytest

from sqlite_to_mysql.cutover import forward, mysql_capture, sqlite_capture
from sqlite_to_mysql.cutover import report as cutover_report
from sqlite_to_mysql.cutover.errors import CutoverError, SwitchFailed

pytestmark = pytest.mark.integration


def live_pass(cut):
    forward.prepare(cut)
    return forward.verify_live(cut, max_lag_changes=0, timeout=120)


def test_a_rehearsal_with_an_action_that_could_not_run_says_not_safe_and_why(app_db, migrate, tmp_path):
    migrated = migrate(app_db)
    missing = tmp_path / "no-such-dir" / "app.env"
    cut = migrated.cutover(settings_file=str(missing))
    live = live_pass(cut)
    report: dict = {}
    with pytest.raises(CutoverError, match="not safe to switch"):
        forward.freeze_and_switch(cut, live, mode="rehearsal", timeout=60, max_lag_changes=0, catch_up_timeout=60,
                                  report=report)
    assert report["outcome"] == "rehearsal" and report["verification"]["ok"] and report["frozen_seconds"] > 0
    assert report["safe_to_switch"] == (f"safe to switch: no, because settings_file {missing}: its directory "
                                        f"{missing.parent} does not exist")
    assert cutover_report.markdown("cutover", report).rstrip().splitlines()[-1] == report["safe_to_switch"]
    assert migrated.phase() == sqlite_capture.CAPTURING and not missing.parent.exists()


def test_a_switch_whose_actions_could_not_run_is_refused_before_the_freeze(app_db, migrate, tmp_path):
    migrated = migrate(app_db)
    missing = tmp_path / "no-such-dir" / "app.env"
    cut = migrated.cutover(settings_file=str(missing), command=["no-such-reload-s2m"])
    with pytest.raises(CutoverError, match="could not run") as refused:
        forward.prepare(cut, mode="switch")
    assert "settings_file" in str(refused.value) and "no-such-reload-s2m not found on PATH" in str(refused.value)
    live = forward.verify_live(cut, max_lag_changes=0, timeout=120)
    report: dict = {}
    with pytest.raises(CutoverError, match="could not run"):
        forward.freeze_and_switch(cut, live, mode="switch", timeout=60, max_lag_changes=0, catch_up_timeout=60,
                                  report=report)
    assert report["outcome"] == "failed" and "frozen_seconds" not in report
    assert report["safe_to_switch"].startswith("safe to switch: no, because CUTOVER_REFUSED: ")
    assert migrated.phase() == sqlite_capture.CAPTURING
    assert "freeze_failed" not in [e["step"] for e in mysql_capture.journal(migrated.mysql())]


def test_a_switch_that_fails_at_its_action_is_undone_and_its_report_says_so(app_db, migrate):
    migrated = migrate(app_db)
    cut = migrated.cutover(command=["false"])  # exists and is executable: it passes the checks
    live = live_pass(cut)
    report: dict = {}
    with pytest.raises(SwitchFailed):
        forward.freeze_and_switch(cut, live, mode="switch", timeout=60, max_lag_changes=0, catch_up_timeout=60,
                                  report=report)
    assert migrated.phase() == sqlite_capture.CAPTURING  # SQLite is the application's database again
    assert report["outcome"] == "failed" and report["error"].startswith("SWITCH_FAILED: ")
    assert report["safe_to_switch"].startswith("safe to switch: no, because SWITCH_FAILED: ")
    assert cutover_report.markdown("cutover", report).rstrip().splitlines()[-1] == report["safe_to_switch"]


def test_a_clean_rehearsal_ends_with_safe_to_switch_yes_and_the_figures(app_db, migrate):
    migrated = migrate(app_db)
    cut = migrated.cutover()
    live = live_pass(cut)
    report = forward.freeze_and_switch(cut, live, mode="rehearsal", timeout=60, max_lag_changes=0,
                                       catch_up_timeout=60)
    line = report["safe_to_switch"]
    assert line.startswith("safe to switch: yes, because every table matched SQLite during the freeze")
    assert f"settings_file {migrated.tmp / 'app.env'} can be written" in line
    assert f"writes were frozen for {report['frozen_seconds']:.2f}s of the 60s allowed" in line
    assert cutover_report.markdown("cutover", report).rstrip().splitlines()[-1] == line
