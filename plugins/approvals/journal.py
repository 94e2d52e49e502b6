"""The approval journal: who decided, when, and what they were shown, next to the run's reports.

    <report dir of the run>/approval.json   {"decisions": [entry, ...]}   oldest first

One file per run (the same directory as the run's other reports, sqlite_to_mysql.report), one
entry per decision: a gate asked again (cleared, retried) adds an entry, never overwrites one.
Entries are appended under an exclusive lock and the file is replaced atomically, so two gates
of one run deciding at once both land and a reader never sees half a file.
"""
from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path

FILE = "approval.json"
APPROVED, REJECTED, NO_ANSWER = "approved", "rejected", "no answer"
DECISIONS = (APPROVED, REJECTED, NO_ANSWER)


def entry(*, dag_id: str, run_id: str, task_id: str, try_number: int, decision: str, by: dict | None,
          at: datetime, asked_at: str, deadline: str | None, assigned_users: list[dict], subject: str,
          evidence: dict, body: str, gated_tasks: list[str]) -> dict:
    """One decision, as recorded. `evidence` and `body` are what the approver was shown."""
    if decision not in DECISIONS:
        raise ValueError(f"unknown decision {decision!r}; one of {DECISIONS}")
    if decision == NO_ANSWER and by is not None:
        raise ValueError("nobody answered, so nobody decided")
    return {"dag_id": dag_id, "run_id": run_id, "task_id": task_id, "try_number": try_number,
            "decision": decision, "by": by, "at": at.astimezone(timezone.utc).isoformat(),
            "asked_at": asked_at, "deadline": deadline, "assigned_users": assigned_users, "subject": subject,
            "gated_tasks": gated_tasks,
            "changed": "the gated tasks ran" if decision == APPROVED else "nothing: the gated tasks did not run",
            "evidence": evidence, "body": body}


def record(directory: Path, decision: dict) -> Path:
    """Append one decision to the run's journal; returns the file."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILE
    with open(directory / f".{FILE}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = read(directory)
        entries.append(decision)
        tmp = directory / f".{FILE}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"decisions": entries}, indent=2, sort_keys=True, default=str) + "\n")
        os.replace(tmp, path)
    return path


def read(directory: Path) -> list[dict]:
    """The run's decisions, oldest first; none when no gate has decided yet."""
    path = directory / FILE
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not isinstance(data.get("decisions"), list):
        raise ValueError(f"{path}: not an approval journal")
    return data["decisions"]
