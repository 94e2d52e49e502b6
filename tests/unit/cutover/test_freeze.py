"""SQLite write freezes: refused writes say why, a timed freeze lifts itself, and the switch's
point of no return is taken only inside the deadline with nothing left unapplied."""
from __future__ import annotations

import sqlite3
import time

import pytest

from sqlite_to_mysql.cutover import freeze, sqlite_capture
from sqlite_to_mysql.cutover.errors import CutoverError, FreezeTimeout


@pytest.fixture
def armed(source):
    _path, conn, plan = source
    sqlite_capture.install(conn, plan, run_id="run1")
    return conn, plan


def refused(app, statement: str) -> str | None:
    try:
        app.execute(statement)
    except sqlite3.IntegrityError as exc:
        return str(exc)
    return None


WRITES = ['INSERT INTO pairs VALUES (\'n\', 1, \'new\')', 'UPDATE "Order Lines" SET qty = 0',
          "DELETE FROM nokey", 'INSERT INTO "trail " VALUES (9, \'x\')']


def test_freeze_refuses_every_write_with_its_reason_and_keeps_reads(armed, app):
    conn, plan = armed
    deadline = time.time() + 600
    freeze.freeze_source(conn, plan, deadline=deadline, run_id="c1")
    for statement in WRITES:
        assert refused(app, statement) == freeze.freeze_message(deadline)
    assert app.execute("SELECT count(*) FROM nokey").fetchone()[0] == 4
    assert sqlite_capture.phase(conn) == sqlite_capture.FROZEN
    assert freeze.unfreeze_source(conn) == 3 * len(plan.tables)
    assert all(refused(app, s) is None for s in WRITES)
    assert sqlite_capture.phase(conn) == sqlite_capture.CAPTURING


def test_a_timed_freeze_lifts_itself_at_its_deadline_without_anyone(armed, app):
    conn, plan = armed
    deadline = time.time() + 1.0
    freeze.freeze_source(conn, plan, deadline=deadline, run_id="c1")
    assert refused(app, WRITES[0]) == freeze.freeze_message(deadline)
    time.sleep(max(0.0, deadline - time.time()) + 0.05)
    assert refused(app, WRITES[0]) is None
    # and the write that got through after the deadline is captured like any other
    assert conn.execute("SELECT count(*) FROM _s2m_changelog WHERE tbl = 'pairs'").fetchone()[0] == 1


def test_the_switch_turns_the_freeze_into_a_guard(armed, app):
    conn, plan = armed
    freeze.freeze_source(conn, plan, deadline=time.time() + 600, run_id="c1")
    freeze.commit_switch(conn, plan, applied_seq=0)
    assert sqlite_capture.phase(conn) == sqlite_capture.SWITCHING
    assert refused(app, WRITES[0]) == freeze.SOURCE_GUARD_MESSAGE
    assert sqlite_capture.our_triggers(conn, "f") == {}
    assert len(sqlite_capture.our_triggers(conn, "g")) == 3 * len(plan.tables)


def test_no_switch_past_the_deadline(armed, app):
    conn, plan = armed
    freeze.freeze_source(conn, plan, deadline=time.time() + 0.2, run_id="c1")
    time.sleep(0.3)
    with pytest.raises(FreezeTimeout):
        freeze.commit_switch(conn, plan, applied_seq=0)
    assert sqlite_capture.phase(conn) == sqlite_capture.FROZEN and not sqlite_capture.our_triggers(conn, "g")


def test_no_switch_with_a_change_not_yet_applied(armed, app):
    conn, plan = armed
    app.execute(WRITES[0])
    freeze.freeze_source(conn, plan, deadline=time.time() + 600, run_id="c1")
    with pytest.raises(CutoverError, match="changes were logged after the last one applied"):
        freeze.commit_switch(conn, plan, applied_seq=0)
    newest = sqlite_capture.changes_after(conn, 0)[2]
    freeze.commit_switch(conn, plan, applied_seq=newest)
    assert sqlite_capture.phase(conn) == sqlite_capture.SWITCHING


def test_freezing_needs_capture_running(armed):
    conn, plan = armed
    freeze.freeze_source(conn, plan, deadline=time.time() + 600, run_id="c1")
    with pytest.raises(CutoverError, match="phase frozen"):
        freeze.freeze_source(conn, plan, deadline=time.time() + 600, run_id="c2")


def test_the_freeze_message_gives_its_deadline_in_utc(armed, app):
    """An application that shows or logs the refusal can say until when; it starts with the
    words an application's retry matches on."""
    import datetime as dt
    import math

    conn, plan = armed
    deadline = time.time() + 30
    freeze.freeze_source(conn, plan, deadline=deadline, run_id="c1")
    until = dt.datetime.fromtimestamp(math.ceil(deadline), dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    text = refused(app, WRITES[0])
    assert text == f"writes are frozen until {until} (database cutover to MySQL in progress): retry after that time"
    assert text == freeze.freeze_message(deadline) and text.startswith(freeze.FROZEN)
