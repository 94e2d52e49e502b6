"""Each health check provoked on a private server, seen through the monitor account."""
from __future__ import annotations

import threading
import time

import MySQLdb
import pytest

from mysql_hardening import accounts, monitoring

pytestmark = pytest.mark.integration

PASSWORD = "mon-S3cret"


def monitor_server(private_mariadb, **options):
    server = private_mariadb(options=options)
    accounts.apply_role(server.connect(), "monitor", accounts.Account("monitor_u", "%", PASSWORD), "shop")
    return server


def as_monitor(server):
    return MySQLdb.connect(host="127.0.0.1", port=server.port, user="monitor_u", passwd=PASSWORD)


def by_key(results):
    return {r.key: r for r in results}


def wait_for(condition, what):
    # Polls 5 times a second: MariaDB refreshes its INNODB_TRX cache only when it was not read
    # in the last 100 ms, so faster polling would keep reading a stale list.
    for _ in range(300):
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def test_connection_usage_and_exhaustion(private_mariadb):
    server = monitor_server(private_mariadb, max_connections=10)
    th = monitoring.Thresholds(connection_usage_pct=80)
    held = [server.connect() for _ in range(8)]
    mon = as_monitor(server)
    results, samples = monitoring.run_checks(mon, th, {})
    conn_check = by_key(results)["connections"]
    assert conn_check.status == "alert" and conn_check.code == "CONNECTION_POOL_EXHAUSTED"
    assert conn_check.details["threads_connected"] >= 9
    # Fill the rest with a normal account until the server refuses; then the monitor is refused too.
    server.sql("CREATE USER filler@'%'")
    with pytest.raises(MySQLdb.OperationalError) as refused:
        for _ in range(20):
            held.append(MySQLdb.connect(host="127.0.0.1", port=server.port, user="filler"))
    assert refused.value.args[0] == 1040
    with pytest.raises(MySQLdb.OperationalError) as monitor_refused:
        as_monitor(server)
    assert monitoring.connections_refused(monitor_refused.value).code == "CONNECTION_POOL_EXHAUSTED"
    for conn in held:
        conn.close()
    results, samples_after = monitoring.run_checks(mon, th, samples)
    after = by_key(results)["connections"]
    assert after.status == "alert" and after.details["limit_reached_since_last_run"]  # in between
    assert after.details["threads_connected"] == 1
    results, _ = monitoring.run_checks(mon, th, samples_after)
    assert by_key(results)["connections"].status == "ok"


def test_slow_running_statement(private_mariadb):
    server = monitor_server(private_mariadb)
    sleeper = server.connect()
    sleeper_id = sleeper.thread_id()
    def sleep():
        try:
            sleeper.cursor().execute("SELECT SLEEP(60) AS 'secret-literal'")
        except MySQLdb.OperationalError as exc:  # 1317: interrupted by the KILL QUERY below
            assert exc.args[0] == 1317

    thread = threading.Thread(target=sleep)
    thread.start()
    try:
        wait_for(lambda: server.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                                    "WHERE INFO LIKE 'SELECT SLEEP(60)%' AND TIME >= 1")[0][0],
                 "the sleeping statement runs for a second")
        results, _ = monitoring.run_checks(as_monitor(server), monitoring.Thresholds(slow_query_seconds=1), {})
        slow = by_key(results)["slow_queries"]
        assert slow.status == "alert" and slow.code == "QUERY_TIMEOUT"
        statement = slow.details["running_over_threshold"][0]["statement"]
        assert statement.startswith("SELECT SLEEP(?)") and "secret-literal" not in statement
    finally:
        server.sql(f"KILL QUERY {sleeper_id}")
        thread.join()
        sleeper.close()


def test_slow_statement_digests_and_top_statements(private_mariadb):
    server = monitor_server(private_mariadb, **{"performance-schema": "ON"})
    th = monitoring.Thresholds(slow_query_seconds=1)
    mon = as_monitor(server)
    results, samples = monitoring.run_checks(mon, th, {})
    assert by_key(results)["slow_queries"].status == "ok"  # first run: baseline only
    server.sql("SELECT SLEEP(1.2)")
    results, samples = monitoring.run_checks(mon, th, {**samples, "uptime": 0})
    slow = by_key(results)["slow_queries"]
    assert slow.status == "alert"
    assert "SLEEP" in slow.details["slow_digests_since_last_check"][0]["statement"]
    assert slow.details["top_statements_by_total_time"][0]["total_seconds"] >= 1
    results, _ = monitoring.run_checks(mon, th, {**samples, "uptime": 0})
    assert by_key(results)["slow_queries"].status == "ok"  # nothing slow since


