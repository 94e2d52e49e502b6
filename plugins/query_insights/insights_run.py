"""The steps of the mysql_query_insights DAG, over plain connections and a Storage.

snapshot()      hourly: read performance_schema, keep the interval's deltas and samples
evaluate()      hourly: the last hours against the baseline -> incident results (QUERY_REGRESSION)
baseline()      on demand, or by itself once the history covers the first `hours` after its start
daily_report()  the day's report: rankings, regressions, plans, index advice (validated on a copy)
"""
from __future__ import annotations

import json
import logging
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pandas as pd

from mysql_backup.access import MySqlAccess
from mysql_backup.catalog import load_catalog
from mysql_backup.crypto import AgeKey
from mysql_backup.manifest import Layout
from mysql_backup.storage import Storage
from mysql_hardening import schema
from mysql_hardening.monitoring import mask_literals

from query_insights import digest_history as history
from query_insights import digest_report as analysis
from query_insights import digest_source, index_advisor, plan_explain
from query_insights.digest_deltas import digest_deltas, event_samples, events_after, meta_for

log = logging.getLogger(__name__)

P95_METHOD = ("sampled: the 95th percentile (linear interpolation) of the executions that "
              "performance_schema.events_statements_history_long held at each hourly snapshot; "
              "`samples` says how many, and no p95 is given below the minimum sample size")


def snapshot(ps_conn, storage: Storage, layout: history.InsightsLayout, where: str) -> dict:
    """One reading; from the second on, the work since the previous one is kept."""
    state = digest_source.check_ready(ps_conn, where)
    cumulative = digest_source.read_digests(ps_conn)
    previous, previous_meta = history.load_state(storage, layout)
    after = events_after(previous_meta, state)
    events = digest_source.read_events(ps_conn, after) if state.history_long else \
        pd.DataFrame(columns=["schema_name", "digest", *digest_source.EVENT_COLUMNS])
    watermark = max([after, *events["timer_end"].tolist()])
    meta = meta_for(state, watermark)
    if previous_meta is None:
        history.save_snapshot(storage, layout, cumulative=cumulative, meta=meta, deltas=None, samples=None,
                              interval_start=None)
        return {"first_reading": True, "digests": len(cumulative), "warnings": state.warnings}
    deltas = digest_deltas(previous, previous_meta, cumulative, state)
    samples = event_samples(events, previous_meta, state)
    start = datetime.fromisoformat(previous_meta["taken_at"])
    history.save_snapshot(storage, layout, cumulative=cumulative, meta=meta, deltas=deltas, samples=samples,
                          interval_start=start)
    summary = {"interval_start": start.isoformat(), "interval_end": state.taken_at.isoformat(),
               "digests_run": len(deltas), "executions": int(deltas["executions"].sum()) if len(deltas) else 0,
               "sampled_executions": len(samples), "restart": bool(deltas["restart"].any()) if len(deltas) else False,
               "digests_reset": int(deltas["reset"].sum()) if len(deltas) else 0, "warnings": state.warnings}
    if summary["restart"]:
        summary["warnings"].append("the server restarted (or another server answers) since the previous "
                                   "reading: work done between that reading and the restart is not counted")
    return summary


def window(storage: Storage, layout: history.InsightsLayout, start: datetime, end: datetime,
           schemas: list[str] | None, min_samples: int) -> pd.DataFrame:
    deltas = analysis.in_scope(history.load_window(storage, layout, "deltas", start, end), schemas)
    samples = analysis.in_scope(history.load_window(storage, layout, "samples", start, end), schemas)
    return analysis.summarize(deltas, samples, min_samples)


def load_baseline(storage: Storage, layout: history.InsightsLayout) -> tuple[pd.DataFrame | None, dict | None]:
    frame, meta = history.load_baseline(storage, layout)
    return (frame.set_index(["schema_name", "digest"]) if frame is not None else None), meta


def baseline(storage: Storage, layout: history.InsightsLayout, now: datetime, *, hours: float, on_demand: bool,
             schemas: list[str] | None, min_samples: int) -> dict | None:
    """Record the baseline: the last `hours` when asked to, or else (once, when none exists) the
    first `hours` of the history, i.e. the first days after the cutover."""
    if on_demand:
        start, how = now - timedelta(hours=hours), "recorded on demand"
    else:
        if storage.stat(layout.baseline) is not None:
            return None
        first = history.first_interval(storage, layout)
        if first is None or now - first < timedelta(hours=hours):
            return None
        start, how = first, f"the first {hours:g} h of the history"
    end = start + timedelta(hours=hours)
    frame = window(storage, layout, start, end, schemas, min_samples)
    meta = {"start": start.isoformat(), "end": end.isoformat(), "recorded_at": now.isoformat(), "how": how,
            "digests": len(frame)}
    history.save_baseline(storage, layout, frame.reset_index(), meta)
    log.info("baseline recorded (%s): %s to %s, %d digests", how, meta["start"], meta["end"], len(frame))
    return meta


