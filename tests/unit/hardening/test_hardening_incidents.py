"""An alert fires once when an incident opens and once when it is resolved."""
from __future__ import annotations

from datetime import datetime, timedelta

from mysql_hardening import incidents

T0 = datetime(2026, 1, 1, 12, 0)


def alert(key="connections", code="CONNECTION_POOL_EXHAUSTED", summary="9/10"):
    return {"key": key, "status": "alert", "code": code, "summary": summary, "details": {}}


def ok(key="connections"):
    return {"key": key, "status": "ok", "code": None, "summary": "fine", "details": {}}


def deliver_all(state):
    sent = incidents.pending(state)
    for notice in sent:
        state = incidents.mark_delivered(state, notice)
    return state, sent


def test_one_alert_per_incident_then_one_resolution():
    state, sent = deliver_all(incidents.update(None, [alert()], T0))
    assert [(n["kind"], n["code"]) for n in sent] == [("opened", "CONNECTION_POOL_EXHAUSTED")]
    for minutes in (5, 10, 15):  # still breached: nothing new
        state, sent = deliver_all(incidents.update(state, [alert(summary="10/10")], T0 + timedelta(minutes=minutes)))
        assert sent == []
    assert state["incidents"]["connections"]["summary"] == "10/10"
    state, sent = deliver_all(incidents.update(state, [ok()], T0 + timedelta(minutes=20)))
    assert [(n["kind"], n["opening_was_notified"]) for n in sent] == [("resolved", True)]
    state, sent = deliver_all(incidents.update(state, [alert()], T0 + timedelta(minutes=25)))
    assert [n["kind"] for n in sent] == ["opened"]  # a new incident alerts again


def test_failed_delivery_is_offered_again_next_run():
    state = incidents.update(None, [alert()], T0)
    assert len(incidents.pending(state)) == 1  # not delivered (channel down)
    state = incidents.update(state, [alert()], T0 + timedelta(minutes=5))
    pending = incidents.pending(state)
    assert len(pending) == 1 and pending[0]["opened_at"] == T0.isoformat()


def test_unavailable_check_keeps_the_incident_open():
    state, _ = deliver_all(incidents.update(None, [alert(key="replication:r1", code="REPLICATION_LAG_HIGH")], T0))
    unknown = {"key": "replication:r1", "status": "unavailable", "summary": "cannot connect", "details": {}}
    state, sent = deliver_all(incidents.update(state, [unknown], T0 + timedelta(minutes=5)))
    assert sent == [] and "replication:r1" in state["incidents"]


def test_independent_incidents_and_code_change():
    state, sent = deliver_all(incidents.update(None, [alert(), alert("slow_queries", "QUERY_TIMEOUT")], T0))
    assert {n["key"] for n in sent} == {"connections", "slow_queries"}
    state, sent = deliver_all(incidents.update(state, [ok(), alert("slow_queries", "QUERY_TIMEOUT")], T0))
    assert [(n["kind"], n["key"]) for n in sent] == [("resolved", "connections")]


def test_undelivered_resolution_then_the_same_alert_is_one_incident():
    """A channel down while a check flaps (or the monitor fails while its resolution is still
    pending): the incident is restored, not closed and opened again."""
    state, _ = deliver_all(incidents.update(None, [alert()], T0))
    state = incidents.update(state, [ok()], T0 + timedelta(minutes=5))  # resolution not delivered
    state = incidents.update(state, [alert()], T0 + timedelta(minutes=10))
    assert incidents.pending(state) == [] and state["resolved_pending"] == []
    assert state["incidents"]["connections"]["opened_at"] == T0.isoformat()
    state, sent = deliver_all(incidents.update(state, [ok()], T0 + timedelta(minutes=15)))
    assert [(n["kind"], n["opened_at"]) for n in sent] == [("resolved", T0.isoformat())]


def test_monitor_outage_is_one_incident():
    """What the monitor's failure callback and its next good run feed in: opened once, resolved once."""
    failed = alert(key="monitor", code="MONITOR_FAILED", summary="check_health failed: 2003")
    working = {"key": "monitor", "status": "ok", "summary": "the monitor ran", "details": {}}
    state, sent = deliver_all(incidents.update(None, [failed], T0))
    assert [(n["kind"], n["code"]) for n in sent] == [("opened", "MONITOR_FAILED")]
    for minutes in (5, 10, 15):
        state, sent = deliver_all(incidents.update(state, [failed], T0 + timedelta(minutes=minutes)))
        assert sent == []
    state, sent = deliver_all(incidents.update(state, [working], T0 + timedelta(minutes=20)))
    assert [(n["kind"], n["code"]) for n in sent] == [("resolved", "MONITOR_FAILED")]
    state, sent = deliver_all(incidents.update(state, [working], T0 + timedelta(minutes=25)))
    assert sent == []
