"""MySQL/MariaDB hook for every MySQL connection of the project: the migration target, backups,
restores, administration, monitoring, masked copies.

Builds on the provider's MySqlHook (connection fields and extras, including `ssl`),
and adds what every session of this project needs: utf8mb4, strict sql_mode, UTC,
LOCAL INFILE, certificate verification when a CA is given, and error messages that say
what to fix without ever showing the password.
"""
from __future__ import annotations

import json
from typing import ContextManager

from airflow.providers.mysql.hooks.mysql import MySqlHook

from mysql_common.errors import ConfigurationError, mysql_errno, redact
from mysql_common.option_file import client_option_file
from mysql_common.session import ServerInfo, configure_session, server_info

# Error numbers that mean "your connection settings are wrong", with the fix.
_CONFIG_ERRORS = {
    1044: "the user has no access to this database: grant it or use another user",
    1045: "access denied: check login and password of the connection",
    1049: "the database does not exist",
    2005: "unknown host: check the connection's host",
    2026: "TLS error: the server's certificate must be signed by the CA in ssl.ca and name the "
          "connection's host (subjectAltName), and the server must have TLS enabled",
    1129: "host blocked by max_connect_errors: run FLUSH HOSTS on the server",
    3159: "the server requires TLS (require_secure_transport): set the ssl extras",
}


def _mariadb_client() -> bool:
    """mysqlclient is built against MariaDB Connector/C (3.x) here, or libmysqlclient (8.x)."""
    import MySQLdb._mysql

    return int(MySQLdb._mysql.get_client_info().split(".")[0]) < 5


def tls_arguments(ssl, ssl_mode: str | None, *, mariadb_client: bool) -> dict:
    """mysqlclient arguments for the connection's `ssl` extra: TLS mandatory and verified.

    Checked against mysqlclient 2.3 on MariaDB Connector/C 3.3: a CA without ssl_mode, and
    ssl_mode=REQUIRED, both fall back to plain text when the server offers no TLS; only the
    VERIFY_* modes enforce TLS, and there both check the host name as well. So an `ssl` extra
    always yields VERIFY_IDENTITY there, and `check_hostname: false` (CA only) is refused rather
    than silently downgraded; with libmysqlclient it becomes VERIFY_CA.
    """
    if isinstance(ssl, str):
        ssl = json.loads(ssl) if ssl.strip() else None
    if not ssl:
        if ssl_mode and ssl_mode.upper() != "DISABLED":
            raise ConfigurationError(
                f"ssl_mode {ssl_mode} without an ssl extra cannot verify the server: "
                'set "ssl": {"ca": "/path/ca.pem"} instead')
        return {}
    if not ssl.get("ca"):
        raise ConfigurationError('the ssl extra needs "ca" (the CA that signed the server '
                                 "certificate): without it the server cannot be verified")
    if ssl.get("check_hostname", True):
        mode = "VERIFY_IDENTITY"
    elif mariadb_client:
        raise ConfigurationError(
            "ssl.check_hostname=false is not supported with MariaDB Connector/C: it cannot "
            "enforce TLS without checking the host name; put the host in the server "
            "certificate's subjectAltName instead")
    else:
        mode = "VERIFY_CA"
    if ssl_mode and ssl_mode.upper() != mode:
        raise ConfigurationError(f"ssl_mode {ssl_mode} conflicts with the ssl extra (which "
                                 f"means {mode}): remove ssl_mode, use ssl.check_hostname")
    keys = {k: v for k, v in ssl.items() if k in ("ca", "cert", "key", "capath", "cipher")}
    return {"ssl": keys, "ssl_mode": mode}


class MySqlServerHook(MySqlHook):
    """Connections to any mysql-type Airflow connection (`mysql_target` by default), each
    session with the project's settings."""

    default_conn_name = "mysql_target"
    hook_name = "MySQL server (project sessions)"

    def __init__(self, mysql_conn_id: str = default_conn_name, *, database: str | None = None,
                 connect_timeout: int = 10, **kwargs) -> None:
        kwargs.setdefault("local_infile", True)
        super().__init__(mysql_conn_id=mysql_conn_id, **kwargs)
        self.database_override = database
        self.connect_timeout = connect_timeout

    @property
    def conn_id(self) -> str:
        return getattr(self, self.conn_name_attr)

    def airflow_connection(self):
        return self.connection or self.get_connection(self.conn_id)

    def database_name(self) -> str:
        name = self.database_override or self.airflow_connection().schema
        if not name:
            raise ConfigurationError(
                f"connection '{self.conn_id}' has no schema: set it to the target database name")
        return name

    def get_conn(self, *, with_database: bool = True):  # type: ignore[override]
        """A configured MySQLdb connection; with_database=False connects to the server only."""
        import MySQLdb

        conn = self.airflow_connection()
        config = self._get_conn_config_mysql_client(conn)
        config["db"] = self.database_name() if with_database else ""
        config["charset"] = "utf8mb4"
        config["use_unicode"] = True
        config["connect_timeout"] = self.connect_timeout
        config.update(tls_arguments(config.pop("ssl", None), config.pop("ssl_mode", None),
                                    mariadb_client=_mariadb_client()))
        try:
            connection = MySQLdb.connect(**config)
        except MySQLdb.OperationalError as exc:
            errno = mysql_errno(exc)
            where = f"{conn.login}@{conn.host}:{conn.port or 3306}"
            detail = redact(str(exc), conn.password)
            if errno in _CONFIG_ERRORS:
                hint = _CONFIG_ERRORS[errno]
                if errno == 1045 and "ssl" not in config:
                    # MariaDB refuses a plain connection under require_secure_transport with 1045.
                    hint += ", or the server requires TLS: set the ssl extras"
                raise ConfigurationError(
                    f"cannot connect to MySQL as {where} (connection '{self.conn_id}'): "
                    f"{hint} [{detail}]") from None
            raise type(exc)(errno, f"cannot connect to MySQL as {where}: {detail}") from None
        configure_session(connection)
        return connection

    def server(self) -> ServerInfo:
        conn = self.get_conn(with_database=False)
        try:
            return server_info(conn)
        finally:
            conn.close()

    def client_option_file(self) -> ContextManager[str]:
        """The connection's [client] option file for the command-line tools."""
        conn = self.airflow_connection()
        # The command-line clients are MariaDB's (libmariadb): same TLS rules as get_conn().
        tls = tls_arguments(conn.extra_dejson.get("ssl"), conn.extra_dejson.get("ssl_mode"),
                            mariadb_client=True)
        extra = [f"{option}={tls['ssl'][key]}" for key, option in
                 (("ca", "ssl-ca"), ("cert", "ssl-cert"), ("key", "ssl-key")) if tls.get("ssl", {}).get(key)]
        if tls:
            extra.append("ssl-verify-server-cert")
        return client_option_file(user=conn.login or "", host=conn.host or "localhost", port=conn.port or 3306,
                                  password=conn.password, extra=tuple(extra))
