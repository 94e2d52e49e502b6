"""A read replica seeded from a full backup, with two private mariadbd (primary with binlog, replica).

The seed goes through the Airflow task callable, with the connections and Variables an operator
would define: the replica must end up with every row exactly once, whether the row was in the
backup, written between backup and seed, or written afterwards. Replication runs over TLS:
the replication account is REQUIRE SSL, so it works only if the seed honoured the ssl extra.
"""
from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime, timezone

import pytest

from mysql_backup.access import SimpleAccess
from mysql_backup.crypto import AgeKey
from mysql_backup.full_backup import take_full_backup
from mysql_backup.storage import LocalStorage
from mysql_common.errors import PermanentError
from mysql_hardening import incidents, monitoring
from mysql_hardening.replica_seed import wait_running
from test_hardening_tls import make_ca, make_cert
from tools.private_mariadb import PrivateMariaDB

pytestmark = pytest.mark.integration

REPL_PASSWORD = "r3pl'pa\"ss"


def rows(server, sql: str):
    return server.sql(sql, "shop")


def insert_orders(server, first: int, last: int) -> None:
    rows(server, f"INSERT INTO orders SELECT seq, CONCAT('customer ', seq), seq * 1.5 FROM seq_{first}_to_{last}")
    # events has no key: a transaction applied twice would show as a duplicate row here.
    rows(server, f"INSERT INTO events SELECT seq, 'created' FROM seq_{first}_to_{last}")


def caught_up(primary, replica) -> None:
    """Wait (bounded) until the replica applied everything the primary logged so far."""
    pos = primary.sql("SELECT @@gtid_binlog_pos")[0][0]
    assert replica.sql(f"SELECT MASTER_GTID_WAIT('{pos}', 60)")[0][0] == 0, replica.sql("SHOW SLAVE STATUS")


def purge_older_binlogs(server) -> None:
    """PURGE keeps a file InnoDB's crash recovery still needs until the binlog checkpoint moves on
    (about a second): repeat, bounded, until only the newest file is left."""
    server.sql("FLUSH BINARY LOGS")
    newest = server.sql("SHOW BINARY LOGS")[-1][0]
    deadline = time.monotonic() + 30
    while server.sql("SHOW BINARY LOGS")[0][0] != newest:
        assert time.monotonic() < deadline, f"the server kept binlogs before {newest}"
        server.sql(f"PURGE BINARY LOGS TO '{newest}'")
        time.sleep(0.2)


def slave_status(server) -> dict:
    conn = server.connect()
    try:
        cur = conn.cursor()
        cur.execute("SHOW SLAVE STATUS")
        return dict(zip([d[0] for d in cur.description], cur.fetchone()))
    finally:
        conn.close()


def check(replica):
    conn = replica.connect()
    try:
        return monitoring.check_replica(conn, "mysql_replica", monitoring.Thresholds())
    finally:
        conn.close()


