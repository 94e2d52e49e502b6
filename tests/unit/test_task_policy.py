"""The one retry mechanism: Airflow's task runner asks RetryTransientOnly about every failure."""
from __future__ import annotations

import pytest
from airflow.sdk.definitions.retry_policy import RetryAction

from mysql_common.errors import ConfigurationError, TRANSIENT_MYSQL_ERRORS, TransientError
from dag_building.task_policy import DEFAULT_ARGS, RetryTransientOnly


class ServerError(Exception):
    """Shaped as MySQLdb's errors: the server's error number first."""


@pytest.mark.parametrize("exc", [TransientError("lost"), *(ServerError(n, "x") for n in sorted(TRANSIENT_MYSQL_ERRORS))])
def test_a_transient_fault_is_retried(exc):
    decision = RetryTransientOnly().evaluate(exc, try_number=1, max_tries=3)
    assert decision.action == RetryAction.RETRY


@pytest.mark.parametrize("exc", [ConfigurationError("no host"), ValueError("bad data"),
                                 ServerError(1045, "Access denied"), ServerError(1062, "Duplicate entry")])
def test_a_permanent_error_fails_at_once_and_says_why(exc):
    decision = RetryTransientOnly().evaluate(exc, try_number=1, max_tries=3)
    assert decision.action == RetryAction.FAIL
    assert "not retried" in decision.reason


def test_every_task_gets_the_policy_through_the_default_args():
    assert isinstance(DEFAULT_ARGS["retry_policy"], RetryTransientOnly)
