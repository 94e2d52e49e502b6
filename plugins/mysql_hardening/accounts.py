"""Least-privilege accounts: one account per job, its privileges in include/sql/users/<flavor>/.

Applying is idempotent and convergent: the account is created if missing, its password set
from the Airflow connection, missing privileges granted and privileges beyond the template
revoked (read back from information_schema, so no window without privileges). The password
is only ever sent to the server; what is logged and returned names the statements with ***.

One account per job rather than SQL roles: MariaDB and MySQL activate default roles
differently (SET DEFAULT ROLE ... FOR / TO, activate_all_roles_on_login), and a role that is
not active at login is a silent outage; here SHOW GRANTS of the login account says it all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mysql_common.errors import ConfigurationError, PermanentError, redact
from mysql_common.identifiers import quote
from mysql_common.session import server_info

from mysql_hardening import SQL_DIR

USERS_DIR = SQL_DIR / "users"

# The job each template serves, and the Airflow connection holding that account's login.
ROLE_CONNECTIONS = {
    "migration": "mysql_target",
    "app": "mysql_app",
    "reporting": "mysql_reporting",
    "backup": "mysql_backup",
    "monitor": "mysql_monitor",
}

GLOBAL = ("*",)
_GRANT = re.compile(r"^GRANT\s+(?P<privs>.+?)\s+ON\s+(?P<level>\S+)\s+TO\s+\{account\}$", re.I | re.S)


@dataclass(frozen=True)
class Account:
    user: str
    host: str
    password: str = field(repr=False)

    @property
    def literal(self) -> str:
        return f"{string_literal(self.user)}@{string_literal(self.host)}"

    @property
    def grantee(self) -> str:
        """How information_schema spells this account in its GRANTEE columns."""
        return f"'{self.user}'@'{self.host}'"


@dataclass
class Template:
    """A role's privileges: level -> privilege names, plus account options (ALTER USER ...)."""

    role: str
    grants: dict[tuple, set[str]]
    options: list[str]


def string_literal(value: str) -> str:
    """A single-quoted SQL string. Our sessions never set NO_BACKSLASH_ESCAPES (see
    mysql_common.session), so backslash escaping is what the server reads."""
    escaped = (value.replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0")
               .replace("\n", "\\n").replace("\r", "\\r").replace("\x1a", "\\Z"))
    return f"'{escaped}'"


def grant_pattern(database: str) -> str:
    """In GRANT ... ON db.*, `_` and `%` are wildcards: a grant on shop_db would also cover
    shopXdb. Escaped, the grant covers exactly this database."""
    return database.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def _level_sql(level: tuple) -> str:
    if level == GLOBAL:
        return "*.*"
    if len(level) == 1:
        return f"{quote(level[0])}.*"
    return f"{quote(level[0])}.{quote(level[1])}"


def load_template(role: str, flavor: str, database: str, directory: Path = USERS_DIR) -> Template:
    path = directory / flavor / f"{role}.sql"
    if not path.exists():
        raise ConfigurationError(f"no privilege template {path} for role {role!r} on {flavor}")
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("--"))
    grants: dict[tuple, set[str]] = {}
    options = []
    for statement in filter(None, (part.strip() for part in text.split(";"))):
        match = _GRANT.match(statement)
        if match:
            grants.setdefault(_parse_level(match["level"], database), set()).update(
                p.strip().upper() for p in match["privs"].split(","))
        elif re.match(r"^ALTER\s+USER\s+\{account\}\s+WITH\s+", statement, re.I):
            options.append(statement)
        else:
            raise ConfigurationError(f"{path}: only 'GRANT ... ON ... TO {{account}}' and "
                                     f"'ALTER USER {{account}} WITH ...' are allowed: {statement[:80]!r}")
    return Template(role, grants, options)


def _parse_level(text: str, database: str) -> tuple:
    if text == "*.*":
        return GLOBAL
    schema, _, table = text.partition(".")
    schema = grant_pattern(database) if schema == "{database}" else schema.strip("`")
    return (schema,) if table == "*" else (schema, table.strip("`"))


