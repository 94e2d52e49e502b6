"""Client-side password hashes, the SHOW GRANTS / SHOW CREATE USER parser, and the MySQL 8.4 side
of account plans (no MySQL server runs here: these are the only tests of that path)."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mysql_hardening import accounts, grants, passwords
from mysql_hardening.grants import GLOBAL, AccountState, GrantParseError, Level, Principal

# Published test vectors: Drepper's SHA-crypt specification and hashcat's mode 7401 examples,
# which are MySQL 8 caching_sha2_password strings with their 20-byte binary salts.
HASHCAT_7401 = [
    ("hashcat", "F9CC98CE08892924F50A213B6BC571A2C11778C5",
     "625479393559393965414D45316477456B484F41316E64484742577A2E3162785353526B7554584647562F"),
    ("password", "06437A150142644D74187A6A2F0D7971094F2575",
     "48667A67485366745A304F6A487A73704250663465337A7530325157687A51364A384D737554424939702E"),
]


def test_native_password_hash():
    assert passwords.native_password_hash("password") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"


def test_sha256_crypt_specification_vectors():
    assert passwords.sha256_crypt(b"Hello world!", b"saltstring") == b"5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"
    assert passwords.sha256_crypt(b"Hello world!", b"saltstringsaltst", 10000) == \
        b"3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"


@pytest.mark.parametrize("password,salt,digest", HASHCAT_7401)
def test_caching_sha2_matches_mysql_hashes(password, salt, digest):
    stored = b"$A$005$" + bytes.fromhex(salt) + bytes.fromhex(digest)
    assert passwords.caching_sha2_hash(password, bytes.fromhex(salt)) == stored
    assert passwords.matches(passwords.CACHING_SHA2, stored, password)
    assert not passwords.matches(passwords.CACHING_SHA2, stored, password + "x")


@settings(max_examples=30, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_caching_sha2_hash_round_trip(password, other):
    stored = passwords.caching_sha2_hash(password)
    assert len(stored) == 70 and stored.startswith(b"$A$005$")
    assert passwords.caching_sha2_matches(password, stored)
    assert passwords.caching_sha2_matches(other, stored) == (other == password)


# --- parser: what MariaDB 10.11 printed for a hostile account (recorded from a live server) ----

MARIADB_GRANTS = [
    "GRANT `r_admin` TO `app`@`%` WITH ADMIN OPTION",
    "GRANT USAGE ON *.* TO `app`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' "
    "WITH MAX_QUERIES_PER_HOUR 5 MAX_USER_CONNECTIONS 1 MAX_STATEMENT_TIME 3.000000",
    "GRANT SELECT, INSERT, UPDATE, DELETE ON `shop\\_db`.* TO `app`@`%`",
    "GRANT SELECT, SELECT (`v`), INSERT (`w`, `v`) ON `shop`.`orders` TO `app`@`%` WITH GRANT OPTION",
    "GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `app`@`%` WITH GRANT OPTION",
    "GRANT PROXY ON `we'ird``x`@`h'st` TO `app`@`%`",
    "SET DEFAULT ROLE `r_admin` FOR `app`@`%`",
]


def test_parse_mariadb_grants():
    parsed = [grants.parse_grant(line) for line in MARIADB_GRANTS]
    assert (parsed[0].kind, parsed[0].principals, parsed[0].option) == ("roles", [Principal("r_admin")], True)
    assert (parsed[1].level, parsed[1].privileges, parsed[1].option) == (GLOBAL, [("USAGE", None)], False)
    assert parsed[2].level == Level("shop\\_db") and [p for p, _ in parsed[2].privileges] == [
        "SELECT", "INSERT", "UPDATE", "DELETE"]
    assert parsed[3].level == Level("shop", "orders") and parsed[3].option
    assert parsed[3].privileges == [("SELECT", None), ("SELECT", ["v"]), ("INSERT", ["w", "v"])]
    assert parsed[4].level == Level("shop", "p", routine="PROCEDURE") and parsed[4].level.on == "PROCEDURE `shop`.`p`"
    assert (parsed[5].kind, parsed[5].principals) == ("proxy", [Principal("we'ird`x", "h'st")])
    assert (parsed[6].kind, parsed[6].principals) == ("default_roles", [Principal("r_admin")])


def test_parse_mariadb_create_user():
    state = AccountState()
    grants.parse_create_user([
        "CREATE USER `app`@`%` IDENTIFIED VIA ed25519 USING 'iGRouygp5VwPhO1N' OR mysql_native_password "
        "USING '*2B602296A79E0A8784ACC5C88D92E46588CCA3C3' OR unix_socket REQUIRE ISSUER '/C=x' SUBJECT '/CN=y' "
        "CIPHER 'DHE' WITH MAX_USER_CONNECTIONS -1 MAX_STATEMENT_TIME 3.500000 ACCOUNT LOCK PASSWORD EXPIRE",
        "ALTER USER `app`@`%` PASSWORD EXPIRE INTERVAL 3 DAY"], state)
    assert state.auth == (("ed25519", b"iGRouygp5VwPhO1N"),
                          ("mysql_native_password", b"*2B602296A79E0A8784ACC5C88D92E46588CCA3C3"),
                          ("unix_socket", b""))
    assert state.limits == {"MAX_USER_CONNECTIONS": -1, "MAX_STATEMENT_TIME": 3.5}
    assert state.locked and state.expired and state.lifetime == "INTERVAL 3 DAY"


# --- MySQL 8.4, from its reference manual's SHOW GRANTS / SHOW CREATE USER examples ------------

MYSQL_HASH = passwords.caching_sha2_hash("mysql-pw", b"0123456789abcdefghij")


def test_parse_mysql_output():
    lines = ["GRANT USAGE ON *.* TO `u1`@`localhost`",
             "GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `u1`@`localhost` WITH GRANT OPTION",
             "GRANT `r1`@`%`,`r2`@`%` TO `u1`@`localhost`",
             "GRANT PROXY ON ``@`` TO `u1`@`localhost`"]
    parsed = [grants.parse_grant(line) for line in lines]
    assert parsed[1].privileges == [("BACKUP_ADMIN", None), ("BINLOG_ADMIN", None)] and parsed[1].option
    assert parsed[2].principals == [Principal("r1", "%"), Principal("r2", "%")]
    assert parsed[3].principals == [Principal("", "")]
    state = AccountState()
    grants.parse_create_user([
        f"CREATE USER `u1`@`localhost` IDENTIFIED WITH 'caching_sha2_password' AS 0x{MYSQL_HASH.hex()} "
        "REQUIRE NONE WITH MAX_USER_CONNECTIONS 3 PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY "
        "DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT FAILED_LOGIN_ATTEMPTS 3 "
        "PASSWORD_LOCK_TIME UNBOUNDED DEFAULT ROLE `r1`@`%`"], state)
    assert state.auth == (("caching_sha2_password", MYSQL_HASH),) and state.factors == 1
    assert state.limits == {"MAX_USER_CONNECTIONS": 3} and not state.locked
    assert state.default_roles == (Principal("r1", "%"),)


@pytest.mark.parametrize("line", [
    "REVOKE SELECT ON `mysql`.* FROM `u`@`%`",  # MySQL partial revokes: not understood, so refused
    "GRANT SELECT ON `db` TO `u`@`%`",
    "GRANT SELECT ON `db`.* TO `u`@`%` IDENTIFIED BY PASSWORD 'unterminated",
])
def test_a_line_not_understood_fails_without_showing_secrets(line):
    with pytest.raises(GrantParseError) as err:
        grants.parse_grant(line)
    assert "unterminated" not in str(err.value)


def mysql_plan(state: AccountState, limits=None):
    template = accounts.Template("monitor", {GLOBAL: frozenset({"PROCESS"})}, limits or {})
    return accounts.make_plan(state, template, accounts.Account("mon", "%", "mysql-pw"), accounts.DIALECTS["mysql"],
                              new_hash=MYSQL_HASH)


def test_mysql_plan_for_a_new_account_sends_only_the_hash():
    steps = mysql_plan(AccountState(), {"MAX_USER_CONNECTIONS": 3})
    assert steps[0].sql == f"CREATE USER 'mon'@'%' IDENTIFIED WITH caching_sha2_password AS '{MYSQL_HASH.decode()}'"
    assert steps[0].shown == "CREATE USER 'mon'@'%' IDENTIFIED WITH caching_sha2_password AS ***"
    assert steps[0].undo == "DROP USER 'mon'@'%'"
    assert steps[1].sql == ("ALTER USER 'mon'@'%' WITH MAX_QUERIES_PER_HOUR 0 MAX_UPDATES_PER_HOUR 0 "
                            "MAX_CONNECTIONS_PER_HOUR 0 MAX_USER_CONNECTIONS 3")  # no MAX_STATEMENT_TIME on MySQL
    assert steps[2].sql == "GRANT PROCESS ON *.* TO 'mon'@'%'"
    assert not any("mysql-pw" in s.sql for s in steps)


def test_mysql_plan_keeps_a_matching_salted_hash_and_takes_roles_away():
    other_salt = passwords.caching_sha2_hash("mysql-pw")  # same password, another salt: still a match
    state = AccountState(exists=True, auth=(("caching_sha2_password", other_salt),),
                         privileges={GLOBAL: frozenset({"PROCESS"})},
                         roles={Principal("r_admin", "%"): True}, default_roles=(Principal("r_admin", "%"),),
                         other_hosts=("localhost",))
    assert [s.sql for s in mysql_plan(state)] == [
        "SET DEFAULT ROLE NONE TO 'mon'@'%'", "REVOKE `r_admin`@`%` FROM 'mon'@'%'", "DROP USER 'mon'@'localhost'"]
    undo = [s.undo for s in mysql_plan(state)]
    assert undo[:2] == ["SET DEFAULT ROLE `r_admin`@`%` TO 'mon'@'%'", "GRANT `r_admin`@`%` TO 'mon'@'%' WITH ADMIN OPTION"]
    assert undo[2] is None  # the last step, the only one not undone


def test_mysql_plan_replaces_another_plugin_and_can_restore_it():
    binary = b"$A$005$\x01\x02'\\" + bytes(16) + b"x" * 43
    state = AccountState(exists=True, auth=(("sha256_password", binary),), privileges={GLOBAL: frozenset({"PROCESS"})})
    (step,) = mysql_plan(state)
    assert step.sql.startswith("ALTER USER 'mon'@'%' IDENTIFIED WITH caching_sha2_password AS '$A$005$")
    assert step.undo == f"ALTER USER 'mon'@'%' IDENTIFIED WITH sha256_password AS 0x{binary.hex()}"
    assert step.undo_shown == "ALTER USER 'mon'@'%' IDENTIFIED WITH sha256_password AS ***"


def test_mysql_second_factor_is_refused_not_ignored():
    with pytest.raises(Exception, match="authentication factors"):
        mysql_plan(AccountState(exists=True, auth=(("caching_sha2_password", MYSQL_HASH),), factors=2))


def test_template_limits_are_parsed_and_checked(tmp_path):
    (tmp_path / "mariadb").mkdir()
    (tmp_path / "mariadb" / "app.sql").write_text("GRANT SELECT ON {database}.* TO {account};\n"
                                                  "ALTER USER {account} WITH MAX_USER_CONNECTIONS 7;")
    assert accounts.load_template("app", "mariadb", "db", tmp_path).limits == {"MAX_USER_CONNECTIONS": 7}
    (tmp_path / "mariadb" / "app.sql").write_text("ALTER USER {account} WITH ACCOUNT LOCK;")
    with pytest.raises(Exception, match="ALTER USER ... WITH takes only"):
        accounts.load_template("app", "mariadb", "db", tmp_path)
