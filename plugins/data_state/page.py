"""The data-state page as one HTML document: tables where people read, plots where they look.

Everything from the reports is untrusted text (table names come from the source database), so
every value goes through html.escape; plots are inline SVG (data_state.svg). Links go to the
Airflow run (and task) that produced each figure, relative to the plugin's mount, and open in
the top window since the page is shown inside the Airflow UI.
"""
from __future__ import annotations

from html import escape
from urllib.parse import quote

from data_state import svg
from data_state.readers import Section
from mysql_backup.manifest import human, parse_iso
from mysql_hardening import incidents as incident_history

NO_DATA = "no data yet"
STYLE = """
body{font-family:system-ui,sans-serif;margin:16px;color:#222}h1{font-size:20px}h2{font-size:17px;margin-top:28px;
border-bottom:1px solid #ddd}h3{font-size:14px}table{border-collapse:collapse;margin:6px 0 12px}td,th{border:1px
solid #ddd;padding:3px 7px;font-size:12px;text-align:left}td.n{text-align:right}.bad{color:#b00020;font-weight:bold}
.ok{color:#11772d}.muted{color:#777}.problem{color:#b00020}details{margin:4px 0 10px}nav a{margin-right:12px}
"""


def run_link(run, task: str | None = None, text: str | None = None) -> str:
    if not run:
        return escape(text or "(run not in Airflow)")
    dag_id, run_id = run
    href = f"../dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    if task:
        href += f"/tasks/{quote(task, safe='')}"
    return f'<a target="_top" href="{escape(href)}">{escape(text or run_id)}</a>'


def dag_link(dag_id: str) -> str:
    return f'<a target="_top" href="../dags/{quote(dag_id, safe="")}">{escape(dag_id)}</a>'


def table(headers: list[str], rows: list[list], numeric: set[int] = frozenset()) -> str:
    """Cells are escaped unless given as Html."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f'<td{" class=n" if i in numeric else ""}>{_cell(v)}</td>'
                                    for i, v in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class Html(str):
    """Markup built here, not to be escaped again."""


def _cell(value) -> str:
    if isinstance(value, Html):
        return value
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return escape(str(value))


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _when(text: str | None) -> str | None:
    """A manifest's ISO time as messages give it (whole seconds, UTC); anything else as it is."""
    try:
        return human(parse_iso(text)) if text else text
    except (TypeError, ValueError):
        return text


def _status(ok: bool, text: str) -> Html:
    return Html(f'<span class="{"ok" if ok else "bad"}">{escape(text)}</span>')


def _problems(section: Section) -> str:
    return "".join(f'<p class="problem">{escape(p)}</p>' for p in section.problems)


def _empty(section: Section | None, what: str) -> str | None:
    if section is None:
        return f'<p class="muted">Not shown: you may not read the runs of {escape(what)}.</p>'
    if not section.items:
        return f'<p class="muted">{NO_DATA}</p>' + _problems(section)
    return None


