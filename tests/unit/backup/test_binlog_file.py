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
    assert span.tail_offset == 4 + len(event(100, 15))  # all but the format description: a small file


def test_without_data_a_file_has_no_identifying_tail(tmp_path):
    gtid_list, checkpoint = event(100, 163), event(100, 161)
    assert inspect_binlog(write(tmp_path, event(100, 15), gtid_list, checkpoint, event(101, 4))).tail_offset is None


@pytest.mark.parametrize("big", [False, True])
def test_tail_is_the_last_bytes_and_always_the_last_data(tmp_path, big):
    """The last 64 KiB from an event boundary; if one event is bigger, from its start."""
    rows = [event(101, 162, b"g" * 20)] + [event(102, 23, bytes([n]) * (30_000 if not big else 100_000))
                                            for n in range(4)]
    events = [event(100, 15), *rows, event(103, 16), event(103, 4)]
    path = write(tmp_path, *events)
    span = inspect_binlog(path)
    starts = [4 + sum(len(e) for e in events[:i]) for i in range(len(events))]
    assert span.tail_offset == (starts[5] if big else min(s for s in starts if s >= path.stat().st_size - 65536))
    tail = path.read_bytes()[span.tail_offset:]
    assert digest_from(path, span.tail_offset) == hashlib.sha256(tail).hexdigest()
    # A copy read from that position (`--raw --start-position`) starts with the format description.
    remote = tmp_path / "remote"
    remote.write_bytes(MAGIC + events[0] + tail)
    assert len(tail) <= 65536 or big
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
