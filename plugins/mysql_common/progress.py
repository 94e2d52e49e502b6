"""Progress a person can read in the log of a long task: done out of planned, the rate and the
ETA, at most every few seconds (by the clock, not per batch, so a fast copy does not flood the
log and a slow one still speaks):

    orders: 1,200,000/5,000,000 rows (24.0%), 310,000 rows/s, ETA 12s (at 09:12:03 UTC)
    loading shop: 1.2 GiB/3.4 GiB (35.3%), 45.0 MiB/s, ETA 50s (at 09:13:40 UTC)

One mechanism for the copy, the verification, the masked copy, backups and restores. The rate
counts this attempt only (a resumed copy starts from the rows an earlier attempt committed).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from datetime import datetime, timezone
from typing import Callable

EVERY_SECONDS = 5.0
log = logging.getLogger(__name__)


def amount(value: float, unit: str) -> str:
    """12,000 rows; 1.2 GiB (bytes in binary units)."""
    if unit != "bytes":
        return f"{value:,.0f} {unit}"
    for name, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(value) >= size:
            return f"{value / size:,.1f} {name}"
    return f"{value:,.0f} B"


def duration(seconds: float) -> str:
    seconds = math.ceil(round(seconds, 3))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Call add(n) (or set(done)) as work is done, from any thread; a line is logged when
    `every` seconds have passed since the last one."""

    def __init__(self, what: str, planned: int | None, *, unit: str = "rows", every: float = EVERY_SECONDS,
                 done: int = 0, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, logger: logging.Logger = log) -> None:
        self.what, self.planned, self.unit, self.every = what, planned, unit, every
        self.done = self.start_done = done
        self.clock, self.wall, self.logger = clock, wall, logger
        self.started = self.last = clock()
        self.lock = threading.Lock()

    def add(self, count: int) -> None:
        with self.lock:
            self.done += count
            self._maybe_log()

    def set(self, done: int) -> None:
        with self.lock:
            self.done = done
            self._maybe_log()

    def _maybe_log(self) -> None:
        now = self.clock()
        if now - self.last >= self.every:
            self.last = now
            self.logger.info("%s", self.line(now))

    def rate(self, now: float | None = None) -> float:
        elapsed = (self.clock() if now is None else now) - self.started
        return (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0

    def line(self, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        rate = self.rate(now)
        speed = f"{amount(rate, self.unit)}/s"
        if not self.planned:
            return f"{self.what}: {amount(self.done, self.unit)} done, {speed}"
        share = 100.0 * self.done / self.planned
        head = f"{self.what}: {amount(self.done, self.unit).split(' ')[0]}/{amount(self.planned, self.unit)} " \
            f"({share:.1f}%), {speed}"
        if self.unit == "bytes":
            head = f"{self.what}: {amount(self.done, self.unit)}/{amount(self.planned, self.unit)} " \
                f"({share:.1f}%), {speed}"
        if rate <= 0:
            return f"{head}, ETA unknown"
        left = max(0.0, self.planned - self.done) / rate
        if left > 365 * 86400:
            return f"{head}, ETA more than a year"
        at = datetime.fromtimestamp(math.ceil(round(self.wall() + left, 3)), timezone.utc).strftime("%H:%M:%S")
        return f"{head}, ETA {duration(left)} (at {at} UTC)"
