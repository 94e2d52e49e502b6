"""What performance_schema says about statements: cumulative digest counters and sampled events.

events_statements_summary_by_digest holds counters per (schema, digest) that only grow until
the server restarts or someone truncates the table; digest_deltas turns two readings into the
work done in between. Latency percentiles need individual executions: MariaDB 10.11 has no
events_statements_histogram_by_digest (MySQL 8.0+ does), so p95 comes from the executions that
events_statements_history_long still holds when a snapshot is taken - a sample, reported with
its size (see docs/query-insights.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from mysql_common.errors import ConfigurationError

# The counters kept per digest (all BIGINT UNSIGNED on the server).
COUNTERS = ["count_star", "sum_timer_wait", "sum_lock_time", "sum_errors", "sum_warnings",
            "sum_rows_affected", "sum_rows_sent", "sum_rows_examined", "sum_created_tmp_disk_tables",
            "sum_created_tmp_tables", "sum_select_full_join", "sum_select_scan", "sum_no_index_used",
            "sum_no_good_index_used", "sum_sort_rows"]
EVENT_COLUMNS = ["timer_end", "timer_wait", "rows_examined", "rows_sent", "no_index_used",
                 "created_tmp_disk_tables"]

ENABLE = ("add to my.cnf under [mysqld]: performance_schema=ON, "
          "performance-schema-consumer-events-statements-current=ON, "
          "performance-schema-consumer-events-statements-history-long=ON and "
          "performance_schema_events_statements_history_long_size=10000, then restart the server "
          "(include/sql/server_recommendations.yaml, docs/query-insights.md)")


class PerformanceSchemaOff(ConfigurationError):
    code = "PERFORMANCE_SCHEMA_OFF"


@dataclass
class ServerState:
    """The facts a snapshot needs besides the counters: when, since when, and which server."""

    taken_at: datetime          # server time, UTC
    uptime_seconds: int
    identity: str               # hostname:port:server_id; another value means another server
    history_long: bool          # events_statements_history_long consumer on
    history_long_size: int
    warnings: list[str] = field(default_factory=list)

    @property
    def started_at(self) -> datetime:
        return self.taken_at - pd.Timedelta(seconds=self.uptime_seconds).to_pytimedelta()


def _scalar(cur, sql: str):
    cur.execute(sql)
    return cur.fetchone()[0]


def check_ready(conn, where: str) -> ServerState:
    """Refuse a server without performance_schema or digests, with what to enable; warn when
    no statement events are kept (no p95 then)."""
    cur = conn.cursor()
    if not int(_scalar(cur, "SELECT @@performance_schema")):
        raise PerformanceSchemaOff(f"performance_schema is OFF on {where}: query insights need it; {ENABLE}")
    cur.execute("SELECT NAME, ENABLED FROM performance_schema.setup_consumers")
    consumers = {name.lower(): enabled == "YES" for name, enabled in cur.fetchall()}
    missing = [c for c in ("global_instrumentation", "statements_digest") if not consumers.get(c)]
    if missing:
        raise PerformanceSchemaOff(
            f"performance_schema is ON on {where} but the consumer(s) {', '.join(missing)} are disabled: "
            f"run UPDATE performance_schema.setup_consumers SET ENABLED = 'YES' WHERE NAME IN "
            f"({', '.join(repr(m) for m in missing)}) as an administrator, and {ENABLE}")
    cur.execute("SELECT UTC_TIMESTAMP(6), @@hostname, @@port, @@server_id, "
                "@@performance_schema_events_statements_history_long_size")
    now, host, port, server_id, history_size = cur.fetchone()
    cur.execute("SHOW GLOBAL STATUS LIKE 'Uptime'")
    uptime = int(cur.fetchone()[1])
    # The history tables are filled only through events_statements_current (checked on 10.11).
    history = all(consumers.get(c) for c in ("thread_instrumentation", "events_statements_current",
                                             "events_statements_history_long")) and int(history_size) > 0
    state = ServerState(now.replace(tzinfo=timezone.utc), uptime, f"{host}:{port}:{server_id}", history,
                        int(history_size))
    if not history:
        state.warnings.append("events_statements_history_long is not collected: no p95 and no sample "
                              f"statements (so no EXPLAIN and no index candidates); {ENABLE}")
    cur.execute("SHOW GLOBAL STATUS LIKE 'Performance_schema_digest_lost'")
    row = cur.fetchone()
    if row and int(row[1]):
        state.warnings.append(f"{row[1]} statement(s) since the start found the digest table full and were "
                              "counted under no digest: raise performance_schema_digests_size")
    cur.close()
    return state


def read_digests(conn) -> pd.DataFrame:
    """Cumulative counters per (schema, digest); FIRST_SEEN in UTC (the session runs at +00:00)."""
    cur = conn.cursor()
    cur.execute("SET SESSION time_zone = '+00:00'")
    cur.execute("SELECT SCHEMA_NAME, DIGEST, DIGEST_TEXT, " + ", ".join(c.upper() for c in COUNTERS)
                + ", FIRST_SEEN FROM performance_schema.events_statements_summary_by_digest "
                "WHERE DIGEST IS NOT NULL")
    rows = cur.fetchall()
    cur.close()
    frame = pd.DataFrame(list(rows), columns=["schema_name", "digest", "digest_text", *COUNTERS, "first_seen"])
    for column in COUNTERS:
        frame[column] = frame[column].astype("uint64")
    frame["schema_name"] = frame["schema_name"].fillna("").astype(str)
    frame["first_seen"] = pd.to_datetime(frame["first_seen"]).dt.tz_localize("UTC").astype("datetime64[us, UTC]")
    return frame


def read_events(conn, after_timer_end: int) -> pd.DataFrame:
    """Finished top-level statements with a digest that ended after the watermark (picoseconds
    since the server's timer start), as events_statements_history_long still holds them."""
    cur = conn.cursor()
    cur.execute("SELECT CURRENT_SCHEMA, DIGEST, " + ", ".join(c.upper() for c in EVENT_COLUMNS)
                + " FROM performance_schema.events_statements_history_long WHERE DIGEST IS NOT NULL "
                "AND TIMER_END IS NOT NULL AND TIMER_END > %s AND NESTING_EVENT_LEVEL = 0", (after_timer_end,))
    rows = cur.fetchall()
    cur.close()
    frame = pd.DataFrame(list(rows), columns=["schema_name", "digest", *EVENT_COLUMNS])
    frame["schema_name"] = frame["schema_name"].fillna("").astype(str)
    for column in EVENT_COLUMNS:
        frame[column] = frame[column].astype("int64")
    return frame


def sample_statements(conn, digests: list[str]) -> dict[tuple[str, str], str]:
    """The most recent full statement text per (schema, digest), for EXPLAIN and timing. Texts
    carry literals (customer data): they are used live and never stored."""
    if not digests:
        return {}
    cur = conn.cursor()
    cur.execute("SELECT @@performance_schema_max_sql_text_length")
    limit = int(cur.fetchone()[0])
    marks = ", ".join(["%s"] * len(digests))
    cur.execute(f"SELECT CURRENT_SCHEMA, DIGEST, SQL_TEXT FROM performance_schema.events_statements_history_long "
                f"WHERE DIGEST IN ({marks}) AND SQL_TEXT IS NOT NULL AND NESTING_EVENT_LEVEL = 0 "
                "ORDER BY TIMER_END", tuple(digests))
    found = {}
    for schema, digest, text in cur.fetchall():
        text = text.decode() if isinstance(text, bytes) else text
        if len(text.encode()) < limit:  # a cut text is not the statement
            found[(schema or "", digest)] = text
    cur.close()
    return found
