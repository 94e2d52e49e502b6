"""The operator's path through the Airflow UI in headless Chromium: sign in, open the migration
DAG's trigger form, read its Params and their descriptions, trigger a run, and watch every
table's copy and verify task turn green in the grid. Screenshots go to test-artifacts/browser/."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.e2e.airflow_stack import BIG_TABLE, MIGRATION_DAG
from tests.e2e.migration_checks import source_counts, verification_table

pytestmark = [pytest.mark.browser, pytest.mark.airflow, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# True once every badge of the run's table tasks has the colour the UI gives the state "Success".
ALL_GREEN = """([runId, taskIds]) => {
  const success = [...document.querySelectorAll('[data-testid="state-badge"]')]
      .find(b => b.textContent.trim() === 'Success');
  if (!success) return false;
  const green = getComputedStyle(success).backgroundColor;
  return taskIds.every(id => {
    const badge = document.querySelector(
        `[data-run-id="${runId}"][data-task-id="${id}"] [data-testid="task-state-badge"]`);
    return badge && getComputedStyle(badge).backgroundColor === green;
  });
}"""


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser.new_page(viewport={"width": 1400, "height": 1000})
        finally:
            browser.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_operator_triggers_the_migration_from_the_ui_and_sees_tables_turn_green(migration_stack, page):
    stack = migration_stack
    stack.target("browser_ui")
    url = stack.stack.url
    tables = [t for t in source_counts(stack.source) if t != BIG_TABLE]

    page.goto(url)
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(stack.stack.password)
    shot(page, "1-login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/")

    page.goto(f"{url}/dags/{MIGRATION_DAG}")
    page.get_by_role("button", name="Trigger").first.click()
    form = page.get_by_role("dialog")
    params = stack.api.get(f"/dags/{MIGRATION_DAG}/details")["params"]
    described = {name: p["description"] for name, p in params.items() if p.get("description")}
    assert len(described) >= 10
    for description in described.values():
        assert form.get_by_text(description, exact=True).is_visible(), description
    form.locator('[name="element_exclude_tables"]').fill(BIG_TABLE)  # the field of Param exclude_tables
    shot(page, "2-trigger-form")
    form.get_by_role("button", name="Trigger").click()

    page.wait_for_url(f"**/dags/{MIGRATION_DAG}/runs/**")
    run_id = unquote(page.url.rsplit("/runs/", 1)[1].split("/")[0])
    page.get_by_test_id("expand-all-button").click()
    shot(page, "3-grid-running")
    table_tasks = [f"{t}.{step}" for t in tables for step in ("copy", "verify")]
    page.wait_for_function(ALL_GREEN, arg=[run_id, table_tasks], timeout=600_000, polling=1000)
    page.locator(f'[data-run-id="{run_id}"][data-task-id="{tables[0]}.copy"] '
                 f'[data-testid="task-state-badge"]').hover()
    tooltip = page.get_by_role("tooltip").filter(has_text=f"Task ID: {tables[0]}.copy")
    assert "State: Success" in tooltip.inner_text()
    shot(page, "4-grid-green")

    assert stack.api.wait_for_run(MIGRATION_DAG, run_id) == "success"
    run = stack.api.get(f"/dags/{MIGRATION_DAG}/dagRuns/{run_id}")
    assert run["conf"]["exclude_tables"] == [BIG_TABLE]  # what the form sent
    status, rows = verification_table(stack.api.log(MIGRATION_DAG, run_id, "report", 1))
    assert status == "OK" and sorted(rows) == sorted(tables)
