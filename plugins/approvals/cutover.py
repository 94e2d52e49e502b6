"""The evidence an approver reads before the cutover's switch and before a rollback, built from
what the earlier steps measured (plain dicts: the steps' results and the cutover journal), so it
is tested without Airflow or a database. The gate (operators/approval_gate.py) renders it."""
from __future__ import annotations

ACTION_VERBS = {"settings_file": "write the settings file", "command": "run the command",
                "webhook": "call the webhook", "maintenance_on": "run maintenance_on",
                "maintenance_off": "run maintenance_off"}


def last_freeze(journal: list[dict], step: str) -> dict | None:
    """The newest journal entry of `step` (say "rehearsal") with its freeze in seconds, or None."""
    done = [e for e in journal if e.get("step") == step and e.get("seconds") is not None]
    return done[-1] if done else None


def _actions(checks: list[dict], target: str, database: str) -> list[str]:
    out = []
    for c in checks:
        if c["action"].startswith("maintenance"):
            continue
        verb = ACTION_VERBS.get(c["action"], c["action"])
        out.append(f"{verb} {c['target']}: point the application at {target} (database {database})")
    return out


def _maintenance(checks: list[dict], which: str) -> list[str]:
    return [f"{ACTION_VERBS[c['action']]} {c['target']}" for c in checks if c["action"] == f"maintenance_{which}"]


def _problems(checks: list[dict]) -> list[str]:
    return [f"switch action {c['action']} {c['target']} cannot run: {c['problem']}" for c in checks if not c["ok"]]


def switch_evidence(*, database: str, live: dict, checks: list[dict], rehearsal: dict | None, target: str,
                    freeze_timeout: float) -> dict:
    """Before freeze_and_switch: the lag, the live verification per table, the freeze of the
    last rehearsal, and the switch actions with their targets."""
    caught = live.get("catch_up") or {}
    rows = [[table, t.get("source_rows"), t.get("target_rows"), len(t.get("suspects") or []),
             "same" if t.get("source_rows") == t.get("target_rows") else "differs (changes in flight)"]
            for table, t in sorted((live.get("tables") or {}).items())]
    figures = {"Database": database,
               "Lag (changes not yet on MySQL)": caught.get("lag_changes"),
               "Lag (seconds, oldest change waiting)": caught.get("lag_seconds"),
               "Changes applied by the catch-up": caught.get("changes"),
               "Live verification (s)": live.get("seconds"),
               "Ranges changing while checked (re-checked in the freeze)": live.get("suspect_ranges"),
               "Freeze in the last rehearsal (s)": rehearsal["seconds"] if rehearsal else "no rehearsal yet",
               "Last rehearsal": f"{rehearsal['run_id']} at {rehearsal['at']} UTC" if rehearsal else "none",
               "Freeze limit this run (s)": freeze_timeout}
    notes = _problems(checks)
    if not rehearsal:
        notes.append("no rehearsal has completed on this database: the freeze time is unknown")
    return {
        "summary": f"Switch the application from SQLite to MySQL database {database}: writes are frozen, the "
                   "last changes applied and checked, then the application is pointed at MySQL. SQLite stays "
                   "read-only afterwards; sqlite_to_mysql_rollback brings it back with every write made on MySQL.",
        "figures": figures,
        "tables": [{"title": "Live verification per table (while the application writes)",
                    "columns": ["table", "rows in SQLite", "rows in MySQL", "ranges re-checked in the freeze",
                                "counts"], "rows": rows}],
        "actions": ([f"{a} before the freeze" for a in _maintenance(checks, "on")]
                    + [f"freeze SQLite writes (at most {freeze_timeout:g} s), apply the last changes, check"]
                    + _actions(checks, target, database)
                    + ["guard SQLite read-only"]
                    + _maintenance(checks, "off")),
        "notes": notes,
    }


def rollback_evidence(*, database: str, pending: dict[str, int], lag_seconds: float, checks: list[dict],
                      previous: dict | None, target: str, switched: dict | None, freeze_timeout: float) -> dict:
    """Before the rollback: what will be returned to SQLite (the writes made on MySQL since the
    switch, per table), the freeze it takes and the actions that point the application back."""
    figures = {"Database": database,
               "Writes made on MySQL to bring back": sum(pending.values()),
               "Oldest of them (s ago)": lag_seconds,
               "Switched to MySQL": f"{switched['run_id']} at {switched['at']} UTC" if switched else "unknown",
               "Freeze of the last rollback (s)": previous["seconds"] if previous else "no rollback yet",
               "Freeze limit this run (s)": freeze_timeout}
    return {
        "summary": f"Roll the application back from MySQL database {database} to SQLite: every write made on "
                   "MySQL since the switch is applied to SQLite, MySQL writes are frozen for the last ones, "
                   "counts and changed rows are checked, then the application is pointed at SQLite. MySQL "
                   "stays read-only afterwards.",
        "figures": figures,
        "tables": [{"title": "Writes on MySQL returned to SQLite, per table", "columns": ["table", "changes"],
                    "rows": [[t, n] for t, n in sorted(pending.items())]}],
        "actions": ([f"{a} before the freeze" for a in _maintenance(checks, "on")]
                    + ["apply MySQL's writes to SQLite while the application writes",
                       f"freeze MySQL writes (at most {freeze_timeout:g} s), apply the rest, check counts and "
                       "every changed row", "guard MySQL read-only"]
                    + _actions(checks, target, database)
                    + ["SQLite accepts writes again"]
                    + _maintenance(checks, "off")),
        "notes": _problems(checks),
    }