def resume(replica) -> None:
    replica.sql("START SLAVE")
    conn = replica.connect()
    try:
        wait_running(conn, 60)
    finally:
        conn.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """Primary (binlog, TLS) and a replica; the primary's `shop` backed up, then written to again."""
    certs = tmp_path_factory.mktemp("certs")
    make_ca(certs, "ca")
    make_cert(certs, "server", "ca", "IP:127.0.0.1,DNS:localhost")
    primary = PrivateMariaDB(log_bin=True, server_id=1, options={
        "ssl-ca": certs / "ca.pem", "ssl-cert": certs / "server.pem", "ssl-key": certs / "server-key.pem"})
    replica = PrivateMariaDB(server_id=2)
    with primary, replica:
        primary.sql("CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci")
        rows(primary, "CREATE TABLE orders (id int PRIMARY KEY, customer varchar(40) NOT NULL, "
                      "total decimal(10,2) NOT NULL)")
        rows(primary, "CREATE TABLE events (order_id int NOT NULL, what varchar(20) NOT NULL)")
        conn = primary.connect()
        conn.cursor().execute("CREATE USER repl@'%%' IDENTIFIED BY %s REQUIRE SSL", (REPL_PASSWORD,))
        conn.cursor().execute("GRANT REPLICATION SLAVE ON *.* TO repl@'%'")
        conn.close()
        insert_orders(primary, 1, 100)
        purge_older_binlogs(primary)  # as in production: replaying from the very start is impossible

        identity = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
        location = tmp_path_factory.mktemp("backups")
        manifest = take_full_backup(SimpleAccess("127.0.0.1", primary.port, "root", "", "shop"),
                                    LocalStorage(location), AgeKey.from_config(secret=identity), server="shopdb")
        insert_orders(primary, 101, 150)  # after the backup, before the seed: must come by replication

        with pytest.MonkeyPatch.context() as mp:
            mysql = {"conn_type": "mysql", "host": "127.0.0.1", "login": "root"}
            mp.setenv("AIRFLOW_CONN_MYSQL_TARGET", json.dumps({**mysql, "port": primary.port, "schema": "shop"}))
            mp.setenv("AIRFLOW_CONN_MYSQL_REPLICA", json.dumps({**mysql, "port": replica.port}))
            mp.setenv("AIRFLOW_CONN_MYSQL_REPLICATION", json.dumps({
                "conn_type": "mysql", "host": "127.0.0.1", "port": primary.port, "login": "repl",
                "password": REPL_PASSWORD, "extra": {"ssl": {"ca": str(certs / "ca.pem")}}}))
            mp.setenv("AIRFLOW_VAR_MYSQL_BACKUP_LOCATION", str(location))
            mp.setenv("AIRFLOW_VAR_MYSQL_BACKUP_AGE_SECRET_KEY", identity)
            mp.setenv("AIRFLOW_VAR_MYSQL_BACKUP_SERVER_NAME", "shopdb")
            from task_callables.hardening_tasks import seed_replica

            params = {"replica_conn_id": "mysql_replica", "replication_conn_id": "mysql_replication",
                      "replica_backup_id": "latest", "reseed_replica": False}

            def seed(**changes):
                return seed_replica({**params, **changes})

            report = seed()
            yield {"primary": primary, "replica": replica, "manifest": manifest, "report": report,
                   "seed": seed, "mp": mp}


def test_seed_starts_at_the_backup_position_over_tls(cluster):
    report, manifest = cluster["report"], cluster["manifest"]
    assert report["action"] == "seeded" and report["backup_id"] == manifest.backup_id
    assert manifest.position.gtid and report["start"] == f"GTID {manifest.position.gtid}"
    assert report["status"]["io_running"] == "Yes" and report["status"]["sql_running"] == "Yes"
    status = slave_status(cluster["replica"])
    assert status["Using_Gtid"] == "Slave_Pos" and status["Master_SSL_Allowed"] == "Yes"
    assert cluster["replica"].sql("SELECT @@read_only")[0][0] == 1


def test_later_writes_arrive_once(cluster):
    primary, replica = cluster["primary"], cluster["replica"]
    insert_orders(primary, 151, 200)
    rows(primary, "UPDATE orders SET total = total + 1 WHERE id % 10 = 0")
    rows(primary, "DELETE FROM orders WHERE id = 7")
    # Another database on the primary: outside the backup, so outside the replica.
    primary.sql("CREATE DATABASE scratch")
    primary.sql("CREATE TABLE t (id int PRIMARY KEY)", "scratch")
    primary.sql("INSERT INTO t VALUES (1), (2)", "scratch")
    caught_up(primary, replica)
    query = "SELECT id, customer, total FROM orders ORDER BY id"
    assert rows(replica, query) == rows(primary, query)
    assert len(rows(replica, query)) == 199
    events = "SELECT order_id, COUNT(*) FROM events GROUP BY order_id HAVING COUNT(*) <> 1"
    assert rows(replica, events) == ()
    assert rows(replica, "SELECT COUNT(*) FROM events")[0][0] == 200
    assert replica.sql("SHOW DATABASES LIKE 'scratch'") == ()
    assert check(replica).status == "ok"


