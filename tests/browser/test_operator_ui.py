"""Approvals and the data-state page, as an operator meets them in the Airflow UI (headless
Chromium) on this checkout's Airflow (api-server, scheduler, dag-processor): a gate approved in
Required Actions runs its step; a rejected one and an unanswered one change nothing and say so;
the data-state page shows a migration run, a backup chain with a gap, a binlog numbering reset
and the drills; an anonymous request gets nothing. Screenshots go to test-artifacts/browser/
(operator-ui-*.png).

The stack loads only the tiny gate DAGs (tests/browser/dags) and the migration DAG; the backup
history is written in the storage's real format (tests/support/data_state_fixtures.py), the
migration's reports by a real run into a private MariaDB."""
from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from approvals import journal
from mysql_hardening import incidents
from sqlite_to_mysql.report import report_dir
from tests.browser.test_migration_ui import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from tests.e2e.airflow_stack import MIGRATION_DAG, AirflowStack, connection_uri
from tests.support.data_state_fixtures import RESET_EPOCH, write_backup_history
from tests.support.paths import DATASETS, ROOT

pytestmark = [pytest.mark.browser, pytest.mark.airflow, pytest.mark.slow]
GATE_DAG, TIMEOUT_DAG = "approval_gate_check", "approval_gate_timeout_check"
SECRETS = ("hunter2-never-shown", "s3cr3t-pw")


class UiStack:
    def __init__(self, tmp: Path) -> None:
        from tools.private_mariadb import PrivateMariaDB

        dags = tmp / "dags"
        dags.mkdir()
        (dags / "approval_gate_check.py").symlink_to(Path(__file__).parent / "dags" / "approval_gate_check.py")
        (dags / f"{MIGRATION_DAG}.py").symlink_to(ROOT / "dags" / f"{MIGRATION_DAG}.py")
        self.markers = tmp / "markers"
        self.markers.mkdir()
        source = tmp / "source.sqlite"
        source.write_bytes((DATASETS / "chinook.sqlite").read_bytes())
        write_backup_history(tmp / "backups", reset="followed")
        # An explicit size: main's server-settings check fails setup_target on the autosized -1 a
        # server without performance_schema reports (raised with the lead, not this test's subject).
        self.mariadb = PrivateMariaDB(options={"performance-schema-events-statements-history-long-size": 10000})
        self.mariadb.start()
        self.stack = AirflowStack(tmp / "airflow", env={
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags), "APPROVAL_CHECK_DIR": str(self.markers),
            "AIRFLOW_CONN_SQLITE_SOURCE": connection_uri("sqlite", host=str(source)),
            "AIRFLOW_CONN_MYSQL_TARGET": connection_uri("mysql", host="127.0.0.1", port=self.mariadb.port,
                                                        login="root", schema="ui_shop"),
            "AIRFLOW_VAR_MYSQL_BACKUP_LOCATION": str(tmp / "backups")})
        self.url = self.stack.url

    def start(self) -> "UiStack":
        self.api = self.stack.start_core()
        self.api.post("/pools", {"name": "mysql_connections", "slots": 4, "description": "MySQL sessions"})
        for dag_id in (GATE_DAG, TIMEOUT_DAG, MIGRATION_DAG):
            self.api.wait_for_dag(dag_id)
            self.api.unpause(dag_id)
        now = datetime.now(timezone.utc)
        # A replication lag incident opened two hours ago and closed one hour ago (both notices delivered),
        # then the connection incident still open.
        state = None
        for at, status in ((now - timedelta(hours=2), "alert"), (now - timedelta(hours=1), "ok")):
            state = incidents.update(state, [{"key": "lag", "status": status, "code": "REPLICATION_LAG_HIGH",
                                              "summary": "replica 300 s behind"}], at)
            for notice in incidents.pending(state):
                state = incidents.mark_delivered(state, notice)
        state = incidents.update(state, [{"key": "connections", "status": "alert", "code": "CONNECTION_POOL_EXHAUSTED",
                                         "summary": "96% of max_connections in use"}], now)
        self.api.set_variable("mysql_health_state__mysql_monitor", json.dumps(state))
        return self

    def stop(self) -> None:
        self.stack.stop()
        self.mariadb.stop()

    def journal(self, run_id: str) -> list[dict]:
        return journal.read(report_dir(run_id, str(self.stack.home / "reports")))

    def failures(self, dag_id: str, run_id: str) -> dict:
        """Each task's state, and the end of every failed task's log: what a red run says."""
        states = self.api.states(dag_id, run_id)
        return {"states": states, **{task: self.api.log(dag_id, run_id, task, self.api.task_instances(
            dag_id, run_id)[task]["try_number"] or 1)[-2000:] for task, s in states.items() if s == "failed"}}

    def wait_for_state(self, dag_id: str, run_id: str, task_id: str, state: str, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.api.states(dag_id, run_id).get(task_id) == state:
                if state == "awaiting_input":
                    self.stack.wait_until_paused(dag_id, run_id, task_id)
                return
            time.sleep(1)
        raise AssertionError(f"{task_id} not {state} within {timeout}s: {self.api.states(dag_id, run_id)}")


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    stack = UiStack(tmp_path_factory.mktemp("operator_ui"))
    try:
        yield stack.start()
    finally:
        stack.stop()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def signed_in(browser, ui):
    page = browser.new_page(viewport={"width": 1400, "height": 1100})
    page.goto(ui.url)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(ui.stack.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{ui.url}/")
    return page


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"operator-ui-{name}.png"), full_page=True)


