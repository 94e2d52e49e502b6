"""server_audit on a private mariadbd: enabled idempotently, logs what it should, no secrets,
and the health check notices when a restart switched it off."""
from __future__ import annotations

import pytest

from mysql_hardening import accounts, audit, monitoring

pytestmark = pytest.mark.integration


def test_enable_audit_and_keep_passwords_out(private_mariadb):
    server = private_mariadb()
    conn = server.connect()
    assert audit.check(conn).plugin is None
    status = audit.enable(conn)
    assert status.enabled and "INSTALL SONAME 'server_audit'" in status.actions
    assert "plugin_load_add = server_audit" in status.detail  # how to make it permanent
    again = audit.enable(conn)
    assert again.enabled and again.actions == []

    secret = "Audit-S3cret-pw"
    accounts.apply_role(conn, "reporting", accounts.Account("rep_u", "%", secret), "shop")
    server.sql("CREATE DATABASE audited")
    log = (server.datadir / "server_audit.log").read_text()
    assert "CONNECT" in log and "CREATE DATABASE audited" in log and "GRANT SELECT" in log
    assert secret not in log


def test_monitor_alerts_when_audit_logging_is_off(private_mariadb):
    server = private_mariadb()
    conn = server.connect()
    audit.enable(conn)
    assert monitoring.check_audit(conn).status == "ok"
    server.sql("SET GLOBAL server_audit_logging = OFF")  # what a restart without my.cnf does
    result = monitoring.check_audit(conn)
    assert result.status == "alert" and result.code == "AUDIT_LOGGING_OFF"
