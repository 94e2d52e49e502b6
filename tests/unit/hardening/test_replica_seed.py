"""How the seed tells the replica where to start: the paths the MariaDB integration test does not take
(no GTID in the manifest, MySQL 8.4 syntax) and the refusals."""
from __future__ import annotations

import pytest

from mysql_backup.manifest import BinlogPosition, FullManifest
from mysql_common.errors import ConfigurationError
from mysql_hardening.replica_seed import ReplicationSource, source_statement, wild_table_pattern

SOURCE = ReplicationSource("db1.internal", 3306, "repl", "pw")


def manifest(gtid):
    return FullManifest(
        backup_id="20260101T000000Z", server="s", database="shop", database_collation="utf8mb4_bin",
        started_at="", consistent_at="", finished_at="", server_version="", server_id=1,
        server_flavor="mariadb", binlog_format="ROW", position=BinlogPosition("binlog.000007", 1234, gtid),
        objects=[], recipients=[], tools={}, dump_options=[])


def test_mariadb_without_gtid_starts_at_file_and_position():
    sql, params, start = source_statement(SOURCE, manifest(None), mariadb=True)
    assert "MASTER_LOG_FILE = %s" in sql and "MASTER_USE_GTID = no" in sql
    assert params[-2:] == ["binlog.000007", 1234] and start == "binlog.000007:1234"


def test_mysql_uses_the_source_syntax_and_the_recorded_position():
    sql, params, _ = source_statement(SOURCE, manifest("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5"), mariadb=False)
    assert sql.startswith("CHANGE REPLICATION SOURCE TO ") and "MASTER" not in sql
    assert "SOURCE_LOG_POS = %s" in sql and params[-1] == 1234


def test_tls_extra_without_a_ca_is_refused():
    with pytest.raises(ConfigurationError, match="needs \"ca\""):
        source_statement(ReplicationSource("h", 3306, "u", "p", ssl_cert="/c.pem", ssl_key="/k.pem"),
                         manifest("0-1-5"), mariadb=True)


def test_tls_extra_becomes_verified_master_ssl():
    source = ReplicationSource("h", 3306, "u", "p", ssl_ca="/ca.pem", ssl_cert="/c.pem", ssl_key="/k.pem")
    sql, params, _ = source_statement(source, manifest("0-1-5"), mariadb=True)
    assert "MASTER_SSL = 1" in sql and "MASTER_SSL_VERIFY_SERVER_CERT = 1" in sql
    assert params[-3:] == ["/ca.pem", "/c.pem", "/k.pem"]


def test_replication_filter_takes_the_database_name_literally():
    assert wild_table_pattern("shop_db") == "shop\\_db.%"
