"""The cutover as an operator drives it in the Airflow UI (headless Chromium) on this checkout's
Airflow (api-server, scheduler, dag-processor): the demo shop's SQLite, migrated with change
capture into a database of the MariaDB on 3306, is rehearsed; a switch whose approval is
rejected in Required Actions changes nothing (SQLite still writable, the application's settings
untouched, MySQL's tables as they were); a switch approved there, with the rehearsal's freeze
in its evidence, points the application at MySQL. Screenshots go to test-artifacts/browser/
(cutover-ui-*.png)."""
from __future__ import annotations

import json
import sys
import uuid

import MySQLdb
import pytest

from approvals import journal
from sqlite_to_mysql.cutover import mysql_capture, sqlite_capture
from sqlite_to_mysql.report import report_dir
from tests.browser.test_migration_ui import ARTIFACTS
from tests.browser.test_operator_ui import browser, signed_in  # noqa: F401 (the fixture)
from tests.conftest import _mysql_params
from tests.e2e.airflow_stack import AirflowStack, connection_uri
from tests.support.cutover_app import Migrated
from tests.support.paths import ROOT
from tools.bench_cutover import migrate_with_capture

pytestmark = [pytest.mark.browser, pytest.mark.airflow, pytest.mark.slow]
DAG = "sqlite_to_mysql_cutover"


class CutoverUi:
    def __init__(self, tmp) -> None:
        sys.path.insert(0, str(ROOT / "include" / "demo_shop"))
        import generate

        self.tmp = tmp
        self.params = _mysql_params()
        self.database = f"ui_cutover_{uuid.uuid4().hex[:10]}"
        source = tmp / "shop.sqlite3"
        generate.generate(source, scale=0.002, seed=7)
        result = migrate_with_capture(source, self.params, self.database, run_id="ui_migration")
        assert result["verification_ok"], [v for v in result["verdicts"] if not v["ok"]]
        self.migrated = Migrated(source, result["plan"], self.database, self.params, tmp, result)
        self.settings = tmp / "app.env"
        dags = tmp / "dags"
        dags.mkdir()
        (dags / f"{DAG}.py").symlink_to(ROOT / "dags" / f"{DAG}.py")
        self.stack = AirflowStack(tmp / "airflow", env={
            "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
            "AIRFLOW_CONN_SQLITE_SOURCE": connection_uri("sqlite", host=str(source)),
            "AIRFLOW_CONN_MYSQL_TARGET": connection_uri("mysql", host=self.params["host"], port=self.params["port"],
                                                        login=self.params["user"],
                                                        password=self.params["passwd"] or None,
                                                        schema=self.database),
            "AIRFLOW_VAR_SQLITE_TO_MYSQL_CUTOVER": json.dumps({"settings_file": str(self.settings)})})
        self.url = self.stack.url

    def start(self) -> "CutoverUi":
        self.api = self.stack.start_core()
        self.api.post("/pools", {"name": "mysql_connections", "slots": 4, "description": "MySQL sessions"})
        self.api.wait_for_dag(DAG)
        self.api.unpause(DAG)
        return self

    def stop(self) -> None:
        self.stack.stop()
        self.migrated.close()
        conn = MySQLdb.connect(**self.params)
        try:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS `{self.database}`")
        finally:
            conn.close()

    def wait_for_state(self, run_id: str, task_id: str, state: str, timeout: float = 300) -> None:
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.api.states(DAG, run_id)
            if states.get(task_id) == state:
                if state == "awaiting_input":
                    self.stack.wait_until_paused(DAG, run_id, task_id)
                return
            if any(s == "failed" for s in states.values()):
                break
            time.sleep(1)
        failed = {t: self.api.log(DAG, run_id, t, 1)[-2000:] for t, s in self.api.states(DAG, run_id).items()
                  if s == "failed"}
        raise AssertionError(f"{task_id} not {state}: {self.api.states(DAG, run_id)} {failed}")

    def journal(self, run_id: str) -> list[dict]:
        return journal.read(report_dir(run_id, str(self.stack.home / "reports")))

    def checksums(self) -> dict[str, int]:
        """Every application table of the MySQL target, by CHECKSUM TABLE."""
        conn = self.migrated.mysql()
        cur = conn.cursor()
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME NOT LIKE '\\_s2m%%'")
        tables = [t for (t,) in cur.fetchall()]
        cur.execute("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables))
        return {name.split(".", 1)[1]: value for name, value in cur.fetchall()}


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    stack = CutoverUi(tmp_path_factory.mktemp("cutover_ui"))
    try:
        yield stack.start()
    finally:
        stack.stop()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"cutover-ui-{name}.png"), full_page=True)