def migrations(section: Section | None) -> str:
    out = ["<h2 id=migrations>Migrations</h2>"]
    if (empty := _empty(section, "the migration DAGs")) is not None:
        return "".join(out) + empty
    rows = []
    for item in section.items:
        v = item["verification"] or {}
        totals = v.get("totals") or {}
        rows.append([Html(run_link(item["run"], text=item["dir"])), v.get("database") or
                     (item["preflight"] or {}).get("database"),
                     _status(v.get("status") == "OK", v.get("status", "preflight only")),
                     len(v.get("tables") or []), totals.get("source_rows"), totals.get("target_rows"),
                     totals.get("quarantined"), totals.get("copy_seconds"), totals.get("verify_seconds"),
                     item["written"]])
    out.append(table(["run", "database", "verification", "tables", "source rows", "target rows", "quarantined",
                      "copy s", "verify s", "written (UTC)"], rows, {3, 4, 5, 6, 7, 8}))
    for item in section.items:
        out.append(f"<details><summary>{escape(item['dir'])}: verification, preflight findings, name map"
                   "</summary>")
        v = item["verification"]
        if v:
            out.append("<h3>Verification " + run_link(item["run"], "report", "(report task)") + "</h3>")
            out.append(table(["table", "source rows", "target rows", "quarantined", "checksum", "differing rows",
                              "result"],
                             [[t["table"], t["source_rows"], t["target_rows"], t["quarantined"], t.get("checksum"),
                               t.get("differing_rows"), _status(t["ok"], "OK" if t["ok"] else "FAIL")]
                              for t in v.get("tables", [])], {1, 2, 3, 5}))
            for issue in v.get("database_issues") or []:
                out.append(f'<p class="bad">{escape(str(issue))}</p>')
        p = item["preflight"]
        if p:
            out.append("<h3>Preflight findings " + run_link(item["run"], "preflight", "(preflight task)") + "</h3>")
            findings = [["blocker", b] for b in p.get("blockers", [])]
            findings += [["warning", w] for w in p.get("warnings", [])]
            findings += [["does not fit", f"{t['source']}.{c['column']}: {c['count']} values ({c['problem']})"]
                         for t in p.get("tables", []) for c in t.get("conflicts", [])]
            findings += [["not migrated", f"{n['kind']} {n['name']}: {n['action']}"] for n in p.get("not_migrated", [])]
            out.append(table(["kind", "finding"], findings) if findings else '<p class="ok">no findings</p>')
        if item["name_map"]:
            out.append("<h3>Names changed for MySQL</h3>")
            out.append(table(["SQLite name", "MySQL name"], [[k, v] for k, v in sorted(item["name_map"].items())]))
        out.append("</details>")
    return "".join(out) + _problems(section)


def _changes(report: dict, key: str):
    value = report.get(key)
    return value.get("changes") if isinstance(value, dict) else value


def cutovers(section: Section | None, decisions: Section | None) -> str:
    out = ["<h2 id=cutovers>Cutovers and rollbacks</h2>"]
    if (empty := _empty(section, "the cutover DAGs")) is None:
        freezes = [(i["written"], i["report"]["frozen_seconds"]) for i in section.items
                   if i["report"].get("frozen_seconds") is not None]
        out.append(svg.line_chart("Writes frozen per run (s)", {"frozen seconds": freezes}, "seconds"))
        rows = []
        for item in section.items:
            r = item["report"]
            task = "freeze_and_switch" if item["kind"] == "cutover" else "rollback"
            approvals = "; ".join(f"{a['decision']} by {(a.get('by') or {}).get('name', 'nobody')} at {a['at']}"
                                  for a in item["approvals"]) or "none recorded"
            rows.append([item["kind"], Html(run_link(item["run"], task, item["dir"])), r.get("mode"), r.get("outcome"),
                         r.get("frozen_seconds"), _changes(r, "catch_up"), _changes(r, "drain"),
                         _changes(r, "final_drain"), "; ".join(a.get("action", "") for a in r.get("switch") or []),
                         approvals])
        out.append(table(["kind", "run", "mode", "outcome", "frozen s", "changes before freeze",
                          "changes during freeze", "changes after guard", "switch actions", "approvals"],
                         rows, {4, 5, 6, 7}))
        out.append(_problems(section))
    else:
        out.append(empty)
    out.append("<h3 id=approvals>Approvals</h3>")
    if (empty := _empty(decisions, "the gated DAGs")) is not None:
        return "".join(out) + empty
    out.append(table(["dag", "run", "step", "decision", "by", "at (UTC)", "asked (UTC)", "gated tasks"],
                     [[e["dag_id"], Html(run_link(e["run"], e["task_id"], e["run_id"])), e["subject"],
                       _status(e["decision"] == "approved", e["decision"]), (e.get("by") or {}).get("name", "nobody"),
                       e["at"], e.get("asked_at"), ", ".join(e.get("gated_tasks") or [])] for e in decisions.items]))
    return "".join(out) + _problems(decisions)


