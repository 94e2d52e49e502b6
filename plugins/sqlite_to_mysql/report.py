"""Reports an operator reads: a table in the task log, and JSON + Markdown files with the
full detail (by default under $AIRFLOW_HOME/reports/<run_id>/)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path


def report_dir(run_id: str, base: str | None = None) -> Path:
    root = base or os.environ.get("S2M_REPORT_DIR") or os.path.join(
        os.environ.get("AIRFLOW_HOME", os.path.expanduser("~/airflow")), "reports")
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", run_id).strip("._") or "run"
    return Path(root) / safe


def text_table(headers: list[str], rows: list[list]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(headers: list[str], rows: list[list]) -> str:
    def cell(v) -> str:
        return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(out)


# --- preflight ------------------------------------------------------------------------

def preflight_summary(plan: dict) -> str:
    rows = []
    for t in plan["tables"]:
        conflicts = sum(c["count"] for c in t["conflicts"])
        rows.append([t["source"], t["rows"], _size(t["bytes"]), len(t["columns"]), conflicts,
                     ", ".join(t["quarantine_columns"]) or "-"])
    lines = [f"Preflight of {plan['source_path']} -> {plan['flavor']} {plan['server_version']} "
             f"database {plan['database']}",
             f"SQLite integrity: {plan['integrity']}",
             text_table(["table", "rows", "size", "columns", "values not fitting", "quarantined columns"], rows)]
    for t in plan["tables"]:
        for col in t["columns"]:
            if col["notes"] or not col["reason"].startswith("declared"):
                lines.append(f"  {t['source']}.{col['source']} -> {col['ddl_type']}: {col['reason']}"
                             + "".join(f"; {n}" for n in col["notes"]))
        for conflict in t["conflicts"]:
            lines.append(f"  {t['source']}.{conflict['column']}: {conflict['count']} values do not fit "
                         f"({conflict['problem']})")
            for ex in conflict["examples"]:
                lines.append(f"      key {ex['key']}: {ex['value']!r}: {ex['problem']}")
    for item in plan["not_migrated"]:
        lines.append(f"  not migrated {item['kind']} {item['name']}: {item['action']}")
    for warning in plan["warnings"]:
        lines.append(f"  WARNING {warning}")
    for blocker in plan["blockers"]:
        lines.append(f"  BLOCKER {blocker}")
    if plan["name_map"]:
        lines.append(f"  renamed for MySQL: {plan['name_map']}")
    return "\n".join(lines)


def preflight_markdown(plan: dict) -> str:
    out = [f"# Preflight: {plan['source_path']}", "",
           f"Target: {plan['flavor']} {plan['server_version']}, database `{plan['database']}`. "
           f"SQLite integrity: {plan['integrity']}.", ""]
    if plan["blockers"]:
        out += ["## Blockers", ""] + [f"- {b}" for b in plan["blockers"]] + [""]
    if plan["warnings"]:
        out += ["## Warnings", ""] + [f"- {w}" for w in plan["warnings"]] + [""]
    for t in plan["tables"]:
        out += [f"## {t['source']} -> `{t['target']}`", "",
                f"{t['rows']} rows, {_size(t['bytes'])}; key {t['key_target']}", ""]
        out.append(md_table(["column", "target", "MySQL type", "collation", "why", "notes"],
                            [[c["source"], c["target"], c["ddl_type"], c["collation"] or "", c["reason"],
                              "; ".join(c["notes"])] for c in t["columns"]]))
        for conflict in t["conflicts"]:
            out += ["", f"**{conflict['column']}**: {conflict['count']} values do not fit ({conflict['problem']})"]
            out += [f"- key `{ex['key']}`: `{ex['value']}` ({ex['problem']})" for ex in conflict["examples"]]
        out.append("")
    if plan["not_migrated"]:
        out += ["## Not migrated as they are", ""]
        out += [f"- {i['kind']} `{i['name']}`: {i['action']}" for i in plan["not_migrated"]]
    return "\n".join(out) + "\n"


# --- verification ---------------------------------------------------------------------

PENDING_NOTE = "changes captured since the copy, applied by the cutover"


def table_result(t: dict) -> str:
    """OK, FAIL, or pending: a table whose rows differ only by changes captured since the copy."""
    state = t.get("state") or ("OK" if t["ok"] else "FAIL")
    return f"pending: {t['pending_differences']} changes, applied by the cutover" if state == "PENDING" else state


def _pending(result: dict) -> int:
    return sum(t.get("pending_differences", 0) for t in result["tables"] if t.get("state") == "PENDING")


def _status(result: dict) -> str:
    if result["status"] == "PENDING":
        return f"PENDING ({_pending(result)} {PENDING_NOTE})"
    return result["status"]


def safe_to_switch(result: dict) -> str:
    """The verification's last line: whether the application could switch to MySQL now."""
    bad = [t["table"] for t in result["tables"] if not t["ok"]]
    if bad or result["status"] not in ("OK", "PENDING"):
        because = f"verification failed for {bad}" if bad else "the database checks failed"
    elif not result.get("capture"):
        because = ("change capture is off: writes made since the copy would not reach MySQL; stop the "
                   "application's writes, or migrate again with capture_changes=true")
    else:
        because = (f"the cutover has not been rehearsed yet: every row is accounted for ({_pending(result)} "
                   f"changes pending, applied by the cutover); next, trigger sqlite_to_mysql_cutover with "
                   f"mode=rehearsal")
    return f"safe to switch: no, because {because}"


