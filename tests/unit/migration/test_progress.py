"""Progress lines (mysql_common/progress.py) on a fake clock: logged by time, never per batch,
with rows or bytes done out of planned, the rate of this attempt and the ETA in UTC."""
from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from mysql_common.progress import Progress, amount, duration


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(planned, unit="rows", done=0):
    clock, lines = Clock(), []
    logger = logging.getLogger("progress-test")
    logger.info = lambda fmt, *args: lines.append(fmt % args)  # type: ignore[method-assign]
    progress = Progress("orders", planned, unit=unit, every=5.0, done=done, clock=clock,
                        wall=lambda: 1_767_225_600.0 + clock.now - 1000.0, logger=logger)  # 2026-01-01 00:00 UTC
    return progress, clock, lines


def test_one_line_per_interval_whatever_the_number_of_batches():
    progress, clock, lines = make(1000)
    for _ in range(40):  # 40 batches in 4 s: nothing yet
        clock.now += 0.1
        progress.add(10)
    assert lines == []
    clock.now += 1.0  # 5 s since the start
    progress.add(0)
    assert lines == ["orders: 400/1,000 rows (40.0%), 80 rows/s, ETA 8s (at 00:00:13 UTC)"]
    clock.now += 4.9
    progress.add(100)
    assert len(lines) == 1
    clock.now += 0.1
    progress.add(0)
    assert len(lines) == 2 and lines[1].startswith("orders: 500/1,000 rows (50.0%), 50 rows/s, ETA 10s")


def test_bytes_without_a_plan_say_how_much_and_how_fast():
    progress, clock, lines = make(None, unit="bytes")
    clock.now += 10
    progress.set(3 * (1 << 30))
    assert lines == ["orders: 3.0 GiB done, 307.2 MiB/s"]


def test_bytes_with_a_plan_and_a_stalled_task():
    progress, clock, lines = make(2 << 30, unit="bytes")
    clock.now += 6
    progress.add(0)
    assert lines == ["orders: 0 B/2.0 GiB (0.0%), 0 B/s, ETA unknown"]


def test_the_rate_counts_this_attempt_only():
    progress, clock, _ = make(10_000, done=6_000)  # resumed after 6,000 rows
    clock.now += 10
    progress.set(7_000)
    assert progress.rate() == 100.0
    assert "ETA 30s" in progress.line()


@given(st.integers(0, 10**12), st.integers(1, 10**12), st.floats(0.5, 1e5))
def test_the_eta_is_what_is_left_at_the_current_rate(done, extra, seconds):
    progress, clock, _ = make(done + extra, unit="bytes")
    clock.now += seconds
    progress.set(done)
    line = progress.line()
    left = extra / progress.rate() if done else None
    if done == 0:
        assert line.endswith("ETA unknown")
    elif left > 365 * 86400:
        assert line.endswith("ETA more than a year")
    else:
        assert f"ETA {duration(left)} " in line
    assert amount(done + extra, "bytes") in line


def test_durations_read_like_a_clock():
    assert [duration(s) for s in (0.4, 59, 61, 3599, 3600, 7261)] == ["1s", "59s", "1m01s", "59m59s", "1h00m",
                                                                      "2h01m"]
