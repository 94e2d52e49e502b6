"""Each account can do its job and is refused one step beyond it (shared MariaDB server)."""
from __future__ import annotations

import MySQLdb
import pytest

from mysql_hardening import accounts
from mysql_hardening.accounts import Account

pytestmark = pytest.mark.integration

PASSWORD = "S3cret-'quote\\slash%pw"  # quotes, backslash and % must survive the rendering


@pytest.fixture
def login(mysql_params, new_database):
    """Connect as a test account (autocommit, like the apps); closed before databases are dropped."""
    opened = []

    def connect(user, database=""):
        conn = MySQLdb.connect(host=mysql_params["host"], port=mysql_params["port"], user=user,
                               passwd=PASSWORD, db=database, local_infile=1, autocommit=True)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


def refused(conn, sql) -> int:
    with pytest.raises(MySQLdb.OperationalError) as err:
        conn.cursor().execute(sql)
    return err.value.args[0]


def apply(mysql_connect, role, user, database):
    return accounts.apply_role(mysql_connect(), role, Account(user, "%", PASSWORD), database,
                               admin_login="root")


def test_app_user_does_dml_and_no_ddl(mysql_connect, login, shop_db, accounts):
    database, _ = shop_db
    user = accounts()
    actions = apply(mysql_connect, "app", user, database)
    assert not any(PASSWORD in a or "quote" in a for a in actions)
    conn = login(user, database)
    cur = conn.cursor()
    cur.execute("INSERT INTO auth_user VALUES (2, 'bob', 'b@x', 1, NOW(), NULL)")
    cur.execute("UPDATE auth_user SET email = 'bob@x' WHERE id = 2")
    cur.execute("SELECT id FROM auth_user WHERE id = 2 FOR UPDATE")
    cur.execute("DELETE FROM auth_user WHERE id = 2")
    conn.commit()
    assert refused(conn, "CREATE TABLE t_new (i int)") == 1142
    assert refused(conn, "ALTER TABLE auth_user ADD COLUMN x int") == 1142
    assert refused(conn, "DROP TABLE shop_review") == 1142
    assert refused(conn, "TRUNCATE TABLE shop_review") == 1142
    assert refused(conn, "CREATE INDEX i ON auth_user (email)") == 1142
    assert refused(conn, "SELECT * FROM mysql.user") == 1142


def test_reporting_user_reads_only(mysql_connect, login, shop_db, accounts):
    database, _ = shop_db
    user = accounts()
    apply(mysql_connect, "reporting", user, database)
    conn = login(user, database)
    cur = conn.cursor()
    cur.execute("SELECT COUNT(*) FROM shop_order")
    assert cur.fetchone()[0] == 2
    assert refused(conn, "INSERT INTO auth_user VALUES (3, 'c', 'c@x', 1, NOW(), NULL)") == 1142
    assert refused(conn, "UPDATE shop_order SET status = 'x'") == 1142


def test_migration_user_builds_schema_in_its_database_only(mysql_connect, login, shop_db,
                                                          accounts, new_database, tmp_path):
    database, _ = shop_db
    user = accounts()
    apply(mysql_connect, "migration", user, database)
    conn = login(user, database)
    cur = conn.cursor()
    cur.execute("CREATE TABLE staged (id int PRIMARY KEY, user_id int, "
                "FOREIGN KEY (user_id) REFERENCES auth_user (id))")
    data = tmp_path / "rows.tsv"
    data.write_text("1\t1\n")
    cur.execute(f"LOAD DATA LOCAL INFILE '{data}' INTO TABLE staged")
    cur.execute("CREATE INDEX staged_user ON staged (user_id)")
    cur.execute("ALTER TABLE staged ADD COLUMN note varchar(10)")
    cur.execute("ANALYZE TABLE staged")
    cur.fetchall()
    cur.execute("DROP TABLE staged")
    other = new_database("hother")
    assert refused(conn, f"CREATE DATABASE `{other}`") == 1044
    assert refused(conn, f"CREATE USER `{user}x`@'%'") == 1227
    assert refused(conn, "SET GLOBAL max_connections = 10") == 1227


def test_monitor_user_sees_server_state_not_rows(mysql_connect, login, shop_db, accounts):
    database, _ = shop_db
    user = accounts()
    apply(mysql_connect, "monitor", user, database)
    conn = login(user)
    cur = conn.cursor()
    for sql in ("SELECT COUNT(*) FROM information_schema.INNODB_TRX",
                "SELECT COUNT(*) FROM information_schema.INNODB_SYS_TABLESPACES",
                "SHOW REPLICA STATUS", "SELECT COUNT(*) FROM information_schema.PROCESSLIST"):
        cur.execute(sql)
        cur.fetchall()
    assert refused(conn, f"SELECT * FROM `{database}`.shop_order") == 1142
    assert refused(conn, "KILL 1") in (1094, 1095)


def test_apply_is_idempotent_and_revokes_extras(mysql_connect, shop_db, accounts, new_database):
    database, admin = shop_db
    user = accounts()
    apply(mysql_connect, "app", user, database)
    assert apply(mysql_connect, "app", user, database)[-1].startswith("privileges of")
    other = new_database("hother")
    cur = admin.cursor()
    cur.execute(f"CREATE DATABASE `{other}`")
    cur.execute(f"CREATE TABLE `{other}`.t (i int)")
    cur.execute(f"GRANT DROP ON `{database}`.* TO '{user}'@'%' WITH GRANT OPTION")
    cur.execute(f"GRANT SELECT ON `{other}`.* TO '{user}'@'%'")
    cur.execute(f"GRANT INSERT (i) ON `{other}`.t TO '{user}'@'%'")
    cur.execute(f"GRANT PROCESS ON *.* TO '{user}'@'%'")
    actions = apply(mysql_connect, "app", user, database)
    assert any(a.startswith("REVOKE DROP") for a in actions)
    assert any("REVOKE PROCESS" in a for a in actions)
    assert any("REVOKE GRANT OPTION" in a for a in actions)
    cur.execute(f"SHOW GRANTS FOR '{user}'@'%'")
    grants = " ".join(row[0] for row in cur.fetchall())
    assert other not in grants and "DROP" not in grants and "PROCESS" not in grants
    assert "SELECT, INSERT, UPDATE, DELETE ON" in grants


def test_grant_on_underscore_database_covers_only_that_database(mysql_connect, login, accounts,
                                                                new_database):
    # GRANT ON shop_x.* would also cover shopAx: the template escapes the wildcard.
    name = new_database("h_db")
    lookalike = name.replace("_", "A", 1)
    admin = mysql_connect()
    cur = admin.cursor()
    for db in (name, lookalike):
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.t (i int)")
    user = accounts()
    try:
        apply(mysql_connect, "reporting", user, name)
        conn = login(user)
        conn.cursor().execute(f"SELECT * FROM `{name}`.t")
        assert refused(conn, f"SELECT * FROM `{lookalike}`.t") == 1142
    finally:
        cur.execute(f"DROP DATABASE IF EXISTS `{lookalike}`")


def test_refuses_root_and_passwordless(mysql_connect, shop_db):
    database, _ = shop_db
    from mysql_common.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="system account"):
        accounts.apply_role(mysql_connect(), "app", Account("root", "%", "x"), database)
    with pytest.raises(ConfigurationError, match="no password"):
        accounts.apply_role(mysql_connect(), "app", Account("someone", "%", ""), database)
