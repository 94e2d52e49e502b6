"""An approval with evidence before an irreversible step, on Airflow's human-in-the-loop operator.

    evidence = SomeCheckOperator(task_id="verify_live", ...)        # returns the evidence dict
    gate = ApprovalGateOperator(task_id="approve_switch", subject="Switch shop to MySQL",
                                evidence=evidence.output)            # placed after the evidence
    gate >> FreezeAndSwitchOperator(task_id="freeze_and_switch", ...)

The gate shows the evidence as Markdown (approvals.evidence: escaped, secrets hidden) in the UI's
Required Actions, or to `PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task}/-1/hitlDetails`
with `{"chosen_options": ["Approve"]}` (or `["Reject"]`). Then:

- Approve: the gated tasks run.
- Reject, or no answer within `response_timeout`: the gate fails with a message that says who
  rejected (or that nobody answered) and that nothing was changed, so the tasks after it do not
  run (upstream_failed; teardowns still run) and the run ends failed. A rejection is not a data
  failure, but a run whose irreversible step did not happen must not end green: a green run
  reads as "done" (Airflow's ApprovalOperator would skip the rest and end the run successful).
  Clearing the gate asks again.

Who may answer: the users named by the Variable `approval_gate_approvers` for this DAG (a JSON
list, or an object {"<dag_id>": [...], "*": [...]}), narrowed by the gate's `approvers` (for
instance from a DAG Param); without either, anyone the auth manager lets act on the DAG.
User ids are those of the auth manager (the user name for the simple auth manager).

Every decision is appended to the run's approval journal (approvals.journal) with who, when and
exactly the evidence and body shown; the gate's XCom carries the same entry for the DAG's report.

`ask` (templated) lets one DAG serve a run that needs no approval, say a rehearsal: rendered
false, the gate asks nothing, records nothing and returns None, and the gated step, which checks
`approved(context, gate)` before acting irreversibly, knows that nobody approved.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator, HITLOperator
from airflow.sdk import Variable
from airflow.sdk.definitions.xcom_arg import XComArg
from airflow.sdk.exceptions import AirflowFailException

from approvals import evidence as ev
from approvals import journal
from sqlite_to_mysql.report import report_dir

log = logging.getLogger(__name__)
APPROVERS_VARIABLE = "approval_gate_approvers"
REQUEST_KEY = "approval_request"


def names(value: Any) -> list[str]:
    """User ids from a list, a JSON list, or a comma-separated string (a rendered template)."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = json.loads(text)
        else:
            value = text.split(",")
    return sorted({str(v).strip() for v in value if str(v).strip()})


def allowed_approvers(dag_id: str, configured: Any, requested: list[str]) -> list[str]:
    """Who may answer: the Variable's list for this DAG (or "*"), narrowed by `requested`.
    A narrowing that leaves nobody is refused rather than opened to everyone."""
    if isinstance(configured, dict):
        configured = configured.get(dag_id, configured.get("*"))
    allowed = names(configured)
    if not allowed:
        return requested
    if not requested:
        return allowed
    chosen = sorted(set(allowed) & set(requested))
    if not chosen:
        raise AirflowFailException(
            f"none of the approvers asked for ({', '.join(requested)}) may approve steps of {dag_id}: Variable "
            f"{APPROVERS_VARIABLE} allows {', '.join(allowed)}. Nothing was changed")
    return chosen


