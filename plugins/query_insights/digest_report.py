"""pandas over the digest history: per-digest figures of a window, regressions, the daily report.

Figures per (schema, digest) over a window, as pt-query-digest and PMM rank them:
- total time, executions, average latency: exact, from the counters' deltas;
- p50/p95: from the executions sampled out of events_statements_history_long (MariaDB has no
  latency histogram); each comes with its sample size, and none below `min_samples`;
- rows examined per row sent, full scans (SELECT_SCAN / NO_INDEX_USED), temporary disk tables.

A regression compares a window with the baseline window, digest by digest, on three signals,
each with a ratio and an absolute floor (so a 0.1 ms query going to 0.3 ms is not an incident):
average latency, p95 latency, rows examined per execution (a lost index shows there first, and
it does not depend on how busy the machine is).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from mysql_hardening.monitoring import CheckResult, mask_literals

QUERY_REGRESSION = "QUERY_REGRESSION"
SYSTEM_SCHEMAS = {"", "mysql", "performance_schema", "information_schema", "sys"}
PS_PER_MS = 1e9
_SUMS = ["executions", "total_ps", "lock_ps", "errors", "warnings", "rows_affected", "rows_sent", "rows_examined",
         "tmp_disk_tables", "tmp_tables", "full_joins", "full_scans", "no_index_used", "no_good_index_used",
         "sort_rows"]


@dataclass
class Thresholds:
    """When a digest counts as regressed against the baseline (Params of the DAG)."""

    latency_ratio: float = 2.0
    min_latency_increase_ms: float = 1.0
    p95_ratio: float = 2.0
    rows_examined_ratio: float = 10.0
    min_rows_examined_increase: float = 100.0
    min_executions: int = 20
    min_samples: int = 20

    def as_dict(self) -> dict:
        return asdict(self)


def in_scope(frame: pd.DataFrame, schemas: list[str] | None) -> pd.DataFrame:
    """The application's statements: the given schemas, or every non-system schema."""
    if frame.empty:
        return frame
    mask = frame["schema_name"].isin(schemas) if schemas else ~frame["schema_name"].isin(SYSTEM_SCHEMAS)
    return frame[mask]


def summarize(deltas: pd.DataFrame, samples: pd.DataFrame, min_samples: int = 20) -> pd.DataFrame:
    """One row per (schema, digest) with the window's figures; empty frame if nothing ran."""
    if deltas.empty:
        deltas = pd.DataFrame({c: pd.Series(dtype="int64") for c in _SUMS}
                              | {c: pd.Series(dtype="object") for c in ("schema_name", "digest", "digest_text")}
                              | {"reset": pd.Series(dtype="bool"), "interval_end": pd.Series(dtype="datetime64[us, UTC]")})
    ordered = deltas.sort_values("interval_end")
    out = ordered.groupby(["schema_name", "digest"]).agg(
        {**{c: "sum" for c in _SUMS}, "digest_text": "last", "reset": "any"})
    out["total_s"] = out["total_ps"] / 1e12
    out["avg_ms"] = out["total_ps"] / out["executions"] / PS_PER_MS
    out["rows_examined_per_exec"] = out["rows_examined"] / out["executions"]
    sent = out["rows_sent"].where(out["rows_sent"] > 0)
    out["rows_examined_per_sent"] = out["rows_examined"] / sent
    if samples is not None and not samples.empty:
        grouped = samples.groupby(["schema_name", "digest"])["latency_ps"]
        out = out.join(pd.DataFrame({"samples": grouped.size(),
                                     "p50_ms": grouped.quantile(0.50) / PS_PER_MS,
                                     "p95_ms": grouped.quantile(0.95) / PS_PER_MS}), how="left")
    else:
        out["samples"], out["p50_ms"], out["p95_ms"] = 0, float("nan"), float("nan")
    out["samples"] = out["samples"].fillna(0).astype("int64")
    too_few = out["samples"] < min_samples
    out.loc[too_few, ["p50_ms", "p95_ms"]] = float("nan")
    return out


