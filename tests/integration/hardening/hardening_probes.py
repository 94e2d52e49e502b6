"""Log in as an account and try, one statement at a time, what its job needs and what lies beyond.

A probe is "allowed" when the server let the statement past its privilege check (it ran, or failed
for a reason that comes after the check, such as --secure-file-priv), "denied" when the server
refused it for lack of a privilege, and "limited" when an account limit refused it. Any other error
fails the test: a probe that cannot tell is worthless. `test_probes_tell_allowed_from_denied`
runs every probe as root (all allowed) and as an account with no privilege (all denied).

Probes that change something are undone as root right after (`cleanup`), so the same server can
be probed again and again.
"""
from __future__ import annotations

import subprocess
from contextlib import contextmanager
from dataclasses import dataclass

import MySQLdb

from tools.private_mariadb import PrivateMariaDB

# Refusals for a missing privilege, as MariaDB 10.11 reports them.
DENIED = {
    1044,  # access denied to database
    1045,  # access denied (FILE, login)
    1095,  # not owner of thread (KILL)
    1142,  # command denied on table
    1143,  # command denied on column
    1203,  # more than max_user_connections sessions
    1227,  # needs a global privilege
    1370,  # command denied on routine
    1959,  # invalid role (SET ROLE of a role not granted)
}
LIMITED = {1226}  # max_questions, max_updates, max_connections per hour exceeded

# Objects the probes need; created once per server by `prepare`.
SETUP = [
    "CREATE DATABASE IF NOT EXISTS shop",
    "CREATE DATABASE IF NOT EXISTS other",
    "CREATE TABLE IF NOT EXISTS other.t (i int)",
    "CREATE TABLE IF NOT EXISTS shop.orders (id int AUTO_INCREMENT PRIMARY KEY, v int, w int)",
    "CREATE TABLE IF NOT EXISTS shop.scratch (i int)",
    "CREATE OR REPLACE VIEW shop.v AS SELECT id FROM shop.orders",
    "CREATE TRIGGER IF NOT EXISTS shop.tr BEFORE INSERT ON shop.scratch FOR EACH ROW SET NEW.i = NEW.i",
    "CREATE OR REPLACE PROCEDURE shop.p() SELECT 1",
    "CREATE EVENT IF NOT EXISTS shop.e ON SCHEDULE EVERY 1 DAY DO SELECT 1",
    "CREATE USER IF NOT EXISTS probe_target@'%'",
    "CREATE ROLE IF NOT EXISTS r_admin",
    "GRANT ALL ON *.* TO r_admin WITH GRANT OPTION",
]


@dataclass(frozen=True)
class Probe:
    name: str
    sql: str
    passed_check: frozenset = frozenset()  # errors raised after the privilege check passed
    cleanup: tuple = ()
    after: tuple = ()  # run in the probing session after an allowed probe (UNLOCK TABLES)


