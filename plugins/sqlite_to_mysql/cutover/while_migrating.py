"""What the migration DAG does while change capture runs (capture_changes=true): the
application keeps writing, so a difference on a key logged since the copy is a pending
change the cutover applies and re-checks, not a loss."""
from __future__ import annotations

import logging

from sqlite_to_mysql.cutover.catchup import ForwardSync, catch_up
from sqlite_to_mysql.cutover.verification import explain_pending
from sqlite_to_mysql.plan import Plan

log = logging.getLogger(__name__)
# differences the migration's verification lists while capture runs, so each can be matched
# against the change log (only unexplained ones are shown)
PENDING_EXAMPLES = 100_000


def settle_pending(src, plan: Plan, table: str, verdict: dict, *, diff_examples: int) -> dict:
    """The verify task's verdict with the differences on logged keys marked pending
    (verification.explain_pending)."""
    result = explain_pending(src, plan.table(table), verdict, max_examples=diff_examples)
    if result["pending_differences"]:
        log.info("%s: %d differing rows are changes made since the copy (%d keys logged): the cutover applies "
                 "and re-checks them", table, result["pending_differences"], result["pending_changes"])
    return result


def catch_up_for_report(src, dst, plan: Plan, run_id: str) -> dict:
    """Report task: apply what was captured so the database-wide checks (foreign keys,
    counters) see one consistent snapshot."""
    result = catch_up(ForwardSync(src, dst, plan, quarantine_run_id=run_id), max_lag_changes=1000, timeout=600)
    log.info("applied %d changes captured during the migration before the database checks", result["changes"])
    return result