def regressions(current: pd.DataFrame, baseline: pd.DataFrame, th: Thresholds) -> pd.DataFrame:
    """Digests of `current` worse than in the baseline beyond the thresholds, with the reasons."""
    both = current.join(baseline, how="inner", rsuffix="_base")
    both = both[(both["executions"] >= th.min_executions) & (both["executions_base"] >= th.min_executions)]
    rows = []
    for key, r in both.iterrows():
        reasons = []
        if (r["avg_ms"] >= th.latency_ratio * r["avg_ms_base"]
                and r["avg_ms"] - r["avg_ms_base"] >= th.min_latency_increase_ms):
            reasons.append(f"average {r['avg_ms']:.2f} ms vs {r['avg_ms_base']:.2f} ms "
                           f"({r['avg_ms'] / max(r['avg_ms_base'], 1e-9):.1f}x)")
        if (pd.notna(r["p95_ms"]) and pd.notna(r["p95_ms_base"]) and r["p95_ms"] >= th.p95_ratio * r["p95_ms_base"]
                and r["p95_ms"] - r["p95_ms_base"] >= th.min_latency_increase_ms):
            reasons.append(f"p95 {r['p95_ms']:.2f} ms vs {r['p95_ms_base']:.2f} ms "
                           f"({r['samples']} vs {r['samples_base']} sampled executions)")
        before, now = r["rows_examined_per_exec_base"], r["rows_examined_per_exec"]
        if now >= th.rows_examined_ratio * max(before, 1) and now - before >= th.min_rows_examined_increase:
            reasons.append(f"rows examined per execution {now:,.0f} vs {before:,.0f}")
        if reasons:
            rows.append({"schema_name": key[0], "digest": key[1], "statement": mask_literals(r["digest_text"]),
                         "executions": int(r["executions"]), "avg_ms": round(r["avg_ms"], 3),
                         "baseline_avg_ms": round(r["avg_ms_base"], 3),
                         "p95_ms": _num(r["p95_ms"]), "baseline_p95_ms": _num(r["p95_ms_base"]),
                         "rows_examined_per_exec": round(now, 1), "baseline_rows_examined_per_exec": round(before, 1),
                         "reasons": reasons})
    return pd.DataFrame(rows)


def incident_results(current: pd.DataFrame, baseline: pd.DataFrame | None, th: Thresholds,
                     open_keys: list[str], window_hours: float) -> list[dict]:
    """Results for mysql_hardening.incidents: one QUERY_REGRESSION incident per digest.

    A digest within the thresholds resolves its incident; so does one no longer executed in the
    window. One with too few executions to judge leaves its incident as it is."""
    if baseline is None:
        return []
    found = regressions(current, baseline, th)
    results = []
    regressed = set()
    for r in found.to_dict("records"):
        key = incident_key(r["schema_name"], r["digest"])
        regressed.add(key)
        results.append(CheckResult(key, "alert", f"{r['schema_name']} digest {r['digest']} regressed: "
                                   + "; ".join(r["reasons"]) + f" - {r['statement'][:120]}",
                                   QUERY_REGRESSION, r).as_dict())
    judged = current[current["executions"] >= th.min_executions].index
    for schema, digest in baseline.index:
        key = incident_key(schema, digest)
        if key in regressed:
            continue
        if (schema, digest) in judged:
            results.append(CheckResult(key, "ok", f"{schema} digest {digest} is back within the thresholds").as_dict())
        elif key in open_keys and (schema, digest) not in current.index:
            results.append(CheckResult(key, "ok", f"{schema} digest {digest} did not run in the last "
                                       f"{window_hours:g} h").as_dict())
    return results


def incident_key(schema: str, digest: str) -> str:
    return f"query_regression:{schema}:{digest}"


def p95_series(samples: pd.DataFrame, keys: list[tuple[str, str]], min_samples: int) -> list[dict]:
    """p95 per hour for the given digests: the points of the data-state page's plot."""
    if samples is None or samples.empty or not keys:
        return []
    wanted = samples.set_index(["schema_name", "digest"]).loc[lambda f: f.index.isin(keys)].reset_index()
    grouped = wanted.groupby(["schema_name", "digest", "interval_start"])["latency_ps"]
    points = pd.DataFrame({"samples": grouped.size(), "p95_ms": grouped.quantile(0.95) / PS_PER_MS}).reset_index()
    points = points[points["samples"] >= min_samples]
    return [{"schema": r.schema_name, "digest": r.digest, "hour": r.interval_start.isoformat(),
             "p95_ms": round(r.p95_ms, 3), "samples": int(r.samples)} for r in points.itertuples()]


