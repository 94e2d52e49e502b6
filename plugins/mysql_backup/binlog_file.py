"""Just enough of the binlog file format to check a copy and learn its time span.

A binlog is a 4-byte magic followed by events; every event starts with a 19-byte header
(timestamp, type, server id, event size, next position, flags). Walking the headers tells
when the file was opened and closed, and proves the copy is whole event by event. A binlog
closed cleanly has the "in use" flag cleared in its first event and ends with a rotate (or
stop) event; one cut by a server crash has neither, and is still worth keeping.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

MAGIC = b"\xfebin"
HEADER = struct.Struct("<IBIIIH")
FORMAT_DESCRIPTION = 15
ROTATE = 4
STOP = 3
IN_USE_FLAG = 0x1


class BadBinlog(ValueError):
    pass


@dataclass(frozen=True)
class BinlogSpan:
    first_event_at: datetime
    last_event_at: datetime
    events: int
    cleanly_closed: bool


def inspect_binlog(path: Path) -> BinlogSpan:
    """Walk the event headers of a binlog copy; raise BadBinlog if an event is cut or malformed."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if handle.read(4) != MAGIC:
            raise BadBinlog(f"{path.name}: not a binlog (bad magic)")
        offset, events, first, last, last_type, in_use = 4, 0, None, None, None, False
        while offset < size:
            header = handle.read(HEADER.size)
            if len(header) < HEADER.size:
                raise BadBinlog(f"{path.name}: truncated event header at {offset}")
            timestamp, kind, _server, length, _next, flags = HEADER.unpack(header)
            if length < HEADER.size or offset + length > size:
                raise BadBinlog(f"{path.name}: event at {offset} runs past the end of the file")
            if events == 0:
                if kind != FORMAT_DESCRIPTION:
                    raise BadBinlog(f"{path.name}: does not start with a format description event")
                in_use = bool(flags & IN_USE_FLAG)
                first = timestamp
            if timestamp:
                last = timestamp
            last_type = kind
            events += 1
            offset += length
            handle.seek(offset)
    if events == 0:
        raise BadBinlog(f"{path.name}: no events")
    return BinlogSpan(_utc(first), _utc(last), events, not in_use and last_type in (ROTATE, STOP))


def _utc(timestamp: int | None) -> datetime:
    return datetime.fromtimestamp(timestamp or 0, timezone.utc)
