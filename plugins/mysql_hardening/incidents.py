"""Incident state: an alert fires once when a condition starts, and once more when it ends.

Pure functions over a JSON-able dict, so the caller decides where the state lives (the DAG keeps
it in an Airflow Variable per monitored connection; see docs/hardening.md for why). A
notification counts as sent only after mark_delivered(): if delivery fails, the next run offers
it again, so an alert can be late but is never lost.

state = {"incidents": {key: incident}, "resolved_pending": [notice], "closed": [notice],
         "samples": {...}}

`closed` is the history of incidents whose resolution was delivered, newest last, the last
CLOSED_KEPT of them (the data-state page shows it): a resolution still pending may yet be
withdrawn by _reopen, a delivered one is final.

The monitor's own failure is an incident like the others (key "monitor", code MONITOR_FAILED):
opened by the failure callback, resolved by the next run whose checks ran.
"""
from __future__ import annotations

import copy
from datetime import datetime


CLOSED_KEPT = 200


def empty() -> dict:
    return {"incidents": {}, "resolved_pending": [], "closed": [], "samples": {}}


def update(state: dict | None, results: list[dict], now: datetime) -> dict:
    """Open incidents for new alerts, refresh running ones, resolve those whose check is ok.

    A check that could not run ('unavailable') or did not run leaves its incident open:
    not knowing is not the same as being healthy.
    """
    new = copy.deepcopy(state) if state else empty()
    new.setdefault("incidents", {})
    new.setdefault("resolved_pending", [])
    stamp = now.isoformat()
    for result in results:
        key, incident = result["key"], new["incidents"].get(result["key"])
        if result["status"] == "alert":
            if incident is None:
                incident = _reopen(new, key, result["code"])
            if incident is None or incident["code"] != result["code"]:
                new["incidents"][key] = {"key": key, "code": result["code"], "summary": result["summary"],
                                         "details": result.get("details", {}), "opened_at": stamp,
                                         "last_seen": stamp, "notified": False}
            else:
                incident.update(summary=result["summary"], details=result.get("details", {}), last_seen=stamp)
        elif result["status"] == "ok" and incident is not None:
            del new["incidents"][key]
            new["resolved_pending"].append({
                "kind": "resolved", "key": key, "code": incident["code"], "summary": result["summary"],
                "opened_at": incident["opened_at"], "resolved_at": stamp,
                "opening_was_notified": incident["notified"]})
    return new


def _reopen(state: dict, key: str, code: str) -> dict | None:
    """An alert whose resolution was never delivered is the same incident going on: the
    resolution is withdrawn and the incident restored, so a flapping check (or a delivery
    channel that is down) never piles up resolved/opened pairs."""
    for notice in state["resolved_pending"]:
        if notice["key"] == key and notice["code"] == code:
            state["resolved_pending"].remove(notice)
            incident = {"key": key, "code": code, "summary": notice["summary"], "details": {},
                        "opened_at": notice["opened_at"], "last_seen": notice["opened_at"],
                        "notified": notice["opening_was_notified"]}
            state["incidents"][key] = incident
            return incident
    return None


def pending(state: dict) -> list[dict]:
    """Notifications not yet delivered: new incidents first, then resolutions."""
    opened = [{"kind": "opened", **{k: v for k, v in incident.items() if k != "notified"}}
              for incident in state["incidents"].values() if not incident["notified"]]
    return opened + list(state["resolved_pending"])


def mark_delivered(state: dict, notice: dict) -> dict:
    new = copy.deepcopy(state)
    if notice["kind"] == "opened":
        incident = new["incidents"].get(notice["key"])
        if incident is not None and incident["opened_at"] == notice["opened_at"]:
            incident["notified"] = True
    else:
        delivered = [n for n in new["resolved_pending"]
                     if (n["key"], n["resolved_at"]) == (notice["key"], notice["resolved_at"])]
        new["resolved_pending"] = [n for n in new["resolved_pending"] if n not in delivered]
        new["closed"] = (new.get("closed") or []) + delivered
        del new["closed"][:-CLOSED_KEPT]
    return new
