"""How the backup code reaches a server: a Python connection and an option file for the CLIs.

The DAGs adapt the MySqlTargetHook to this interface; tests and the benchmark use
SimpleAccess. Credentials go to the command-line tools only through a 0600 option file
(`--defaults-extra-file`), never through argv, where any user could read them.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from typing import ContextManager, Iterator, Protocol

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

    @contextlib.contextmanager
    def option_file(self) -> Iterator[str]:
        lines = ["[client]", f"user={self.user}", f"host={self.host}", f"port={self.port}",
                 "loose-default-character-set=utf8mb4"]
        if self.password:
            escaped = self.password.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'password="{escaped}"')
        fd, path = tempfile.mkstemp(prefix="mysql-client-", suffix=".cnf")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write("\n".join(lines) + "\n")
            yield path
        finally:
            os.unlink(path)

    def describe(self) -> str:
        return f"{self.user}@{self.host}:{self.port}"
