"""Health checks of a MySQL/MariaDB server, each judged against a threshold.

Every check returns a CheckResult whose `key` names the incident it can open (see incidents.py)
and whose `code` is the alert code. Counters that only make sense as rates (refused
connections, buffer pool reads, statement digests) are compared with the previous run's
sample, which the caller keeps and hands back.

Host metrics of the design (CPU, memory) are not visible over a SQL connection and are left
to the host's own monitoring; disk usage is measured as the size of the InnoDB tablespaces
and binlogs against the capacity the operator declares.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from mysql_common.errors import mysql_errno
from mysql_common.session import server_info

from mysql_hardening import audit, replication

CONNECTION_POOL_EXHAUSTED = "CONNECTION_POOL_EXHAUSTED"
QUERY_TIMEOUT = "QUERY_TIMEOUT"
REPLICATION_LAG_HIGH = "REPLICATION_LAG_HIGH"
LONG_TRANSACTION = "LONG_TRANSACTION"
DISK_USAGE_HIGH = "DISK_USAGE_HIGH"
BUFFER_POOL_HIT_RATE_LOW = "BUFFER_POOL_HIT_RATE_LOW"
AUDIT_LOGGING_OFF = "AUDIT_LOGGING_OFF"
MONITOR_FAILED = "MONITOR_FAILED"  # the monitor itself could not run (server down, credentials)

# A privilege the monitor user lacks makes one check unavailable, not the whole run.
_PRIVILEGE_ERRORS = {1044, 1142, 1227}
_PICO = 1e12


@dataclass
class Thresholds:
    """Defaults from the design (connections 80%, slow query 5 s, disk 90%); the others are
    the project's choice, documented in docs/hardening.md."""

    connection_usage_pct: float = 80
    slow_query_seconds: float = 5
    long_transaction_seconds: float = 60
    replication_lag_seconds: float = 60
    disk_usage_pct: float = 90
    disk_capacity_gb: float | None = None
    buffer_pool_hit_rate_pct: float = 95
    buffer_pool_min_requests: int = 10_000
    top_statements: int = 5


@dataclass
class CheckResult:
    key: str
    status: str  # ok | alert | unavailable
    summary: str
    code: str | None = None
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def mask_literals(sql: str | None, limit: int = 300) -> str:
    """Statement text for a report: string and number literals become '?' (customer data,
    passwords in IDENTIFIED BY), and the text is cut to `limit` characters."""
    if not sql:
        return ""
    masked = re.sub(r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"", "'?'", sql)
    masked = re.sub(r"\b\d+(?:\.\d+)?\b", "?", masked)
    return masked[:limit]


