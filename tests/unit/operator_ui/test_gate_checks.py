"""The gated step's own check (operators/approval_gate.approved): it acts only on an approval
recorded by the gate in its run, whatever else the XCom holds."""
from __future__ import annotations

import pytest
from airflow.sdk.exceptions import AirflowFailException

from approvals import journal
from operators.approval_gate import approved


class Ti:
    def __init__(self, value) -> None:
        self.value = value

    def xcom_pull(self, task_ids):
        assert task_ids == "approve_switch"
        return self.value


@pytest.mark.parametrize("value", [None, {}, "approved", {"decision": journal.REJECTED},
                                   {"decision": journal.NO_ANSWER}])
def test_without_an_approval_the_step_changes_nothing(value):
    with pytest.raises(AirflowFailException, match="no approval from approve_switch in this run: nothing was changed"):
        approved({"ti": Ti(value)}, "approve_switch")


def test_an_approval_is_returned_for_the_report():
    entry = {"decision": journal.APPROVED, "by": {"id": "alice", "name": "alice"}}
    assert approved({"ti": Ti(entry)}, "approve_switch") is entry
