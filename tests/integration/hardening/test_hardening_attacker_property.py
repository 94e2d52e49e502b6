"""An insider's property test: whatever sequence of GRANT, REVOKE, role, ALTER USER, CREATE USER
(anonymous ones too), RENAME USER and DROP USER statements is applied to the five accounts, one hardening run brings
each account back to exactly its job, checked by logging in (TCP and socket) and trying.

Hypothesis draws the sequences; each example starts from freshly hardened accounts on a private
mariadbd. Bounded for `make test` (HARDENING_ATTACK_EXAMPLES, default 12, about a minute);
set it higher for a longer hunt.
"""
from __future__ import annotations

import os

import MySQLdb
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hardening_probes import can_login, mismatches, probe, probed_server
from mysql_hardening import accounts
from mysql_hardening.accounts import Account

pytestmark = pytest.mark.integration

USERS = {"app": "shop_app", "reporting": "shop_report", "migration": "shop_mig", "backup": "shop_backup",
         "monitor": "shop_monitor"}
PASSWORDS = {role: f"{role}-Pw-{i}'x" for i, role in enumerate(USERS)}
INSIDER = "insider-pw"
ROLES = ["r_one", "r_two"]
HOSTS = ["127.0.0.1", "localhost", "10.0.%", "%"]

GLOBAL_PRIVS = ["SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "RELOAD", "PROCESS", "FILE", "SUPER",
                "CREATE USER", "SHOW DATABASES", "BINLOG MONITOR", "SLAVE MONITOR", "REPLICATION SLAVE",
                "EVENT", "TRIGGER", "CONNECTION ADMIN", "ALL PRIVILEGES"]
DB_PRIVS = ["SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "INDEX", "CREATE VIEW",
            "SHOW VIEW", "TRIGGER", "EVENT", "LOCK TABLES", "CREATE TEMPORARY TABLES", "EXECUTE",
            "CREATE ROUTINE", "ALTER ROUTINE", "REFERENCES", "ALL PRIVILEGES"]
TABLE_PRIVS = ["SELECT", "INSERT", "UPDATE", "DELETE", "DROP", "ALTER", "INDEX", "CREATE VIEW", "SHOW VIEW",
               "TRIGGER", "ALL PRIVILEGES"]
LEVELS = [("*.*", GLOBAL_PRIVS), ("shop.*", DB_PRIVS), ("other.*", DB_PRIVS), ("mysql.*", DB_PRIVS),
          ("shop.orders", TABLE_PRIVS), ("mysql.user", TABLE_PRIVS), ("mysql.proc", TABLE_PRIVS),
          ("performance_schema.*", ["SELECT"])]

login = st.sampled_from(list(USERS.values()))
grantee = st.one_of(login.map(lambda u: f"{u}@'%'"), st.sampled_from(ROLES))


@st.composite
def privilege_grant(draw):
    level, privs = draw(st.sampled_from(LEVELS))
    chosen = draw(st.lists(st.sampled_from(privs), min_size=1, max_size=3, unique=True))
    verb = draw(st.sampled_from(["GRANT", "REVOKE"]))
    option = draw(st.booleans())
    who = draw(grantee)
    if verb == "GRANT":
        return f"GRANT {', '.join(chosen)} ON {level} TO {who}" + (" WITH GRANT OPTION" if option else "")
    return f"REVOKE {', '.join(chosen + (['GRANT OPTION'] if option else []))} ON {level} FROM {who}"


@st.composite
def column_or_routine_grant(draw):
    who = draw(grantee)
    option = " WITH GRANT OPTION" if draw(st.booleans()) else ""
    if draw(st.booleans()):
        privs = draw(st.lists(st.sampled_from(["SELECT", "INSERT", "UPDATE", "REFERENCES"]), min_size=1,
                              max_size=2, unique=True))
        cols = draw(st.lists(st.sampled_from(["v", "w", "id"]), min_size=1, max_size=2, unique=True))
        columns = ", ".join(cols)
        return f"GRANT {', '.join(f'{p} ({columns})' for p in privs)} ON shop.orders TO {who}{option}"
    privs = draw(st.sampled_from(["EXECUTE", "ALTER ROUTINE", "EXECUTE, ALTER ROUTINE"]))
    return f"GRANT {privs} ON PROCEDURE shop.p TO {who}{option}"


@st.composite
def role_statement(draw):
    role, other = draw(st.sampled_from(ROLES)), draw(st.sampled_from(ROLES))
    user = draw(login)
    return draw(st.sampled_from([
        f"GRANT {role} TO {user}@'%'", f"GRANT {role} TO {user}@'%' WITH ADMIN OPTION",
        f"SET DEFAULT ROLE {role} FOR {user}@'%'", f"GRANT {role} TO {other}",
        f"GRANT PROXY ON root@localhost TO {user}@'%'", f"GRANT PROXY ON root@localhost TO {user}@'%' WITH GRANT OPTION",
    ]))


