"""Configuration shared by the Django settings and the tools around the shop.

Kept free of Django imports so the generator and tests can use it without setting Django up.
SHOP_DATABASE_URL forms:
  sqlite:////absolute/path/shop.sqlite3
  mysql://user:password@host:3306/dbname[?ssl_ca=/path/ca.pem&ssl_cert=...&ssl_key=...]
"""
from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlparse

# The generator signs session data with this key, so Django can decode migrated sessions.
# It protects nothing: the demo data is public and synthetic.
SECRET_KEY = "demo-shop-not-a-secret"

# How long an SQLite transaction waits for the write lock ("database is locked" after that).
SQLITE_BUSY_SECONDS = 20

# Strict mode makes MySQL/MariaDB reject truncation and bad dates instead of silently
# "fixing" them, which is what the migration must be able to rely on.
STRICT_SQL_MODE = (
    "STRICT_TRANS_TABLES,STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)


# Persistent connections for MySQL: a request reuses its thread's connection for up to a minute
# instead of opening one (TCP + handshake + auth + init_command, several round trips; more with
# TLS), and Django pings it first (health checks) so a connection the server closed meanwhile
# is replaced instead of failing the request. The cost: every app-server thread holds a session,
# so workers x threads x app servers must stay below max_connections (with headroom for the
# monitor, backups and migrations; the health monitor alerts at 80%). The measurement behind
# these values is in docs/measured.md ("Connection pool stress"). SHOP_CONN_MAX_AGE overrides.
CONN_MAX_AGE = 60
CONN_HEALTH_CHECKS = True


def sqlite_path(url: str) -> str:
    """Absolute file path of a sqlite:// URL (sqlite:////abs/path -> /abs/path)."""
    parsed = urlparse(url)
    if parsed.scheme != "sqlite":
        raise ValueError(f"not a sqlite URL: {url!r}")
    path = unquote(parsed.path)
    if not path.startswith("/"):
        raise ValueError(f"sqlite URL needs an absolute path (sqlite:////abs/path): {url!r}")
    # urlparse keeps the extra leading slash of sqlite:////abs as '//abs'.
    return "/" + path.lstrip("/")


def database_settings(url: str, conn_max_age: int | None = CONN_MAX_AGE) -> dict:
    """Return the Django DATABASES['default'] dict for a URL (conn_max_age: seconds a MySQL
    connection is kept, 0 = one per request, None = forever)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        # IMMEDIATE: every transaction takes SQLite's write lock when it begins and waits up to
        # `timeout` seconds for it. A deferred transaction (Django's default) that read first
        # fails at once with "database is locked" when another connection, such as a cutover's
        # freeze, holds that lock. Writes refused by a cutover's freeze are retried by
        # shop.retry.atomic_with_retry.
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": sqlite_path(url),
                "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": SQLITE_BUSY_SECONDS}}
    if parsed.scheme in ("mysql", "mariadb"):
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        options: dict = {
            "charset": "utf8mb4",
            "init_command": f"SET sql_mode='{STRICT_SQL_MODE}'",
        }
        ssl = {key[4:]: query[key] for key in ("ssl_ca", "ssl_cert", "ssl_key") if key in query}
        if ssl:
            options["ssl"] = ssl
        return {
            "ENGINE": "django.db.backends.mysql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "127.0.0.1",
            "PORT": str(parsed.port or 3306),
            "OPTIONS": options,
            "CONN_MAX_AGE": conn_max_age,
            "CONN_HEALTH_CHECKS": CONN_HEALTH_CHECKS,
            # Django's own test-database name, should anyone run `manage.py test` against it.
            "TEST": {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"},
        }
    raise ValueError(f"unsupported SHOP_DATABASE_URL scheme {parsed.scheme!r} (use sqlite:// or mysql://)")