def evaluate(storage: Storage, layout: history.InsightsLayout, now: datetime, *, hours: float,
             th: analysis.Thresholds, schemas: list[str] | None, open_keys: list[str]) -> list[dict]:
    """Incident results of the last `hours` against the baseline (none without a baseline)."""
    current = window(storage, layout, now - timedelta(hours=hours), now, schemas, th.min_samples)
    base, _ = load_baseline(storage, layout)
    return analysis.incident_results(current, base, th, open_keys, hours)


@dataclass
class Explainer:
    """Where plans and index facts come from: the application database through a read-only
    account (EXPLAIN needs SELECT on the tables; the monitor account has none)."""

    conn: object
    database: str
    tables: dict = field(default_factory=dict)

    def load(self) -> "Explainer":
        self.tables = schema.load(self.conn.cursor(), self.database)
        return self


@dataclass
class Validation:
    """What restoring a scratch copy needs (the restore drill's configuration)."""

    access: MySqlAccess
    age_key: AgeKey
    server: str
    repeat: int = 5
    min_gain: float = 1.5
    workdir: str | None = None


def daily_report(ps_conn, explainer: Explainer, storage: Storage, layout: history.InsightsLayout, *,
                 start: datetime, end: datetime, th: analysis.Thresholds, schemas: list[str] | None, top: int,
                 explain_top: int, max_candidates: int, validation: Validation | None,
                 validation_off_reason: str = "", unused_min_days: float = 7, uptime_seconds: int = 0) -> dict:
    current = window(storage, layout, start, end, schemas, th.min_samples)
    base, base_meta = load_baseline(storage, layout)
    regressed = analysis.regressions(current, base, th) if base is not None else pd.DataFrame()
    report = {"server": layout.server, "database": explainer.database, "generated_at": datetime.now(timezone.utc).isoformat(),
              "window": {"start": start.isoformat(), "end": end.isoformat()}, "p95_method": P95_METHOD,
              "thresholds": th.as_dict(), "warnings": [],
              "baseline": f"{base_meta['how']}: {base_meta['start']} to {base_meta['end']}" if base_meta else None,
              "top_by_total_time": analysis.digest_rows(current, top, "total_s"),
              "top_by_p95": analysis.digest_rows(current[current["p95_ms"].notna()], top, "p95_ms"),
              "top_by_rows_examined_per_sent": analysis.digest_rows(
                  current[current["rows_examined_per_sent"].notna()], top, "rows_examined_per_sent"),
              "full_scans": analysis.digest_rows(current[(current["full_scans"] > 0) | (current["no_index_used"] > 0)],
                                                 top, "rows_examined"),
              "tmp_disk_tables": analysis.digest_rows(current[current["tmp_disk_tables"] > 0], top, "tmp_disk_tables"),
              "regressions": regressed.to_dict("records")}
    if current.empty:
        report["warnings"].append("no statements of the application's schemas in this window")
    offenders = list(dict.fromkeys(
        [(r["schema"], r["digest"]) for r in report["top_by_total_time"][:explain_top]]
        + [(r["schema_name"], r["digest"]) for r in report["regressions"]]))
    scans = current[((current["full_scans"] > 0) | (current["no_index_used"] > 0))
                    & (current["executions"] >= th.min_executions)].sort_values("rows_examined", ascending=False)
    scan_keys = list(dict.fromkeys([(r["schema_name"], r["digest"]) for r in report["regressions"]]
                                   + list(scans.index)))[:max_candidates]
    samples = digest_source.sample_statements(ps_conn, sorted({d for _, d in offenders + scan_keys}))
    report["explain"] = [_explain(explainer, samples, key, current) for key in offenders]
    report["indexes"] = _index_advice(ps_conn, explainer, storage, layout, samples, scan_keys, current, validation,
                                      validation_off_reason, unused_min_days, uptime_seconds)
    sample_frame = analysis.in_scope(history.load_window(storage, layout, "samples", start, end), schemas)
    report["p95_over_time"] = analysis.p95_series(sample_frame, [(r["schema"], r["digest"])
                                                                 for r in report["top_by_total_time"]], th.min_samples)
    day = (end - timedelta(microseconds=1)).date()
    history.put_json(storage, layout.report(day, "json"), report)
    storage.put_bytes(layout.report(day, "md"), analysis.markdown(report).encode())
    return report


def _statement_text(current: pd.DataFrame, key: tuple[str, str]) -> str:
    return mask_literals(current.loc[key, "digest_text"]) if key in current.index else ""


