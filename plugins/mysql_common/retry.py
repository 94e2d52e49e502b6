"""Retry a unit of work on transient MySQL faults, with exponential backoff and a cap."""
from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

from mysql_common.errors import is_transient

T = TypeVar("T")
log = logging.getLogger(__name__)


def with_retries(work: Callable[[], T], *, attempts: int = 5, base_delay: float = 0.5,
                 max_delay: float = 30.0, what: str = "operation",
                 sleep: Callable[[float], None] = time.sleep) -> T:
    """Run work(); on a transient fault wait and run it again (it must be idempotent).

    Permanent faults propagate at once, so bad data never causes a retry storm.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
            delay = min(max_delay, base_delay * 2 ** (attempt - 1))
            log.warning("%s: transient fault (%s), retry %d/%d in %.1fs",
                        what, exc, attempt, attempts - 1, delay)
            sleep(delay)
    raise AssertionError("unreachable")
