"""Read the binlog coordinates and the completion line out of a dump stream as it flows.

The dump's own header is the only exact source of its snapshot position: a separate
SHOW MASTER STATUS would race with the application's writes. MariaDB prints the file and
position at the top and the GTID position at the end; MySQL prints both at the top.
"""
from __future__ import annotations

import re
import time

from mysql_backup.manifest import BinlogPosition

HEAD_LIMIT = 256 * 1024
TAIL_LIMIT = 64 * 1024
_POSITION = re.compile(rb"CHANGE (?:MASTER|REPLICATION SOURCE) TO (?:MASTER|SOURCE)_LOG_FILE='([^']+)', "
                       rb"(?:MASTER|SOURCE)_LOG_POS=(\d+)")
_MARIADB_GTID = re.compile(rb"SET GLOBAL gtid_slave_pos='([^']*)'")
_MYSQL_GTID = re.compile(rb"GTID_PURGED=(?:/\*!\d+ '\+'\*/ )?'([^']*)'")
_COMPLETED = re.compile(rb"\n-- Dump completed( on [^\n]*)?\n?$")


class DumpScanner:
    """A pipeline tap: counts bytes, keeps the head and tail, notes when the position appeared."""

    def __init__(self, clock=time.time):
        self.clock = clock
        self.size = 0
        self.head = bytearray()
        self.tail = b""
        self.position_seen_at: float | None = None

    def __call__(self, chunk: memoryview) -> None:
        self.size += len(chunk)
        if len(self.head) < HEAD_LIMIT:
            self.head += chunk[:HEAD_LIMIT - len(self.head)]
            if self.position_seen_at is None and _POSITION.search(self.head):
                self.position_seen_at = self.clock()
        if len(chunk) >= TAIL_LIMIT:
            self.tail = bytes(chunk[-TAIL_LIMIT:])
        else:
            self.tail = (self.tail + bytes(chunk))[-TAIL_LIMIT:]

    @property
    def completed(self) -> bool:
        """mysqldump/mariadb-dump end every complete dump with this comment."""
        return bool(_COMPLETED.search(self.tail))

    def position(self) -> BinlogPosition | None:
        match = _POSITION.search(self.head)
        if not match:
            return None
        gtid = _MARIADB_GTID.search(self.tail) or _MYSQL_GTID.search(self.head)
        return BinlogPosition(match[1].decode(), int(match[2]), gtid[1].decode() if gtid else None)
