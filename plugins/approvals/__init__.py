"""Approvals of irreversible steps: the evidence an approver reads (evidence.py) and the journal
of every decision (journal.py). No Airflow here; operators/approval_gate.py asks through
Airflow's human-in-the-loop operators."""
