"""The five accounts walked around by an insider, then one hardening run, then log in and try.

A private mariadbd with a binary log. Each account starts from a hostile state: a role holding ALL
that is its default role, column grants WITH GRANT OPTION, ALL on its own database, a routine and a
proxy grant, another database, global privileges, account limits, another authentication plugin
with a password the insider knows, and two more host entries of the same login holding ALL (one
for TCP logins from 127.0.0.1, one for socket logins as localhost). One run must converge it, and
then the account can do exactly its job: checked by logging in over TCP and over the socket.
"""
from __future__ import annotations

import json
import os

import MySQLdb
import pytest

from hardening_probes import NAMES, can_login, markdown_table, mismatches, probe, probed_server
from mysql_common.errors import OperatorFacingError
from mysql_hardening import accounts, passwords
from mysql_hardening.accounts import Account

pytestmark = pytest.mark.integration

USERS = {"app": "shop_app", "reporting": "shop_report", "migration": "shop_mig", "backup": "shop_backup",
         "monitor": "shop_monitor"}
PASSWORDS = {role: f"{role}-S3cret-'q\\\"%_{i}" for i, role in enumerate(USERS)}
INSIDER = "insider-knows-this"


@pytest.fixture(scope="module")
def server():
    with probed_server() as srv:
        yield srv


@pytest.fixture(autouse=True)
def fresh_logins(server):
    """Each test starts with none of the five logins, at any host."""
    for user, host in server.sql("SELECT User, Host FROM mysql.user WHERE User LIKE 'shop\\_%' OR User = ''"):
        server.sql(f"DROP USER '{user}'@'{host}'")


def account(role: str, password: str | None = None) -> Account:
    return Account(USERS[role], "%", PASSWORDS[role] if password is None else password)


def harden(server, role: str, password: str | None = None, conn=None) -> list[str]:
    """What one mysql_hardening run does for one account."""
    admin = conn or server.connect()
    try:
        accounts.drop_anonymous(server.connect())
        return accounts.apply_role(admin, role, account(role, password), "shop", admin_login="root")
    finally:
        if conn is None:
            admin.close()


def login_state(server, user: str) -> dict:
    """Everything the server says about every host entry of a login, as root."""
    hosts = [h for (h,) in server.sql(f"SELECT Host FROM mysql.user WHERE User = '{user}' AND is_role = 'N'")]
    return {host: (server.sql(f"SHOW CREATE USER '{user}'@'{host}'")[0][0],
                   sorted(row[0] for row in server.sql(f"SHOW GRANTS FOR '{user}'@'{host}'")))
            for host in sorted(hosts)}


def hostile(role: str) -> list[str]:
    user = USERS[role]
    me = f"{user}@'%'"
    password = PASSWORDS[role].replace("\\", "\\\\").replace("'", "\\'")
    return [
        f"GRANT r_admin TO {me} WITH ADMIN OPTION",
        f"SET DEFAULT ROLE r_admin FOR {me}",
        f"GRANT SELECT (v), UPDATE (w) ON shop.orders TO {me} WITH GRANT OPTION",
        f"GRANT ALL ON shop.* TO {me}",
        f"GRANT EXECUTE ON PROCEDURE shop.p TO {me} WITH GRANT OPTION",
        f"GRANT PROXY ON root@localhost TO {me}",
        f"GRANT SELECT, INSERT ON other.* TO {me}",
        f"GRANT SUPER, PROCESS, FILE, CREATE USER ON *.* TO {me}",
        f"GRANT SELECT ON mysql.user TO {me}",
        f"ALTER USER {me} WITH MAX_USER_CONNECTIONS 1 MAX_QUERIES_PER_HOUR 500",
        f"ALTER USER {me} IDENTIFIED VIA ed25519 USING PASSWORD('{INSIDER}') "
        f"OR mysql_native_password USING PASSWORD('{INSIDER}2')",
        # Other host entries with the real password: the insider knows it, and the server
        # picks the most specific host, so logins land here, not on user@'%'.
        f"CREATE USER {user}@'127.0.0.1' IDENTIFIED BY '{password}'",
        f"GRANT ALL ON *.* TO {user}@'127.0.0.1' WITH GRANT OPTION",
        f"CREATE USER {user}@'localhost' IDENTIFIED BY '{password}'",
        f"GRANT ALL ON *.* TO {user}@'localhost' WITH GRANT OPTION",
        # An anonymous account matches every user name from its host.
        f"CREATE USER ''@'::1' IDENTIFIED BY '{password}'",
        "GRANT ALL ON *.* TO ''@'::1'",
    ]


def test_probes_tell_allowed_from_denied(server):
    """The probe table itself: root may do everything, an account without grants nothing."""
    assert set(probe(server, "root", "").values()) == {"allowed"}
    server.sql("CREATE USER IF NOT EXISTS nobody@'%' IDENTIFIED BY 'nobody-pw'")
    got = probe(server, "nobody", "nobody-pw")
    assert {n for n, o in got.items() if o != "denied"} == {"4 sessions at once"}, got


