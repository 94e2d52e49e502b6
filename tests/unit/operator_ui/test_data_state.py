"""The data-state page's readers and HTML over files written by the project's own writers:
a backup history with a gap, a numbering reset and drills (manifests' and epoch heads' to_json
at the storage layout's keys, through LocalStorage), migration
reports (sqlite_to_mysql.report.write), a cutover report and an approval journal."""
from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from approvals import journal
from data_state import page, readers, svg
from mysql_backup.manifest import Layout
from mysql_backup.verify import verify_backups
from mysql_hardening import incidents
from sqlite_to_mysql import report
from sqlite_to_mysql.cutover import report as cutover_report
from tests.support.data_state_fixtures import AFTER_RESET, DRILL_RTOS, MISSING, RESET_EPOCH, SERVER, \
    write_backup_history, write_reset
from tests.unit.backup.backup_builders import EPOCH


def no_runs(directory, dags):
    return None


def test_backup_chain_shows_every_full_the_gap_and_the_drills(tmp_path):
    storage = write_backup_history(tmp_path / "backups")
    section = readers.backups(storage)
    assert not section.problems
    [chain] = section.items
    assert chain["server"] == SERVER
    assert [f["backup_id"] for f in chain["fulls"]] == ["20260301T020000Z", "20260302T020000Z", "20260303T020000Z"]
    assert [g["files"] for g in chain["gaps"]] == [list(MISSING)]
    assert chain["gaps"][0]["from"] and chain["gaps"][0]["until"]
    assert [d["rto_seconds"] for d in chain["drills"]] == list(DRILL_RTOS)
    html = page.backups(section)
    assert "Gap: binlog.000012, binlog.000013 missing" in html
    assert html.count('class="gap"') == 1
    assert "Drill RTO of srv" in html and html.count("<circle") >= 3 + 3 + 3  # sizes, durations, drills


def test_a_binlog_missing_before_the_first_shipped_one_is_a_gap_too(tmp_path):
    storage = write_backup_history(tmp_path / "backups")
    storage.delete(Layout(SERVER).binlog_manifest(EPOCH, "binlog.000003"))  # the first full backup's start
    [chain] = readers.backups(storage).items
    assert ["binlog.000003"] in [g["files"] for g in chain["gaps"]]


def test_a_numbering_reset_is_shown_as_a_new_epoch_not_as_a_gap(tmp_path):
    storage = write_backup_history(tmp_path / "backups", reset="unprotected")
    section = readers.backups(storage)
    [chain] = section.items
    assert [(e["epoch"], e["follows"], e["first"], e["last"]) for e in chain["epochs"]] == [
        (EPOCH, None, "binlog.000003", "binlog.000060"), (RESET_EPOCH, EPOCH, "binlog.000001", "binlog.000006")]
    assert [g["files"] for g in chain["gaps"]] == [list(MISSING)]  # binlog.000001.. again is no hole
    html = page.backups(section)
    assert re.search(rf'<p class="bad">Binlog numbering reset: epoch {RESET_EPOCH} follows {EPOCH} \(RESET was '
                     r"executed[^<]*no full backup starts in it", html)
    assert html.count('class="reset"') == 1  # the dashed line on the timeline
    write_reset(storage, followed=True)
    section = readers.backups(storage)
    [chain] = section.items
    assert chain["fulls"][-1]["backup_id"] == AFTER_RESET and chain["fulls"][-1]["epoch"] == RESET_EPOCH
    html = page.backups(section)
    assert f'<p class="muted">Binlog numbering reset: epoch {RESET_EPOCH} follows {EPOCH}' in html
    assert "no full backup starts in it" not in html


VERIFY_GAP = re.compile(r"binlog chain broken, missing (?P<files>[^(]+) \(epoch (?P<epoch>\S+)\)")


@pytest.mark.parametrize("reset", [None, "unprotected", "followed"])
@pytest.mark.parametrize("deleted", [(), ((EPOCH, "binlog.000003"),), ((EPOCH, "binlog.000060"),),
                                     ((EPOCH, "binlog.000040"), (RESET_EPOCH, "binlog.000006")),
                                     ((RESET_EPOCH, "binlog.000003"), (RESET_EPOCH, "binlog.000004"))])
