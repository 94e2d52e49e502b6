"""Manifests round-trip through JSON; tools are identified by what they say, not their name."""
from __future__ import annotations

import pytest

import json
from datetime import datetime, timedelta, timezone

from backup_builders import T0, binlog, epoch_of, full
from mysql_backup.manifest import BinlogManifest, EpochHead, FullManifest, TableChecksum, binlog_index, \
    parse_point_in_time
from mysql_backup.tools import detect_tools, tool_flavor
from mysql_common.errors import ConfigurationError


def test_manifests_roundtrip():
    original = full("20260301T020000Z", T0)
    with_sums = FullManifest(**{**original.__dict__, "table_checksums": [TableChecksum("t", 3, "ab" * 32)]})
    assert FullManifest.from_json(with_sums.to_json()) == with_sums
    shipped = binlog(7, T0, T0)
    assert BinlogManifest.from_json(shipped.to_json()) == shipped
    head = epoch_of([shipped]).head
    assert EpochHead.from_json(head.to_json()) == head
    with pytest.raises(ValueError, match="not a full manifest"):
        FullManifest.from_json(shipped.to_json())


def test_an_older_manifest_format_is_refused_with_what_to_do():
    old = json.loads(full("x", T0).to_json())
    old["format"] = 1
    with pytest.raises(ValueError, match="manifest format 1.*take a new full backup"):
        FullManifest.from_json(json.dumps(old).encode())


UTC_INSTANT = datetime(2026, 12, 6, 3, 18, 8, tzinfo=timezone.utc)


@pytest.mark.parametrize("text", ["2026-12-06T03:18:08Z", "2026-12-06T04:18:08+01:00", "2026-12-05T22:18:08-05:00",
                                  "2026-12-06 03:18:08", "2026-12-06T08:48:08+05:30", " 2026-12-06T03:18:08.000Z "])
def test_point_in_time_in_any_notation_is_the_utc_instant(text):
    moment = parse_point_in_time(text)
    assert moment == UTC_INSTANT and moment.utcoffset() == timedelta(0)


def test_point_in_time_latest_and_garbage():
    assert parse_point_in_time("latest") is None and parse_point_in_time("") is None
    with pytest.raises(ConfigurationError, match="point_in_time 'yesterday'"):
        parse_point_in_time("yesterday")


def test_binlog_index():
    assert binlog_index("mysql-bin.000123") == ("mysql-bin", 123)
    assert binlog_index("a.b.1234567") == ("a.b", 1234567)
    with pytest.raises(ValueError):
        binlog_index("binlog.index")


@pytest.mark.parametrize("text, flavor", [
    ("mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)", "mariadb"),
    ("/usr/bin/mysqlbinlog Ver 3.5 for debian-linux-gnu at x86_64", "mariadb"),
    ("mysqldump  Ver 8.4.3 for Linux on x86_64 (MySQL Community Server - GPL)", "mysql"),
    ("mysqlbinlog  Ver 8.4.3 for Linux on x86_64 (MySQL Community Server - GPL)", "mysql"),
])
def test_tool_flavor(text, flavor):
    assert tool_flavor(text) == flavor


def test_detection_on_this_machine():
    tools = detect_tools("mariadb")
    assert tools["dump"].flavor == "mariadb" and "MariaDB" in tools["dump"].version
    assert set(tools.versions()) == {"dump", "binlog", "client", "zstd", "age", "age_keygen"}
    # Debian's mysqldump is MariaDB's: it must not pass for MySQL 8.4's.
    with pytest.raises(ConfigurationError, match="no mysql dump tool"):
        detect_tools("mysql", ("dump", "binlog"))