def verification_summary(result: dict) -> str:
    rows = []
    for t in result["tables"]:
        rows.append([t["table"], t["source_rows"], t["target_rows"], t["quarantined"], t["checksum"],
                     _seconds(t.get("copy_seconds")), _seconds(t["seconds"]), table_result(t)])
    totals = result["totals"]
    rows.append(["TOTAL", totals["source_rows"], totals["target_rows"], totals["quarantined"], "",
                 _seconds(totals.get("copy_seconds")), _seconds(totals["verify_seconds"]), ""])
    lines = [f"Verification: {_status(result)}",
             text_table(["table", "source rows", "target rows", "quarantined", "checksum", "copy s",
                         "verify s", "result"], rows)]
    for t in result["tables"]:
        for issue in t["issues"]:
            lines.append(f"  {t['table']}: {issue}")
        for d in t["differences"]:
            lines.append(f"  {t['table']} key {d['key']}: {d['kind']}"
                         + "".join(f"\n      {c}: source {v['source']!r} | target {v['target']!r}"
                                   for c, v in d["columns"].items()))
        if t["differing_rows"] > len(t["differences"]):
            lines.append(f"  {t['table']}: {t['differing_rows']} differing rows in all "
                         f"(first {len(t['differences'])} shown)")
    for issue in result["database_issues"]:
        lines.append(f"  {issue}")
    for orphan in result.get("inherited_orphans", []):
        lines.append(f"  inherited from SQLite: {orphan['table']}.{orphan['constraint']}: {orphan['orphans']} "
                     f"rows without parent")
    lines.append(safe_to_switch(result))
    return "\n".join(lines)


def verification_markdown(result: dict) -> str:
    out = [f"# Verification: {_status(result)}", "",
           md_table(["table", "source rows", "target rows", "quarantined", "checksum", "copy s", "verify s",
                     "result"],
                    [[t["table"], t["source_rows"], t["target_rows"], t["quarantined"], t["checksum"],
                      _seconds(t.get("copy_seconds")), _seconds(t["seconds"]), table_result(t)]
                     for t in result["tables"]]), ""]
    for t in result["tables"]:
        if t["differences"] or t["issues"]:
            out += [f"## {t['table']}", ""] + [f"- {i}" for i in t["issues"]]
            for d in t["differences"]:
                out.append(f"- key `{d['key']}`: {d['kind']}")
                out += [f"  - `{c}`: source `{v['source']}` / target `{v['target']}`" for c, v in d["columns"].items()]
            out.append("")
    if result["database_issues"]:
        out += ["## Database checks", ""] + [f"- {i}" for i in result["database_issues"]] + [""]
    out.append(safe_to_switch(result))
    return "\n".join(out) + "\n"


def write(directory: Path, name: str, data: dict, markdown: str) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    json_path = directory / f"{name}.json"
    md_path = directory / f"{name}.md"
    json_path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str))
    md_path.write_text(markdown)
    return json_path, md_path


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _seconds(value) -> str:
    return "" if value is None else f"{value:.1f}"