def open_approval(page, ui, run_id: str) -> str:
    page.goto(f"{ui.url}/dags/{DAG}/runs/{run_id}/tasks/approve_switch/required_actions")
    page.get_by_text("What approving runs").wait_for(timeout=60_000)
    text = page.locator("body").inner_text()
    assert "Lag (changes not yet on MySQL)" in text and "Live verification per table" in text
    assert str(ui.settings) in text and "Approve runs: freeze_and_switch." in text
    return text


def test_a_rehearsal_freezes_checks_and_switches_nothing(ui, browser):  # noqa: F811
    run_id = "ui_rehearsal"
    ui.api.trigger(DAG, {"mode": "rehearsal"}, run_id)
    assert ui.api.wait_for_run(DAG, run_id, timeout=600) == "success", ui.api.states(DAG, run_id)
    assert ui.api.states(DAG, run_id)["approve_switch"] == "success"  # asked nobody
    assert ui.journal(run_id) == []
    assert "safe to switch: yes" in ui.api.log(DAG, run_id, "freeze_and_switch", 1)
    assert ui.migrated.phase() == sqlite_capture.CAPTURING and not ui.settings.exists()
    page = signed_in(browser, ui)
    page.goto(f"{ui.url}/dags/{DAG}/runs/{run_id}/tasks/freeze_and_switch")
    page.get_by_text("safe to switch").first.wait_for(timeout=60_000)
    shot(page, "rehearsal-log")


def test_a_rejected_switch_changes_nothing_and_says_so(ui, browser):  # noqa: F811
    run_id = "ui_switch_rejected"
    before = ui.checksums()
    ui.api.trigger(DAG, {"mode": "switch"}, run_id)
    ui.wait_for_state(run_id, "approve_switch", "awaiting_input")
    page = signed_in(browser, ui)
    text = open_approval(page, ui, run_id)
    rehearsal = [e for e in mysql_capture.journal(ui.migrated.mysql()) if e["step"] == "rehearsal"][-1]
    assert f"{rehearsal['seconds']:.3f}".rstrip("0").rstrip(".") in text  # the rehearsal's freeze, shown
    shot(page, "switch-asked")
    page.get_by_role("button", name="Reject", exact=True).click()
    assert ui.api.wait_for_run(DAG, run_id, timeout=300) == "failed"  # never green: nothing was switched
    states = ui.api.states(DAG, run_id)
    assert (states["approve_switch"], states["freeze_and_switch"], states["release"]) == (
        "failed", "upstream_failed", "success")
    log = ui.api.log(DAG, run_id, "approve_switch", 1)
    assert "rejected by admin (admin)" in log and "nothing was changed; freeze_and_switch not run" in log
    # Nothing changed: the application's settings, MySQL's tables, SQLite's writability.
    assert not ui.settings.exists()
    assert ui.checksums() == before
    steps = [e["step"] for e in mysql_capture.journal(ui.migrated.mysql()) if e["run_id"] == run_id]
    assert steps == ["prepare", "catch_up", "verify_live"]
    assert ui.migrated.phase() == sqlite_capture.CAPTURING
    table = ui.migrated.plan.tables[0].source
    ui.migrated.app().execute(f'UPDATE "{table}" SET rowid = rowid WHERE rowid = (SELECT min(rowid) FROM "{table}")')
    [entry] = ui.journal(run_id)
    assert (entry["decision"], entry["by"]["id"]) == ("rejected", "admin")
    page.goto(f"{ui.url}/dags/{DAG}/runs/{run_id}/tasks/approve_switch")
    page.get_by_text("rejected by admin").first.wait_for(timeout=60_000)
    shot(page, "switch-rejected")


def test_a_switch_approved_in_required_actions_points_the_application_at_mysql(ui, browser):  # noqa: F811
    run_id = "ui_switch_approved"
    ui.api.trigger(DAG, {"mode": "switch"}, run_id)
    ui.wait_for_state(run_id, "approve_switch", "awaiting_input")
    page = signed_in(browser, ui)
    open_approval(page, ui, run_id)
    page.get_by_role("button", name="Approve", exact=True).click()
    assert ui.api.wait_for_run(DAG, run_id, timeout=600) == "success", ui.api.states(DAG, run_id)
    assert ui.migrated.phase() == sqlite_capture.SWITCHED
    assert f"/{ui.database}" in ui.settings.read_text()
    [entry] = ui.journal(run_id)
    assert (entry["decision"], entry["by"]["id"]) == ("approved", "admin")
    report = json.loads((report_dir(run_id, str(ui.stack.home / "reports")) / "cutover.json").read_text())
    assert report["outcome"] == "switch" and report["approval"]["by"]["id"] == "admin"
    page.goto(f"{ui.url}/dags/{DAG}/runs/{run_id}")
    page.get_by_text("freeze_and_switch").first.wait_for(timeout=60_000)
    shot(page, "switch-approved")