PROBES = [
    Probe("select", "SELECT COUNT(*) FROM shop.orders"),
    Probe("insert", "INSERT INTO shop.orders (v, w) VALUES (1, 1)"),
    Probe("update", "UPDATE shop.orders SET v = v WHERE id = 0"),
    Probe("delete", "DELETE FROM shop.orders WHERE id = 0"),
    Probe("create table", "CREATE TABLE shop.probe_new (i int)", cleanup=("DROP TABLE IF EXISTS shop.probe_new",)),
    Probe("alter table", "ALTER TABLE shop.orders COMMENT = 'probed'", cleanup=("ALTER TABLE shop.orders COMMENT = ''",)),
    Probe("drop table", "DROP TABLE shop.scratch", cleanup=(
        "CREATE TABLE IF NOT EXISTS shop.scratch (i int)",
        "CREATE TRIGGER IF NOT EXISTS shop.tr BEFORE INSERT ON shop.scratch FOR EACH ROW SET NEW.i = NEW.i")),
    Probe("truncate", "TRUNCATE TABLE shop.scratch"),
    Probe("create index", "CREATE INDEX probe_idx ON shop.orders (w)",
          cleanup=("ALTER TABLE shop.orders DROP INDEX IF EXISTS probe_idx",)),
    Probe("create view", "CREATE VIEW shop.probe_view AS SELECT 1 AS x", cleanup=("DROP VIEW IF EXISTS shop.probe_view",)),
    Probe("temporary table", "CREATE TEMPORARY TABLE shop.probe_tmp (i int)"),
    Probe("lock tables", "LOCK TABLES shop.orders READ", after=("UNLOCK TABLES",)),
    Probe("create routine", "CREATE PROCEDURE shop.probe_p() SELECT 1", cleanup=("DROP PROCEDURE IF EXISTS shop.probe_p",)),
    Probe("execute routine", "CALL shop.p()"),
    Probe("show view", "SHOW CREATE VIEW shop.v"),
    Probe("show trigger", "SHOW CREATE TRIGGER shop.tr"),
    Probe("show event", "SHOW CREATE EVENT shop.e"),
    Probe("read mysql.proc", "SELECT COUNT(*) FROM mysql.proc"),
    Probe("read mysql.user", "SELECT COUNT(*) FROM mysql.user"),
    Probe("read other database", "SELECT COUNT(*) FROM other.t"),
    Probe("create database", "CREATE DATABASE probe_db", cleanup=("DROP DATABASE IF EXISTS probe_db",)),
    Probe("process list of all", "SELECT COUNT(*) FROM information_schema.INNODB_TRX"),
    Probe("list binlogs", "SHOW BINARY LOGS"),
    Probe("replica status", "SHOW REPLICA STATUS"),
    Probe("flush binlogs", "FLUSH BINARY LOGS"),
    Probe("statement digests", "SELECT COUNT(*) FROM performance_schema.events_statements_summary_by_digest"),
    Probe("statement history", "SELECT COUNT(*) FROM performance_schema.events_statements_history"),
    Probe("create user", "CREATE USER probe_u@'%'", cleanup=("DROP USER IF EXISTS probe_u@'%'",)),
    Probe("grant to others", "GRANT SELECT ON shop.orders TO probe_target@'%'",
          cleanup=("REVOKE ALL PRIVILEGES, GRANT OPTION FROM probe_target@'%'",)),
    Probe("set global", "SET GLOBAL slow_query_log = @@global.slow_query_log"),
    Probe("kill other sessions", "KILL QUERY {victim}"),
    Probe("write files", "SELECT 1 INTO OUTFILE '/nonexistent-dir/probe'", passed_check=frozenset({1, 1290})),
    Probe("use role r_admin", "SET ROLE r_admin", after=("SET ROLE NONE",)),
]
# Not SQL: reading the binary log over the replication protocol, and four sessions at once.
EXTRA = ["read binlog remotely", "4 sessions at once"]
NAMES = [p.name for p in PROBES] + EXTRA

# The job of each account (include/sql/users/mariadb/*.sql), as probes. Everything else is denied.
EXPECTED = {
    "app": {"select", "insert", "update", "delete", "4 sessions at once"},
    "reporting": {"select", "4 sessions at once"},
    "migration": {"select", "insert", "update", "delete", "create table", "alter table", "drop table",
                  "truncate", "create index", "4 sessions at once"},
    "backup": {"select", "show view", "show trigger", "show event", "read mysql.proc", "list binlogs",
               "flush binlogs", "read binlog remotely", "4 sessions at once"},
    "monitor": {"process list of all", "list binlogs", "replica status", "statement digests"},
}


@contextmanager
def probed_server():
    """A private mariadbd with a binary log, the probes' objects and the ed25519 plugin (for the
    hostile 'another authentication plugin')."""
    with PrivateMariaDB(log_bin=True) as server:
        server.sql("INSTALL SONAME 'auth_ed25519'")
        for statement in SETUP:
            server.sql(statement)
        yield server


