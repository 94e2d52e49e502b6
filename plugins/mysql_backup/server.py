"""What a backup records about the server, read once per task."""
from __future__ import annotations

from dataclasses import dataclass

from mysql_common.session import ServerInfo, server_info


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