def test_every_account_walked_around_converges_in_one_run(server, request):
    before, after = {}, {}
    for role in USERS:
        harden(server, role)
        for statement in hostile(role):
            server.sql(statement)
        before[role] = probe(server, USERS[role], PASSWORDS[role])
        harden(server, role)
        after[role] = probe(server, USERS[role], PASSWORDS[role])
        over_socket = probe(server, USERS[role], PASSWORDS[role], via="socket")
        assert mismatches(role, after[role]) == {}, (role, after[role])
        assert mismatches(role, over_socket) == {}, (role, over_socket)
        for via in ("tcp", "socket"):
            assert not can_login(server, USERS[role], INSIDER, via)
            assert not can_login(server, USERS[role], INSIDER + "2", via)
        assert list(login_state(server, USERS[role])) == ["%"]  # the other host entries are gone
        again = harden(server, role)
        assert len(again) == 1 and again[0].startswith(f"privileges of '{USERS[role]}'@'%' already match"), again
    # The hostile state really was a walk-around: every account could do far more than its job.
    for role in USERS:
        assert {"create user", "read mysql.user", "grant to others", "kill other sessions"} <= {
            n for n, o in before[role].items() if o == "allowed"}, before[role]
    table = ("Before the run (hostile state):\n\n" + markdown_table(before)
             + "\n\nAfter one hardening run (TCP; the socket gives the same):\n\n" + markdown_table(after))
    out = os.path.join(str(request.config.rootpath), "build", "hardening-probe-table.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(table + "\n")
    print(table)
    assert set(NAMES) == set(after["app"])


def test_anonymous_account_catching_the_logins_is_dropped(server):
    """''@'127.0.0.1' beats shop_app@'%' for logins from 127.0.0.1 (most specific host first)."""
    harden(server, "app")
    server.sql(f"CREATE USER ''@'127.0.0.1' IDENTIFIED BY {accounts.string_literal(PASSWORDS['app'])}")
    server.sql("GRANT ALL ON *.* TO ''@'127.0.0.1'")
    assert probe(server, "shop_app", PASSWORDS["app"])["read mysql.user"] == "allowed"
    conn = server.connect()
    try:
        assert accounts.plan_anonymous(conn) == ["DROP USER ''@'127.0.0.1'"]
    finally:
        conn.close()
    harden(server, "app")
    assert mismatches("app", probe(server, "shop_app", PASSWORDS["app"])) == {}
    assert login_state(server, "") == {}


def test_column_grant_with_grant_option_is_revoked(server):
    harden(server, "app")
    server.sql("GRANT SELECT (v) ON shop.orders TO shop_app@'%' WITH GRANT OPTION")
    harden(server, "app")
    grants = login_state(server, "shop_app")["%"][1]
    assert not any("orders" in g or "GRANT OPTION" in g for g in grants), grants


def test_account_limits_are_reset_to_the_template(server):
    harden(server, "migration")
    harden(server, "monitor")
    server.sql("ALTER USER shop_mig@'%' WITH MAX_USER_CONNECTIONS 1")
    server.sql("ALTER USER shop_monitor@'%' WITH MAX_USER_CONNECTIONS 50 MAX_UPDATES_PER_HOUR 3")
    actions = harden(server, "migration")
    assert any("MAX_USER_CONNECTIONS 0" in a for a in actions), actions
    harden(server, "monitor")
    assert "MAX_USER_CONNECTIONS" not in login_state(server, "shop_mig")["%"][0]
    monitor = login_state(server, "shop_monitor")["%"][0]
    assert "MAX_USER_CONNECTIONS 3" in monitor and "MAX_UPDATES" not in monitor, monitor
    held = [MySQLdb.connect(host="127.0.0.1", port=server.port, user="shop_mig", passwd=PASSWORDS["migration"])
            for _ in range(3)]
    for conn in held:
        conn.close()


def test_default_role_holding_all_is_taken_away(server):
    harden(server, "app")
    server.sql("GRANT r_admin TO shop_app@'%'")
    server.sql("SET DEFAULT ROLE r_admin FOR shop_app@'%'")
    assert probe(server, "shop_app", PASSWORDS["app"])["read mysql.user"] == "allowed"
    harden(server, "app")
    assert mismatches("app", probe(server, "shop_app", PASSWORDS["app"])) == {}
    assert login_state(server, "shop_app")["%"][1] == sorted([
        f"GRANT USAGE ON *.* TO `shop_app`@`%` IDENTIFIED BY PASSWORD '{passwords.native_password_hash(PASSWORDS['app'])}'",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON `shop`.* TO `shop_app`@`%`"])


class FailAt:
    """Test double of a DB-API connection: the n-th statement that changes an account fails, as
    a server error would. No real server fails on demand at an arbitrary step."""

    CHANGES = ("GRANT", "REVOKE", "ALTER", "CREATE", "DROP", "SET DEFAULT", "RENAME")

    def __init__(self, conn, n: int):
        self.conn, self.n, self.seen = conn, n, 0

    def cursor(self):
        outer, real = self, self.conn.cursor()

        class Cursor:
            def execute(self, sql, args=None):
                if sql.lstrip().upper().startswith(FailAt.CHANGES):
                    outer.seen += 1
                    if outer.seen == outer.n:
                        raise MySQLdb.OperationalError(1205, "Lock wait timeout exceeded (injected)")
                return real.execute(sql, args)

            def __getattr__(self, name):
                return getattr(real, name)

        return Cursor()

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_failure_at_any_step_leaves_the_account_as_it_was(server):
    harden(server, "app")
    for statement in hostile("app"):
        server.sql(statement)
    start = login_state(server, "shop_app")
    failed_at = []
    for n in range(1, 60):
        conn = server.connect()
        try:
            harden(server, "app", conn=FailAt(conn, n))
        except OperatorFacingError as exc:
            failed_at.append(n)
            assert login_state(server, "shop_app") == start, f"step {n}: {exc}"
            assert ("exactly as before" if n > 1 else "Nothing had been applied") in str(exc), str(exc)
            assert PASSWORDS["app"] not in str(exc)
            continue
        finally:
            conn.close()
        break
    assert len(failed_at) >= 10  # every step of the plan was made to fail once
    assert mismatches("app", probe(server, "shop_app", PASSWORDS["app"])) == {}


def test_admin_without_admin_option_on_a_role_changes_nothing(server):
    """A real refusal half-way: the admin may grant everything but not revoke a role it does not
    administer. The steps before it are undone and the error says so."""
    server.sql("CREATE USER IF NOT EXISTS hardener@'%' IDENTIFIED BY 'hardener-pw'")
    server.sql("GRANT ALL ON *.* TO hardener@'%' WITH GRANT OPTION")
    server.sql("CREATE ROLE IF NOT EXISTS r_foreign")
    harden(server, "reporting")
    server.sql("REVOKE SELECT ON shop.* FROM shop_report@'%'")  # something to grant first
    server.sql("GRANT r_foreign TO shop_report@'%'")
    server.sql("SET DEFAULT ROLE r_foreign FOR shop_report@'%'")
    start = login_state(server, "shop_report")
    admin = MySQLdb.connect(host="127.0.0.1", port=server.port, user="hardener", passwd="hardener-pw")
    try:
        with pytest.raises(OperatorFacingError) as failure:
            accounts.apply_role(admin, "reporting", account("reporting"), "shop", admin_login="hardener")
    finally:
        admin.close()
    assert login_state(server, "shop_report") == start
    assert "r_foreign" in str(failure.value) and "exactly as before" in str(failure.value)
    harden(server, "reporting")  # root administers every role: converges
    assert mismatches("reporting", probe(server, "shop_report", PASSWORDS["reporting"])) == {}


def test_an_account_changed_since_its_plan_is_not_touched(server):
    """The plan an operator saw is the plan applied: if the account changed in between, nothing is."""
    harden(server, "app")
    conn = server.connect()
    try:
        seen = accounts.plan_role(conn, "app", account("app"), "shop", admin_login="root").shown
        assert seen == []
        server.sql("GRANT DROP ON shop.* TO shop_app@'%'")
        before = login_state(server, "shop_app")
        with pytest.raises(OperatorFacingError, match="changed since its plan"):
            accounts.apply_role(conn, "app", account("app"), "shop", admin_login="root", planned=seen)
    finally:
        conn.close()
    assert login_state(server, "shop_app") == before


def test_one_login_for_two_jobs_is_refused(server, monkeypatch):
    from mysql_common.errors import ConfigurationError
    from task_callables.hardening_tasks import plan_accounts

    login = {"conn_type": "mysql", "host": "127.0.0.1", "port": server.port, "login": "shop_app",
             "password": PASSWORDS["app"]}
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_ADMIN", json.dumps({**login, "login": "root", "password": ""}))
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_TARGET", json.dumps({**login, "login": "shop_mig", "schema": "shop"}))
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_APP", json.dumps(login))
    monkeypatch.setenv("AIRFLOW_CONN_MYSQL_REPORTING", json.dumps(login))
    params = {"admin_conn_id": "mysql_admin", "target_conn_id": "mysql_target", "account_host": "%",
              "role_connections": accounts.ROLE_CONNECTIONS, "roles": ["app", "reporting"]}
    with pytest.raises(ConfigurationError, match="one login serves several jobs"):
        plan_accounts(params)
    assert login_state(server, "shop_app") == {}  # nothing was created