def test_the_page_names_the_gaps_and_resets_that_verify_names(tmp_path, reset, deleted):
    storage = write_backup_history(tmp_path / "backups", reset=reset)
    for epoch, name in deleted:
        if storage.stat(Layout(SERVER).binlog_manifest(epoch, name)):
            storage.delete(Layout(SERVER).binlog_manifest(epoch, name))
    said = verify_backups(storage, SERVER)
    verified = {(m["epoch"], name) for text in said.problems["chain"] + said.warnings
                for m in VERIFY_GAP.finditer(text) for name in m["files"].split(", ")}
    [chain] = readers.backups(storage).items
    assert {(g["epoch"], name) for g in chain["gaps"] for name in g["files"]} == verified
    assert MISSING[0] in {name for _, name in verified}
    resets = {(e["epoch"], e["follows"], e["unprotected"]) for e in chain["epochs"] if e["follows"]}
    assert resets == {(m[1], m[2], "no full backup starts in the newest epoch" in text)
                      for text in said.problems["chain"] + said.warnings
                      for m in [re.search(r"numbering was reset: epoch (\S+) follows (\S+)", text)] if m}
    assert bool(resets) == (reset is not None)


def test_a_broken_manifest_is_shown_as_a_problem_not_skipped(tmp_path):
    storage = write_backup_history(tmp_path / "backups")
    storage.put_bytes("srv/full/20260301T020000Z/manifest.json", b"{not json")
    section = readers.backups(storage)
    assert not section.items and "not a valid manifest" in section.problems[0]
    assert "not a valid manifest" in page.backups(section)


def verification(ok: bool) -> dict:
    table = {"table": "Genre", "source_rows": 25, "target_rows": 25 if ok else 24, "quarantined": 0,
             "checksum": "match" if ok else "differs", "seconds": 0.1, "copy_seconds": 0.2, "ok": ok, "issues": [],
             "differences": [], "differing_rows": 0 if ok else 1}
    return {"status": "OK" if ok else "MIGRATION_DATA_LOSS", "database": "shop", "tables": [table],
            "totals": {"source_rows": 25, "target_rows": table["target_rows"], "quarantined": 0,
                       "verify_seconds": 0.1, "copy_seconds": 0.2}, "database_issues": [], "inherited_orphans": []}


def test_migration_runs_link_to_the_run_that_wrote_them_and_say_when_counts_differ(tmp_path):
    run_id = "manual__2026-03-01T10:00:00+00:00"
    directory = report.report_dir(run_id, str(tmp_path))
    report.write(directory, "verification", verification(False), report.verification_markdown(verification(False)))
    plan = {"source_path": "/x.sqlite", "flavor": "mariadb", "server_version": "10.11", "database": "shop",
            "integrity": "ok", "blockers": [], "warnings": ["<script>alert(1)</script>"], "tables": [],
            "not_migrated": [], "name_map": {"Order Items": "Order_Items"}}
    report.write(directory, "preflight", plan, report.preflight_markdown(plan))
    section = readers.migration_runs(tmp_path, lambda d, dags: ("sqlite_to_mysql_migration", run_id)
                                     if d == directory.name else None)
    html = page.migrations(section)
    assert 'href="../dags/sqlite_to_mysql_migration/runs/manual__2026-03-01T10%3A00%3A00%2B00%3A00"' in html
    assert 'class="bad">MIGRATION_DATA_LOSS' in html and "Order_Items" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_cutover_runs_show_freeze_changes_and_approvals(tmp_path):
    directory = tmp_path / "run1"
    result = {"mode": "switch", "outcome": "switched", "frozen_seconds": 0.21, "catch_up": {"changes": 120},
              "drain": {"changes": 3}, "switch": [{"action": "settings_file", "path": "/srv/db.json"}]}
    report.write(directory, "cutover", result, cutover_report.markdown("cutover", result))
    journal.record(directory, journal.entry(
        dag_id="sqlite_to_mysql_cutover", run_id="r", task_id="approve_switch", try_number=1,
        decision=journal.APPROVED, by={"id": "alice", "name": "alice"}, at=datetime(2026, 3, 1, tzinfo=timezone.utc),
        asked_at="", deadline=None, assigned_users=[], subject="Switch", evidence={}, body="", gated_tasks=[]))
    section = readers.cutover_runs(tmp_path, no_runs)
    html = page.cutovers(section, readers.approvals_without_report(tmp_path, {"run1"}, no_runs))
    assert "approved by alice at 2026-03-01T00:00:00+00:00" in html
    assert re.search(r"<td class=n>0.21</td><td class=n>120</td><td class=n>3</td>", html)
    assert "Writes frozen per run" in html


