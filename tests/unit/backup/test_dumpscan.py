"""The dump's own header and trailer are the source of its position and completeness."""
from __future__ import annotations

import pytest

from mysql_backup.dumpscan import DumpScanner
from mysql_backup.manifest import BinlogPosition

MARIADB = (b"-- MariaDB dump 10.19\n-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;\n"
           b"-- CHANGE MASTER TO MASTER_LOG_FILE='binlog.000012', MASTER_LOG_POS=4711;\n"
           + b"INSERT INTO `t` VALUES\n(1),\n(2);\n" * 5000
           + b"-- SET GLOBAL gtid_slave_pos='0-1-99';\n\n-- Dump completed on 2026-03-01  2:00:03\n")
MYSQL = (b"-- MySQL dump 10.13\nSET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33:1-5';\n"
         b"-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='mysql-bin.000003', SOURCE_LOG_POS=157;\n"
         b"-- Dump completed on 2026-03-01  2:00:03\n")


def scan(data: bytes, size: int) -> DumpScanner:
    scanner = DumpScanner(clock=lambda: 42.0)
    for start in range(0, len(data), size):
        scanner(memoryview(data)[start:start + size])
    return scanner


@pytest.mark.parametrize("chunk", [7, 4096, 1 << 20])
def test_mariadb_position_gtid_and_completion_across_chunk_sizes(chunk):
    scanner = scan(MARIADB, chunk)
    assert scanner.position() == BinlogPosition("binlog.000012", 4711, "0-1-99")
    assert scanner.completed and scanner.size == len(MARIADB) and scanner.position_seen_at == 42.0


def test_mysql_84_form():
    assert scan(MYSQL, 100).position() == BinlogPosition("mysql-bin.000003", 157, "3e11fa47-71ca-11e1-9e33:1-5")


def test_truncated_dump_is_not_complete():
    assert not scan(MARIADB[: len(MARIADB) // 2], 1000).completed
    assert scan(b"-- no position here\n", 10).position() is None
