"""Regression judgement, plan reading and index facts, on plain data."""
from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd
import pytest

from mysql_hardening.schema import Index, Table
from query_insights import digest_report, index_advisor, plan_explain

T = pd.Timestamp(datetime(2026, 3, 1, tzinfo=timezone.utc))


def window(avg_ms: float, rows_per_exec: float, n: int = 100, digest: str = "d1", latencies=None) -> pd.DataFrame:
    deltas = pd.DataFrame([{"interval_start": T, "interval_end": T, "schema_name": "shop", "digest": digest,
                            "digest_text": "SELECT * FROM t WHERE a = 'secret@example.com'", "executions": n,
                            "total_ps": int(avg_ms * 1e9 * n), "rows_examined": int(rows_per_exec * n),
                            "rows_sent": n, "reset": False,
                            **{c: 0 for c in ["lock_ps", "errors", "warnings", "rows_affected", "tmp_disk_tables",
                                              "tmp_tables", "full_joins", "full_scans", "no_index_used",
                                              "no_good_index_used", "sort_rows"]}}])
    samples = pd.DataFrame({"schema_name": "shop", "digest": digest, "interval_start": T,
                            "latency_ps": [int(x * 1e9) for x in (latencies or [avg_ms] * 30)]})
    return digest_report.summarize(deltas, samples, 20)


@pytest.mark.parametrize("current, flagged", [
    ((0.5, 20), False),        # the same
    ((0.3, 20), False),        # faster
    ((0.9, 20), False),        # slower, but under the 1 ms noise floor
    ((5.0, 20), True),         # 10x slower, 4.5 ms more
    ((0.5, 20_000), True),     # a lost index: rows examined jump, latency not (yet)
])
def test_regression_needs_a_ratio_and_an_absolute_step(current, flagged):
    found = digest_report.regressions(window(*current), window(0.5, 20), digest_report.Thresholds())
    assert (len(found) == 1) is flagged
    if flagged:
        assert "secret" not in found.iloc[0]["statement"]  # literals masked


def test_too_few_executions_are_not_judged_and_p95_needs_samples():
    th = digest_report.Thresholds()
    assert digest_report.regressions(window(50, 20, n=5), window(0.5, 20), th).empty
    small = window(1, 1, latencies=[1] * 5)
    assert pd.isna(small["p95_ms"].iloc[0]) and small["samples"].iloc[0] == 5


def test_incidents_open_on_regression_and_resolve_when_back_or_gone():
    th = digest_report.Thresholds()
    base = window(0.5, 20)
    opened = digest_report.incident_results(window(5, 20), base, th, [], 6)
    assert [(r["status"], r["code"]) for r in opened] == [("alert", "QUERY_REGRESSION")]
    key = opened[0]["key"]
    assert [r["status"] for r in digest_report.incident_results(window(0.5, 20), base, th, [key], 6)] == ["ok"]
    gone = digest_report.incident_results(window(0.5, 20, digest="other"), base, th, [key], 6)
    assert [(r["key"], r["status"]) for r in gone] == [(key, "ok")]
    too_few = digest_report.incident_results(window(5, 20, n=3), base, th, [key], 6)
    assert too_few == []  # not knowing is not healthy: the incident stays as it is
    assert digest_report.incident_results(window(5, 20), None, th, [], 6) == []  # no baseline, no judgement


PLAN = {"query_block": {"select_id": 1, "nested_loop": [{"read_sorted_file": {"filesort": {
    "sort_key": "shop_order.created_at desc",
    "table": {"table_name": "shop_order", "access_type": "ALL", "rows": 16070,
              "attached_condition": "shop_order.`status` = 'paid' and shop_order.total > 10.5"}}}}]}}


def test_candidate_takes_equality_then_range_and_masks_literals():
    (candidate,) = plan_explain.candidates(PLAN)
    assert (candidate.table, candidate.columns) == ("shop_order", ["status", "total"])
    masked = str(plan_explain.masked(PLAN))
    assert "paid" not in masked and "10.5" not in masked and "shop_order.created_at desc" in masked


@pytest.mark.parametrize("condition, alias, expected", [
    ("t.a = 1 and t.b < 5", "t", (["a"], ["b"])),
    ("(t.a = 'x and y' and (t.b = 2 or t.c = 3))", "t", (["a"], [])),
    ("t.`status` in ('a','b') and t.d is null", "t", (["status", "d"], [])),
    ("t.a like '%x%' and t.b like 'x%'", "t", ([], ["b"])),
    ("u.a = 1 and t.b = u.c", "t", (["b"], [])),
    ("t.a between 1 and 5", "t", ([], ["a"])),
])
def test_condition_columns(condition, alias, expected):
    assert plan_explain.columns_for(condition, alias) == expected


def test_only_selects_are_explained():
    assert plan_explain.is_select("  (SELECT 1)") and not plan_explain.is_select("DELETE FROM t")


def table(*indexes: Index, fks=()) -> dict:
    t = Table("t", "InnoDB", columns={"a": "int", "b": "int", "c": "int"}, column_names={"a": "a", "b": "b", "c": "c"})
    t.indexes = {ix.name: ix for ix in indexes}
    t.foreign_keys = list(fks)
    return {"t": t}


def test_redundant_indexes_are_left_prefixes_but_not_unique_rules():
    tables = table(Index("PRIMARY", [("a", None)], True, "BTREE"), Index("ix_a", [("a", None)], False, "BTREE"),
                   Index("ix_ab", [("a", None), ("b", None)], False, "BTREE"),
                   Index("uq_b", [("b", None)], True, "BTREE"), Index("ix_bc", [("b", None), ("c", None)], False, "BTREE"),
                   Index("ix_ab2", [("a", None), ("b", None)], False, "BTREE"))
    found = {(r["index"], r["covered_by"].split()[0]) for r in index_advisor.redundant_indexes(tables)}
    assert ("ix_a", "PRIMARY") in found or ("ix_a", "ix_ab") in found
    assert ("ix_ab2", "ix_ab") in found and all(name != "uq_b" for name, _ in found)


def test_candidate_becomes_an_index_plan_entry_the_plan_accepts_or_refuses():
    tables = table(Index("PRIMARY", [("a", None)], True, "BTREE"))
    entry, decision = index_advisor.plan_entry(plan_explain.Candidate("t", ["b", "c"], 1000, ""), tables)
    assert entry == {"name": "qi_t_b_c", "table": "t", "columns": ["b", "c"]} and decision.action == "create"
    assert decision.statement.endswith("ALGORITHM=INPLACE, LOCK=NONE")
    _, covered = index_advisor.plan_entry(plan_explain.Candidate("t", ["a"], 1000, ""), tables)
    assert covered.action == "skip"


def test_a_statement_naming_the_production_database_is_not_run_on_the_copy():
    assert index_advisor._references("SELECT * FROM `shop`.`t`", "shop")
    assert index_advisor._references("select * from shop . t", "shop")
    assert not index_advisor._references("SELECT shop_id FROM t", "shop")