def test_missing_sources_say_no_data_and_forbidden_sections_say_so(tmp_path):
    assert readers.migration_runs(tmp_path / "absent", no_runs).items == []
    html = page.render(user="bob", sections={"migrations": readers.Section(), "incidents": None})
    assert page.NO_DATA in html and "you may not read the runs of mysql_health_monitor" in html


def test_incidents_open_and_resolved():
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    state = incidents.update(None, [{"key": "conn", "status": "alert", "code": "CONNECTION_POOL_EXHAUSTED",
                                     "summary": "95% of max_connections"},
                                    {"key": "lag", "status": "alert", "code": "REPLICATION_LAG_HIGH",
                                     "summary": "lag 300 s"}], now)
    state = incidents.update(state, [{"key": "lag", "status": "ok", "summary": "lag 1 s"}], now)
    section = readers.incidents({"mysql_health_state__mysql_monitor": json.loads(json.dumps(state))})
    assert sorted((i["code"], i["status"]) for i in section.items) == [
        ("CONNECTION_POOL_EXHAUSTED", "open"), ("REPLICATION_LAG_HIGH", "resolved (notice pending)")]


def test_svg_escapes_labels_and_draws_nothing_without_points():
    assert svg.line_chart("t", {"a": []}, "s") == ""
    drawn = svg.line_chart("<b>", {"<i>": [("2026-03-01T00:00:00+00:00", 1.0)]}, "s")
    assert "<b>" not in drawn and "&lt;b&gt;" in drawn and drawn.startswith("<svg")


def test_closed_incidents_stay_on_the_page_once_their_resolution_is_delivered():
    day = datetime(2026, 3, 1, tzinfo=timezone.utc)
    state = None
    for n in range(incidents.CLOSED_KEPT + 3):  # one more incident opened and closed each hour
        opened, closed = day + timedelta(hours=n), day + timedelta(hours=n, minutes=30)
        state = incidents.update(state, [{"key": "lag", "status": "alert", "code": "REPLICATION_LAG_HIGH",
                                          "summary": f"lag {n}"}], opened)
        for notice in incidents.pending(state):
            state = incidents.mark_delivered(state, notice)
        state = incidents.update(state, [{"key": "lag", "status": "ok", "summary": "lag 1 s"}], closed)
        if n < incidents.CLOSED_KEPT + 2:  # the last resolution is still to be delivered
            for notice in incidents.pending(state):
                state = incidents.mark_delivered(state, notice)
    section = readers.incidents({"mysql_health_state__mysql_monitor": json.loads(json.dumps(state))})
    statuses = [i["status"] for i in section.items]
    assert statuses[0] == "resolved (notice pending)" and statuses.count("closed") == incidents.CLOSED_KEPT
    closed = [i for i in section.items if i["status"] == "closed"]
    assert closed[0]["opened_at"] == (day + timedelta(hours=incidents.CLOSED_KEPT + 1)).isoformat()  # newest first
    assert closed[-1]["opened_at"] == (day + timedelta(hours=2)).isoformat()  # the oldest two dropped
    html = page.incidents(section)
    assert html.count(">closed<") == incidents.CLOSED_KEPT


def test_a_series_without_points_has_no_legend_entry():
    drawn = svg.line_chart("drills", {"restored": [("2026-03-01T00:00:00+00:00", 12.5)], "failed drill": [],
                                      "unknown": [("2026-03-02T00:00:00+00:00", None)]}, "s")
    assert "restored" in drawn and "failed drill" not in drawn and "unknown" not in drawn