def test_rerun_on_a_running_replica_changes_nothing(cluster):
    primary, replica = cluster["primary"], cluster["replica"]
    before = rows(replica, "SELECT COUNT(*) FROM events")
    report = cluster["seed"]()
    assert report["action"] == "already_replicating" and report["backup_id"] is None
    insert_orders(primary, 201, 210)
    caught_up(primary, replica)
    assert rows(replica, "SELECT COUNT(*) FROM events")[0][0] == before[0][0] + 10
    assert rows(replica, "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM events")[0] == (210, 210)


@pytest.mark.parametrize("thread", ["SQL_THREAD", "IO_THREAD"])
def test_stopped_thread_opens_one_incident(cluster, thread):
    replica = cluster["replica"]
    assert check(replica).status == "ok"
    replica.sql(f"STOP SLAVE {thread}")
    try:
        first, second = check(replica), check(replica)
    finally:
        resume(replica)
    assert first.status == "alert" and first.code == monitoring.REPLICATION_LAG_HIGH
    assert f"{thread.split('_')[0]} thread No" in first.summary
    now = datetime.now(timezone.utc)
    state = incidents.update(None, [first.as_dict()], now)
    state = incidents.mark_delivered(state, incidents.pending(state)[0])
    state = incidents.update(state, [second.as_dict()], now)
    assert incidents.pending(state) == []  # still the same incident: no second alert
    healed = check(replica)
    assert healed.status == "ok"
    state = incidents.update(state, [healed.as_dict()], now)
    assert [n["kind"] for n in incidents.pending(state)] == ["resolved"]


def test_sql_error_is_reported_with_its_message(cluster):
    primary, replica = cluster["primary"], cluster["replica"]
    # A row written on the replica behind replication's back (root passes read_only).
    rows(replica, "INSERT INTO orders VALUES (5000, 'stray', 1)")
    rows(primary, "INSERT INTO orders VALUES (5000, 'real', 2)")
    deadline = time.monotonic() + 60
    while slave_status(replica)["Slave_SQL_Running"] == "Yes":  # until the event reached the replica
        assert time.monotonic() < deadline, "the conflicting row did not stop the SQL thread"
        time.sleep(0.1)
    result = check(replica)
    assert result.status == "alert" and result.code == monitoring.REPLICATION_LAG_HIGH
    assert "SQL thread No" in result.summary and "Duplicate entry '5000'" in result.summary
    rows(replica, "DELETE FROM orders WHERE id = 5000")
    resume(replica)
    caught_up(primary, replica)
    assert rows(replica, "SELECT customer FROM orders WHERE id = 5000") == (("real",),)


def test_reseed_with_a_wrong_password_fails_clearly_then_recovers(cluster):
    primary, replica, mp = cluster["primary"], cluster["replica"], cluster["mp"]
    good = os.environ["AIRFLOW_CONN_MYSQL_REPLICATION"]
    mp.setenv("AIRFLOW_CONN_MYSQL_REPLICATION", json.dumps({**json.loads(good), "password": "wrong"}))
    with pytest.raises(PermanentError, match="IO thread .*Access denied"):
        cluster["seed"](reseed_replica=True)
    assert REPL_PASSWORD not in str(slave_status(replica))
    mp.setenv("AIRFLOW_CONN_MYSQL_REPLICATION", good)
    report = cluster["seed"](reseed_replica=True)
    assert report["action"] == "seeded"
    caught_up(primary, replica)
    query = "SELECT id, customer, total FROM orders ORDER BY id"
    assert rows(replica, query) == rows(primary, query)
    assert rows(replica, "SELECT COUNT(*), COUNT(DISTINCT order_id) FROM events")[0] == (210, 210)
