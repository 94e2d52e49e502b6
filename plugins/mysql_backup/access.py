"""How the backup code reaches a server: a Python connection and an option file for the CLIs.

The DAGs adapt the MySqlServerHook to this interface; tests and the benchmark use
SimpleAccess. Credentials go to the command-line tools only through a 0600 option file
(`--defaults-extra-file`), never through argv, where any user could read them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ContextManager, Protocol

from mysql_common.option_file import client_option_file
from mysql_common.session import configure_session


class MySqlAccess(Protocol):
    database: str

    def connect(self):
        """A DB-API connection without a default database (utf8mb4, strict, UTC)."""

    def option_file(self) -> ContextManager[str]:
        """Path of a [client] option file, deleted when the context ends.

        Options not every client tool knows carry the `loose-` prefix (mariadb-binlog
        refuses a plain `default-character-set`)."""

    def describe(self) -> str:
        """user@host:port, for messages (never the password)."""


@dataclass
class SimpleAccess:
    host: str
    port: int
    user: str
    password: str
    database: str

    def connect(self):
        import MySQLdb

        conn = MySQLdb.connect(host=self.host, port=self.port, user=self.user, passwd=self.password,
                               charset="utf8mb4", connect_timeout=10)
        configure_session(conn)
        return conn

    def option_file(self) -> ContextManager[str]:
        return client_option_file(user=self.user, host=self.host, port=self.port, password=self.password)

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"