def answer_in_required_actions(page, ui, run_id: str, choice: str, name: str) -> None:
    page.goto(f"{ui.url}/dags/{GATE_DAG}/runs/{run_id}/tasks/approve/required_actions")
    page.get_by_text("What approving runs").wait_for(timeout=60_000)
    text = page.locator("body").inner_text()
    assert "Write 3 lines into the marker file" in text  # the emptied `rows` field ran with its default
    assert "[hidden]" in text and not any(s in text for s in SECRETS)
    assert "Approve runs: apply, after." in text
    shot(page, f"{name}-asked")
    page.get_by_role("button", name=choice, exact=True).click()


def test_approved_in_required_actions_runs_the_gated_step(ui, browser):
    run_id = "ui_approve"
    ui.api.trigger(GATE_DAG, {"rows": None}, run_id)  # an emptied form field
    ui.wait_for_state(GATE_DAG, run_id, "approve", "awaiting_input")
    assert not (ui.markers / f"{run_id}.marker").exists()
    page = signed_in(browser, ui)
    answer_in_required_actions(page, ui, run_id, "Approve", "approve")
    state = ui.api.wait_for_run(GATE_DAG, run_id, timeout=300)
    assert state == "success", ui.failures(GATE_DAG, run_id)
    assert (ui.markers / f"{run_id}.marker").read_text() == "line\n" * 3
    [entry] = ui.journal(run_id)
    assert (entry["decision"], entry["by"]["id"], entry["task_id"]) == ("approved", "admin", "approve")
    assert entry["evidence"]["figures"]["database password"] == "[hidden]"
    assert not any(s in json.dumps(entry) for s in SECRETS)
    page.goto(f"{ui.url}/dags/{GATE_DAG}/runs/{run_id}")
    page.get_by_text("after").first.wait_for()
    shot(page, "approve-done")


def test_rejected_in_required_actions_changes_nothing_and_says_so(ui, browser):
    run_id = "ui_reject"
    ui.api.trigger(GATE_DAG, {}, run_id)
    ui.wait_for_state(GATE_DAG, run_id, "approve", "awaiting_input")
    page = signed_in(browser, ui)
    answer_in_required_actions(page, ui, run_id, "Reject", "reject")
    assert ui.api.wait_for_run(GATE_DAG, run_id, timeout=300) == "failed"  # never green: the step did not happen
    assert ui.api.states(GATE_DAG, run_id) == {"measure": "success", "approve": "failed",
                                               "apply": "upstream_failed", "after": "upstream_failed"}
    assert not (ui.markers / f"{run_id}.marker").exists()
    log = ui.api.log(GATE_DAG, run_id, "approve", 1)
    assert "rejected by admin (admin)" in log and "nothing was changed; apply, after not run" in log
    [entry] = ui.journal(run_id)
    assert (entry["decision"], entry["by"]["id"]) == ("rejected", "admin")
    page.goto(f"{ui.url}/dags/{GATE_DAG}/runs/{run_id}/tasks/approve")
    page.get_by_text("Failed").first.wait_for()
    shot(page, "reject-done")