def _rows(cur, sql: str, args=None) -> list[dict]:
    cur.execute(sql, args)
    names = [d[0].lower() for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _status(cur) -> dict:
    cur.execute("SHOW GLOBAL STATUS")
    return {name.lower(): value for name, value in cur.fetchall()}


def _delta(now: int, before: int | None, restarted: bool) -> int | None:
    if before is None or restarted or now < before:
        return None
    return now - before


def check_connections(cur, status: dict, th: Thresholds, previous: dict, samples: dict) -> CheckResult:
    """Usage now, and whether the limit was hit since the last run. MySQL counts refused
    connections (Connection_errors_max_connections); MariaDB 10.11 leaves that counter at 0
    (checked), so a new Max_used_connections peak at the limit is taken as the same signal."""
    cur.execute("SELECT @@max_connections")
    limit = int(cur.fetchone()[0])
    used = int(status["threads_connected"])
    pct = 100.0 * used / limit
    restarted = _restarted(status, previous)
    peak = int(status.get("max_used_connections", 0))
    samples.update(max_used_connections=peak,
                   connection_errors_max_connections=int(status.get("connection_errors_max_connections", 0)))
    refused = _delta(samples["connection_errors_max_connections"],
                     previous.get("connection_errors_max_connections"), restarted)
    new_peak = _delta(peak, previous.get("max_used_connections"), restarted)
    limit_hit = bool(refused) or (bool(new_peak) and peak >= limit)
    details = {"threads_connected": used, "max_connections": limit, "usage_pct": round(pct, 1),
               "max_used_connections": peak, "refused_since_last_run": refused,
               "limit_reached_since_last_run": limit_hit}
    summary = f"{used}/{limit} connections ({pct:.0f}%)"
    if pct >= th.connection_usage_pct:
        summary += f" >= {th.connection_usage_pct:g}%"
    if limit_hit:
        summary += ", max_connections was reached since the last run"
    if pct >= th.connection_usage_pct or limit_hit:
        return CheckResult("connections", "alert", summary, CONNECTION_POOL_EXHAUSTED, details)
    return CheckResult("connections", "ok", summary, details=details)


def connections_refused(exc: BaseException) -> CheckResult:
    """The monitor itself got 'Too many connections' (1040): that is the incident."""
    return CheckResult("connections", "alert", "the server refused the monitor's connection: "
                       "max_connections reached", CONNECTION_POOL_EXHAUSTED,
                       {"error": mysql_errno(exc)})


def check_slow_queries(cur, status: dict, th: Thresholds, previous: dict, samples: dict) -> CheckResult:
    """Statements running longer than the threshold now, and statement digests whose
    executions since the last run averaged over it; plus the top statements by total time."""
    running = _rows(cur, "SELECT ID, USER, HOST, DB, TIME, INFO FROM information_schema.PROCESSLIST "
                         "WHERE COMMAND = 'Query' AND TIME >= %s AND ID <> CONNECTION_ID() "
                         "ORDER BY TIME DESC LIMIT 10", (th.slow_query_seconds,))
    running = [{"id": r["id"], "user": r["user"], "host": r["host"], "db": r["db"],
                "seconds": r["time"], "statement": mask_literals(r["info"])} for r in running]
    details: dict = {"running_over_threshold": running}
    slow_digests = []
    cur.execute("SELECT @@performance_schema")
    if int(cur.fetchone()[0]):
        top = _rows(cur, "SELECT DIGEST, SCHEMA_NAME, DIGEST_TEXT, COUNT_STAR, SUM_TIMER_WAIT, "
                         "MAX_TIMER_WAIT FROM performance_schema.events_statements_summary_by_digest "
                         "WHERE DIGEST IS NOT NULL ORDER BY SUM_TIMER_WAIT DESC LIMIT 100")
        # None on the first run and after a restart: only a baseline is taken.
        before = None if _restarted(status, previous) else previous.get("digests")
        samples["digests"] = {r["digest"]: [int(r["count_star"]), int(r["sum_timer_wait"])] for r in top}
        for r in top:
            if before is None:
                break
            count0, sum0 = before.get(r["digest"], [0, 0])
            runs, total = int(r["count_star"]) - count0, int(r["sum_timer_wait"]) - sum0
            if runs > 0 and total >= 0 and total / runs / _PICO >= th.slow_query_seconds:
                slow_digests.append({"digest": r["digest"], "runs_since_last_check": runs,
                                     "avg_seconds": round(total / runs / _PICO, 3),
                                     "statement": mask_literals(r["digest_text"])})
        details["top_statements_by_total_time"] = [
            {"schema": r["schema_name"], "statement": mask_literals(r["digest_text"]),
             "executions": int(r["count_star"]), "total_seconds": round(int(r["sum_timer_wait"]) / _PICO, 3),
             "max_seconds": round(int(r["max_timer_wait"]) / _PICO, 3)}
            for r in top[: th.top_statements]]
        details["slow_digests_since_last_check"] = slow_digests
    else:
        details["digests"] = ("unavailable: performance_schema is OFF; set performance_schema=ON "
                              "in my.cnf (restart) for top statements by total time")
    if running or slow_digests:
        parts = []
        if running:
            parts.append(f"{len(running)} statement(s) running >= {th.slow_query_seconds:g}s "
                         f"(longest {running[0]['seconds']}s: {running[0]['statement'][:80]})")
        if slow_digests:
            parts.append(f"{len(slow_digests)} statement digest(s) averaging >= "
                         f"{th.slow_query_seconds:g}s since the last check")
        return CheckResult("slow_queries", "alert", "; ".join(parts), QUERY_TIMEOUT, details)
    return CheckResult("slow_queries", "ok", f"no statement over {th.slow_query_seconds:g}s", details=details)


def check_long_transactions(cur, th: Thresholds) -> CheckResult:
    rows = _rows(cur, "SELECT t.trx_id, t.trx_mysql_thread_id AS thread_id, t.trx_state, "
                      "t.trx_rows_locked, t.trx_query, TIMESTAMPDIFF(SECOND, t.trx_started, NOW()) AS age, "
                      "p.USER, p.HOST, p.COMMAND FROM information_schema.INNODB_TRX t "
                      "LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id "
                      "WHERE t.trx_started <= NOW() - INTERVAL %s SECOND ORDER BY t.trx_started LIMIT 10",
                 (int(th.long_transaction_seconds),))
    found = [{"thread_id": r["thread_id"], "user": r["user"], "host": r["host"], "age_seconds": r["age"],
              "state": r["trx_state"], "command": r["command"], "rows_locked": r["trx_rows_locked"],
              "statement": mask_literals(r["trx_query"])} for r in rows]
    if found:
        oldest = found[0]
        return CheckResult("long_transactions", "alert",
                           f"{len(found)} transaction(s) open >= {th.long_transaction_seconds:g}s (oldest "
                           f"{oldest['age_seconds']}s, thread {oldest['thread_id']}, {oldest['user']})",
                           LONG_TRANSACTION, {"transactions": found})
    return CheckResult("long_transactions", "ok", f"no transaction open >= {th.long_transaction_seconds:g}s")


def check_disk(cur, th: Thresholds, is_mariadb: bool) -> CheckResult:
    table = "INNODB_SYS_TABLESPACES" if is_mariadb else "INNODB_TABLESPACES"
    cur.execute(f"SELECT COALESCE(SUM(FILE_SIZE), 0) FROM information_schema.{table}")
    data = int(cur.fetchone()[0])
    cur.execute("SELECT @@log_bin")
    binlog = 0
    if int(cur.fetchone()[0]):
        cur.execute("SHOW BINARY LOGS")
        binlog = sum(int(row[1]) for row in cur.fetchall())
    details = {"innodb_tablespaces_bytes": data, "binlog_bytes": binlog}
    summary = f"InnoDB tablespaces {data / 2**30:.2f} GiB, binlogs {binlog / 2**30:.2f} GiB"
    if not th.disk_capacity_gb:
        return CheckResult("disk", "ok", summary + " (set disk_capacity_gb for a usage percentage)",
                           details=details)
    pct = 100.0 * (data + binlog) / (th.disk_capacity_gb * 2**30)
    details["usage_pct"] = round(pct, 1)
    summary += f", {pct:.0f}% of {th.disk_capacity_gb:g} GiB"
    if pct >= th.disk_usage_pct:
        return CheckResult("disk", "alert", summary + f" >= {th.disk_usage_pct:g}%", DISK_USAGE_HIGH, details)
    return CheckResult("disk", "ok", summary, details=details)


def check_buffer_pool(status: dict, th: Thresholds, previous: dict, samples: dict) -> CheckResult:
    """Hit rate over the interval since the last run; the since-startup ratio hides a recent drop."""
    requests, reads = int(status["innodb_buffer_pool_read_requests"]), int(status["innodb_buffer_pool_reads"])
    samples.update(bp_read_requests=requests, bp_reads=reads)
    restarted = _restarted(status, previous)
    d_requests = _delta(requests, previous.get("bp_read_requests"), restarted)
    d_reads = _delta(reads, previous.get("bp_reads"), restarted)
    if d_requests is None or d_reads is None:
        return CheckResult("buffer_pool", "ok", "baseline taken; the hit rate is measured from the next run")
    if d_requests < th.buffer_pool_min_requests:
        return CheckResult("buffer_pool", "ok", f"only {d_requests} page requests since the last run: "
                           "too few to judge the hit rate")
    rate = 100.0 * (1 - d_reads / d_requests)
    details = {"hit_rate_pct": round(rate, 3), "page_requests": d_requests, "disk_reads": d_reads}
    summary = f"buffer pool hit rate {rate:.2f}% over {d_requests} page requests"
    if rate < th.buffer_pool_hit_rate_pct:
        return CheckResult("buffer_pool", "alert", summary + f" < {th.buffer_pool_hit_rate_pct:g}%",
                           BUFFER_POOL_HIT_RATE_LOW, details)
    return CheckResult("buffer_pool", "ok", summary, details=details)


def check_audit(conn) -> CheckResult:
    state = audit.check(conn)
    if not state.available or state.plugin is None:
        return CheckResult("audit", "unavailable", state.detail)
    if state.enabled:
        return CheckResult("audit", "ok", state.detail)
    return CheckResult("audit", "alert", state.detail + " (restarted without the my.cnf lines? "
                       "see docs/hardening.md)", AUDIT_LOGGING_OFF)


def check_replica(conn, name: str, th: Thresholds) -> CheckResult:
    status = replication.replica_status(conn)
    found = replication.problems(status, th.replication_lag_seconds)
    key = f"replication:{name}"
    if found:
        return CheckResult(key, "alert", f"replica {name}: " + "; ".join(found), REPLICATION_LAG_HIGH,
                           status.as_dict())
    return CheckResult(key, "ok", f"replica {name}: lag {status.lag_seconds}s", details=status.as_dict())


def _restarted(status: dict, previous: dict) -> bool:
    uptime = int(status.get("uptime", 0))
    return "uptime" in previous and uptime < previous["uptime"]


def _guarded(key: str, check) -> CheckResult:
    try:
        return check()
    except Exception as exc:
        if mysql_errno(exc) in _PRIVILEGE_ERRORS:
            return CheckResult(key, "unavailable", f"the monitor user lacks a privilege: {exc} "
                               "(apply include/sql/users/<flavor>/monitor.sql)")
        raise


def run_checks(conn, th: Thresholds, previous: dict) -> tuple[list[CheckResult], dict]:
    """All server checks on one connection; returns (results, samples for the next run)."""
    is_mariadb = server_info(conn).is_mariadb
    cur = conn.cursor()
    try:
        status = _status(cur)
        samples: dict = {"uptime": int(status.get("uptime", 0))}
        results = [
            _guarded("connections", lambda: check_connections(cur, status, th, previous, samples)),
            _guarded("slow_queries", lambda: check_slow_queries(cur, status, th, previous, samples)),
            _guarded("long_transactions", lambda: check_long_transactions(cur, th)),
            _guarded("disk", lambda: check_disk(cur, th, is_mariadb)),
            _guarded("buffer_pool", lambda: check_buffer_pool(status, th, previous, samples)),
            _guarded("audit", lambda: check_audit(conn)),
        ]
    finally:
        cur.close()
    return results, samples