@st.composite
def account_statement(draw):
    user = draw(login)
    me = f"{user}@'%'"
    n = draw(st.integers(min_value=1, max_value=9))
    host = draw(st.sampled_from(HOSTS))
    real = accounts.string_literal(PASSWORDS[[r for r, u in USERS.items() if u == user][0]])
    password = draw(st.sampled_from([real, f"'{INSIDER}'"]))
    return draw(st.sampled_from([
        f"ALTER USER {me} WITH MAX_USER_CONNECTIONS {n}",
        f"ALTER USER {me} WITH MAX_QUERIES_PER_HOUR {n * 3} MAX_UPDATES_PER_HOUR {n}",
        f"ALTER USER {me} WITH MAX_CONNECTIONS_PER_HOUR {n} MAX_STATEMENT_TIME {n}",
        f"ALTER USER {me} IDENTIFIED BY '{INSIDER}'",
        f"ALTER USER {me} IDENTIFIED VIA ed25519 USING PASSWORD('{INSIDER}')",
        f"ALTER USER {me} IDENTIFIED VIA mysql_native_password USING PASSWORD({real}) OR unix_socket",
        f"ALTER USER {me} ACCOUNT LOCK", f"ALTER USER {me} PASSWORD EXPIRE",
        f"ALTER USER {me} PASSWORD EXPIRE INTERVAL {n} DAY",
        f"CREATE USER IF NOT EXISTS {user}@'{host}' IDENTIFIED BY {password}",
        f"GRANT ALL ON *.* TO {user}@'{host}' WITH GRANT OPTION",
        f"CREATE USER IF NOT EXISTS ''@'{host}' IDENTIFIED BY {password}",
        f"GRANT ALL ON *.* TO ''@'{host}'",
        f"RENAME USER {me} TO {user}@'10.0.%'",
        f"DROP USER IF EXISTS {me}",
    ]))


statement = st.one_of(privilege_grant(), column_or_routine_grant(), role_statement(), account_statement())


@pytest.fixture(scope="module")
def server():
    with probed_server() as srv:
        yield srv


def harden_all(server) -> dict[str, list[str]]:
    """What one mysql_hardening run does to the accounts."""
    conn = server.connect()
    try:
        accounts.drop_anonymous(conn)
        return {role: accounts.apply_role(conn, role, Account(user, "%", PASSWORDS[role]), "shop",
                                          admin_login="root") for role, user in USERS.items()}
    finally:
        conn.close()


def reset(server) -> None:
    for (user, host) in server.sql("SELECT User, Host FROM mysql.user WHERE User LIKE 'shop\\_%' OR User = ''"):
        server.sql(f"DROP USER '{user}'@'{host}'")
    for role in ROLES:
        server.sql(f"DROP ROLE IF EXISTS {role}")
        server.sql(f"CREATE ROLE {role}")
    harden_all(server)


@settings(max_examples=int(os.environ.get("HARDENING_ATTACK_EXAMPLES", "12")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(attack=st.lists(statement, min_size=1, max_size=25))
# What Hypothesis found before accounts were read whole: a column grant WITH GRANT OPTION made
# the run fail half-way (1064), and every re-run re-sent each password.
@example(attack=["GRANT SELECT (id, v) ON shop.orders TO shop_backup@'%' WITH GRANT OPTION"])
@example(attack=["GRANT r_one TO shop_app@'%'"])
# The issue's own cases: a default role holding ALL, a limit, another host entry with ALL.
@example(attack=["GRANT ALL ON *.* TO r_two WITH GRANT OPTION", "GRANT r_two TO shop_app@'%'",
                 "SET DEFAULT ROLE r_two FOR shop_app@'%'", "ALTER USER shop_mig@'%' WITH MAX_USER_CONNECTIONS 1",
                 f"CREATE USER shop_report@'localhost' IDENTIFIED BY {accounts.string_literal(PASSWORDS['reporting'])}",
                 "GRANT ALL ON *.* TO shop_report@'localhost'"])
def test_one_run_undoes_any_insider_sequence(server, attack):
    reset(server)
    for sql in attack:
        try:
            server.sql(sql)
        except MySQLdb.Error:
            pass  # the insider's statement was refused (a REVOKE of nothing, say): the state stands
    harden_all(server)
    again = harden_all(server)
    assert all(len(a) == 1 and a[0].startswith("privileges of") for a in again.values()), again
    for role, user in USERS.items():
        for via in ("tcp", "socket"):
            got = probe(server, user, PASSWORDS[role], via)
            assert mismatches(role, got) == {}, (role, via, attack)
            assert not can_login(server, user, INSIDER, via), (role, via, attack)