def test_only_named_approvers_may_answer_and_no_answer_changes_nothing(ui):
    run_id = "api_timeout"
    ui.api.trigger(TIMEOUT_DAG, {"approvers": "alice,bob"}, run_id)
    ui.wait_for_state(TIMEOUT_DAG, run_id, "approve", "awaiting_input")
    detail = ui.api.get(f"/dags/{TIMEOUT_DAG}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails")
    assert [u["id"] for u in detail["assigned_users"]] == ["alice", "bob"]
    # The CLI/API path: the same endpoint the UI uses; admin is not among the named approvers.
    refused = ui.api.client.patch(f"/dags/{TIMEOUT_DAG}/dagRuns/{run_id}/taskInstances/approve/-1/hitlDetails",
                                  json={"chosen_options": ["Approve"]})
    assert refused.status_code == 403, refused.text
    assert ui.api.wait_for_run(TIMEOUT_DAG, run_id, timeout=300) == "failed"
    assert ui.api.states(TIMEOUT_DAG, run_id)["apply"] == "upstream_failed"
    assert not (ui.markers / f"{run_id}.marker").exists()
    assert "no answer by" in ui.api.log(TIMEOUT_DAG, run_id, "approve", 1)
    [entry] = ui.journal(run_id)
    assert (entry["decision"], entry["by"]) == ("no answer", None)


def test_data_state_page_shows_a_migration_a_backup_gap_a_reset_and_the_drills(ui, browser):
    run_id = "ui_migration"
    ui.api.trigger(MIGRATION_DAG, {"include_tables": ["Genre", "MediaType"]}, run_id)
    state = ui.api.wait_for_run(MIGRATION_DAG, run_id, timeout=600)
    failed = [t for t, s in ui.api.states(MIGRATION_DAG, run_id).items() if s == "failed"]
    assert state == "success", {t: ui.api.log(MIGRATION_DAG, run_id, t, 1)[-1500:] for t in failed}
    page = signed_in(browser, ui)
    page.goto(f"{ui.url}/plugin/data-state")
    frame = page.frame_locator("iframe")
    frame.get_by_text("State of the data").wait_for(timeout=60_000)
    assert [f.url for f in page.frames[1:]] == [f"{ui.url}/data-state/"]  # the plugin app, in one iframe
    migration = frame.locator(f'a[href="../dags/{MIGRATION_DAG}/runs/{run_id}"]')
    assert migration.count() == 1
    assert frame.locator("p.bad", has_text="Gap: binlog.000012, binlog.000013 missing").count() == 1
    assert frame.locator("svg title", has_text="Drill RTO of srv").count() == 1
    assert frame.locator("svg rect.gap").count() == 1
    # The numbering reset: its own epoch (a dashed line on the timeline, a row of its own), not a gap.
    assert frame.locator("p.muted", has_text=f"Binlog numbering reset: epoch {RESET_EPOCH} follows").count() == 1
    assert frame.locator("svg line.reset").count() == 1
    assert frame.locator("td", has_text=RESET_EPOCH).count() >= 2  # the epoch's row, the backup taken in it
    assert frame.get_by_text("CONNECTION_POOL_EXHAUSTED").count() == 1
    closed = frame.locator("tr", has_text="REPLICATION_LAG_HIGH")
    assert closed.count() == 1 and closed.locator("td").first.inner_text() == "closed"
    shot(page, "data-state")
    frame.locator("summary").first.click()
    assert frame.get_by_text("Genre").count() >= 1
    shot(page, "data-state-migration-detail")
    page.goto(f"{ui.url}/data-state/")  # the same page on its own, for a screenshot of all of it
    shot(page, "data-state-full")


def test_anonymous_request_gets_nothing(ui, browser):
    anonymous = httpx.get(f"{ui.url}/data-state/", timeout=30)
    assert anonymous.status_code == 401 and "State of the data" not in anonymous.text
    forged = httpx.get(f"{ui.url}/data-state/", headers={"Authorization": "Bearer not-a-token"}, timeout=30)
    assert forged.status_code in (401, 403) and "State of the data" not in forged.text
    signed = httpx.get(f"{ui.url}/data-state/", headers=ui.api.client.headers, timeout=60)
    assert signed.status_code == 200 and "State of the data" in signed.text
    page = browser.new_page()
    page.goto(f"{ui.url}/data-state/")
    assert "State of the data" not in page.content()
    shot(page, "anonymous")
