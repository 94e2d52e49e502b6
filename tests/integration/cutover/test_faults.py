"""Faults during the write freeze: a cutover process killed inside it, or stuck past its
deadline. Writes are never blocked for good, and a rerun (or its rollback) ends consistent.

To hold a cutover inside its freeze without touching its code, the test makes MySQL stall the
final check: a transaction of ours reads `kv` and an ALTER TABLE queues behind it, so every new
read of `kv` (the check's row count) waits until our transaction ends."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import MySQLdb
import pytest

from sqlite_to_mysql.cutover import forward, freeze, mysql_capture, rollback, sqlite_capture
from sqlite_to_mysql.cutover import report as cutover_report
from sqlite_to_mysql.cutover.errors import FreezeTimeout
from sqlite_to_mysql.cutover.release import release

from tests.support.cutover_app import switch_over, verify_all

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[3]
APP_WRITE = "UPDATE kv SET v = 'app write' WHERE k = 'key 9'"


def wait_for(condition, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def refusal(app: sqlite3.Connection) -> str | None:
    """The message an application write gets, None when it commits."""
    try:
        app.execute(APP_WRITE)
    except sqlite3.IntegrityError as exc:
        return str(exc)
    return None


def frozen_message(migrated) -> str:
    """The refusal the freeze in place gives: it names its own deadline."""
    with sqlite3.connect(migrated.source) as conn:
        return freeze.freeze_message(float(sqlite_capture.read_state(conn)["freeze_deadline"]))


class StalledReads:
    """Reads of one MySQL table wait until release(): a pending ALTER queues behind our read."""

    def __init__(self, migrated, table: str = "kv") -> None:
        self.reader, self.alter = migrated.mysql(), migrated.mysql()
        self.reader.cursor().execute(f"SELECT COUNT(*) FROM `{table}`")  # keeps its metadata lock
        self.thread = threading.Thread(target=self.alter.cursor().execute,
                                       args=(f"ALTER TABLE `{table}` COMMENT = 'stalled by a test'",), daemon=True)
        self.thread.start()
        watcher = migrated.mysql()
        wait_for(lambda: self._waiting(watcher), "the ALTER to queue")

    @staticmethod
    def _waiting(conn) -> bool:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'ALTER TABLE%%stalled%%' "
                    "AND STATE LIKE '%%metadata lock%%'")
        return cur.fetchone()[0] == 1

    def release(self) -> None:
        self.reader.commit()
        self.thread.join(60)


def prepared(migrated, run_id: str):
    cut = migrated.cutover(run_id=run_id)
    forward.prepare(cut)
    return cut, forward.verify_live(cut, max_lag_changes=0, timeout=120)


def start_cutover_process(migrated, live: dict | None, *, run_id: str, timeout: float, step: str = "switch",
                          **config) -> subprocess.Popen:
    job = migrated.tmp / f"{run_id}.json"
    job.write_text(json.dumps({"source": str(migrated.source), "params": migrated.params,
                               "plan": migrated.plan.to_json(), "live": live, "run_id": run_id,
                               "timeout": timeout, "step": step,
                               "config": {"settings_file": str(migrated.tmp / "app.env"), **config}}))
    return subprocess.Popen([sys.executable, "-m", "tests.support.cutover_process", str(job)], cwd=ROOT,
                            start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def kill(process: subprocess.Popen) -> None:
    """As a worker dies: SIGKILL, children included, no handler runs."""
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(60)


def finish_cutover(migrated, run_id: str) -> dict:
    """A rerun from its first step; returns what its prepare resolved."""
    cut, live = prepared(migrated, run_id)
    report = forward.freeze_and_switch(cut, live, mode="switch", timeout=60, max_lag_changes=0,
                                       catch_up_timeout=120)
    assert report["outcome"] == "switch" and report["verification"]["ok"]
    assert verify_all(migrated.source, migrated.mysql(), migrated.plan) == []
    return mysql_capture.journal(cut.dst, run_id)[0]["detail"]


def killed_inside_the_freeze(migrated, *, timeout: float) -> None:
    """A cutover process of run `first` frozen (its final check stalled), then killed."""
    _cut, live = prepared(migrated, "first")
    stall = StalledReads(migrated)
    process = start_cutover_process(migrated, live, run_id="first", timeout=timeout)
    wait_for(lambda: migrated.phase() == sqlite_capture.FROZEN or process.poll() is not None, "the freeze")
    assert process.poll() is None, process.stdout.read().decode()
    assert refusal(migrated.app()) == frozen_message(migrated)
    kill(process)
    stall.release()


def test_killed_inside_the_freeze_the_rerun_releases_it_and_completes(app_db, migrate):
    migrated = migrate(app_db)
    app = migrated.app()
    killed_inside_the_freeze(migrated, timeout=600)

    # nobody is left to lift it, and its deadline is far: still frozen, never switched
    assert migrated.phase() == sqlite_capture.FROZEN and refusal(app) == frozen_message(migrated)
    assert not (migrated.tmp / "app.env").exists()

    prepare_journal = finish_cutover(migrated, "rerun")
    assert prepare_journal["action"] == "released SQLite freeze" and prepare_journal["left_by"] == "first"
    assert "DATABASE_URL=mysql://" in (migrated.tmp / "app.env").read_text()


def test_killed_after_the_point_of_no_return_the_rerun_undoes_the_switch(app_db, migrate, tmp_path):
    migrated = migrate(app_db)
    _cut, live = prepared(migrated, "first")
    app = migrated.app()
    started = tmp_path / "reload-started"
    process = start_cutover_process(migrated, live, run_id="first", timeout=600,
                                    command=["sh", "-c", f"touch {started}; exec sleep 600"])
    wait_for(lambda: started.exists() or process.poll() is not None, "the switch command")
    kill(process)
    assert migrated.phase() == sqlite_capture.SWITCHING
    assert refusal(app) == freeze.SOURCE_GUARD_MESSAGE  # SQLite guarded; the app may be half-switched

    cut = migrated.cutover(run_id="rerun")
    released = release(cut)
    assert released["action"] == "undid interrupted switch"
    assert migrated.phase() == sqlite_capture.CAPTURING
    assert f"DATABASE_URL=sqlite:///{app_db}" in (migrated.tmp / "app.env").read_text()
    assert refusal(app) is None  # back on SQLite, writable; the write is captured for the next try

    finish_cutover(migrated, "rerun2")
    dst = migrated.mysql()
    cur = dst.cursor()
    cur.execute("SELECT v FROM kv WHERE k = 'key 9'")
    assert cur.fetchone() == ("app write",)


def test_a_freeze_past_its_deadline_lifts_itself_and_the_run_fails_loudly(app_db, migrate):
    migrated = migrate(app_db)
    cut, live = prepared(migrated, "slow")
    app = migrated.app()
    stall = StalledReads(migrated)
    outcome: dict = {}

    def run() -> None:
        try:
            forward.freeze_and_switch(cut, live, mode="switch", timeout=3, max_lag_changes=0, catch_up_timeout=120)
        except BaseException as exc:  # noqa: BLE001 - the test asserts on it
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    wait_for(lambda: migrated.phase() == sqlite_capture.FROZEN or not worker.is_alive(), "the freeze")
    # the cutover is stuck inside its freeze; once the deadline passes, writes go through anyway
    wait_for(lambda: refusal(app) is None, "the freeze to lift itself", timeout=60)
    assert worker.is_alive() and migrated.phase() == sqlite_capture.FROZEN
    stall.release()
    worker.join(60)

    assert isinstance(outcome.get("error"), FreezeTimeout), outcome
    assert migrated.phase() == sqlite_capture.CAPTURING and not sqlite_capture.our_triggers(app, "f")
    assert not (migrated.tmp / "app.env").exists()
    failed = [e for e in mysql_capture.journal(migrated.mysql(), "slow") if e["step"] == "freeze_failed"]
    assert len(failed) == 1 and "deadline" in failed[0]["detail"]["error"]


def test_a_freeze_lifted_by_its_deadline_is_reported_with_its_duration_by_the_next_run(app_db, migrate, caplog):
    """The application saw its writes refused for the whole timed freeze of a run that died:
    the next run says for how long, from when until when (UTC), in its log and its report."""
    migrated = migrate(app_db)
    app = migrated.app()
    killed_inside_the_freeze(migrated, timeout=5)
    with sqlite3.connect(migrated.source) as conn:
        state = sqlite_capture.read_state(conn)
    frozen_at, deadline = float(state["frozen_at"]), float(state["freeze_deadline"])
    wait_for(lambda: refusal(app) is None, "the freeze to lift itself at its deadline", timeout=60)

    caplog.set_level("INFO", logger="sqlite_to_mysql")
    cut, live = prepared(migrated, "next")
    report = forward.freeze_and_switch(cut, live, mode="rehearsal", timeout=60, max_lag_changes=0,
                                       catch_up_timeout=120)
    released = report["released"]
    assert len(released) == 1 and released[0]["left_by"] == "first" and released[0]["lifted_by_deadline"]
    assert released[0]["held_seconds"] == pytest.approx(deadline - frozen_at, abs=0.01)
    assert released[0]["until"] == freeze.utc(deadline) and released[0]["frozen_at"] == freeze.utc(frozen_at)
    line = next(r.getMessage() for r in caplog.records if "left by run first" in r.getMessage())
    assert f"{deadline - frozen_at:.1f}s" in line and freeze.utc(frozen_at) in line and freeze.utc(deadline) in line
    text = cutover_report.markdown("cutover", report)
    assert f"held the application's writes for {deadline - frozen_at:.1f}s" in text and freeze.utc(deadline) in text


def test_a_rollback_killed_inside_its_mysql_freeze_is_reported_with_its_duration_by_the_next_run(app_db, migrate):
    """The MySQL side of the same: the application on MySQL saw its writes refused until the
    deadline of a rollback that died; the next rollback says for how long, then completes."""
    migrated = migrate(app_db)
    switch_over(migrated)
    app = migrated.mysql()
    stall = StalledReads(migrated)  # the rollback's check waits on kv while MySQL is frozen
    process = start_cutover_process(migrated, None, run_id="dying rollback", timeout=5, step="rollback")
    probe = migrated.mysql()
    wait_for(lambda: freeze.target_blocks(probe)["freeze"] or process.poll() is not None, "the MySQL freeze")
    assert process.poll() is None, process.stdout.read().decode()
    kill(process)
    stall.release()
    with sqlite3.connect(migrated.source) as conn:
        state = sqlite_capture.read_state(conn)
    frozen_at, deadline = float(state["target_frozen_at"]), float(state["target_freeze_deadline"])
    wait_for(lambda: mysql_write(app) is None, "MySQL's freeze to lift itself at its deadline", timeout=60)

    cut = migrated.cutover(run_id="next rollback")
    rollback.check(cut)  # the rollback DAG's first step
    result = rollback.rollback(cut, timeout=60, max_lag_changes=0, catch_up_timeout=120)
    released = result["released"]
    assert result["verification"]["ok"] and migrated.phase() == sqlite_capture.CAPTURING
    assert f"held the application's writes for {deadline - frozen_at:.1f}s" in cutover_report.markdown("rollback", result)
    assert released and released[0]["action"] == "released MySQL freeze" and released[0]["lifted_by_deadline"]
    assert released[0]["left_by"] == "dying rollback"
    assert released[0]["held_seconds"] == pytest.approx(deadline - frozen_at, abs=0.01)
    assert released[0]["until"] == freeze.utc(deadline)


def mysql_write(app) -> str | None:
    try:
        app.cursor().execute("UPDATE kv SET v = 'app write on mysql' WHERE k = 'key 9'")
        app.commit()
    except MySQLdb.OperationalError as exc:
        app.rollback()
        return str(exc)
    return None
