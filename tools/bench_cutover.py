"""Benchmark of the cutover: how long writes are frozen, and how many changes were caught
up, while a writer keeps changing the demo shop the whole time.

    .venv/bin/python -m tools.bench_cutover --scale 1          # generates the shop first
    .venv/bin/python -m tools.bench_cutover --source shop.sqlite3

`run(source_path, mysql_params)` works on a copy of the source (capture adds triggers to
the file) and drops its target database afterwards. The phases are the DAGs' own
(sqlite_to_mysql.pipeline, .capture, .cutover), run in this process.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "plugins", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from mysql_common.session import server_info  # noqa: E402
from sqlite_to_mysql import capture, cutover, pipeline  # noqa: E402
from sqlite_to_mysql.cutover import Cutover  # noqa: E402
from sqlite_to_mysql.planner import Settings  # noqa: E402
from sqlite_to_mysql.source import open_source  # noqa: E402
from sqlite_to_mysql.switch import SwitchConfig, mysql_database, sqlite_database  # noqa: E402
from tools.bench import connector  # noqa: E402

log = logging.getLogger("bench_cutover")


def migrate_with_capture(source: Path, params: dict, database: str, *, run_id: str,
                         settings: Settings | None = None) -> dict:
    """What sqlite_to_mysql_migration does with capture_changes=true: preflight, capture
    armed before any copy, target setup, copy, finalize, and its verification modulo the
    changes captured meanwhile."""
    from sqlite_to_mysql.cutover_verify import explain_pending

    started = time.monotonic()
    src = open_source(source)
    rw = open_source(source, read_only=False)
    server_conn = connector(params)()
    try:
        server = server_info(server_conn)
        plan = pipeline.preflight(src, source_path=str(source), database=database, server=server,
                                  settings=settings or Settings(), server_conn=server_conn)
        pipeline.require_no_blockers(plan)
        capture.install(rw, plan, run_id=run_id)
        pipeline.setup_target(server_conn, connector(params, database), plan, server, run_id=run_id)
        dst = connector(params, database)()
        try:
            method = pipeline.load_method(dst, "auto")
            copied = sum(pipeline.copy_one(src, dst, plan, t.source, run_id=run_id, method=method)["rows_copied"]
                         for t in plan.tables)
            pipeline.finalize(dst, plan)
            verdicts = [explain_pending(src, t, pipeline.verify_one(src, dst, plan, t.source, max_examples=100000),
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


class ShopWriter(threading.Thread):
    """The demo shop's application, reduced to its writes: orders placed, statuses moved on,
    sessions expired, reviews written and removed. Counts only what committed."""

    def __init__(self, path: Path, *, pause: float = 0.005, seed: int = 1) -> None:
        super().__init__(name="shop-writer", daemon=True)
        self.path, self.pause, self.rng = path, pause, random.Random(seed)
        self.stopping = threading.Event()
        self.committed = 0
        self.refused = 0  # writes refused by the freeze or the guard
        self.busy = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0.2, isolation_level=None)
        try:
            users = [r[0] for r in conn.execute("SELECT id FROM auth_user ORDER BY id LIMIT 500")]
            products = conn.execute("SELECT id, price FROM shop_product ORDER BY id LIMIT 500").fetchall()
            while not self.stopping.is_set():
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    self._one(conn, users, products)
                    conn.execute("COMMIT")
                    self.committed += 1
                except sqlite3.IntegrityError as exc:
                    conn.execute("ROLLBACK") if conn.in_transaction else None
                    if "frozen" in str(exc) or "retired" in str(exc):
                        self.refused += 1
                        time.sleep(0.02)
                    else:
                        raise
                except sqlite3.OperationalError as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    if "locked" not in str(exc) and "busy" not in str(exc):
                        raise
                    self.busy += 1
                time.sleep(self.pause)
        except BaseException as exc:
            self.error = exc
        finally:
            conn.close()

    def _one(self, conn: sqlite3.Connection, users: list, products: list) -> None:
        now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()) + f".{self.rng.randrange(10**6):06d}"
        roll = self.rng.random()
        if roll < 0.35:
            product_id, price = self.rng.choice(products)
            quantity = self.rng.randint(1, 4)
            cur = conn.execute(
                "INSERT INTO shop_order (number, status, total, note, created_at, updated_at, shipped_at, user_id) "
                "VALUES (?, 'pending', ?, '', ?, ?, NULL, ?)",
                (uuid.uuid4().hex, f"{float(price) * quantity:.2f}", now, now, self.rng.choice(users)))
            conn.execute("INSERT INTO shop_orderitem (quantity, unit_price, order_id, product_id) VALUES (?, ?, ?, ?)",
                         (quantity, price, cur.lastrowid, product_id))
        elif roll < 0.7:
            conn.execute("UPDATE shop_order SET status = ?, updated_at = ? WHERE id = (SELECT max(id) - ? FROM "
                         "shop_order)", (self.rng.choice(["paid", "shipped", "delivered"]), now,
                                         self.rng.randrange(2000)))
        elif roll < 0.85:
            conn.execute("DELETE FROM django_session WHERE session_key = (SELECT session_key FROM django_session "
                         "LIMIT 1 OFFSET ?)", (self.rng.randrange(50),))
        else:
            conn.execute("UPDATE shop_product SET price = ?, attributes = ? WHERE id = ?",
                         (f"{self.rng.randrange(100, 100000) / 100:.2f}",
                          json.dumps({"rev": self.rng.randrange(10**6)}), self.rng.choice(products)[0]))

    def stop(self) -> None:
        self.stopping.set()
        self.join(30)
        if self.error:
            raise self.error


def run(source_path, mysql_params: dict, *, freeze_timeout: float = 60.0) -> dict:
    """Migrate a copy of `source_path` with capture while a writer runs, catch up, verify,
    rehearse, then switch; return the freeze and catch-up figures."""
    work = Path(tempfile.mkdtemp(prefix="bench-cutover-"))
    source = work / "app.sqlite3"
    shutil.copyfile(source_path, source)
    database = f"bench_cutover_{uuid.uuid4().hex[:8]}"
    run_id = "bench_cutover"
    writer = ShopWriter(source)
    result: dict = {"source": str(source_path), "database": database}
    writer.start()
    try:
        migrated = migrate_with_capture(source, mysql_params, database, run_id=run_id)
        result["migration_seconds"] = migrated["seconds"]
        result["rows"] = migrated["rows_copied"]
        result["migration_verification_ok"] = migrated["verification_ok"]
        config = SwitchConfig(settings_file=str(work / "database.env"))
        cut = open_cutover(source, mysql_params, migrated["plan"], run_id=run_id, config=config)
        cutover.prepare(cut)
        result["catch_up"] = cutover.catch_up_step(cut, max_lag_changes=200, timeout=600)
        live = cutover.verify_live(cut, max_lag_changes=200, timeout=600)
        result["live_verification_seconds"] = live["seconds"]
        for mode in ("rehearsal", "switch"):
            report = cutover.freeze_and_switch(cut, live, mode=mode, timeout=freeze_timeout, max_lag_changes=200,
                                               catch_up_timeout=600)
            result[mode] = {"frozen_seconds": report["frozen_seconds"],
                            "changes_before_freeze": report["catch_up"]["changes"],
                            "changes_during_freeze": report["drain"]["changes"],
                            "drain_seconds": report["drain_seconds"],
                            "verify_seconds": report["verification"]["seconds"],
                            "keys_checked": report["verification"]["keys_checked"],
                            "ranges_checked": report["verification"]["ranges_checked"]}
        result["writer"] = {"committed": writer.committed, "refused": writer.refused, "busy": writer.busy}
        cut.src.close()
        cut.dst.close()
    finally:
        writer.stopping.set()
        writer.join(30)
        admin = connector(mysql_params)()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS `{database}`")
        admin.close()
        shutil.rmtree(work, ignore_errors=True)
    return result


def main() -> None:
    import os
    from urllib.parse import urlparse

    parser = argparse.ArgumentParser(description="Write-freeze benchmark of the cutover")
    parser.add_argument("--source", help="SQLite file (default: generate the demo shop)")
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    url = urlparse(os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306"))
    params = {"host": url.hostname or "127.0.0.1", "port": url.port or 3306, "user": url.username or "root",
              "passwd": url.password or ""}
    with tempfile.TemporaryDirectory() as tmp:
        source = args.source
        if not source:
            sys.path.insert(0, str(ROOT / "include" / "demo_shop"))
            from generate import generate

            source = str(Path(tmp) / "shop.sqlite3")
            generate(source, scale=args.scale, seed=42)
        print(json.dumps(run(source, params), indent=2))


if __name__ == "__main__":
    main()
