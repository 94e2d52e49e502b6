"""Opening the SQLite source safely, with an answer for every way it can be unusable.

The file is only ever opened through SQLite, never with open(): on POSIX, closing any
descriptor of a file drops every fcntl lock the process holds on it, SQLite's included, so a
plain open()/close() while another of our connections reads the file would let the
application commit under that reader (false corruption reports, and real corruption in a
process that also writes). SQLite keeps its descriptors open until its last lock is gone.
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from sqlite_to_mysql.errors import SourceError


def open_source(path: str | os.PathLike, *, read_only: bool = True, timeout: float = 10.0) -> sqlite3.Connection:
    """Open the SQLite file; a read-only open never creates or changes the file.

    Fails fast with SourceError naming the problem and the fix: missing file, not a
    SQLite file, corrupt, locked by a writer for longer than `timeout`.
    """
    path = Path(path)
    if not path.exists():
        raise SourceError(f"SQLite file {path} does not exist: point the sqlite_source connection "
                          f"(host = absolute path) at the application's database file")
    if not path.is_file():
        raise SourceError(f"{path} is not a regular file")
    if not os.access(path, os.R_OK):
        raise SourceError(f"{path} is not readable by this user ({os.getuid()}): fix its permissions")
    if path.stat().st_size == 0:  # SQLite would take it for a new, empty database
        raise SourceError(f"{path} is an empty file: check that the connection points at the right file")
    mode = "ro" if read_only else "rw"
    uri = f"file:{quote(str(path.resolve()))}?mode={mode}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, check_same_thread=False,
                               isolation_level=None)
        conn.execute("PRAGMA query_only = 1" if read_only else "PRAGMA query_only = 0")
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise SourceError(describe_sqlite_error(path, exc)) from None
    return conn


def describe_sqlite_error(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if "not a database" in text:  # SQLITE_NOTADB: the header is not SQLite's
        return f"{path} is not a SQLite 3 database (wrong header): check that the connection points at the right file"
    if "locked" in text or "busy" in text:
        return (f"{path} is locked by another process ({text}): retry when the writer has finished, "
                f"or stop the application's writes")
    if "malformed" in text or "corrupt" in text:
        return (f"{path} is corrupt ({text}): restore it from a backup or repair it with "
                f"`sqlite3 {path} .recover`, then migrate the repaired copy")
    return f"cannot read {path}: {text}"