class ApprovalGateOperator(ApprovalOperator):
    """Asks for approval of the tasks after it, showing `evidence` (a dict, usually an upstream
    task's `.output`); see the module docstring for what each answer does."""

    # Not `evidence`: rendered template fields are stored and shown as they are, secrets included;
    # the evidence is resolved in execute() and shown only redacted.
    template_fields = ("subject", "approvers", "ask")
    ui_color = "#fff2cc"

    def __init__(self, *, subject: str, evidence: Any, approvers: Any = None, ask: Any = True,
                 response_timeout: timedelta = timedelta(hours=4), **kwargs) -> None:
        super().__init__(subject=subject, body=None, response_timeout=response_timeout, **kwargs)
        self.retries = 0  # asking again is clearing the gate: a person's decision, not a retry
        self.evidence = evidence
        self.approvers = approvers
        self.ask = ask
        for producer, _key in XComArg.iter_xcom_references(evidence):
            producer >> self

    def gated_tasks(self) -> list[str]:
        """Every task after the gate but teardowns, nearest first."""
        order, queue = [], list(self.downstream_list)
        while queue:
            task = queue.pop(0)
            if task.task_id not in order and not task.is_teardown:
                order.append(task.task_id)
                queue += task.downstream_list
        return order

    def execute(self, context):
        if str(self.ask).strip().lower() in ("false", "0", "no", "none", ""):
            log.info("no approval asked: nothing irreversible follows in this run (%s)", self.ask)
            return None
        if isinstance(self.evidence, XComArg):
            self.evidence = self.evidence.resolve(context)
        if not self.evidence:
            raise AirflowFailException(f"{self.task_id} has no evidence to show: place it after the task that "
                                       "measures it. Nothing was changed")
        try:
            shown = ev.redact(self.evidence)
        except ValueError as exc:
            raise AirflowFailException(f"{self.task_id}: the evidence cannot be shown ({exc}). Nothing was "
                                       "changed") from exc
        dag_id = context["dag"].dag_id
        users = allowed_approvers(dag_id, Variable.get(APPROVERS_VARIABLE, default=None, deserialize_json=True),
                                  names(self.approvers))
        self.assigned_users = [{"id": u, "name": u} for u in users]
        asked = datetime.now(timezone.utc)
        deadline = asked + self.response_timeout if self.response_timeout else None
        gated = self.gated_tasks()
        self.body = ev.markdown(shown, footer=[
            f"Approve runs: {', '.join(gated) or 'nothing after this step'}.",
            ("Reject, or no answer by " + deadline.strftime("%Y-%m-%d %H:%M:%S UTC") if deadline else "Reject") +
            ", changes nothing: those tasks do not run.",
            "May answer: " + (", ".join(users) if users else "anyone allowed to act on this DAG") + "."])
        context["ti"].xcom_push(key=REQUEST_KEY, value={
            "subject": self.subject, "evidence": shown, "body": self.body, "asked_at": asked.isoformat(),
            "deadline": deadline.isoformat() if deadline else None, "assigned_users": self.assigned_users,
            "gated_tasks": gated})
        log.info("waiting for approval of %s by %s until %s; evidence shown:\n%s", ", ".join(gated),
                 ", ".join(users) or "anyone allowed", deadline.isoformat() if deadline else "no deadline",
                 self.body)
        try:
            log.info("answer in the UI: %s", self.generate_link_to_ui_from_context(context=context))
        except ValueError:  # no [api] base_url configured: the Required Actions page still lists it
            pass
        return super().execute(context)

    def execute_complete(self, context, event: dict[str, Any]):
        request = context["ti"].xcom_pull(task_ids=self.task_id, key=REQUEST_KEY) or {}
        not_run = ", ".join(request.get("gated_tasks") or self.gated_tasks())
        if event.get("error_type") == "timeout":
            self._record(context, request, journal.NO_ANSWER, None, datetime.now(timezone.utc))
            raise AirflowFailException(f"no answer by {request.get('deadline')}: nothing was changed; {not_run} "
                                       f"not run. Clear {self.task_id} to ask again")
        # HITLOperator's, not ApprovalOperator's: that one would skip the rest and succeed.
        result = HITLOperator.execute_complete(self, context=context, event=event)
        by = result.get("responded_by_user")
        approved = result["chosen_options"] == [self.APPROVE]
        entry = self._record(context, request, journal.APPROVED if approved else journal.REJECTED,
                             dict(by) if by else None, result["responded_at"])
        who = f"{by['name']} ({by['id']})" if by else "the timeout default"
        if not approved:
            raise AirflowFailException(f"rejected by {who} at {entry['at']}: nothing was changed; {not_run} not "
                                       f"run. Clear {self.task_id} to ask again")
        log.info("approved by %s at %s: %s run next", who, entry["at"], not_run)
        return entry

    def _record(self, context, request: dict, decision: str, by: dict | None, at: datetime) -> dict:
        entry = journal.entry(
            dag_id=context["dag"].dag_id, run_id=context["run_id"], task_id=self.task_id,
            try_number=context["ti"].try_number, decision=decision, by=by, at=at,
            asked_at=request.get("asked_at", ""), deadline=request.get("deadline"),
            assigned_users=request.get("assigned_users", []), subject=request.get("subject", self.subject),
            evidence=request.get("evidence", {}), body=request.get("body", ""),
            gated_tasks=request.get("gated_tasks", self.gated_tasks()))
        path = journal.record(report_dir(context["run_id"]), entry)
        log.info("decision recorded in %s: %s", path, decision)
        return entry


def approved(context, gate_task_id: str) -> dict:
    """The approval the gate `gate_task_id` recorded in this run (its journal entry); raises,
    saying nothing was changed, when there is none: the irreversible step checks it itself,
    so a gate removed from the DAG or skipped cannot let it run unapproved."""
    entry = context["ti"].xcom_pull(task_ids=gate_task_id)
    if not isinstance(entry, dict) or entry.get("decision") != journal.APPROVED:
        raise AirflowFailException(f"no approval from {gate_task_id} in this run: nothing was changed. Clear "
                                   f"{gate_task_id} to ask for it")
    return entry
