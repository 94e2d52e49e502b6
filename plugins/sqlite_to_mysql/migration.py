"""The migration's phases as plain functions over open connections. The Airflow tasks call
them one per task; tests and the benchmark call run_all() to run them in one process."""
from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from mysql_common.errors import ConfigurationError, mysql_errno
from mysql_common.session import ServerInfo, server_info
from sqlite_to_mysql import report, schema_checks, target_setup, target_state
from sqlite_to_mysql.copy import copy_table
from sqlite_to_mysql.errors import MigrationDataLoss, PreflightBlocked, SourceError
from sqlite_to_mysql.plan import Plan
from sqlite_to_mysql.planner import Settings, build_plan, ways_out
from sqlite_to_mysql.server_types import ServerTypes
from sqlite_to_mysql.source import describe_sqlite_error
from sqlite_to_mysql.sqlite_functions import register
from sqlite_to_mysql.verify import TableVerifier
from sqlite_to_mysql.workers import map_with_connections

log = logging.getLogger(__name__)


def preflight(src, *, source_path: str, database: str, server: ServerInfo, settings: Settings,
              server_conn=None) -> Plan:
    """server_conn: a connection to the target server (no database needed), which is asked
    which values its own types refuse; nothing is written through it."""
    register(src)
    types = ServerTypes(server_conn, is_mariadb=server.is_mariadb) if server_conn is not None else None
    try:
        plan = build_plan(src, source_path=source_path, database=database, server=server, settings=settings,
                          types=types)
    except sqlite3.DatabaseError as exc:  # damage the first read did not reach (malformed pages)
        if not any(word in str(exc) for word in ("malformed", "not a database", "corrupt", "locked", "busy")):
            raise
        raise SourceError(describe_sqlite_error(Path(source_path), exc)) from None
    plan_dict = _as_dict(plan)
    log.info("%s", report.preflight_summary(plan_dict))
    return plan


def require_no_blockers(plan: Plan) -> None:
    if plan.blockers:
        current = plan.settings.get("on_type_conflict")
        common = sorted(set.intersection(*(ways_out(b) for b in plan.blockers)) - {current})
        ending = (f"on_type_conflict '{common[0]}' lets the run past every problem above" if common else
                  "no on_type_conflict setting lets the run past every problem above")
        raise PreflightBlocked(
            f"{len(plan.blockers)} blocking problem(s), the target was not touched:\n  "
            + "\n  ".join(plan.blockers) + f"\n{ending}")


def load_method(conn, requested: str) -> str:
    """LOAD DATA LOCAL INFILE is the fast path; servers that refuse it get multi-row INSERTs."""
    if requested in ("load_data", "insert"):
        return requested
    cur = conn.cursor()
    cur.execute("SELECT @@GLOBAL.local_infile")
    return "load_data" if int(cur.fetchone()[0]) else "insert"


PRIVILEGE_ERRORS = (1044, 1142, 1143, 1227)  # access denied to database / table / column / operation


def setup_target(server_conn, connect_db, plan: Plan, server: ServerInfo, *, run_id: str,
                 if_target_exists: str = "fail") -> list[str]:
    try:
        return _setup_target(server_conn, connect_db, plan, server, run_id=run_id,
                             if_target_exists=if_target_exists)
    except Exception as exc:
        if mysql_errno(exc) not in PRIVILEGE_ERRORS:
            raise
        cur = server_conn.cursor()
        cur.execute("SELECT CURRENT_USER()")
        user, _, host = cur.fetchone()[0].rpartition("@")
        account = f"'{user}'@'{host}'"
        raise ConfigurationError(
            f"the MySQL account {account} may not create or write database {plan.database} ({exc.args[-1]}): "
            f"GRANT ALL PRIVILEGES ON `{plan.database}`.* TO {account}, or point the mysql_target connection "
            f"at an account that has them") from None


def _setup_target(server_conn, connect_db, plan: Plan, server: ServerInfo, *, run_id: str,
                  if_target_exists: str) -> list[str]:
    created = target_setup.create_database(server_conn, plan.database, server)
    conn = connect_db()
    try:
        actions = (["created database " + plan.database] if created else [])
        actions += target_setup.create_tables(conn, plan, server, run_id=run_id,
                                              replace_foreign=if_target_exists == "replace")
        target_state.save_plan(conn, run_id, plan.to_json())
        return actions
    finally:
        conn.close()


