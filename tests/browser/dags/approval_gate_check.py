"""Tiny DAGs for the approval-gate tests: `measure` produces the evidence, `approve` asks for it,
`apply` is the irreversible step (it writes a marker file under $APPROVAL_CHECK_DIR), `after`
stands for the rest of a real DAG. Loaded by the test's own Airflow (tests/browser)."""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from airflow.sdk import DAG, get_current_context, task

from operators.approval_gate import ApprovalGateOperator
from dag_building.dag_params import optional
from dag_building.task_policy import DEFAULT_ARGS


def marker() -> Path:
    return Path(os.environ["APPROVAL_CHECK_DIR"]) / f"{get_current_context()['run_id']}.marker"


def build(dag_id: str, response_timeout: timedelta) -> DAG:
    with DAG(dag_id, schedule=None, default_args=DEFAULT_ARGS, tags=["test"], params={
            "rows": optional(3, "lines written into the marker file", type="integer", minimum=1),
            "approvers": optional("", "user ids allowed to approve; empty = anyone allowed on this DAG",
                                  type="string")}) as dag:
        @task
        def measure(params=None) -> dict:
            return {"summary": f"Write {params['rows']} lines into the marker file of this run.",
                    "figures": {"lines": params["rows"], "database password": "hunter2-never-shown",
                                "target": "mysql://app:s3cr3t-pw@db1:3306/shop"},
                    "tables": [{"title": "Marker file", "columns": ["path", "exists now"],
                                "rows": [[str(marker()), marker().exists()]]}],
                    "actions": [f"write {marker()}"]}

        gate = ApprovalGateOperator(task_id="approve", subject="Write the marker file", evidence=measure(),
                                    approvers="{{ params.approvers }}", response_timeout=response_timeout)

        @task
        def apply(params=None) -> int:
            marker().write_text("line\n" * params["rows"])
            return params["rows"]

        @task
        def after() -> str:
            return "done"

        gate >> apply() >> after()
    return dag


approval_gate_check = build("approval_gate_check", timedelta(hours=1))
approval_gate_timeout_check = build("approval_gate_timeout_check", timedelta(seconds=20))