def connect(server, user: str, password: str, via: str):
    """TCP lands on user@127.0.0.1 or user@'%'; the socket on user@localhost or user@'%'."""
    where = {"unix_socket": server.socket} if via == "socket" else {"host": "127.0.0.1", "port": server.port}
    return MySQLdb.connect(user=user, passwd=password, autocommit=True, **where)


def can_login(server, user: str, password: str, via: str) -> bool:
    try:
        connect(server, user, password, via).close()
        return True
    except MySQLdb.OperationalError as exc:
        if exc.args[0] in (1045, 1698):
            return False
        raise


def outcome(errno: int | None, probe_name: str, passed_check=frozenset()) -> str:
    if errno is None or errno in passed_check:
        return "allowed"
    if errno in DENIED:
        return "denied"
    if errno in LIMITED:
        return "limited"
    raise AssertionError(f"probe {probe_name!r}: error {errno} says neither allowed nor denied")


def probe(server, user: str, password: str, via: str = "tcp") -> dict[str, str]:
    """Every probe, in one session as the account; returns probe name -> allowed/denied/limited."""
    results = {}
    conn = connect(server, user, password, via)
    victim = server.connect()
    try:
        for p in PROBES:
            cur = conn.cursor()
            errno = None
            try:
                cur.execute(p.sql.format(victim=victim.thread_id()))
                if cur.description:
                    cur.fetchall()
                for statement in p.after:
                    cur.execute(statement)
            except MySQLdb.Error as exc:
                errno = exc.args[0]
            finally:
                cur.close()
            results[p.name] = outcome(errno, p.name, p.passed_check)
            for statement in p.cleanup:
                server.sql(statement)
    finally:
        conn.close()
        victim.close()
    results["read binlog remotely"] = _read_binlog(server, user, password, via)
    results["4 sessions at once"] = _sessions(server, user, password, via, 4)
    return results


def _read_binlog(server, user, password, via) -> str:
    first = server.sql("SHOW BINARY LOGS")[0][0]
    where = ["--socket", server.socket] if via == "socket" else ["--host=127.0.0.1", f"--port={server.port}"]
    run = subprocess.run(["mariadb-binlog", "--read-from-remote-server", *where, f"--user={user}",
                          f"--password={password}", first],
                         capture_output=True, text=True, timeout=60)
    if run.returncode == 0:
        return "allowed"
    if "Access denied" in run.stderr or "max_user_connections" in run.stderr:
        return "denied"
    if "max_questions" in run.stderr or "max_connections_per_hour" in run.stderr:
        return "limited"
    raise AssertionError(f"mariadb-binlog as {user}: {run.stderr[-300:]}")


def _sessions(server, user, password, via, count) -> str:
    opened = []
    try:
        for _ in range(count):
            opened.append(connect(server, user, password, via))
        return "allowed"
    except MySQLdb.OperationalError as exc:
        if exc.args[0] == 1226 and "max_user_connections" in exc.args[1]:
            return "denied"  # the account's own session limit: what the probe asks about
        return outcome(exc.args[0], "sessions")
    finally:
        for conn in opened:
            conn.close()


def mismatches(role: str, results: dict[str, str]) -> dict[str, str]:
    """Probes whose outcome is not what the role's job says, as {probe: outcome}."""
    return {name: got for name, got in results.items()
            if got != ("allowed" if name in EXPECTED[role] else "denied")}


def markdown_table(columns: dict[str, dict[str, str]]) -> str:
    """One row per probe, one column per account: the table of the closing note."""
    mark = {"allowed": "yes", "denied": "-", "limited": "LIMITED"}
    lines = ["| probe | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for name in NAMES:
        lines.append(f"| {name} | " + " | ".join(mark[c[name]] for c in columns.values()) + " |")
    return "\n".join(lines)
