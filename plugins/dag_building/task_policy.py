"""What every task of this project shares: default args, the MySQL pool, the failure policy.

The one retry mechanism: transient faults (lost connection, deadlock, lock wait timeout) use the
task's retries with exponential backoff; permanent errors (bad data, bad configuration,
authentication) fail at once. Airflow's task runner asks RetryTransientOnly about every failure
of every task (operators and @task callables alike), so DEFAULT_ARGS is the only place to state
it; tests/dags/test_dag_integrity.py proves every retried task carries it.
"""
from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk.definitions.retry_policy import RetryDecision, RetryPolicy

from mysql_common.errors import is_transient
from dag_building.dag_params import use_defaults_for_empty

# Created by `make setup` (tools/setup.sh) and by the compose stack's init service; bounds the
# number of concurrent MySQL sessions of migration, backup and restore tasks.
MYSQL_POOL = "mysql_connections"


class RetryTransientOnly(RetryPolicy):
    """Airflow's retry policy hook: retry only what a retry can cure, and say why."""

    def evaluate(self, exception, try_number, max_tries, context=None) -> RetryDecision:
        if is_transient(exception):
            return RetryDecision.retry(reason=f"transient fault, retried: {exception}")
        code = getattr(exception, "code", type(exception).__name__)
        return RetryDecision.fail(reason=f"{code}: not retried, a retry cannot fix it")


DEFAULT_ARGS = {
    "owner": "dba",
    "retries": 3,
    # TASK_RETRY_DELAY_SECONDS: the first retry's delay (it doubles each time); tests shorten it.
    "retry_delay": timedelta(seconds=float(os.environ.get("TASK_RETRY_DELAY_SECONDS", "10"))),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=5),
    "retry_policy": RetryTransientOnly(),
    # A trigger-form field left empty runs with its declared default (dag_building/dag_params.py).
    "on_execute_callback": use_defaults_for_empty,
}
