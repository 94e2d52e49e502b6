"""What the switch's and the rollback's approvers read (approvals/cutover.py): the figures the
issue names, from the steps' own results, with the exact actions and no secret."""
from __future__ import annotations

from approvals import cutover
from approvals import evidence as ev

CHECKS = [{"action": "maintenance_on", "target": "/srv/bin/maint on", "ok": True, "problem": None},
          {"action": "settings_file", "target": "/srv/app/db.env", "ok": True, "problem": None},
          {"action": "webhook", "target": "https://deploy.example/hook", "ok": False, "problem": "HTTP 503"},
          {"action": "maintenance_off", "target": "/srv/bin/maint off", "ok": True, "problem": None}]
LIVE = {"seconds": 1.25, "suspect_ranges": 1, "catch_up": {"changes": 40, "lag_changes": 3, "lag_seconds": 0.8},
        "tables": {"orders": {"source_rows": 120, "target_rows": 119, "suspects": [[1, 9]]},
                   "customer": {"source_rows": 10, "target_rows": 10, "suspects": []}}}
JOURNAL = [{"step": "rehearsal", "seconds": 0.41, "run_id": "r1", "at": "2026-12-01 10:00:00"},
           {"step": "prepare", "seconds": None, "run_id": "r2", "at": "2026-12-02 10:00:00"},
           {"step": "rehearsal", "seconds": 0.37, "run_id": "r2", "at": "2026-12-02 10:01:00"}]
TARGET = "mysql://app:[hidden]@db1:3306/shop"


def test_the_switch_evidence_carries_lag_live_verification_last_rehearsal_and_the_actions_in_order():
    shown = cutover.switch_evidence(database="shop", live=LIVE, checks=CHECKS, target=TARGET, freeze_timeout=30,
                                    rehearsal=cutover.last_freeze(JOURNAL, "rehearsal"))
    figures = shown["figures"]
    assert (figures["Lag (changes not yet on MySQL)"], figures["Lag (seconds, oldest change waiting)"]) == (3, 0.8)
    assert figures["Freeze in the last rehearsal (s)"] == 0.37 and "r2" in figures["Last rehearsal"]
    assert shown["tables"][0]["rows"] == [["customer", 10, 10, 0, "same"],
                                          ["orders", 120, 119, 1, "differs (changes in flight)"]]
    actions = shown["actions"]
    assert actions[0].startswith("run maintenance_on /srv/bin/maint on")
    assert actions[1].startswith("freeze SQLite writes (at most 30 s)")
    assert any(a.startswith("write the settings file /srv/app/db.env") and TARGET in a for a in actions)
    assert actions[-1] == "run maintenance_off /srv/bin/maint off"
    assert any("webhook" in n and "HTTP 503" in n for n in shown["notes"])
    body = ev.markdown(shown)
    assert r"app:\[hidden\]@" in body and "What approving runs" in body


def test_a_switch_without_a_rehearsal_says_the_freeze_time_is_unknown():
    shown = cutover.switch_evidence(database="shop", live=LIVE, checks=[], rehearsal=None, target=TARGET,
                                    freeze_timeout=30)
    assert shown["figures"]["Freeze in the last rehearsal (s)"] == "no rehearsal yet"
    assert any("freeze time is unknown" in n for n in shown["notes"])


def test_the_rollback_evidence_lists_what_goes_back_per_table():
    journal = JOURNAL + [{"step": "switch", "seconds": 0.5, "run_id": "s1", "at": "2026-12-03 09:00:00"}]
    shown = cutover.rollback_evidence(database="shop", pending={"orders": 5, "customer": 2}, lag_seconds=12.0,
                                      checks=CHECKS[1:2], previous=cutover.last_freeze(journal, "rollback"),
                                      target="sqlite:////srv/app/db.sqlite3", freeze_timeout=60,
                                      switched=cutover.last_freeze(journal, "switch"))
    assert shown["figures"]["Writes made on MySQL to bring back"] == 7
    assert shown["figures"]["Freeze of the last rollback (s)"] == "no rollback yet"
    assert "s1" in shown["figures"]["Switched to MySQL"]
    assert shown["tables"][0]["rows"] == [["customer", 2], ["orders", 5]]
    assert any("sqlite:////srv/app/db.sqlite3" in a for a in shown["actions"])
    assert ev.redact(shown) == {k: v for k, v in shown.items() if v}  # nothing hidden, nothing malformed
