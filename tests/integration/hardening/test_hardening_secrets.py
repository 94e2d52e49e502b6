"""No password of the five accounts reaches the binary log, the audit log or the replica.

Two private mariadbd: a primary with a binary log and server_audit logging every statement
(QUERY events, broader than the project's own setting, so nothing hides behind the plugin's
masking), and a replica of it that writes its own binary log too. The first `mysql_hardening` run
on this fresh server goes through Airflow itself and must be green; then everything the servers
wrote is read back: the binlog over the replication protocol as the backup account (what a
thief with that account sees) and as raw files, the audit log, the replica's relay and binary logs.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import MySQLdb
import pytest

from mysql_hardening import accounts, passwords
from tests.support.hitl import dags_test
from test_replica import caught_up, resume
from tools.private_mariadb import PrivateMariaDB

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

ROOT = Path(__file__).resolve().parents[3]
USERS = {"migration": "shop_mig", "app": "shop_app", "reporting": "shop_report", "backup": "shop_backup",
         "monitor": "shop_monitor"}
CONNECTIONS = {"migration": "MYSQL_TARGET", "app": "MYSQL_APP", "reporting": "MYSQL_REPORTING",
               "backup": "MYSQL_BACKUP", "monitor": "MYSQL_MONITOR"}
PASSWORDS = {role: f"Pw-{role}-'x\\y\"z%_9" for role in USERS}
ROTATED = {role: f"Rotated-{role}-Q7#" for role in USERS}
AUDIT_EVERYTHING = {"plugin-load-add": "server_audit", "server-audit-logging": "ON",
                    "server-audit-events": "CONNECT,QUERY"}


@pytest.fixture(scope="module")
def cluster():
    primary = PrivateMariaDB(log_bin=True, server_id=1, options=AUDIT_EVERYTHING)
    replica = PrivateMariaDB(log_bin=True, server_id=2, options={"log-slave-updates": True})
    with primary, replica:
        # Replicate from the very first event of the fresh primary.
        replica.sql(f"CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {primary.port}, "
                    "MASTER_USER = 'root', MASTER_USE_GTID = slave_pos")
        resume(replica)
        primary.sql("CREATE DATABASE shop")
        primary.sql("CREATE TABLE shop.shop_order (id bigint AUTO_INCREMENT PRIMARY KEY, status varchar(20) "
                    "NOT NULL, created_at datetime(6) NOT NULL)")
        yield primary, replica


def connection(server, login: str, password: str, schema: str = "") -> str:
    return json.dumps({"conn_type": "mysql", "host": "127.0.0.1", "port": server.port, "login": login,
                       "password": password, "schema": schema})


def hardening_env(airflow_env: dict, primary) -> dict:
    env = dict(airflow_env)
    env["AIRFLOW_CONN_MYSQL_ADMIN"] = connection(primary, "root", "")
    for role, user in USERS.items():
        env[f"AIRFLOW_CONN_{CONNECTIONS[role]}"] = connection(primary, user, PASSWORDS[role],
                                                              "shop" if role == "migration" else "")
    return env


def secrets_in(data: bytes, passwords) -> list[str]:
    """Each password in its raw form and as the SQL literal a statement would carry."""
    found = []
    for password in passwords:
        forms = {password, accounts.string_literal(password)[1:-1]}
        found += [password for form in forms if form.encode() in data]
    return sorted(set(found))


def binlog_files(server) -> list[Path]:
    return sorted(server.datadir.glob("binlog.[0-9]*"))


def test_first_run_on_a_fresh_server_is_green_and_sends_no_password(cluster, airflow_env, tmp_path):
    primary, replica = cluster
    env = hardening_env(airflow_env, primary)
    run = dags_test("mysql_hardening", {}, env, [("approve_accounts", "Approve")], timeout=900)
    logs = run.stdout + run.stderr
    assert run.returncode == 0, "\n".join(line for line in logs.splitlines()
                                          if "error" in line.lower() or "failed" in line.lower())[-6000:]
    assert secrets_in(logs.encode(), PASSWORDS.values()) == []

    # The binlog as the backup account reads it remotely: statements there, passwords not.
    names = [row[0] for row in primary.sql("SHOW BINARY LOGS")]
    remote = subprocess.run(["mariadb-binlog", "--read-from-remote-server", "--host=127.0.0.1",
                             f"--port={primary.port}", f"--user={USERS['backup']}",
                             f"--password={PASSWORDS['backup']}", "--verbose", *names],
                            capture_output=True, check=True)
    text = remote.stdout
    assert text.count(b"CREATE USER") >= 5 and b"GRANT DELETE, INSERT, SELECT, UPDATE ON `shop`.*" in text
    assert secrets_in(text, PASSWORDS.values()) == []
    excerpt = [line for line in text.decode(errors="replace").splitlines()
               if line.startswith(("CREATE USER", "ALTER USER", "GRANT", "REVOKE", "DROP USER"))]
    out = ROOT / "build" / "hardening-binlog-readback.txt"
    out.parent.mkdir(exist_ok=True)
    out.write_text(f"mariadb-binlog --read-from-remote-server --user={USERS['backup']} --verbose {' '.join(names)}"
                   f"\n(account statements only; passwords searched: {len(PASSWORDS)}, found: 0)\n\n"
                   + "\n".join(excerpt) + "\n")
    for path in binlog_files(primary):
        assert secrets_in(path.read_bytes(), PASSWORDS.values()) == [], path

    audit = (primary.datadir / "server_audit.log").read_bytes()
    assert b"CREATE USER" in audit and b"shop_app" in audit
    assert secrets_in(audit, PASSWORDS.values()) == []

    caught_up(primary, replica)
    replica_logs = sorted(replica.datadir.glob("*relay-bin.[0-9]*")) + binlog_files(replica)
    assert replica_logs and any(b"CREATE USER" in p.read_bytes() for p in replica_logs)
    for path in replica_logs:
        assert secrets_in(path.read_bytes(), PASSWORDS.values()) == [], path
    # The hash replicated intact: the app logs in to the replica with its password.
    MySQLdb.connect(host="127.0.0.1", port=replica.port, user=USERS["app"], passwd=PASSWORDS["app"]).close()


def test_rerun_writes_nothing_and_rotation_writes_only_hashes(cluster):
    primary, replica = cluster
    for role, user in USERS.items():  # in case the Airflow run above did not get that far
        accounts.apply_role(primary.connect(), role, accounts.Account(user, "%", PASSWORDS[role]), "shop")
    primary.sql("SET GLOBAL server_audit_events = 'CONNECT,QUERY'")  # the DAG set the project's narrower list
    primary.sql("FLUSH BINARY LOGS")
    quiet = binlog_files(primary)[-1]
    for role, user in USERS.items():
        actions = accounts.apply_role(primary.connect(), role, accounts.Account(user, "%", PASSWORDS[role]), "shop")
        assert len(actions) == 1 and actions[0].startswith("privileges of"), actions
    assert b"USER" not in quiet.read_bytes() and b"GRANT" not in quiet.read_bytes()

    for role, user in USERS.items():
        actions = accounts.apply_role(primary.connect(), role, accounts.Account(user, "%", ROTATED[role]), "shop")
        assert len(actions) == 1 and "IDENTIFIED" in actions[0] and "***" in actions[0], actions
    caught_up(primary, replica)
    everything = b"".join(p.read_bytes() for p in binlog_files(primary) + binlog_files(replica))
    everything += (primary.datadir / "server_audit.log").read_bytes()
    assert secrets_in(everything, [*PASSWORDS.values(), *ROTATED.values()]) == []
    assert passwords.native_password_hash(ROTATED["app"]).encode() in everything  # only the hash went
    for server in (primary, replica):
        MySQLdb.connect(host="127.0.0.1", port=server.port, user=USERS["app"], passwd=ROTATED["app"]).close()
        with pytest.raises(MySQLdb.OperationalError):
            MySQLdb.connect(host="127.0.0.1", port=server.port, user=USERS["app"], passwd=PASSWORDS["app"])
