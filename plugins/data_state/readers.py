"""What the data-state page shows, read from what the DAGs already write (no store of its own).

- migrations, cutovers and rollbacks: the run report directories (sqlite_to_mysql.report):
  preflight.json, verification.json, cutover.json, rollback.json, approval.json;
- backups: the manifests and drill reports in the backup storage (mysql_backup.catalog);
- incidents: the health monitor's incident state (mysql_hardening.incidents);
- query insights: the daily reports' p95 points in the backup storage.

Each reader is tolerant of a missing source (it returns nothing, and the page says "no data
yet") but not of a broken one: an unreadable file becomes a `problems` entry shown in red,
never a silently shorter list. No Airflow here: `runs` maps a report directory name to the
(dag_id, run_id) that wrote it, supplied by the plugin from Airflow's own run records.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable

from mysql_backup.catalog import load_catalog
from mysql_backup.chain import check_chains
from mysql_backup.manifest import Layout, parse_iso
from mysql_backup.storage import Storage

MIGRATION_DAGS = ("sqlite_to_mysql_migration", "sqlite_to_mysql_verify")
CUTOVER_DAGS = ("sqlite_to_mysql_cutover", "sqlite_to_mysql_rollback")
RunLookup = Callable[[str, tuple[str, ...]], "tuple[str, str] | None"]


@dataclass
class Section:
    """One part of the page: its items, and what could not be read."""

    items: list = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _load(path: Path, problems: list[str]) -> dict | None:
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: unreadable ({exc})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path}: not a report")
        return None
    return data


def _run_dirs(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)


def migration_runs(root: Path, runs: RunLookup) -> Section:
    """Each migration or verification run: its verification, preflight findings and name map."""
    section = Section()
    for directory in _run_dirs(root):
        verification = _load(directory / "verification.json", section.problems)
        preflight = _load(directory / "preflight.json", section.problems)
        if verification is None and preflight is None:
            continue
        dags = ("sqlite_to_mysql_migration",) if preflight is not None else MIGRATION_DAGS
        section.items.append({
            "dir": directory.name, "run": runs(directory.name, dags), "written": _mtime(directory),
            "verification": verification, "preflight": preflight,
            "name_map": (preflight or {}).get("name_map") or {}})
    return section


def cutover_runs(root: Path, runs: RunLookup) -> Section:
    """Each cutover or rollback run: freeze, changes applied, switch actions, approvals."""
    from approvals import journal

    section = Section()
    for directory in _run_dirs(root):
        for kind, dag_id in (("cutover", "sqlite_to_mysql_cutover"), ("rollback", "sqlite_to_mysql_rollback")):
            report = _load(directory / f"{kind}.json", section.problems)
            if report is None:
                continue
            try:
                approvals = [e for e in journal.read(directory) if e.get("dag_id") in (dag_id, None)]
            except (OSError, ValueError) as exc:
                section.problems.append(f"{directory / journal.FILE}: unreadable ({exc})")
                approvals = []
            section.items.append({"kind": kind, "dir": directory.name, "run": runs(directory.name, (dag_id,)),
                                  "written": _mtime(directory), "report": report, "approvals": approvals})
    return section


def approvals_without_report(root: Path, shown: set[str], runs: RunLookup) -> Section:
    """Decisions of runs that wrote no cutover/rollback report (a rejected switch, a restore...)."""
    from approvals import journal

    section = Section()
    for directory in _run_dirs(root):
        if directory.name in shown or not (directory / journal.FILE).exists():
            continue
        try:
            entries = journal.read(directory)
        except (OSError, ValueError) as exc:
            section.problems.append(f"{directory / journal.FILE}: unreadable ({exc})")
            continue
        for entry in entries:
            section.items.append({**entry, "run": (entry["dag_id"], entry["run_id"])})  # the journal's real ids
    return section


def _mtime(path: Path) -> str:
    from datetime import timezone

    return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc).isoformat(timespec="seconds")


# --- backups ---------------------------------------------------------------------------

def servers(storage: Storage) -> list[str]:
    """Server folders of the storage: those holding full backups or binlogs."""
    found = set()
    for info in storage.list(""):
        parts = info.key.split("/")
        if len(parts) >= 3 and parts[1] in ("full", "binlog", "drills"):
            found.add(parts[0])
    return sorted(found)


def backup_chain(storage: Storage, server: str) -> dict:
    """Full backups, binlog epochs with the gaps in their chains, drills, for one server. The
    gaps, resets and restores over the database are mysql_backup.chain.check_chains's, the
    rule mysql_backup_verify applies, so the page and verify never disagree."""
    catalog = load_catalog(storage, Layout(server))
    checked = check_chains(catalog.fulls, catalog.epochs, catalog.breaks)
    fulls = [{"backup_id": f.backup_id, "database": f.database, "run_id": f.run_id,
              "started_at": f.started_at, "finished_at": f.finished_at, "consistent_at": f.consistent_at,
              "bytes": sum(o.size for o in f.objects),
              "seconds": (parse_iso(f.finished_at) - parse_iso(f.started_at)).total_seconds(),
              "position": str(f.position) if f.position else None,
              "epoch": f.position.epoch if f.position else None} for f in catalog.fulls]
    binlogs = [{"epoch": m.epoch, "name": m.name, "first_event_at": m.first_event_at,
                "last_event_at": m.last_event_at, "bytes": m.object.size, "shipped_at": m.shipped_at}
               for m in catalog.binlogs()]
    resets = {r.epoch.id: r for r in checked.resets}
    epochs = []
    for epoch_id, epoch in catalog.epochs.items():
        files = [epoch.binlogs[i] for i in sorted(epoch.binlogs)]
        reset = resets.get(epoch_id)
        epochs.append({
            "epoch": epoch_id, "began_at": epoch.head.began_at if epoch.head else None,
            "follows": reset.previous if reset else None, "reason": reset.reason if reset else None,
            "unprotected": bool(reset and reset.unprotected), "files": len(files),
            "first": files[0].name if files else None, "last": files[-1].name if files else None,
            "from": files[0].first_event_at if files else None,
            "until": files[-1].last_event_at if files else None,
            "backups": [f.backup_id for f in catalog.fulls if f.position and f.position.epoch == epoch_id]})
    gaps = [{"epoch": g.epoch, "files": list(g.files), "from": g.since, "until": g.until,
             "backups": list(g.backups), "newest_lost": g.newest_lost} for g in checked.gaps]
    lost_epochs = [{"backup_id": r.full.backup_id, "epoch": r.full.position.epoch} for r in checked.reaches
                   if r.full.position and r.epoch is None]
    crossings = [{"database": c.record.database, "at": c.record.at, "backup_id": c.record.backup_id,
                  "unprotected": c.unprotected} for c in checked.crossings]
    drills, problems = [], []
    for info in storage.list(f"{server}/drills/"):
        try:
            drills.append(json.loads(storage.read_bytes(info.key)))
        except (OSError, ValueError) as exc:
            problems.append(f"{info.key}: unreadable ({exc})")
    drills.sort(key=lambda d: d.get("started_at") or "")
    return {"server": server, "fulls": fulls, "binlogs": binlogs, "epochs": epochs, "gaps": gaps,
            "lost_epochs": lost_epochs, "crossings": crossings, "drills": drills,
            "incomplete": sorted(catalog.incomplete), "unmanifested_binlogs": len(catalog.unmanifested_binlogs),
            "problems": problems}


def backups(storage: Storage | None) -> Section:
    section = Section()
    if storage is None:
        return section
    for server in servers(storage):
        try:
            section.items.append(backup_chain(storage, server))
        except Exception as exc:  # a broken manifest is shown, not skipped
            section.problems.append(f"backups of {server}: {exc}")
    return section


# --- incidents and query insights ------------------------------------------------------

def incidents(states: dict[str, dict]) -> Section:
    """Open incidents, resolutions not yet delivered, and closed ones (the state's history of
    delivered resolutions), from each monitor's state."""
    section = Section()
    for key, state in sorted(states.items()):
        if not isinstance(state, dict):
            section.problems.append(f"Variable {key}: not an incident state")
            continue
        for incident in (state.get("incidents") or {}).values():
            section.items.append({"source": key, "status": "open", **incident})
        for notice in state.get("resolved_pending") or []:
            section.items.append({"source": key, "status": "resolved (notice pending)", **notice})
        for notice in state.get("closed") or []:
            section.items.append({"source": key, "status": "closed", **notice})
    section.items.sort(key=lambda i: i.get("resolved_at") or i.get("opened_at") or "", reverse=True)
    return section


def query_p95(storage: Storage | None, server_names: list[str], top: int = 5) -> Section:
    """p95 per hour of each server's top digests, from the daily reports' points."""
    section = Section()
    if storage is None:
        return section
    for server in server_names:
        points: dict[tuple[str, str], list] = {}
        statements: dict[tuple[str, str], str] = {}
        for info in sorted(storage.list(f"{server}/query-insights/reports/"), key=lambda i: i.key):
            if not info.key.endswith(".json"):
                continue
            try:
                report = json.loads(storage.read_bytes(info.key))
            except (OSError, ValueError) as exc:
                section.problems.append(f"{info.key}: unreadable ({exc})")
                continue
            for row in report.get("top_by_total_time") or []:
                statements[(row["schema"], row["digest"])] = row.get("statement", "")
            for p in report.get("p95_over_time") or []:
                points.setdefault((p["schema"], p["digest"]), []).append((p["hour"], p["p95_ms"]))
        ranked = sorted(points, key=lambda k: -max(v for _, v in points[k]))[:top]
        if ranked:
            section.items.append({"server": server, "series": [
                {"schema": s, "digest": d, "statement": statements.get((s, d), ""),
                 "points": sorted(dict(points[(s, d)]).items())} for s, d in ranked]})
    return section
