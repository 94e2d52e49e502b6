"""Two cumulative readings of the digest table -> the work done between them.

The counters only grow, except when they start again from zero:
- the server restarted (its start time moved, or another server answers under the same name):
  every counter counts from the restart, so the whole reading is the delta;
- someone ran TRUNCATE on the summary table, or the digest was evicted and came back: its
  FIRST_SEEN is after the previous reading, or a counter went down; that digest's reading is
  the delta.
Work done between the previous reading and such a reset is lost (nothing kept it); the delta
says `reset` so a report can tell. A delta is never negative.
"""
from __future__ import annotations

from datetime import datetime

import pandas as pd

from query_insights.digest_source import COUNTERS, ServerState

# cumulative counter -> name of its delta
DELTA_NAMES = {"count_star": "executions", "sum_timer_wait": "total_ps", "sum_lock_time": "lock_ps",
               "sum_errors": "errors", "sum_warnings": "warnings", "sum_rows_affected": "rows_affected",
               "sum_rows_sent": "rows_sent", "sum_rows_examined": "rows_examined",
               "sum_created_tmp_disk_tables": "tmp_disk_tables", "sum_created_tmp_tables": "tmp_tables",
               "sum_select_full_join": "full_joins", "sum_select_scan": "full_scans",
               "sum_no_index_used": "no_index_used", "sum_no_good_index_used": "no_good_index_used",
               "sum_sort_rows": "sort_rows"}
KEY = ["schema_name", "digest"]
# A server start time that moved by more than this is a restart (uptime has whole seconds).
RESTART_SLACK = pd.Timedelta(seconds=120)


def meta_for(state: ServerState, watermark: int) -> dict:
    """What the next snapshot compares with (kept beside the cumulative counters)."""
    return {"identity": state.identity, "taken_at": state.taken_at.isoformat(),
            "started_at": state.started_at.isoformat(), "uptime_seconds": state.uptime_seconds,
            "timer_end_watermark": int(watermark)}


def restarted(previous_meta: dict, state: ServerState) -> bool:
    if previous_meta["identity"] != state.identity:
        return True
    moved = pd.Timestamp(state.started_at) - pd.Timestamp(datetime.fromisoformat(previous_meta["started_at"]))
    return moved > RESTART_SLACK


def digest_deltas(previous: pd.DataFrame, previous_meta: dict, current: pd.DataFrame,
                  state: ServerState) -> pd.DataFrame:
    """One row per (schema, digest) that ran since the previous reading, counters as deltas."""
    start = pd.Timestamp(datetime.fromisoformat(previous_meta["taken_at"]))
    whole_reset = restarted(previous_meta, state)
    merged = current.merge(previous[KEY + COUNTERS], on=KEY, how="left", suffixes=("", "_before"),
                           indicator=True)
    reset = pd.Series(whole_reset, index=merged.index) | (merged["_merge"] == "left_only") \
        | (merged["first_seen"] > start)
    for column in COUNTERS:
        before = merged[f"{column}_before"]
        reset |= before.notna() & (merged[column].astype("float64") < before.astype("float64"))
    out = pd.DataFrame({"interval_start": start, "interval_end": pd.Timestamp(state.taken_at),
                        "schema_name": merged["schema_name"], "digest": merged["digest"],
                        "digest_text": merged["digest_text"].fillna("")})
    for column, name in DELTA_NAMES.items():
        now = merged[column].astype("uint64")
        before = merged[f"{column}_before"].fillna(0).astype("uint64")
        # uint64 arithmetic: subtract only where the counter did not start again
        out[name] = now.where(reset, now - before.where(~reset, 0)).astype("int64")
    out["reset"] = reset.to_numpy()
    out["restart"] = whole_reset
    return out[out["executions"] > 0].reset_index(drop=True)


def event_samples(events: pd.DataFrame, previous_meta: dict, state: ServerState) -> pd.DataFrame:
    """Statement executions of the interval, one row each (latency in picoseconds)."""
    out = pd.DataFrame({"interval_start": pd.Timestamp(datetime.fromisoformat(previous_meta["taken_at"])),
                        "interval_end": pd.Timestamp(state.taken_at),
                        "schema_name": events["schema_name"], "digest": events["digest"],
                        "latency_ps": events["timer_wait"], "rows_examined": events["rows_examined"],
                        "rows_sent": events["rows_sent"], "no_index_used": events["no_index_used"],
                        "tmp_disk_tables": events["created_tmp_disk_tables"]})
    return out.reset_index(drop=True)


def events_after(previous_meta: dict | None, state: ServerState) -> int:
    """The event watermark to read after: statement timers start again with the server."""
    if previous_meta is None or restarted(previous_meta, state):
        return 0
    return int(previous_meta["timer_end_watermark"])