def copy_one(src, dst, plan: Plan, table: str, *, run_id: str, method: str, restart: bool = False) -> dict:
    register(src)
    tp = plan.table(table)
    result = copy_table(src, dst, tp, run_id=run_id, plan_fingerprint=plan.fingerprint,
                        batch_rows=int(plan.settings["batch_rows"]), method=method, restart=restart)
    indexes = target_setup.add_indexes(dst, tp)
    summary = {"table": table, "rows_copied": result.rows_copied, "rows_quarantined": result.rows_quarantined,
               "rows_this_attempt": result.rows_this_attempt, "resumed_from": result.resumed_from,
               "seconds": round(result.seconds, 3), "rows_per_second": round(result.rate),
               "method": method, "indexes_added": indexes}
    log.info("%s: %d rows copied (%d this attempt, %.0f rows/s, %s), %d quarantined, indexes added: %s",
             table, result.rows_copied, result.rows_this_attempt, result.rate, method,
             result.rows_quarantined, ", ".join(indexes) or "none")
    return summary


def verify_one(src, dst, plan: Plan, table: str, *, max_examples: int = 20) -> dict:
    register(src)
    verdict = TableVerifier(src, dst, plan.table(table), flavor=plan.flavor, max_examples=max_examples).run()
    log.info("%s: source %d, target %d, quarantined %d, checksum %s (%d segments, %.1fs)", table,
             verdict.source_rows, verdict.target_rows, verdict.quarantined, verdict.checksum,
             verdict.segments, verdict.seconds)
    return verdict.to_dict()


def verify_all(src, dst, plan: Plan, copies: dict[str, dict] | None = None, *, max_examples: int = 20,
               settle: Callable[[str, dict], dict] | None = None) -> dict:
    """Every table and the database-wide checks, against both sides as they are now.

    settle(table, verdict) may restate a table's verdict (the cutover's capture: changes
    logged since the copy are pending, not lost) before the report is assembled."""
    verdicts = []
    for t in plan.tables:
        verdict = verify_one(src, dst, plan, t.source, max_examples=max_examples)
        verdicts.append(settle(t.source, verdict) if settle else verdict)
    return assemble(plan, verdicts, copies or {}, database_checks(dst, plan))


def stored_plan(dst) -> tuple[str, Plan]:
    """The plan of the newest migration run into this database (run_id, plan)."""
    found = target_state.latest_plan(dst)
    if not found:
        raise PreflightBlocked("this database has no migration plan: run sqlite_to_mysql_migration into it first")
    return found[0], Plan.from_json(found[1])


def finalize(dst, plan: Plan) -> dict:
    started = time.monotonic()
    fks = target_setup.add_foreign_keys(dst, plan)
    counters = target_setup.set_auto_increment(dst, plan)
    views, failed_views = target_setup.create_views(dst, plan)
    log.info("foreign keys added: %d; AUTO_INCREMENT set on %d tables; views created: %s",
             len(fks), len(counters), ", ".join(views) or "none")
    for item in failed_views:
        log.warning("view %s not created (SQLite-specific SQL): %s", item["view"], item["error"])
    return {"foreign_keys": fks, "auto_increment": counters, "views": views, "views_not_created": failed_views,
            "seconds": round(time.monotonic() - started, 3)}


def database_checks(dst, plan: Plan) -> dict:
    issues = schema_checks.check_schema(dst, plan) + schema_checks.check_auto_increment(dst, plan)
    fk_issues, orphans = schema_checks.check_foreign_keys(dst, plan)
    return {"issues": issues + fk_issues, "orphans": orphans}


def assemble(plan: Plan, verdicts: list[dict], copies: dict[str, dict], checks: dict) -> dict:
    tables = []
    for v in verdicts:
        v = dict(v)
        copy = copies.get(v["table"]) or {}
        v["copy_seconds"] = copy.get("seconds")
        tables.append(v)
    ok = all(t["ok"] for t in tables) and not checks["issues"]
    totals = {
        "source_rows": sum(t["source_rows"] for t in tables), "target_rows": sum(t["target_rows"] for t in tables),
        "quarantined": sum(t["quarantined"] for t in tables),
        "verify_seconds": sum(t["seconds"] for t in tables),
        "copy_seconds": sum(t["copy_seconds"] or 0 for t in tables),
    }
    inherited = [o for o in checks["orphans"] if o["orphans"] == o["inherited"]]
    pending = any(t.get("state") == "PENDING" for t in tables)  # changes captured since the copy
    status = MigrationDataLoss.code if not ok else "PENDING" if pending else "OK"
    return {"status": status, "database": plan.database, "tables": tables,
            "totals": totals, "database_issues": checks["issues"], "inherited_orphans": inherited}


