"""The migration's report while the application keeps writing: a table whose rows differ only
by changes captured since the copy is neither OK nor lost but pending, in the log and the
Markdown alike; the report never says OK while counts differ, and ends with one line saying
whether it is safe to switch, and why."""
from __future__ import annotations

import pytest

from sqlite_to_mysql import migration, report
from sqlite_to_mysql.cutover import sqlite_capture
from sqlite_to_mysql.cutover.verification import explain_pending
from sqlite_to_mysql.errors import MigrationDataLoss


def verdict(table, differences, *, source_rows, target_rows):
    return {"table": table, "target": table, "source_rows": source_rows, "target_rows": target_rows,
            "quarantined": 0, "checksum": "DIFF" if differences else "OK", "differing_rows": len(differences),
            "differences": differences, "segments": 1, "seconds": 0.1,
            "issues": [] if source_rows == target_rows else
            [f"row counts do not add up: source {source_rows} != target {target_rows} + quarantined 0"],
            "ok": not differences and source_rows == target_rows}


@pytest.fixture
def captured(source, app):
    """`pairs` got a new row and a changed one after the copy; the rest did not change."""
    _path, conn, plan = source
    sqlite_capture.install(conn, plan, run_id="run1")
    app.execute("UPDATE pairs SET note = 'changed' WHERE a = 'x' AND b = 1")
    app.execute("INSERT INTO pairs VALUES ('new', 5, 'inserted')")
    changed = [{"key": {"a": "x", "b": 1}, "kind": "values_differ", "columns": {}},
               {"key": {"a": "new", "b": 5}, "kind": "missing_in_target", "columns": {}}]
    pending = explain_pending(conn, plan.table("pairs"), verdict("pairs", changed, source_rows=6, target_rows=5),
                              max_examples=20)
    clean = explain_pending(conn, plan.table("nokey"), verdict("nokey", [], source_rows=4, target_rows=4),
                            max_examples=20)
    result = migration.assemble(plan, [pending, clean], {}, {"issues": [], "orphans": []})
    result["capture"] = True
    return result


def test_a_table_differing_only_by_captured_changes_is_pending_not_ok(captured, tmp_path):
    tables = {t["table"]: t for t in captured["tables"]}
    pairs = tables["pairs"]
    assert pairs["state"] == "PENDING" and pairs["pending_differences"] == 2 and pairs["checksum"] == "DIFF"
    assert pairs["source_rows"] == 6 and pairs["target_rows"] == 5  # the counts as they were measured
    assert tables["nokey"]["state"] == "OK"
    assert captured["status"] == "PENDING"
    assert migration.publish(captured, "run1", report_base=str(tmp_path))  # pending is not a loss: the run goes on


@pytest.mark.parametrize("render", [report.verification_summary, report.verification_markdown])
def test_the_log_and_the_markdown_say_pending_and_never_ok_while_counts_differ(captured, render):
    text = render(captured)
    assert "Verification: PENDING" in text and "Verification: OK" not in text
    pairs_line = next(line for line in text.splitlines() if line.lstrip("| ").startswith("pairs"))
    assert "pending: 2 changes, applied by the cutover" in pairs_line and "OK" not in pairs_line
    assert text.rstrip().splitlines()[-1] == (
        "safe to switch: no, because the cutover has not been rehearsed yet: every row is accounted for "
        "(2 changes pending, applied by the cutover); next, trigger sqlite_to_mysql_cutover with mode=rehearsal")


def test_without_capture_or_with_a_loss_the_last_line_says_why_not(captured):
    captured["capture"] = False
    assert report.verification_markdown(captured).rstrip().splitlines()[-1].startswith(
        "safe to switch: no, because change capture is off")
    lost = dict(captured, status=MigrationDataLoss.code, capture=True)
    lost["tables"] = [dict(t, ok=False, state="FAIL") if t["table"] == "pairs" else t for t in captured["tables"]]
    assert report.verification_summary(lost).rstrip().splitlines()[-1] == \
        "safe to switch: no, because verification failed for ['pairs']"