def current_grants(cur, account: Account) -> tuple[dict[tuple, set[str]], set[tuple]]:
    """(level -> privileges, levels WITH GRANT OPTION) as the server has them now.
    Column-level privileges use the level (schema, table, column)."""
    grants: dict[tuple, set[str]] = {}
    grantable: set[tuple] = set()
    queries = [
        ("SELECT PRIVILEGE_TYPE, IS_GRANTABLE FROM information_schema.USER_PRIVILEGES "
         "WHERE GRANTEE = %s", lambda row: GLOBAL),
        ("SELECT PRIVILEGE_TYPE, IS_GRANTABLE, TABLE_SCHEMA FROM information_schema.SCHEMA_PRIVILEGES "
         "WHERE GRANTEE = %s", lambda row: (row[2],)),
        ("SELECT PRIVILEGE_TYPE, IS_GRANTABLE, TABLE_SCHEMA, TABLE_NAME FROM "
         "information_schema.TABLE_PRIVILEGES WHERE GRANTEE = %s", lambda row: (row[2], row[3])),
        ("SELECT PRIVILEGE_TYPE, IS_GRANTABLE, TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM "
         "information_schema.COLUMN_PRIVILEGES WHERE GRANTEE = %s", lambda row: (row[2], row[3], row[4])),
    ]
    for sql, level_of in queries:
        cur.execute(sql, (account.grantee,))
        for row in cur.fetchall():
            level = level_of(row)
            if row[0] != "USAGE":
                grants.setdefault(level, set()).add(row[0].upper())
            if row[1] == "YES":
                grantable.add(level)
    return grants, grantable


def privilege_changes(desired: dict[tuple, set[str]], current: dict[tuple, set[str]],
                      grantable: set[tuple]) -> tuple[list[tuple], list[tuple]]:
    """([(level, privs) to grant], [(level, privs) to revoke]); 'GRANT OPTION' is revoked too."""
    to_grant = [(level, sorted(privs - current.get(level, set())))
                for level, privs in sorted(desired.items())]
    to_revoke = [(level, sorted(privs - desired.get(level, set())))
                 for level, privs in sorted(current.items())]
    to_revoke += [(level, ["GRANT OPTION"]) for level in sorted(grantable)]
    return [c for c in to_grant if c[1]], [c for c in to_revoke if c[1]]


def _revoke_sql(level: tuple, privs: list[str], account: Account) -> str:
    if len(level) == 3:  # column privilege
        column = f"({quote(level[2])})"
        return (f"REVOKE {', '.join(p + ' ' + column for p in privs)} ON "
                f"{_level_sql(level[:2])} FROM {account.literal}")
    return f"REVOKE {', '.join(privs)} ON {_level_sql(level)} FROM {account.literal}"


def check_account(account: Account, *, admin_login: str | None) -> None:
    """Refuse accounts whose change could lock the operator out or leave the door open."""
    if not account.user:
        raise ConfigurationError("the connection has no login")
    if account.user in {"root", "mysql", "mariadb.sys", "mysql.sys", "mysql.session"}:
        raise ConfigurationError(f"refusing to manage the system account {account.user!r}: give "
                                 "this job a dedicated login")
    if admin_login and account.user == admin_login:
        raise ConfigurationError(f"refusing to manage {account.user!r}: it is the admin "
                                 "connection's own login and would lose its privileges")
    if not account.password:
        raise ConfigurationError(f"the connection for {account.user!r} has no password: "
                                 "accounts are never created without one")


def apply_role(conn, role: str, account: Account, database: str, *, admin_login: str | None = None,
               directory: Path = USERS_DIR) -> list[str]:
    """Create or update the account for `role`; returns what was done (no secrets)."""
    check_account(account, admin_login=admin_login)
    flavor = server_info(conn).flavor
    template = load_template(role, flavor, database, directory)
    cur = conn.cursor()
    actions: list[str] = []

    def run(sql: str, shown: str | None = None) -> None:
        try:
            cur.execute(sql)
        except Exception as exc:
            raise PermanentError(f"{role}: {shown or sql} failed: "
                                 f"{redact(str(exc), account.password)}") from None
        actions.append(shown or sql)

    cur.execute("SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = %s",
                (account.user, account.host))
    existed = cur.fetchone()[0] > 0
    password = string_literal(account.password)
    if existed:
        run(f"ALTER USER {account.literal} IDENTIFIED BY {password}",
            f"ALTER USER {account.literal} IDENTIFIED BY ***")
    else:
        run(f"CREATE USER IF NOT EXISTS {account.literal} IDENTIFIED BY {password}",
            f"CREATE USER {account.literal} IDENTIFIED BY ***")
    current, grantable = current_grants(cur, account)
    to_grant, to_revoke = privilege_changes(template.grants, current, grantable)
    for level, privs in to_revoke:
        run(_revoke_sql(level, privs, account))
    for level, privs in to_grant:
        run(f"GRANT {', '.join(privs)} ON {_level_sql(level)} TO {account.literal}")
    for option in template.options:
        run(option.replace("{account}", account.literal))
    current, grantable = current_grants(cur, account)
    if privilege_changes(template.grants, current, grantable) != ([], []):
        # e.g. a privilege name the server reports differently: never report success on a guess.
        raise PermanentError(f"{role}: {account.grantee} does not match include/sql/users/{flavor}/"
                             f"{role}.sql after applying it; server has {current}")
    cur.close()
    if not (to_grant or to_revoke):
        actions.append(f"privileges of {account.grantee} already match {flavor}/{role}.sql")
    return actions
