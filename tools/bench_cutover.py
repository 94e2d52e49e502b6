"""Benchmark and end-to-end run of the cutover with a live application: how long writes are
frozen, and whether every write the application committed is where it belongs afterwards.

    .venv/bin/python -m tools.bench_cutover --scale 1          # generates the shop first
    .venv/bin/python -m tools.bench_cutover --source shop.sqlite3

`run(source_path, mysql_params)` works on a copy of the source (capture adds triggers to
the file) and drops its target database afterwards. The demo shop's application writes
through Django's ORM in a process of its own the whole time (include/demo_shop/app_writer.py)
and journals every write that committed; the cutover's phases are the DAGs' own
(sqlite_to_mysql.migration, sqlite_to_mysql.cutover), run in this process.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "plugins", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from mysql_common.session import server_info  # noqa: E402
from sqlite_to_mysql import migration
from sqlite_to_mysql.cutover import forward, rollback, sqlite_capture  # noqa: E402
from sqlite_to_mysql.cutover.context import Cutover  # noqa: E402
from sqlite_to_mysql.planner import Settings  # noqa: E402
from sqlite_to_mysql.source import open_source  # noqa: E402
from sqlite_to_mysql.cutover.switch_actions import SwitchConfig, mysql_database, sqlite_database  # noqa: E402
from tools.bench import connector  # noqa: E402

log = logging.getLogger("bench_cutover")
DEMO = ROOT / "include" / "demo_shop"


def migrate_with_capture(source: Path, params: dict, database: str, *, run_id: str,
                         settings: Settings | None = None) -> dict:
    """What sqlite_to_mysql_migration does with capture_changes=true: preflight, capture
    armed before any copy, target setup, copy, finalize, and its verification modulo the
    changes captured meanwhile."""
    from sqlite_to_mysql.cutover.verification import explain_pending

    started = time.monotonic()
    src = open_source(source)
    rw = open_source(source, read_only=False)
    server_conn = connector(params)()
    try:
        server = server_info(server_conn)
        plan = migration.preflight(src, source_path=str(source), database=database, server=server,
                                  settings=settings or Settings(), server_conn=server_conn)
        migration.require_no_blockers(plan)
        sqlite_capture.install(rw, plan, run_id=run_id)
        migration.setup_target(server_conn, connector(params, database), plan, server, run_id=run_id)
        dst = connector(params, database)()
        try:
            method = migration.load_method(dst, "auto")
            copied = sum(migration.copy_one(src, dst, plan, t.source, run_id=run_id, method=method)["rows_copied"]
                         for t in plan.tables)
            migration.finalize(dst, plan)
            verdicts = [explain_pending(src, t, migration.verify_one(src, dst, plan, t.source, max_examples=100000),
                                        max_examples=20) for t in plan.tables]
        finally:
            dst.close()
    finally:
        server_conn.close()
        rw.close()
        src.close()
    return {"plan": plan, "rows_copied": copied, "seconds": round(time.monotonic() - started, 3),
            "verification_ok": all(v["ok"] for v in verdicts), "verdicts": verdicts,
            "pending_differences": sum(v["pending_differences"] for v in verdicts)}


def open_cutover(source: Path, params: dict, plan, *, run_id: str, config: SwitchConfig) -> Cutover:
    src = open_source(source, read_only=False)
    dst = connector(params, plan.database)()
    app_mysql = mysql_database(host=params["host"], port=params["port"], user=params["user"],
                               password=params.get("passwd"), database=plan.database)
    return Cutover(src=src, dst=dst, plan=plan, run_id=run_id, config=config, app_mysql=app_mysql,
                   app_sqlite=sqlite_database(str(source)))


class AppProcess:
    """The demo shop's application as a process of its own (include/demo_shop/app_writer.py):
    it writes through the ORM with the sample settings' retries, journals every write that
    committed, and follows the settings file the switch writes, as a restarted application."""

    def __init__(self, source: Path, work: Path, *, pause: float) -> None:
        self.journal, self.settings_file, self.stop_file = work / "writes.jsonl", work / "database.env", work / "stop"
        self.source, self.pause = source, pause
        self.process: subprocess.Popen | None = None
        self.stderr = work / "app.stderr"

    def start(self) -> None:
        env = {**os.environ, "SHOP_DATABASE_URL": f"sqlite:///{self.source}"}
        with open(self.stderr, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(DEMO / "app_writer.py"), "--journal", str(self.journal), "--settings-file",
                 str(self.settings_file), "--stop", str(self.stop_file), "--pause", str(self.pause)],
                env=env, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)

    def entries(self) -> list[dict]:
        if not self.journal.exists():
            return []
        return [json.loads(line) for line in self.journal.read_text().splitlines() if line.endswith("}")]

    def wait(self, writes: int, *, db: str, timeout: float = 600) -> None:
        """Until `writes` more writes committed on `db` (sqlite or mysql) than now."""
        def count() -> int:
            return sum(1 for e in self.entries() if e.get("db") == db and "model" in e)

        wanted = count() + writes
        deadline = time.monotonic() + timeout
        while count() < wanted:
            if self.process.poll() is not None:
                raise RuntimeError(f"the application process ended ({self.process.returncode}): "
                                   f"{self.stderr.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the application did not commit {writes} writes on {db} in {timeout:.0f}s")
            time.sleep(0.05)

    def stop(self) -> dict:
        """Stop it; its counters summed over every reload (committed, frozen, locked, moved)."""
        if self.process is None:
            return {}
        self.stop_file.touch()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
        if self.process.returncode:
            raise RuntimeError(f"the application process failed: {self.stderr.read_text()[-3000:]}")
        totals: dict = {}
        for e in self.entries():
            for key, value in e.get("stats", {}).items():
                if key != "db":
                    totals[key] = totals.get(key, 0) + value
        return totals


def _fold(entries: list[dict]) -> dict:
    """(model, id) -> the row its last committed write left (None: deleted)."""
    state: dict = {}
    for e in entries:
        if "model" in e:
            state[(e["model"], e["id"])] = e["row"]
    return state


def journal_check(entries: list[dict], url: str) -> dict:
    """Every journaled write against the database at `url`, read through the application's
    ORM: lost (a committed row missing), stale (an older version, or a deleted row back)."""
    sys.path.insert(0, str(DEMO))
    import orm_rows

    expected = _fold(entries)
    ids: dict = {}
    for name, pk in expected:
        ids.setdefault(name, []).append(pk)
    found = orm_rows.read(url, ids)
    lost, stale = [], []
    for (name, pk), row in expected.items():
        actual = found[name][str(pk)]
        if row is not None and actual is None:
            lost.append((name, pk))
        elif actual != row:
            stale.append((name, pk, row, actual))
    return {"writes": sum(1 for e in entries if "model" in e), "rows": len(expected), "lost": len(lost),
            "stale": len(stale), "examples": (lost + stale)[:5]}


def uuid_check(numbers: list[str], url: str) -> dict:
    """Every order number, as the database stores it, found by the ORM by its UUID."""
    sys.path.insert(0, str(DEMO))
    import orm_rows

    found = orm_rows.find(url, numbers)
    return {"orders": found["checked"], "not_found": len(found["missing"]), "examples": found["missing"][:5]}


def mysql_url(params: dict, database: str) -> str:
    auth = params["user"] + (f":{params['passwd']}" if params.get("passwd") else "")
    return f"mysql://{auth}@{params['host']}:{params['port']}/{database}"


def run(source_path, mysql_params: dict, *, writes: int = 200, pause: float = 0.01,
        freeze_timeout: float = 60.0) -> dict:
    """The cutover with a live application, as a user does it: the demo shop's application
    writes through the ORM the whole time (its own process) and journals every write that
    committed. Migration with capture, live verification, rehearsal, switch, `writes` writes on
    MySQL, rollback, `writes` writes on SQLite again. Afterwards every journaled write is
    checked on the side that should hold it, the ORM must find every order by its UUID on
    both sides, and the freezes are timed. Works on a copy of `source_path`; drops its target."""
    work = Path(tempfile.mkdtemp(prefix="bench-cutover-"))
    source = work / "app.sqlite3"
    shutil.copyfile(source_path, source)  # not live yet: nothing else has it open
    database = f"bench_cutover_{uuid.uuid4().hex[:8]}"
    run_id = "bench_cutover"
    app = AppProcess(source, work, pause=pause)
    result: dict = {"source": str(source_path), "database": database}
    app.start()
    try:
        try:
            _phases(app, source, mysql_params, database, result, run_id=run_id, writes=writes,
                    freeze_timeout=freeze_timeout)
        finally:
            result["application"] = app.stop()
        entries = app.entries()
        last_mysql = max((i for i, e in enumerate(entries) if e.get("db") == "mysql"), default=-1)
        url = mysql_url(mysql_params, database)
        result["journal"] = {"sqlite": journal_check(entries, f"sqlite:///{source}"),
                             "mysql": journal_check(entries[:last_mysql + 1], url)}
        with sqlite3.connect(source) as conn:
            on_sqlite = [r[0] for r in conn.execute("SELECT number FROM shop_order")]
        on_mysql = [r[0] for r in _query(mysql_params, database, "SELECT number FROM shop_order")]
        result["orders_by_uuid"] = {"sqlite": uuid_check(on_sqlite, f"sqlite:///{source}"),
                                    "mysql": uuid_check(on_mysql, url)}
    finally:
        admin = connector(mysql_params)()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{database}`")
        admin.close()
        shutil.rmtree(work, ignore_errors=True)
    return result


def _phases(app: AppProcess, source: Path, mysql_params: dict, database: str, result: dict, *, run_id: str,
            writes: int, freeze_timeout: float) -> None:
    """Migration with capture, rehearsal, switch, writes on MySQL, rollback, writes on SQLite."""
    app.wait(writes // 4 or 1, db="sqlite")
    migrated = migrate_with_capture(source, mysql_params, database, run_id=run_id)
    result.update(migration_seconds=migrated["seconds"], rows=migrated["rows_copied"],
                  migration_verification_ok=migrated["verification_ok"],
                  pending_after_migration=migrated["pending_differences"])
    cut = open_cutover(source, mysql_params, migrated["plan"], run_id=run_id,
                       config=SwitchConfig(settings_file=str(app.settings_file)))
    try:
        forward.prepare(cut, mode="switch")
        result["catch_up"] = forward.catch_up_step(cut, max_lag_changes=200, timeout=600)
        live = forward.verify_live(cut, max_lag_changes=200, timeout=600)
        result["live_verification_seconds"] = live["seconds"]
        for mode in ("rehearsal", "switch"):
            report = forward.freeze_and_switch(cut, live, mode=mode, timeout=freeze_timeout,
                                               max_lag_changes=200, catch_up_timeout=600)
            result[mode] = _freeze_figures(report, report["drain"])
            if mode == "rehearsal":
                result["safe_to_switch"] = report["safe_to_switch"]
                app.wait(writes // 4 or 1, db="sqlite")
        app.wait(writes, db="mysql")
        back = rollback.rollback(cut, timeout=freeze_timeout, max_lag_changes=200, catch_up_timeout=600)
        result["rollback"] = _freeze_figures(back, back["drain"])
        app.wait(writes, db="sqlite")
    finally:
        cut.src.close()
        cut.dst.close()


def _freeze_figures(report: dict, drain: dict) -> dict:
    check = report.get("verification") or {}
    return {"frozen_seconds": report["frozen_seconds"], "changes_before_freeze": report["catch_up"]["changes"],
            "changes_during_freeze": drain["changes"], "verify_seconds": check.get("seconds"),
            "keys_checked": check.get("keys_checked"), "ranges_checked": check.get("ranges_checked")}


def _query(params: dict, database: str, sql: str) -> list:
    conn = connector(params, database)()
    try:
        cur = conn.cursor()
        cur.execute(sql)
        return list(cur.fetchall())
    finally:
        conn.close()


def main() -> None:
    from urllib.parse import urlparse

    parser = argparse.ArgumentParser(description="Write-freeze benchmark of the cutover with a live application")
    parser.add_argument("--source", help="SQLite file (default: generate the demo shop)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--writes", type=int, default=200, help="writes on MySQL, then on SQLite again")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    url = urlparse(os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306"))
    params = {"host": url.hostname or "127.0.0.1", "port": url.port or 3306, "user": url.username or "root",
              "passwd": url.password or ""}
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source
        if not source:
            sys.path.insert(0, str(DEMO))
            from generate import generate

            source = str(Path(tmp) / "shop.sqlite3")
            generate(source, scale=args.scale, seed=42)
        print(json.dumps(run(source, params, writes=args.writes), indent=2, default=str))


if __name__ == "__main__":
    main()
