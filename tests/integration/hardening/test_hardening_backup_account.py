"""The backup account has exactly what the dump and binlog shipping need on MariaDB 10.11:
the whole job works, and without any one of its privileges the job fails or loses something."""
from __future__ import annotations

import subprocess

import pytest

from mysql_hardening import accounts
from mysql_hardening.accounts import Account

pytestmark = pytest.mark.integration

PASSWORD = "bk-S3cret"
OBJECTS = ["CREATE TABLE t (id int PRIMARY KEY, v varchar(10))", "INSERT INTO t VALUES (1, 'a')",
           "CREATE VIEW v AS SELECT id FROM t",
           "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = UPPER(NEW.v)",
           "CREATE PROCEDURE p() SELECT 42", "CREATE FUNCTION f() RETURNS INT DETERMINISTIC RETURN 7",
           "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM t WHERE id < 0"]
EXPECTED_IN_DUMP = ["INSERT INTO `t`", "VIEW `v`", "TRIGGER tr BEFORE", "PROCEDURE `p`", "FUNCTION `f`",
                    "EVENT `e`", "MASTER_LOG_POS", "gtid_slave_pos"]


def backup_job(server, tmp_path) -> list[str]:
    """Run what the backup DAGs run; return what went wrong (empty = complete)."""
    login = ["--host=127.0.0.1", f"--port={server.port}", "--user=backup_u", f"--password={PASSWORD}"]
    problems = []
    dump = subprocess.run(["mariadb-dump", *login, "--single-transaction", "--routines", "--events",
                           "--triggers", "--master-data=2", "--gtid", "--databases", "shop"],
                          capture_output=True, text=True)
    if dump.returncode:
        problems.append(f"dump failed: {dump.stderr.strip()[:120]}")
    problems += [f"dump lacks {item}" for item in EXPECTED_IN_DUMP if item not in dump.stdout]
    for sql in ("FLUSH BINARY LOGS", "SHOW BINARY LOGS"):
        run = subprocess.run(["mariadb", *login, "-e", sql], capture_output=True, text=True)
        if run.returncode:
            problems.append(f"{sql} failed")
    ship = subprocess.run(["mariadb-binlog", *login, "--read-from-remote-server", "--raw",
                           f"--result-file={tmp_path}/", "binlog.000001"], capture_output=True, text=True)
    if ship.returncode:
        problems.append("binlog shipping failed")
    return problems


@pytest.fixture
def server(private_mariadb):
    srv = private_mariadb(log_bin=True)
    srv.sql("CREATE DATABASE shop")
    for statement in OBJECTS:
        srv.sql(statement, "shop")
    return srv


def test_backup_account_is_sufficient_and_minimal(server, tmp_path):
    admin = server.connect()
    actions = accounts.apply_role(admin, "backup", Account("backup_u", "%", PASSWORD), "shop")
    assert not any(PASSWORD in a for a in actions)
    assert backup_job(server, tmp_path) == []

    template = accounts.load_template("backup", "mariadb", "shop")
    for level, privileges in template.grants.items():
        on = level.on
        for privilege in sorted(privileges):
            server.sql(f"REVOKE {privilege} ON {on} FROM backup_u@'%'")
            try:
                assert backup_job(server, tmp_path), f"{privilege} ON {on} is not needed"
            finally:
                server.sql(f"GRANT {privilege} ON {on} TO backup_u@'%'")