def _chain_findings(chain: dict) -> str:
    """What mysql_backup_verify says of the chain (mysql_backup.chain.check_chains), in words."""
    out = []
    for e in chain["epochs"]:
        if e["follows"]:
            text = (f'Binlog numbering reset: epoch {e["epoch"]} follows {e["follows"]} ({e["reason"]}); '
                    "point-in-time recovery cannot cross from one to the other")
            if e["unprotected"]:
                out.append(f'<p class="bad">{escape(text)}, and no full backup starts in it: changes since the '
                           "reset cannot be restored until a full backup is taken.</p>")
            else:
                out.append(f'<p class="muted">{escape(text)}.</p>')
    for gap in chain["gaps"]:
        lost = "; the newest binlog shipped is among them" if gap["newest_lost"] else ""
        out.append(f'<p class="bad">Gap: {escape(", ".join(gap["files"]))} missing (epoch {escape(gap["epoch"])})'
                   f'; no point-in-time recovery from {escape(_when(gap["from"]) or "the previous backup")} until '
                   f'{escape(_when(gap["until"]) or "the next binlog shipped")}; recovery from backup(s) '
                   f'{escape(", ".join(gap["backups"]))} stops before it{lost}.</p>')
    for lost in chain["lost_epochs"]:
        out.append(f'<p class="bad">Backup {escape(lost["backup_id"])}: its binlog epoch {escape(lost["epoch"])} '
                   "is missing from the storage: no point-in-time recovery from it.</p>")
    for c in chain["crossings"]:
        text = (f'Database {c["database"]} was restored over itself at {_when(c["at"])} (from backup '
                f'{c["backup_id"]}): '
                "point-in-time recovery cannot cross that time")
        out.append(f'<p class="bad">{escape(text)}; no full backup since.</p>' if c["unprotected"]
                   else f'<p class="muted">{escape(text)}.</p>')
    troubled = chain["gaps"] or chain["lost_epochs"] or any(e["unprotected"] for e in chain["epochs"]) or any(
        c["unprotected"] for c in chain["crossings"])
    if chain["binlogs"] and not troubled:
        out.append(f'<p class="ok">Binlog chain complete: {len(chain["binlogs"])} files in '
                   f'{len(chain["epochs"])} epoch(s), {escape(_when(chain["binlogs"][0]["first_event_at"]))} to '
                   f'{escape(_when(chain["binlogs"][-1]["last_event_at"]))}.</p>')
    return "".join(out)


def _epoch_state(epoch: dict, gaps: list[dict]) -> Html:
    holes = [g for g in gaps if g["epoch"] == epoch["epoch"]]
    if holes:
        return _status(False, f"{sum(len(g['files']) for g in holes)} file(s) missing")
    if epoch["unprotected"]:
        return _status(False, "no full backup since the reset")
    return _status(True, "complete" if epoch["backups"] else "no backup starts in it")


