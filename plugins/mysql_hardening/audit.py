"""Audit logging: MariaDB's server_audit plugin, enabled and checked.

MySQL Community has no audit plugin (audit_log is MySQL Enterprise only); there the result
says so instead of pretending. SET GLOBAL does not survive a restart, so every result carries
the my.cnf lines that make it permanent, and mysql_health_monitor alerts when logging is off.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from mysql_common.session import server_info

# Connections (who logged in, from where, failed logins), schema changes and grants.
# Not QUERY/QUERY_DML: a shop's every statement would be logged, with customer data.
AUDIT_EVENTS = "CONNECT,QUERY_DDL,QUERY_DCL"
AUDIT_SETTINGS = {
    "server_audit_events": AUDIT_EVENTS,
    "server_audit_output_type": "file",
    "server_audit_file_rotate_size": "104857600",
    "server_audit_file_rotations": "30",
}
MY_CNF = [
    "[mysqld]",
    "plugin_load_add = server_audit",
    "server_audit = FORCE_PLUS_PERMANENT",
    *(f"{name} = {value}" for name, value in AUDIT_SETTINGS.items()),
    "server_audit_logging = ON",
]


@dataclass
class AuditStatus:
    available: bool
    enabled: bool
    plugin: str | None
    detail: str
    actions: list[str] = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def _plugin_status(cur, name: str) -> str | None:
    cur.execute("SELECT PLUGIN_STATUS FROM information_schema.PLUGINS WHERE PLUGIN_NAME = %s", (name,))
    row = cur.fetchone()
    return row[0] if row else None


def _settings(cur) -> dict:
    cur.execute("SHOW GLOBAL VARIABLES LIKE 'server\\_audit\\_%'")
    return {name: value for name, value in cur.fetchall()}


def check(conn) -> AuditStatus:
    """Read-only: is the server's audit logging on? (used by the health monitor)."""
    info = server_info(conn)
    cur = conn.cursor()
    try:
        if not info.is_mariadb:
            if _plugin_status(cur, "audit_log") == "ACTIVE":
                return AuditStatus(True, True, "audit_log", "MySQL Enterprise audit_log is active "
                                   "(its filters are managed outside this project)")
            return AuditStatus(False, False, None, _MYSQL_UNAVAILABLE)
        status = _plugin_status(cur, "SERVER_AUDIT")
        if status is None:
            return AuditStatus(True, False, None, "server_audit is not installed")
        settings = _settings(cur)
        enabled = status == "ACTIVE" and settings.get("server_audit_logging") == "ON"
        wrong = {k: settings.get(k) for k, v in AUDIT_SETTINGS.items() if settings.get(k) != v}
        detail = "server_audit logging is " + ("ON" if enabled else "OFF")
        if wrong:
            detail += f"; settings differ from the project's: {wrong}"
        return AuditStatus(True, enabled, "server_audit", detail, settings=settings)
    finally:
        cur.close()


def enable(conn) -> AuditStatus:
    """Install server_audit if absent, set the project's events, switch logging on. Idempotent."""
    before = check(conn)
    if not before.available or before.plugin == "audit_log":
        return before
    cur = conn.cursor()
    actions = []
    if before.plugin is None:
        cur.execute("INSTALL SONAME 'server_audit'")
        actions.append("INSTALL SONAME 'server_audit'")
    settings = _settings(cur)
    for name, value in {**AUDIT_SETTINGS, "server_audit_logging": "ON"}.items():
        if settings.get(name) != value:
            # Names are ours, values digits or the fixed event list: no user input here.
            literal = value if value.isdigit() or value == "ON" else f"'{value}'"
            cur.execute(f"SET GLOBAL {name} = {literal}")
            actions.append(f"SET GLOBAL {name} = {literal}")
    cur.close()
    after = check(conn)
    after.actions = actions
    after.detail += ". SET GLOBAL does not survive a restart: add to my.cnf: " + "; ".join(MY_CNF)
    return after


_MYSQL_UNAVAILABLE = (
    "unavailable: MySQL Community Server has no audit plugin (audit_log is MySQL Enterprise "
    "only, and MariaDB's server_audit does not load into MySQL 8). Options: MySQL Enterprise "
    "audit_log, Percona Server's audit_log_filter, or connection-level logging in a proxy."
)
