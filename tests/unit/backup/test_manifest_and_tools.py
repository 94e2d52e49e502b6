"""Manifests round-trip through JSON; tools are identified by what they say, not their name."""
from __future__ import annotations

import pytest

from backup_builders import T0, binlog, full
from mysql_backup.manifest import BinlogManifest, Checksums, FullManifest, TableChecksum, binlog_index
from mysql_backup.tools import detect_tools, tool_flavor
from mysql_common.errors import ConfigurationError


def test_manifests_roundtrip():
    original = full("20260301T020000Z", T0)
    with_sums = FullManifest(**{**original.__dict__, "checksums": Checksums(
        original.position, "2026-03-01T02:00:05+00:00", [TableChecksum("t", 3, "123")])})
    assert FullManifest.from_json(with_sums.to_json()) == with_sums
    shipped = binlog(7, T0, T0)
    assert BinlogManifest.from_json(shipped.to_json()) == shipped
    with pytest.raises(ValueError, match="not a format-1 full manifest"):
        FullManifest.from_json(shipped.to_json())


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
