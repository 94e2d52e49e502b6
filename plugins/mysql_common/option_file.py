"""The [client] option file handed to the command-line tools (dump, binlog, mysql)."""
from __future__ import annotations

import contextlib
import os
import tempfile
from typing import Iterator


@contextlib.contextmanager
def client_option_file(*, user: str, host: str, port: int, password: str | None,
                       extra: tuple[str, ...] = ()) -> Iterator[str]:
    """Path of a 0600 option file, deleted when the context ends.

    Passing it with --defaults-extra-file keeps the password out of the process list and
    out of every log line that shows a command.
    """
    lines = ["[client]", f"user={user}", f"host={host}", f"port={port}",
             # loose-: mariadb-binlog does not know this option and would refuse the file
             "loose-default-character-set=utf8mb4"]
    if password:
        escaped = password.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'password="{escaped}"')
    lines += extra
    fd, path = tempfile.mkstemp(prefix="mysql-client-", suffix=".cnf")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        yield path
    finally:
        os.unlink(path)
