"""Walking binlog event headers: time span, clean close, cut events."""
from __future__ import annotations

import hashlib
import struct

import pytest

from mysql_backup.binlog_file import MAGIC, BadBinlog, digest_after_first_event, digest_from, inspect_binlog


def event(ts: int, kind: int, body: bytes = b"x" * 20, flags: int = 0) -> bytes:
    return struct.pack("<IBIIIH", ts, kind, 1, 19 + len(body), 0, flags) + body


def write(tmp_path, *events) -> object:
    path = tmp_path / "binlog.000001"
    path.write_bytes(MAGIC + b"".join(events))
    return path


def test_span_and_clean_close(tmp_path):
    span = inspect_binlog(write(tmp_path, event(100, 15), event(105, 2), event(0, 4), event(130, 4)))
    assert span.first_event_at.timestamp() == 100 and span.last_event_at.timestamp() == 130
    assert span.events == 4 and span.cleanly_closed
    assert span.tail_offset is None  # no GTID event: no transaction


def test_tail_is_the_last_transaction_to_the_end(tmp_path):
    events = [event(100, 15), event(101, 162, b"g1" * 10), event(101, 30), event(102, 162, b"g2" * 10),
              event(102, 30, b"row" * 7), event(103, 4)]
    path = write(tmp_path, *events)
    span = inspect_binlog(path)
    assert span.tail_offset == 4 + sum(len(e) for e in events[:3])
    tail = b"".join(events[3:])
    assert digest_from(path, span.tail_offset) == hashlib.sha256(tail).hexdigest()
    # A copy read from that position (`--raw --start-position`) starts with the format description.
    remote = tmp_path / "remote"
    remote.write_bytes(MAGIC + events[0] + tail)
    assert digest_after_first_event(remote) == digest_from(path, span.tail_offset)


def test_crashed_file_is_whole_but_not_cleanly_closed(tmp_path):
    span = inspect_binlog(write(tmp_path, event(100, 15, flags=1), event(105, 2)))
    assert not span.cleanly_closed


def test_cut_event_and_bad_magic(tmp_path):
    path = write(tmp_path, event(100, 15), event(105, 2))
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(BadBinlog, match="runs past the end"):
        inspect_binlog(path)
    path.write_bytes(b"nope" + b"\0" * 40)
    with pytest.raises(BadBinlog, match="bad magic"):
        inspect_binlog(path)