def backups(section: Section | None) -> str:
    out = ["<h2 id=backups>Backups</h2>"]
    if (empty := _empty(section, "the backup DAGs")) is not None:
        return "".join(out) + empty
    for chain in section.items:
        server = chain["server"]
        out.append(f"<h3>Server {escape(server)}</h3>")
        out.append(svg.chain_timeline(f"Binlog chain of {server}", chain["fulls"], chain["binlogs"], chain["gaps"],
                                      chain["epochs"]))
        out.append(_chain_findings(chain))
        if chain["epochs"]:
            out.append(table(["binlog epoch (numbering)", "began", "follows (reset)", "files", "first", "last",
                              "covers from", "to", "full backups starting in it", "chain"],
                             [[e["epoch"], _when(e["began_at"]), e["follows"], e["files"], e["first"], e["last"],
                               _when(e["from"]), _when(e["until"]), ", ".join(e["backups"]),
                               _epoch_state(e, chain["gaps"])] for e in reversed(chain["epochs"])], {3}))
        fulls = chain["fulls"]
        out.append(svg.line_chart(f"Full backup size of {server} (MB)",
                                  {"size": [(f["finished_at"], f["bytes"] / 1e6) for f in fulls]}, "MB"))
        out.append(svg.line_chart(f"Full backup duration of {server} (s)",
                                  {"duration": [(f["finished_at"], f["seconds"]) for f in fulls]}, "seconds"))
        out.append(table(["backup", "database", "finished", "size", "duration s", "binlog position",
                          "binlog epoch", "run"],
                         [[f["backup_id"], f["database"], _when(f["finished_at"]), _size(f["bytes"]), f["seconds"],
                           f["position"], f["epoch"],
                           Html(run_link(("mysql_full_backup", f["run_id"]) if f["run_id"] else None, "full_backup"))]
                          for f in reversed(fulls)], {3, 4}))
        if chain["incomplete"]:
            out.append(f'<p class="bad">Interrupted backups without manifest: '
                       f'{escape(", ".join(chain["incomplete"]))}</p>')
        if chain["unmanifested_binlogs"]:
            out.append(f'<p class="muted">{chain["unmanifested_binlogs"]} binlog object(s) without manifest '
                       '(interrupted shipping; not part of the chain).</p>')
        drills = chain["drills"]
        out.append(f"<h3>Restore drills of {escape(server)} ({dag_link('mysql_restore_drill')})</h3>")
        if drills:
            out.append(svg.line_chart(f"Drill RTO of {server} (s)",
                                      {"RTO": [(d["started_at"], d.get("rto_seconds")) for d in drills
                                               if not d.get("problems")],
                                       "failed drill": [(d["started_at"], d.get("rto_seconds") or 0) for d in drills
                                                        if d.get("problems")]}, "seconds"))
            out.append(table(["started", "backup", "RTO s", "tables compared", "result"],
                             [[_when(d["started_at"]), d.get("backup_id"), d.get("rto_seconds"), d.get("tables_compared"),
                               _status(not d.get("problems"), "; ".join(d.get("problems") or []) or "identical")]
                              for d in reversed(drills)], {2, 3}))
        else:
            out.append(f'<p class="muted">{NO_DATA}</p>')
        out.extend(f'<p class="problem">{escape(p)}</p>' for p in chain["problems"])
    return "".join(out) + _problems(section)


def incidents(section: Section | None) -> str:
    out = ["<h2 id=incidents>Health incidents</h2>"]
    if (empty := _empty(section, "mysql_health_monitor")) is not None:
        return "".join(out) + empty
    out.append(table(["status", "code", "summary", "opened (UTC)", "resolved (UTC)", "monitor"],
                     [[_status(False, i["status"]) if i["status"] == "open" else i["status"], i.get("code"),
                       i.get("summary"), i.get("opened_at"), i.get("resolved_at"), i["source"]]
                      for i in section.items]))
    out.append('<p class="muted">Newest first; each monitor keeps its last '
               f'{incident_history.CLOSED_KEPT} closed incidents. Runs: {dag_link("mysql_health_monitor")}.</p>')
    return "".join(out) + _problems(section)


def query_insights(section: Section | None) -> str:
    out = ["<h2 id=queries>Query p95 per top digest</h2>"]
    if (empty := _empty(section, "mysql_query_insights")) is not None:
        return "".join(out) + empty
    for item in section.items:
        series = {f"{s['schema']} {s['statement'][:60] or s['digest'][:12]}": s["points"] for s in item["series"]}
        out.append(svg.line_chart(f"p95 latency (ms) on {item['server']}", series, "ms"))
    return "".join(out) + _problems(section)


def render(*, user: str, sections: dict[str, Section | None]) -> str:
    body = [migrations(sections.get("migrations")),
            cutovers(sections.get("cutovers"), sections.get("approvals")),
            backups(sections.get("backups")), incidents(sections.get("incidents")),
            query_insights(sections.get("queries"))]
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (("migrations", "Migrations"), ("cutovers", "Cutovers"),
                                                           ("approvals", "Approvals"), ("backups", "Backups"),
                                                           ("incidents", "Incidents"), ("queries", "Queries")))
    return (f"<!doctype html><html><head><meta charset=utf-8><title>State of the data</title><style>{STYLE}"
            f"</style></head><body><h1>State of the data</h1><p class=muted>Read from the reports, manifests and "
            f"journals the DAGs write; signed in as {escape(user)}. Times in UTC.</p><nav>{nav}</nav>"
            + "".join(body) + "</body></html>")