def test_long_transaction(private_mariadb):
    server = monitor_server(private_mariadb)
    server.sql("CREATE DATABASE shop")
    server.sql("CREATE TABLE shop.t (i int PRIMARY KEY)")
    server.sql("INSERT INTO shop.t VALUES (1)")
    holder = server.connect()
    cur = holder.cursor()
    cur.execute("BEGIN")
    cur.execute("SELECT * FROM shop.t WHERE i = 1 FOR UPDATE")
    th = monitoring.Thresholds(long_transaction_seconds=1)
    mon = as_monitor(server)
    wait_for(lambda: server.sql("SELECT COUNT(*) FROM information_schema.INNODB_TRX "
                                "WHERE trx_started <= NOW() - INTERVAL 1 SECOND")[0][0], "a 1 s old transaction")
    found = by_key(monitoring.run_checks(mon, th, {})[0])["long_transactions"]
    assert found.status == "alert" and found.code == "LONG_TRANSACTION"
    assert found.details["transactions"][0]["thread_id"] == holder.thread_id()
    holder.close()  # the server rolls back on disconnect
    wait_for(lambda: not server.sql("SELECT COUNT(*) FROM information_schema.INNODB_TRX")[0][0], "rollback")
    after = by_key(monitoring.run_checks(mon, th, {})[0])["long_transactions"]
    assert after.status == "ok", after.details


def test_disk_usage_against_declared_capacity(private_mariadb):
    server = monitor_server(private_mariadb)
    mon = as_monitor(server)
    disk = by_key(monitoring.run_checks(mon, monitoring.Thresholds(), {})[0])["disk"]
    assert disk.status == "ok" and disk.details["innodb_tablespaces_bytes"] > 0
    tiny = monitoring.Thresholds(disk_capacity_gb=0.01, disk_usage_pct=90)
    disk = by_key(monitoring.run_checks(mon, tiny, {})[0])["disk"]
    assert disk.status == "alert" and disk.code == "DISK_USAGE_HIGH"


def test_missing_privilege_makes_one_check_unavailable(private_mariadb):
    server = monitor_server(private_mariadb)
    server.sql("REVOKE PROCESS ON *.* FROM monitor_u@'%'")
    results = by_key(monitoring.run_checks(as_monitor(server), monitoring.Thresholds(), {})[0])
    assert results["long_transactions"].status == "unavailable"
    assert results["connections"].status == "ok"


def test_monitor_account_reads_what_query_insights_needs_and_no_more(private_mariadb):
    """mysql_query_insights reads performance_schema through this account: its reads work with
    the table-by-table grant, and the tables left out are refused."""
    from query_insights import digest_source, index_advisor

    server = monitor_server(private_mariadb, **{"performance-schema": "ON",
                                                "performance-schema-consumer-events-statements-history-long": "ON"})
    server.sql("CREATE DATABASE shop")
    server.sql("CREATE TABLE shop.t (id int PRIMARY KEY, v int, KEY v (v))")
    server.sql("SELECT COUNT(*) FROM shop.t WHERE v = 42")
    mon = as_monitor(server)
    digest_source.check_ready(mon, "the test server")
    digests = digest_source.read_digests(mon)
    assert len(digests) > 0
    digest_source.read_events(mon, 0)
    digest_source.sample_statements(mon, list(digests["digest"])[:3])
    index_advisor.unused_indexes(mon, {}, "shop", 10**9, 0)
    for table in ("user_variables_by_thread", "events_statements_history", "threads", "session_connect_attrs"):
        with pytest.raises(MySQLdb.OperationalError) as refused:
            mon.cursor().execute(f"SELECT COUNT(*) FROM performance_schema.{table}")
        assert refused.value.args[0] == 1142, table