def _explain(explainer: Explainer, samples: dict, key: tuple[str, str], current: pd.DataFrame) -> dict:
    entry = {"schema": key[0], "digest": key[1], "statement": _statement_text(current, key)}
    statement = samples.get(key)
    if statement is None:
        entry["note"] = ("no sample statement: events_statements_history_long no longer holds an execution "
                         "of this digest (raise performance_schema_events_statements_history_long_size)")
    elif not plan_explain.is_select(statement):
        entry["note"] = "not a SELECT: plans are shown for SELECT statements only"
    elif key[0] != explainer.database:
        entry["note"] = f"schema {key[0]} is not the application database {explainer.database}"
    else:
        try:
            plan = plan_explain.explain(explainer.conn, key[0], statement)
            entry["plan"] = json.dumps(plan_explain.masked(plan), indent=1)
        except Exception as exc:  # a statement that no longer parses (schema changed) is a finding
            entry["note"] = f"EXPLAIN failed: {mask_literals(str(exc))}"
    return entry


def _index_advice(ps_conn, explainer: Explainer, storage: Storage, layout: history.InsightsLayout, samples: dict,
                  scan_keys: list, current: pd.DataFrame, validation: Validation | None, validation_off_reason: str,
                  unused_min_days: float, uptime_seconds: int) -> dict:
    unused, unused_note = index_advisor.unused_indexes(ps_conn, explainer.tables, explainer.database,
                                                      uptime_seconds, unused_min_days)
    advice = {"unused": unused, "redundant": index_advisor.redundant_indexes(explainer.tables),
              "recommended": [], "rejected": [], "notes": [unused_note] if unused_note else []}
    trials = []
    for key in scan_keys:
        statement = samples.get(key)
        if statement is None or key[0] != explainer.database or not plan_explain.is_select(statement):
            advice["notes"].append(f"digest {key[1]}: no sample SELECT of {explainer.database} to derive an index from")
            continue
        for candidate in plan_explain.candidates(plan_explain.explain(explainer.conn, key[0], statement)):
            entry, decision = index_advisor.plan_entry(candidate, explainer.tables)
            trial = index_advisor.Trial(key[0], key[1], decision.table, candidate.columns, entry, decision.statement)
            if decision.action != "create":
                trial.reason = f"the index plan would not create it: {decision.action}, {decision.reason}"
                advice["rejected"].append(_row(trial))
            else:
                trials.append(trial)
    if trials and validation is None:
        advice["notes"].append(f"{len(trials)} candidate(s) not validated, so not recommended: {validation_off_reason}")
        advice["rejected"].extend(_row(t, "not validated: " + validation_off_reason) for t in trials)
        trials = []
    pending, cached = _cached(storage, layout, trials, validation)
    if pending:
        index_advisor.validate_on_scratch(validation.access, storage, validation.age_key, server=validation.server,
                                          database=explainer.database, trials=pending, statements=samples,
                                          production=explainer.tables, repeat=validation.repeat,
                                          min_gain=validation.min_gain, workdir=validation.workdir)
        for trial in pending:
            history.put_json(storage, layout.validation(trial.schema_name, trial.digest), trial.as_dict())
    for trial in pending + cached:
        (advice["recommended"] if trial.recommended else advice["rejected"]).append(_row(trial))
    return advice


def _cached(storage: Storage, layout: history.InsightsLayout, trials: list, validation: Validation | None):
    """Trials measured before on the same backup with the same columns are not measured again."""
    if not trials:
        return [], []
    database = trials[0].schema_name
    fulls = [f for f in load_catalog(storage, Layout(validation.server)).fulls if f.database == database]
    latest = fulls[-1].backup_id if fulls else None
    pending, cached = [], []
    for trial in trials:
        seen = history.get_json(storage, layout.validation(trial.schema_name, trial.digest))
        if seen and seen.get("backup_id") == latest and seen.get("columns") == trial.columns:
            cached.append(index_advisor.Trial(**seen))
        else:
            pending.append(trial)
    return pending, cached


def _row(trial: index_advisor.Trial, reason: str | None = None) -> dict:
    median = (lambda runs: round(statistics.median(runs), 3) if runs else None)
    return {"digest": trial.digest, "table": trial.table, "columns": ", ".join(trial.columns),
            "before_ms": median(trial.before_ms), "after_ms": median(trial.after_ms), "gain": trial.gain,
            "rows_read_before": trial.rows_read_before, "rows_read_after": trial.rows_read_after,
            "backup_id": trial.backup_id, "statement": trial.statement, "reason": reason or trial.reason,
            "plan_entry": json.dumps(trial.plan_entry) if trial.recommended else None}