def publish(result: dict, run_id: str, report_base: str | None = None) -> str:
    """Log the verification and write its files; raise MIGRATION_DATA_LOSS when anything is
    unaccounted for (changes captured since the copy are accounted for: PENDING)."""
    log.info("%s", report.verification_summary(result))
    directory = report.report_dir(run_id, report_base)
    json_path, md_path = report.write(directory, "verification", result, report.verification_markdown(result))
    log.info("verification report: %s and %s", json_path, md_path)
    if result["status"] not in ("OK", "PENDING"):
        bad = [t["table"] for t in result["tables"] if not t["ok"]]
        raise MigrationDataLoss(f"verification failed for {bad or 'database checks'}; details in {md_path}")
    return str(directory)


@dataclass
class Connections:
    """How run_all() opens connections (tests and the benchmark, outside Airflow)."""

    source: callable
    server: callable  # MySQL connection without a default database
    database: callable  # MySQL connection to the target database


def run_all(conns: Connections, *, source_path: str, database: str, settings: Settings, run_id: str,
            method: str = "auto", if_target_exists: str = "fail", report_base: str | None = None,
            workers: int = 2) -> dict:
    """Every phase in order, in this process: what the DAG does, minus Airflow, with `workers`
    tables at once as the DAG's executor would. As in the DAG, each table is verified as soon as
    its copy is done (verification needs neither the foreign keys nor the counters finalize
    adds), so no core waits for the last copy. The result carries each phase's seconds
    (phase_seconds; copy and verify are the sums over tables of each, copy_and_verify the span
    of both) for the benchmark."""
    phases: dict[str, float] = {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        phases[name] = round(now - clock, 3)
        clock = now

    src = conns.source()
    server_conn = conns.server()
    server = server_info(server_conn)
    plan = preflight(src, source_path=source_path, database=database, server=server, settings=settings,
                     server_conn=server_conn)
    require_no_blockers(plan)
    lap("preflight")
    setup_target(server_conn, conns.database, plan, server, run_id=run_id, if_target_exists=if_target_exists)
    dst = conns.database()
    chosen = load_method(dst, method)
    lap("setup_target")

    def copy_then_verify(s, d, table: str) -> tuple[dict, dict, float, float]:
        started = time.monotonic()
        copied = copy_one(s, d, plan, table, run_id=run_id, method=chosen)  # with its index builds
        between = time.monotonic()
        return copied, verify_one(s, d, plan, table), between - started, time.monotonic() - between

    done = per_table(conns, plan, copy_then_verify, workers=workers)
    copies = {table: outcome[0] for table, outcome in done.items()}
    lap("copy_and_verify")
    final = finalize(dst, plan)
    lap("finalize")
    result = assemble(plan, [done[t.source][1] for t in plan.tables], copies, database_checks(dst, plan))
    lap("database_checks")
    phases["copy"] = round(sum(outcome[2] for outcome in done.values()), 3)
    phases["verify"] = round(sum(outcome[3] for outcome in done.values()), 3)
    result["phase_seconds"] = phases
    result["load_method"] = chosen
    result["finalize"] = final
    result["report_dir"] = str(report.report_dir(run_id, report_base))
    try:
        publish(result, run_id, report_base)
    finally:
        dst.close()
        server_conn.close()
        src.close()
    return result


def per_table(conns: Connections, plan: Plan, work, *, workers: int = 2) -> dict[str, dict]:
    """work(source, target, table) for every table of the plan, on `workers` threads with
    connections of their own, the biggest work first (so the last one to finish is small).
    Order between tables does not matter here: foreign keys are added after all data is in."""
    biggest_first = sorted(plan.tables, key=lambda t: -(t.rows * (len(t.columns) + 4) + t.bytes // 64))
    results = map_with_connections(lambda: (conns.source(), conns.database()),
                                   lambda pair, table: work(*pair, table),
                                   [t.source for t in biggest_first], workers=workers)
    return dict(zip((t.source for t in biggest_first), results))


def _as_dict(plan: Plan) -> dict:
    import json

    return json.loads(plan.to_json())
