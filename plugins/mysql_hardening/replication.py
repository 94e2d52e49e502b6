"""Replica status, read the same way on MariaDB 10.11 and MySQL 8.4, and judged healthy or not.

Both servers still answer SHOW SLAVE STATUS with the old column names (Slave_IO_Running,
Seconds_Behind_Master); MySQL 8.4 names them Replica_*/..._Source under SHOW REPLICA STATUS.
The status is normalised to one set of keys.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from mysql_common.errors import mysql_errno

_FIELDS = {
    "io_running": ("Replica_IO_Running", "Slave_IO_Running"),
    "sql_running": ("Replica_SQL_Running", "Slave_SQL_Running"),
    "lag_seconds": ("Seconds_Behind_Source", "Seconds_Behind_Master"),
    "last_io_error": ("Last_IO_Error",),
    "last_sql_error": ("Last_SQL_Error",),
    "source_host": ("Source_Host", "Master_Host"),
    "source_port": ("Source_Port", "Master_Port"),
    "gtid_io_pos": ("Gtid_IO_Pos", "Retrieved_Gtid_Set"),
}


@dataclass
class ReplicaStatus:
    configured: bool
    io_running: str | None = None
    sql_running: str | None = None
    lag_seconds: int | None = None
    last_io_error: str = ""
    last_sql_error: str = ""
    source_host: str | None = None
    source_port: int | None = None
    gtid_io_pos: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def replica_status(conn) -> ReplicaStatus:
    cur = conn.cursor()
    try:
        try:
            cur.execute("SHOW REPLICA STATUS")
        except Exception as exc:
            if mysql_errno(exc) != 1064:  # servers older than the REPLICA syntax
                raise
            cur.execute("SHOW SLAVE STATUS")
        row = cur.fetchone()
        if row is None:
            return ReplicaStatus(configured=False)
        names = [d[0] for d in cur.description]
        record = dict(zip(names, row))
    finally:
        cur.close()
    values = {}
    for key, candidates in _FIELDS.items():
        values[key] = next((record[c] for c in candidates if c in record), None)
    values["last_io_error"] = values["last_io_error"] or ""
    values["last_sql_error"] = values["last_sql_error"] or ""
    return ReplicaStatus(configured=True, **values)


def problems(status: ReplicaStatus, lag_threshold_seconds: float) -> list[str]:
    """What is wrong with this replica, in words; empty when it is healthy."""
    if not status.configured:
        return ["the server is not configured as a replica (SHOW REPLICA STATUS is empty)"]
    found = []
    if status.io_running != "Yes":
        found.append(f"IO thread {status.io_running}" +
                     (f": {status.last_io_error}" if status.last_io_error else ""))
    if status.sql_running != "Yes":
        found.append(f"SQL thread {status.sql_running}" +
                     (f": {status.last_sql_error}" if status.last_sql_error else ""))
    if not found:
        if status.lag_seconds is None:
            found.append("lag unknown (Seconds_Behind_Master is NULL)")
        elif status.lag_seconds >= lag_threshold_seconds:
            found.append(f"lag {status.lag_seconds}s >= {lag_threshold_seconds:g}s")
    return found
