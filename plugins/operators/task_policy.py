"""What every task of this project shares: default args, the MySQL pool, the failure policy.

Permanent errors (bad data, bad configuration, authentication) become AirflowFailException,
which Airflow does not retry; transient faults propagate as they are and use the task's
retries with exponential backoff.
"""
from __future__ import annotations

import functools
from datetime import timedelta
from typing import Callable, TypeVar

from airflow.exceptions import AirflowFailException

from mysql_common.errors import is_transient

# Created by `make setup` (tools/setup.sh) and by the compose stack's init service; bounds the
# number of concurrent MySQL sessions of migration, backup and restore tasks.
MYSQL_POOL = "mysql_connections"

DEFAULT_ARGS = {
    "owner": "dba",
    "retries": 3,
    "retry_delay": timedelta(seconds=10),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
}

F = TypeVar("F", bound=Callable)


def fail_fast_on_permanent(func: F) -> F:
    """Decorator for task callables: no retries for errors that a retry cannot cure."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AirflowFailException:
            raise
        except Exception as exc:
            if is_transient(exc):
                raise
            if _is_airflow_control_flow(exc):
                raise
            raise AirflowFailException(str(exc)) from exc

    return wrapper  # type: ignore[return-value]


def _is_airflow_control_flow(exc: BaseException) -> bool:
    """Skips, deferrals and reschedules are not failures."""
    name = type(exc).__name__
    return name in {"AirflowSkipException", "TaskDeferred", "AirflowRescheduleException",
                    "DownstreamTasksSkipped"}
