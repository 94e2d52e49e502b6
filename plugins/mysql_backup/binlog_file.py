"""Just enough of the binlog file format to check a copy, learn its time span and identify it.

A binlog is a 4-byte magic followed by events; every event starts with a 19-byte header
(timestamp, type, server id, event size, next position, flags). Walking the headers tells
when the file was opened and closed, and proves the copy is whole event by event. A binlog
closed cleanly has the "in use" flag cleared in its first event and ends with a rotate (or
stop) event; one cut by a server crash has neither, and is still worth keeping.

Names and GTIDs repeat after a binlog numbering reset, and a file without data is only
timestamps and GTID state, so what identifies a file is its content: its last TAIL_BYTES
from an event boundary, always including the last event that carries data (a statement, row
images, the annotated statement text) (`tail_offset`, and the SHA-256 of the tail). A
server's file is compared by reading just that tail.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

MAGIC = b"\xfebin"
HEADER = struct.Struct("<IBIIIH")
FORMAT_DESCRIPTION = 15
ROTATE = 4
STOP = 3
# Events that carry data: query, intvar, rand, user var, rows (v1, v2), MariaDB's annotate
# rows and compressed query/rows events.
DATA_EVENTS = {2, 5, 13, 14, 23, 24, 25, 30, 31, 32, 160, *range(165, 172)}
TAIL_BYTES = 64 * 1024
IN_USE_FLAG = 0x1


class BadBinlog(ValueError):
    pass


@dataclass(frozen=True)
class BinlogSpan:
    first_event_at: datetime
    last_event_at: datetime
    events: int
    cleanly_closed: bool
    tail_offset: int | None  # where the identifying tail starts; None: no data in the file


def inspect_binlog(path: Path) -> BinlogSpan:
    """Walk the event headers of a binlog copy; raise BadBinlog if an event is cut or malformed."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        if handle.read(4) != MAGIC:
            raise BadBinlog(f"{path.name}: not a binlog (bad magic)")
        offset, events, first, last, last_type, in_use, data, tail = 4, 0, None, None, None, False, None, None
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
            if kind in DATA_EVENTS:
                data = offset
            if tail is None and events and offset >= size - TAIL_BYTES:  # never the format description
                tail = offset
            last_type = kind
            events += 1
            offset += length
            handle.seek(offset)
    if events == 0:
        raise BadBinlog(f"{path.name}: no events")
    tail = None if data is None else min(data, tail if tail is not None else data)
    return BinlogSpan(_utc(first), _utc(last), events, not in_use and last_type in (ROTATE, STOP), tail)


def digest_from(path: Path, offset: int) -> str:
    """SHA-256 of the file's bytes from offset to the end."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        handle.seek(offset)
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def digest_after_first_event(path: Path) -> str:
    """For a copy read from a position (`--raw --start-position`): the server sends the format
    description event first, then the events from that position on; digest those."""
    with open(path, "rb") as handle:
        if handle.read(4) != MAGIC:
            raise BadBinlog(f"{path.name}: not a binlog (bad magic)")
        header = handle.read(HEADER.size)
        if len(header) < HEADER.size:
            raise BadBinlog(f"{path.name}: no events")
        _ts, kind, _server, length, _next, _flags = HEADER.unpack(header)
        if kind != FORMAT_DESCRIPTION:
            raise BadBinlog(f"{path.name}: does not start with a format description event")
    return digest_from(path, 4 + length)


def _utc(timestamp: int | None) -> datetime:
    return datetime.fromtimestamp(timestamp or 0, timezone.utc)
