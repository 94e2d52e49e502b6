"""What a backup reads about the server: its facts, its run (instance) and its binlog files."""
from __future__ import annotations

from dataclasses import dataclass

from mysql_common.errors import mysql_errno
from mysql_common.session import ServerInfo, server_info

from mysql_backup.manifest import Instance


@dataclass(frozen=True)
class ServerFacts:
    info: ServerInfo
    server_id: int
    log_bin: bool
    binlog_format: str | None

    @property
    def flavor(self) -> str:
        return self.info.flavor


def server_facts(conn) -> ServerFacts:
    info = server_info(conn)
    cur = conn.cursor()
    cur.execute("SELECT @@server_id, @@log_bin, @@binlog_format")
    server_id, log_bin, binlog_format = cur.fetchone()
    cur.close()
    return ServerFacts(info, int(server_id), bool(int(log_bin)), binlog_format if log_bin else None)


def database_collation(conn, database: str) -> str | None:
    cur = conn.cursor()
    cur.execute("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s",
                (database,))
    row = cur.fetchone()
    cur.close()
    return row[0] if row else None


def read_instance(conn, flavor: str) -> Instance:
    """The server's current run. Uptime and UNIX_TIMESTAMP() come from the same statement's
    start time, so their difference is the exact start second, equal on every call."""
    status = "information_schema.GLOBAL_STATUS" if flavor == "mariadb" else "performance_schema.global_status"
    uid = "@@server_uid" if flavor == "mariadb" else "@@server_uuid"
    cur = conn.cursor()
    cur.execute(f"SELECT @@server_id, {uid}, "
                "UNIX_TIMESTAMP() - MAX(IF(VARIABLE_NAME = 'UPTIME', VARIABLE_VALUE, NULL)), "
                f"MAX(IF(VARIABLE_NAME = 'COM_RESET', VARIABLE_VALUE, NULL)) FROM {status} "
                "WHERE VARIABLE_NAME IN ('UPTIME', 'COM_RESET')")
    server_id, uid_value, started, resets = cur.fetchone()
    cur.close()
    return Instance(int(server_id), str(uid_value), int(started), int(resets or 0))


@dataclass(frozen=True)
class ServerBinlog:
    name: str
    size: int


def list_binlogs(conn) -> list[ServerBinlog]:
    """SHOW BINARY LOGS: oldest first; the last one is being written."""
    cur = conn.cursor()
    cur.execute("SHOW BINARY LOGS")
    files = [ServerBinlog(row[0], int(row[1])) for row in cur.fetchall()]
    cur.close()
    return files


def start_gtid(conn, name: str) -> str | None:
    """The GTID state a binlog starts with (MariaDB's Gtid_list, MySQL's Previous_gtids), as the
    server prints it; '' for a file without one, None when the file is gone (purged meanwhile)."""
    cur = conn.cursor()
    try:
        cur.execute("SHOW BINLOG EVENTS IN %s LIMIT 4", (name,))
    except Exception as exc:
        if mysql_errno(exc) == 1220:  # could not find target log
            return None
        raise
    rows = cur.fetchall()
    cur.close()
    return next((str(row[5]) for row in rows if row[2] in ("Gtid_list", "Previous_gtids")), "")