def digest_rows(frame: pd.DataFrame, n: int, by: str) -> list[dict]:
    """The top n rows by a column, as plain records for JSON and Markdown."""
    if frame.empty:
        return []
    top = frame.sort_values(by, ascending=False).head(n)
    return [{"schema": schema, "digest": digest, "statement": mask_literals(r["digest_text"]),
             "executions": int(r["executions"]), "total_s": round(r["total_s"], 3), "avg_ms": round(r["avg_ms"], 3),
             "p95_ms": _num(r["p95_ms"]), "samples": int(r["samples"]),
             "rows_examined_per_sent": _num(r["rows_examined_per_sent"], 1),
             "rows_examined_per_exec": round(r["rows_examined_per_exec"], 1),
             "full_scans": int(r["full_scans"]), "no_index_used": int(r["no_index_used"]),
             "tmp_disk_tables": int(r["tmp_disk_tables"])}
            for (schema, digest), r in top.iterrows()]


def _num(value, digits: int = 3):
    return None if pd.isna(value) else round(float(value), digits)


def _cell(value) -> str:
    if value is None:
        return ""
    text = "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(report: dict) -> str:
    """The daily report for people: the same content as the JSON, as tables."""
    lines = [f"# Query insights for {report['server']}, {report['window']['start']} to {report['window']['end']} (UTC)",
             "", f"p95: {report['p95_method']}", ""]
    for warning in report.get("warnings", []):
        lines.append(f"- warning: {warning}")

    def table(title: str, rows: list[dict], columns: list[str]) -> None:
        lines.extend(["", f"## {title}", ""])
        if not rows:
            lines.append("none")
            return
        lines.append("| " + " | ".join(columns) + " |")
        lines.append("|" + "---|" * len(columns))
        for row in rows:
            cells = [_cell(row.get(c)) for c in columns]
            lines.append("| " + " | ".join(cells) + " |")

    common = ["digest", "executions", "total_s", "avg_ms", "p95_ms", "samples", "rows_examined_per_sent", "statement"]
    table("Top digests by total time", report["top_by_total_time"], common)
    table("Top digests by p95", report["top_by_p95"], common)
    table("Top digests by rows examined per row sent", report["top_by_rows_examined_per_sent"], common)
    table("Full scans", report["full_scans"], ["digest", "executions", "full_scans", "no_index_used",
                                               "rows_examined_per_exec", "statement"])
    table("Temporary tables on disk", report["tmp_disk_tables"], ["digest", "executions", "tmp_disk_tables", "statement"])
    lines.extend(["", f"## Regressions against the baseline ({report['baseline'] or 'none recorded yet'})", ""])
    table("Regressed digests", report["regressions"], ["digest", "executions", "avg_ms", "baseline_avg_ms", "p95_ms",
                                                      "baseline_p95_ms", "rows_examined_per_exec",
                                                      "baseline_rows_examined_per_exec", "reasons"])
    lines.extend(["", "## Plans of the top offenders (EXPLAIN FORMAT=JSON, literals masked)", ""])
    for plan in report["explain"]:
        lines.append(f"### {plan['digest']}: {plan['statement']}")
        lines.extend(["", "```json", plan["plan"], "```", ""] if plan.get("plan") else ["", plan["note"], ""])
    advice = report.get("indexes", {})
    table("Recommended indexes (validated on a scratch copy)", advice.get("recommended", []),
          ["digest", "table", "columns", "before_ms", "after_ms", "gain", "plan_entry"])
    table("Candidates without a measured gain (not recommended)", advice.get("rejected", []),
          ["digest", "table", "columns", "before_ms", "after_ms", "reason"])
    table("Unused indexes", advice.get("unused", []), ["table", "index", "columns", "note"])
    table("Redundant indexes", advice.get("redundant", []), ["table", "index", "columns", "covered_by"])
    return "\n".join(lines) + "\n"
