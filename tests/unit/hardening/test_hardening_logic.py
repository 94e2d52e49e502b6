"""Pure logic of the hardening package: rendering, comparisons, TLS arguments, plans' arithmetic."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hooks.mysql_server_hook import tls_arguments
from mysql_common.errors import ConfigurationError
from mysql_hardening import SQL_DIR, accounts, grants, monitoring, partition_plan, passwords, server_settings
from mysql_hardening.grants import Level

ROLES = sorted(accounts.ROLE_CONNECTIONS)


def test_include_sql_is_found_from_the_package():
    assert SQL_DIR == Path(__file__).resolve().parents[3] / "include" / "sql"


@pytest.mark.parametrize("flavor", ["mariadb", "mysql"])
@pytest.mark.parametrize("role", ROLES)
def test_every_role_has_a_template_per_flavor(role, flavor):
    template = accounts.load_template(role, flavor, "shop_db")
    assert template.grants
    if role in ("app", "reporting", "migration"):
        assert set(template.grants) == {Level("shop\\_db")}  # their own database only
    if role == "app":
        assert template.grants[Level("shop\\_db")] == {"SELECT", "INSERT", "UPDATE", "DELETE"}
    if role == "monitor":
        assert template.limits == {"MAX_USER_CONNECTIONS": 3}
        # statement digests only: the other performance_schema tables keep statements' raw text
        assert Level("performance_schema", "events_statements_summary_by_digest") in template.grants
        assert Level("performance_schema") not in template.grants


def test_string_literal_and_grant_pattern():
    assert accounts.string_literal("it's\\") == "'it\\'s\\\\'"
    assert accounts.grant_pattern("a_b%c") == "a\\_b\\%c"
    assert accounts.Account("u", "%", "pw").literal == "'u'@'%'"


def test_template_refuses_other_statements(tmp_path):
    (tmp_path / "mariadb").mkdir()
    (tmp_path / "mariadb" / "app.sql").write_text("DROP DATABASE {database};")
    with pytest.raises(ConfigurationError, match="only"):
        accounts.load_template("app", "mariadb", "db", tmp_path)


def test_plan_grants_missing_before_revoking_extras():
    template = accounts.Template("app", {Level("db"): frozenset({"SELECT", "INSERT"})}, {})
    state = grants.AccountState(exists=True, privileges={Level("db"): frozenset({"SELECT", "DROP"}),
                                                         grants.GLOBAL: frozenset({"PROCESS"})},
                                grant_option=frozenset({Level("db")}))
    account = accounts.Account("u", "%", "pw")
    dialect = accounts.DIALECTS["mariadb"]
    state.auth = (("mysql_native_password", passwords.native_password_hash("pw").encode()),)
    steps = accounts.make_plan(state, template, account, dialect)
    assert [(s.sql, s.undo) for s in steps] == [
        ("GRANT INSERT ON `db`.* TO 'u'@'%'", "REVOKE INSERT ON `db`.* FROM 'u'@'%'"),
        ("REVOKE PROCESS ON *.* FROM 'u'@'%'", "GRANT PROCESS ON *.* TO 'u'@'%'"),
        ("REVOKE DROP ON `db`.* FROM 'u'@'%'", "GRANT DROP ON `db`.* TO 'u'@'%'"),
        ("REVOKE GRANT OPTION ON `db`.* FROM 'u'@'%'", "GRANT USAGE ON `db`.* TO 'u'@'%' WITH GRANT OPTION")]


def test_account_checks():
    for user, password, admin in (("root", "x", None), ("dba", "x", "dba"), ("app", "", None), ("", "x", None)):
        with pytest.raises(ConfigurationError):
            accounts.check_account(accounts.Account(user, "%", password), admin_login=admin)
    assert "pw" not in repr(accounts.Account("u", "%", "pw"))


@pytest.mark.parametrize("expected,actual,how,result", [
    ("2G", "2147483648", "min", True), ("2G", "134217728", "min", False),
    ("ON", "1", "eq", True), ("OFF", "ON", "eq", False), (1, "2", "eq", False),
    ("", "/etc/ssl/server.pem", "set", True), ("", "", "set", False), ("O_DIRECT", "o_direct", "eq", True),
    # an autosized performance_schema table size reads -1 while performance_schema is off
    (10000, "-1", "min", False), (-1, "-1", "min", True),
])
def test_setting_comparison(expected, actual, how, result):
    assert server_settings.compare(expected, actual, how) is result


def test_recommendations_translate_per_flavor():
    entries = {e["name"]: e for e in server_settings.load()}
    assert entries["redo log capacity"]["mysql"] == "innodb_redo_log_capacity"
    assert "mysql" not in entries["query_cache_type"]  # removed in MySQL 8


def test_tls_arguments():
    assert tls_arguments(None, None, mariadb_client=True) == {}
    assert tls_arguments({"ca": "/ca.pem", "cert": "/c", "key": "/k"}, None, mariadb_client=True) == {
        "ssl": {"ca": "/ca.pem", "cert": "/c", "key": "/k"}, "ssl_mode": "VERIFY_IDENTITY"}
    assert tls_arguments('{"ca": "/ca.pem", "check_hostname": false}', None,
                         mariadb_client=False)["ssl_mode"] == "VERIFY_CA"
    for ssl, mode in (({"cert": "/c"}, None), ({"ca": "/ca", "check_hostname": False}, None),
                      ({"ca": "/ca"}, "REQUIRED"), (None, "REQUIRED")):
        with pytest.raises(ConfigurationError):
            tls_arguments(ssl, mode, mariadb_client=True)


def test_mask_literals():
    masked = monitoring.mask_literals("ALTER USER 'a'@'%' IDENTIFIED BY 'hunter2' -- 42")
    assert "hunter2" not in masked and "42" not in masked


def test_buffer_pool_hit_rate_over_the_interval():
    th = monitoring.Thresholds(buffer_pool_hit_rate_pct=99, buffer_pool_min_requests=100)
    first = {"uptime": 10, "innodb_buffer_pool_read_requests": 1000, "innodb_buffer_pool_reads": 10}
    samples: dict = {}
    assert monitoring.check_buffer_pool(first, th, {}, samples).status == "ok"  # baseline
    previous = {**samples, "uptime": 10}
    later = {"uptime": 20, "innodb_buffer_pool_read_requests": 2000, "innodb_buffer_pool_reads": 60}
    result = monitoring.check_buffer_pool(later, th, previous, {})
    assert result.status == "alert" and result.details["hit_rate_pct"] == 95.0
    restarted = {"uptime": 5, "innodb_buffer_pool_read_requests": 50, "innodb_buffer_pool_reads": 40}
    assert monitoring.check_buffer_pool(restarted, th, previous, {}).status == "ok"


def test_partition_bounds():
    years = partition_plan.bounds("year", date(2022, 5, 1), date(2024, 1, 1), date(2025, 6, 1), 1)
    assert years[0] == ("p2022", "2023") and years[-2] == ("p2026", "2027") and years[-1][1] == "MAXVALUE"
    months = partition_plan.bounds("month", None, None, date(2025, 11, 3), 2)
    assert [m[0] for m in months] == ["p202511", "p202512", "p202601", "p_future"]
    assert months[1][1] == "TO_DAYS('2026-01-01')"
