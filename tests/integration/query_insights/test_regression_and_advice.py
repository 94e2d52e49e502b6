"""A lost index, as an operator would meet it: the shop's order listing by status runs on an
index; someone drops it; the hourly snapshots and the evaluation flag that statement's digest as
a regression once, and the daily report recommends the index again, measured on a scratch copy
restored from the latest backup - while production keeps exactly its schema."""
from __future__ import annotations

import random
from datetime import timedelta

import pytest

from mysql_backup.full_backup import take_full_backup
from mysql_hardening import incidents, schema
from query_insights import digest_history, digest_report, insights_run

pytestmark = pytest.mark.integration

LISTING = ("SELECT id, number, total, created_at FROM shop_order WHERE status = '{status}' "
           "ORDER BY created_at DESC LIMIT 20")
STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]


def run_listing(conn, times: int) -> None:
    cur = conn.cursor()
    rng = random.Random(times)
    for _ in range(times):
        cur.execute(LISTING.format(status=rng.choice(STATUSES)))
        cur.fetchall()


def listing_digest(conn) -> str:
    cur = conn.cursor()
    cur.execute("SELECT DIGEST FROM performance_schema.events_statements_summary_by_digest "
                "WHERE SCHEMA_NAME = 'shop' AND DIGEST_TEXT LIKE 'SELECT %' "
                "AND DIGEST_TEXT LIKE '%FROM `shop_order` WHERE STATUS = ? ORDER BY `created_at` DESC%'")
    (digest,), = cur.fetchall()
    return digest


def index_columns(conn, name: str) -> list[str] | None:
    table = schema.load(conn.cursor(), "shop")["shop_order"]
    index = table.indexes.get(name)
    return index.column_names if index else None


def test_dropped_index_is_flagged_and_its_return_is_validated_on_a_scratch_copy(shop, storage, age_key):
    app = shop.connect()
    monitor = shop.connect(None)
    layout = digest_history.InsightsLayout("srv")
    th = digest_report.Thresholds()
    assert index_columns(app, "shop_order_status_created") == ["status", "created_at"]

    # The backup the scratch copy comes from is older than the mistake, as it usually is.
    take_full_backup(shop.access, storage, age_key, server="srv", run_id="nightly")

    first = insights_run.snapshot(monitor, storage, layout, "test server")
    assert first["first_reading"]
    run_listing(app, 60)
    healthy = insights_run.snapshot(monitor, storage, layout, "test server")
    assert healthy["executions"] >= 60 and healthy["sampled_executions"] >= 60
    now = shop.now()
    meta = insights_run.baseline(storage, layout, now, hours=1, on_demand=True, schemas=["shop"],
                                 min_samples=th.min_samples)
    assert meta["digests"] >= 1
    # With the index in place the statement is not a regression of itself.
    assert not [r for r in insights_run.evaluate(storage, layout, now, hours=1, th=th, schemas=["shop"], open_keys=[])
                if r["status"] == "alert"]

    app.cursor().execute("ALTER TABLE shop_order DROP INDEX shop_order_status_created")
    since = shop.now()
    run_listing(app, 60)
    after = insights_run.snapshot(monitor, storage, layout, "test server")
    assert after["executions"] >= 60
    now = shop.now()
    hours = (now - since).total_seconds() / 3600 + 1 / 3600
    results = insights_run.evaluate(storage, layout, now, hours=hours, th=th, schemas=["shop"], open_keys=[])
    digest = listing_digest(monitor)
    alerts = [r for r in results if r["status"] == "alert"]
    assert [(r["code"], r["details"]["digest"]) for r in alerts] == [("QUERY_REGRESSION", digest)]
    assert any("rows examined per execution" in reason for reason in alerts[0]["details"]["reasons"])

    # Through the incident mechanism: one notice while it lasts.
    state = incidents.update(None, results, now)
    assert [(n["kind"], n["code"]) for n in incidents.pending(state)] == [("opened", "QUERY_REGRESSION")]
    for notice in incidents.pending(state):
        state = incidents.mark_delivered(state, notice)
    state = incidents.update(state, insights_run.evaluate(storage, layout, now, hours=hours, th=th, schemas=["shop"],
                                                          open_keys=sorted(state["incidents"])), now)
    assert incidents.pending(state) == []

    explainer = insights_run.Explainer(shop.connect(), "shop").load()
    validation = insights_run.Validation(shop.access, age_key, "srv")
    report = insights_run.daily_report(monitor, explainer, storage, layout, start=since - timedelta(hours=1),
                                       end=now + timedelta(seconds=1), th=th, schemas=["shop"], top=10, explain_top=5,
                                       max_candidates=3, validation=validation, uptime_seconds=60)
    print(digest_report.markdown(report))
    assert [r["digest"] for r in report["regressions"]] == [digest]
    plans = {p["digest"]: p for p in report["explain"]}
    assert '"access_type": "ALL"' in plans[digest]["plan"] and "pending" not in plans[digest]["plan"]
    recommended = report["indexes"]["recommended"]
    assert [(r["digest"], r["table"], r["columns"]) for r in recommended] == [(digest, "shop_order", "status, created_at")]
    best = recommended[0]
    assert best["gain"] >= 1.5 and best["rows_read_after"] < best["rows_read_before"]
    assert "ALGORITHM=INPLACE, LOCK=NONE" in best["statement"] and best["backup_id"]

    # Production untouched, the scratch copy gone, the report kept next to the backups.
    assert index_columns(app, "shop_order_status_created") is None
    assert [n for (n,) in shop.server.sql("SHOW DATABASES") if n.startswith("qi_")] == []
    keys = [info.key for info in storage.list("srv/query-insights/reports/")]
    assert len(keys) == 2 and keys[0].endswith(".json") and keys[1].endswith(".md")

    # The operator applies the recommendation (here by hand, as the plan would): the incident resolves once.
    app.cursor().execute("ALTER TABLE shop_order ADD INDEX shop_order_status_created (status, created_at)")
    insights_run.snapshot(monitor, storage, layout, "test server")
    fixed = shop.now()
    run_listing(app, 60)
    insights_run.snapshot(monitor, storage, layout, "test server")
    hours = (shop.now() - fixed).total_seconds() / 3600 + 1 / 3600
    state = incidents.update(state, insights_run.evaluate(storage, layout, shop.now(), hours=hours, th=th,
                                                          schemas=["shop"], open_keys=sorted(state["incidents"])),
                             shop.now())
    assert [(n["kind"], n["code"], n["key"]) for n in incidents.pending(state)] == [
        ("resolved", "QUERY_REGRESSION", f"query_regression:shop:{digest}")]

