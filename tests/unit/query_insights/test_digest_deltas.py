"""Cumulative digest counters -> deltas, attacked the way servers behave: counters that start
again after a restart, after TRUNCATE of the summary table, or for one digest evicted and back."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from query_insights.digest_deltas import DELTA_NAMES, digest_deltas, events_after, meta_for
from query_insights.digest_source import COUNTERS, ServerState

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def reading(counts: dict[str, int], first_seen: dict[str, datetime] | None = None) -> pd.DataFrame:
    rows = []
    for digest, n in counts.items():
        row = {"schema_name": "shop", "digest": digest, "digest_text": f"SELECT {digest}",
               "first_seen": (first_seen or {}).get(digest, T0 - timedelta(days=1))}
        row.update({c: n * (i + 1) for i, c in enumerate(COUNTERS)})
        rows.append(row)
    frame = pd.DataFrame(rows)
    for c in COUNTERS:
        frame[c] = frame[c].astype("uint64")
    return frame


def state(at: datetime, uptime: int, identity: str = "db:3306:1") -> ServerState:
    return ServerState(at, uptime, identity, True, 10000)


def executions(frame: pd.DataFrame) -> dict[str, int]:
    return dict(zip(frame["digest"], frame["executions"]))


def test_plain_interval_subtracts_and_drops_idle_digests():
    before = state(T0, 1000)
    now = state(T0 + timedelta(hours=1), 4600)
    out = digest_deltas(reading({"a": 10, "b": 5}), meta_for(before, 0), reading({"a": 25, "b": 5, "c": 2}), now)
    assert executions(out) == {"a": 15, "c": 2}
    a = out.set_index("digest").loc["a"]
    assert a["total_ps"] == 30 and not a["reset"] and not a["restart"]
    assert out.set_index("digest").loc["c", "reset"]  # new since the previous reading


def test_restart_counts_everything_since_it():
    before = state(T0, 100_000)
    now = state(T0 + timedelta(hours=1), 600)  # started 50 minutes ago
    out = digest_deltas(reading({"a": 1000}), meta_for(before, 123), reading({"a": 7}), now)
    assert executions(out) == {"a": 7} and out["restart"].all()
    assert events_after(meta_for(before, 123), now) == 0  # statement timers restarted too


def test_restart_with_higher_counters_is_still_a_restart():
    """The server restarted long ago and counted past the old values: subtraction would be wrong."""
    before = state(T0, 100)
    now = state(T0 + timedelta(hours=5), 3600)
    out = digest_deltas(reading({"a": 50}), meta_for(before, 0), reading({"a": 80}), now)
    assert executions(out) == {"a": 80}


def test_another_server_under_the_same_name_is_a_restart():
    before = state(T0, 1000)
    now = state(T0 + timedelta(hours=1), 4600, identity="replica:3306:2")
    out = digest_deltas(reading({"a": 10}), meta_for(before, 0), reading({"a": 40}), now)
    assert executions(out) == {"a": 40}


def test_truncate_is_seen_by_first_seen_even_when_counters_grew_past_the_old_values():
    before = state(T0, 1000)
    now = state(T0 + timedelta(hours=1), 4600)
    out = digest_deltas(reading({"a": 10, "b": 10}), meta_for(before, 0),
                        reading({"a": 30, "b": 30}, first_seen={"a": T0 + timedelta(minutes=30)}), now)
    assert executions(out) == {"a": 30, "b": 20}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.sampled_from(["none", "restart", "truncate"])),
                min_size=1, max_size=12))
def test_deltas_are_never_negative_and_add_up_to_the_work_seen(steps):
    """Each step may reset right after the previous reading, then runs n statements: the deltas
    add up to every execution after the first reading, whatever the resets."""
    uptime, identity_start, total, counted = 1000, T0 - timedelta(seconds=1000), 0, 0
    at = T0
    previous, meta = reading({"a": 0}), meta_for(state(at, uptime), 0)
    cumulative, first_seen = 0, T0 - timedelta(days=1)
    for n, event in steps:
        at += timedelta(hours=1)
        if event == "restart":
            identity_start = at - timedelta(minutes=30)
            cumulative = 0
        elif event == "truncate":
            cumulative, first_seen = 0, at - timedelta(minutes=30)
        cumulative += n
        total += n
        now = state(at, int((at - identity_start).total_seconds()))
        current = reading({"a": cumulative}, first_seen={"a": first_seen})
        out = digest_deltas(previous, meta, current, now)
        assert (out[list(DELTA_NAMES.values())] >= 0).all().all()
        counted += int(out["executions"].sum())
        previous, meta = current, meta_for(now, 0)
    assert counted == total


def test_two_readings_within_one_second_keep_two_intervals():
    from datetime import datetime, timedelta, timezone

    from query_insights.digest_history import InsightsLayout

    layout = InsightsLayout("srv")
    first = datetime(2026, 12, 6, 7, 26, 28, 100, tzinfo=timezone.utc)
    keys = [layout.interval("deltas", first), layout.interval("deltas", first + timedelta(milliseconds=300))]
    assert keys[0] != keys[1] and sorted(keys) == keys
    # a reading taken in another zone lands in its UTC day
    assert "/2026-12-06/" in layout.interval("deltas", datetime(2026, 12, 5, 23, 30, tzinfo=timezone(timedelta(hours=-8))))
