"""Least-privilege accounts: one account per job, its privileges in include/sql/users/<flavor>/.

One run converges an account from any starting state, however it got there:
1. read everything the server holds for the login (grants.read_state): privileges at every level,
   roles and the default role, proxy grants, authentication plugins, limits, lock and expiry,
   and the other host entries of the same user name;
2. compute the whole plan from it, before changing anything;
3. apply it. Every step carries the statement that undoes it; if a step fails, the steps already
   applied are undone in reverse, and the error says whether the account is exactly as before.
   The template's privileges are granted before anything is revoked, so the account never
   loses what its job needs while the plan runs. Dropping the login's other host entries is
   the last step and the only one not undone.
4. read the account again: it must now equal the template, or the run fails.

Passwords never reach the server, only the hash the server would store (passwords.py); a hash
that already matches is not sent again. Logs and results show *** in its place. Anonymous
accounts, which catch every login from their host, are dropped (drop_anonymous).

One account per job rather than SQL roles: MariaDB and MySQL activate default roles
differently (SET DEFAULT ROLE ... FOR / TO, activate_all_roles_on_login), and a role that is
not active at login is a silent outage; here SHOW GRANTS of the login account says it all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from mysql_common.errors import ConfigurationError, PermanentError, TransientError, is_transient, redact
from mysql_common.session import server_info

from mysql_hardening import SQL_DIR, passwords
from mysql_hardening.grants import (GLOBAL, LIMITS, AccountState, Level, grantee, hosts_of, quote_name,
                                    read_state)

USERS_DIR = SQL_DIR / "users"

# The job each template serves, and the Airflow connection holding that account's login.
ROLE_CONNECTIONS = {
    "migration": "mysql_target",
    "app": "mysql_app",
    "reporting": "mysql_reporting",
    "backup": "mysql_backup",
    "monitor": "mysql_monitor",
}

_GRANT = re.compile(r"^GRANT\s+(?P<privs>.+?)\s+ON\s+(?P<level>\S+)\s+TO\s+\{account\}$", re.I | re.S)
_OPTIONS = re.compile(r"^ALTER\s+USER\s+\{account\}\s+WITH\s+(?P<limits>.+)$", re.I | re.S)
_PRIVILEGE = re.compile(r"^[A-Z][A-Z_ ]*$")
_PLUGIN = re.compile(r"^[A-Za-z0-9_]+$")


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
        return grantee(self.user, self.host)


@dataclass
class Template:
    """A role's privileges (Level -> privilege names) and account limits (ALTER USER ... WITH)."""

    role: str
    grants: dict[Level, frozenset]
    limits: dict[str, float]


@dataclass(frozen=True)
class Step:
    sql: str
    shown: str  # sql with secrets as ***: what logs, results and errors may show
    undo: str | None  # the statement restoring the state before this step; None: not undone
    undo_shown: str | None = None


@dataclass
class AccountPlan:
    """Everything one run will do to an account, computed before anything is done."""

    role: str
    account: Account
    flavor: str
    before: AccountState
    steps: list[Step]
    secrets: tuple = field(default=(), repr=False)  # to redact from server messages

    @property
    def shown(self) -> list[str]:
        return [s.shown for s in self.steps]


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


# --- templates -------------------------------------------------------------------------------

def load_template(role: str, flavor: str, database: str, directory: Path = USERS_DIR) -> Template:
    path = directory / flavor / f"{role}.sql"
    if not path.exists():
        raise ConfigurationError(f"no privilege template {path} for role {role!r} on {flavor}")
    text = "\n".join(line for line in path.read_text().splitlines() if not line.lstrip().startswith("--"))
    grants: dict[Level, set] = {}
    limits: dict[str, float] = {}
    for statement in filter(None, (part.strip() for part in text.split(";"))):
        if match := _GRANT.match(statement):
            privileges = {p.strip().upper() for p in match["privs"].split(",")}
            if not all(_PRIVILEGE.match(p) for p in privileges):
                raise ConfigurationError(f"{path}: not a privilege list: {match['privs']!r}")
            grants.setdefault(_parse_level(match["level"], database), set()).update(privileges)
        elif match := _OPTIONS.match(statement):
            words = match["limits"].split()
            pairs = list(zip(words[::2], words[1::2]))
            if len(words) % 2 or any(name.upper() not in LIMITS or not value.isdigit() for name, value in pairs):
                raise ConfigurationError(f"{path}: ALTER USER ... WITH takes only {', '.join(LIMITS)} "
                                         f"with a number: {statement[:80]!r}")
            limits.update((name.upper(), int(value)) for name, value in pairs)
        else:
            raise ConfigurationError(f"{path}: only 'GRANT ... ON ... TO {{account}}' and "
                                     f"'ALTER USER {{account}} WITH <limits>' are allowed: {statement[:80]!r}")
    return Template(role, {level: frozenset(p) for level, p in grants.items()}, limits)


def _parse_level(text: str, database: str) -> Level:
    if text == "*.*":
        return GLOBAL
    schema, _, table = text.partition(".")
    schema = grant_pattern(database) if schema == "{database}" else schema.strip("`")
    return Level(schema) if table == "*" else Level(schema, table.strip("`"))


# --- the two dialects ------------------------------------------------------------------------

@dataclass(frozen=True)
class Dialect:
    """What differs between MariaDB 10.11 and MySQL 8.4 in managing an account. The MySQL
    side is exercised by unit tests only: no MySQL server runs here (docs/hardening.md)."""

    flavor: str
    plugin: str
    limits: tuple

    @property
    def is_mariadb(self) -> bool:
        return self.flavor == "mariadb"

    def identified(self, methods: tuple) -> tuple[str, str]:
        """(sql, shown) of the IDENTIFIED clause setting exactly these (plugin, stored) methods."""
        parts, shown = [], []
        for plugin, stored in methods:
            if not _PLUGIN.match(plugin):
                raise PermanentError(f"unexpected authentication plugin name {plugin!r}")
            if self.is_mariadb:
                using = f" USING {string_literal(stored.decode('utf-8', 'surrogateescape'))}" if stored else ""
                parts.append(plugin + using)
                shown.append(plugin + (" USING ***" if stored else ""))
            else:  # MySQL's stored strings may hold any byte (the salt): hex unless plain text
                plain = stored.isascii() and stored.decode().isprintable() and not set(stored) & set(b"'\\")
                parts.append(plugin + (f" AS {string_literal(stored.decode()) if plain else '0x' + stored.hex()}"
                                       if stored else ""))
                shown.append(plugin + (" AS ***" if stored else ""))
        keyword = " OR " if self.is_mariadb else " AND IDENTIFIED WITH "
        lead = "IDENTIFIED VIA " if self.is_mariadb else "IDENTIFIED WITH "
        return lead + keyword.join(parts), lead + keyword.join(shown)

    def auth_matches(self, state: AccountState, password: str) -> bool:
        return (len(state.auth) == 1 and state.factors == 1 and state.auth[0][0] == self.plugin
                and passwords.matches(self.plugin, state.auth[0][1], password))

    def default_roles(self, account: str, roles: tuple) -> str:
        names = ", ".join(r.sql for r in roles) or "NONE"
        return f"SET DEFAULT ROLE {names} {'FOR' if self.is_mariadb else 'TO'} {account}"


DIALECTS = {
    "mariadb": Dialect("mariadb", passwords.NATIVE, LIMITS),
    "mysql": Dialect("mysql", passwords.CACHING_SHA2, LIMITS[:4]),
}


# --- planning --------------------------------------------------------------------------------

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


def make_plan(state: AccountState, template: Template, account: Account, dialect: Dialect,
              new_hash: bytes | None = None) -> list[Step]:
    """The steps from `state` to the template, grants before revokes. Pure: no I/O."""
    me = account.literal
    steps: list[Step] = []
    if state.factors > 1:
        raise PermanentError(f"{account.grantee} has {state.factors} authentication factors: remove "
                             f"the extra ones (ALTER USER {me} DROP 2 FACTOR) and run again")
    if not state.exists or not dialect.auth_matches(state, account.password) or state.expired:
        stored = new_hash or passwords.stored_form(dialect.plugin, account.password)
        sql, shown = dialect.identified(((dialect.plugin, stored),))
        if not state.exists:
            steps.append(Step(f"CREATE USER {me} {sql}", f"CREATE USER {me} {shown}", f"DROP USER {me}"))
            state = AccountState(exists=True, auth=((dialect.plugin, stored),), other_hosts=state.other_hosts)
        else:
            # An account without a password reads back with no method: restored as such.
            old, old_shown = dialect.identified(state.auth) if state.auth else ("IDENTIFIED BY ''",) * 2
            expire = " PASSWORD EXPIRE" if state.expired else ""
            steps.append(Step(f"ALTER USER {me} {sql}", f"ALTER USER {me} {shown}",
                              f"ALTER USER {me} {old}{expire}", f"ALTER USER {me} {old_shown}{expire}"))
    if state.locked:
        steps.append(_step(f"ALTER USER {me} ACCOUNT UNLOCK", f"ALTER USER {me} ACCOUNT LOCK"))
    if state.lifetime != "DEFAULT":
        steps.append(_step(f"ALTER USER {me} PASSWORD EXPIRE DEFAULT",
                           f"ALTER USER {me} PASSWORD EXPIRE {state.lifetime}"))
    want = {name: template.limits.get(name, 0) for name in dialect.limits}
    have = {name: state.limits.get(name, 0) for name in dialect.limits}
    if want != have:
        steps.append(_step(f"ALTER USER {me} WITH {_limits(want)}", f"ALTER USER {me} WITH {_limits(have)}"))
    for level, wanted in sorted(template.grants.items()):
        missing = sorted(wanted - state.privileges.get(level, frozenset()))
        if missing:
            steps.append(_step(f"GRANT {_privileges(missing)} ON {level.on} TO {me}",
                               f"REVOKE {_privileges(missing)} ON {level.on} FROM {me}"))
    if state.default_roles:
        steps.append(_step(dialect.default_roles(me, ()), dialect.default_roles(me, state.default_roles)))
    for role, admin in sorted(state.roles.items(), key=_by_principal):
        steps.append(_step(f"REVOKE {role.sql} FROM {me}",
                           f"GRANT {role.sql} TO {me}" + (" WITH ADMIN OPTION" if admin else "")))
    for proxied, option in sorted(state.proxies.items(), key=_by_principal):
        steps.append(_step(f"REVOKE PROXY ON {proxied.sql} FROM {me}",
                           f"GRANT PROXY ON {proxied.sql} TO {me}" + (" WITH GRANT OPTION" if option else "")))
    for owner, (names, columns, option) in sorted(_extras(state, template).items()):
        taken = [_privileges([name]) for name in names] + [
            f"{_privileges([p])} ({', '.join(quote_name(c) for c in cols)})" for p, cols in sorted(columns.items())]
        if taken:
            steps.append(_step(f"REVOKE {', '.join(taken)} ON {owner.on} FROM {me}",
                               f"GRANT {', '.join(taken)} ON {owner.on} TO {me}"))
        if option:
            steps.append(_step(f"REVOKE GRANT OPTION ON {owner.on} FROM {me}",
                               f"GRANT USAGE ON {owner.on} TO {me} WITH GRANT OPTION"))
    if state.other_hosts:
        others = ", ".join(f"{string_literal(account.user)}@{string_literal(h)}" for h in state.other_hosts)
        steps.append(Step(f"DROP USER {others}", f"DROP USER {others}", None))
    return steps


def _by_principal(item) -> tuple:
    return item[0].name, item[0].host or ""


def _step(sql: str, undo: str) -> Step:
    return Step(sql, sql, undo, undo)


def _limits(values: dict) -> str:
    return " ".join(f"{name} {value}" for name, value in values.items())


def _privileges(names) -> str:
    for name in names:
        if not _PRIVILEGE.match(name):
            raise PermanentError(f"unexpected privilege name {name!r}")
    return ", ".join(sorted(names))


def _extras(state: AccountState, template: Template) -> dict:
    """Privileges beyond the template, per level a REVOKE can name: owner level ->
    (privilege names, {privilege: columns}, GRANT OPTION held). Column privileges and their
    GRANT OPTION belong to their table's level."""
    extras: dict = {}
    for level, held in state.privileges.items():
        beyond = held - template.grants.get(level, frozenset())
        if not beyond:
            continue
        names, columns, option = extras.setdefault(level.owner, (set(), {}, False))
        if level.column:
            for privilege in beyond:
                columns.setdefault(privilege, []).append(level.column)
        else:
            names.update(beyond)
    for level in state.grant_option:
        names, columns, _ = extras.get(level.owner, (set(), {}, False))
        extras[level.owner] = (names, columns, True)
    return {owner: (sorted(n), {p: sorted(c) for p, c in cols.items()}, opt)
            for owner, (n, cols, opt) in extras.items()}


def plan_role(conn, role: str, account: Account, database: str, *, admin_login: str | None = None,
              directory: Path = USERS_DIR) -> AccountPlan:
    """Read the account and plan its convergence to the role's template; changes nothing."""
    check_account(account, admin_login=admin_login)
    info = server_info(conn)
    dialect = DIALECTS[info.flavor]
    template = load_template(role, info.flavor, database, directory)
    cur = conn.cursor()
    try:
        state = read_state(cur, account.user, account.host, is_mariadb=info.is_mariadb)
    finally:
        cur.close()
    new_hash = passwords.stored_form(dialect.plugin, account.password)
    steps = make_plan(state, template, account, dialect, new_hash)
    secrets = (account.password, new_hash.decode("latin-1"), new_hash.hex(),
               *(s.decode("latin-1") for _, s in state.auth if s), *(s.hex() for _, s in state.auth if s))
    return AccountPlan(role, account, info.flavor, state, steps, secrets)


# --- applying --------------------------------------------------------------------------------

def execute(conn, plan: AccountPlan) -> list[str]:
    """Apply every step, or none: a failed step undoes the ones before it (see the module doc)."""
    cur = conn.cursor()
    done: list[Step] = []
    try:
        for step in plan.steps:
            try:
                cur.execute(step.sql)
            except Exception as exc:
                raise _failed(conn, plan, done, step, exc) from None
            done.append(step)
    finally:
        cur.close()
    return [s.shown for s in done]


def _failed(conn, plan: AccountPlan, done: list[Step], step: Step, exc: Exception) -> Exception:
    """Undo what was done, then describe the account's state for the operator."""
    where = (f"{plan.role}: step {len(done) + 1} of {len(plan.steps)} on {plan.account.grantee} "
             f"({step.shown}) failed: {redact(str(exc), *plan.secrets)}.")
    after, not_undone = _undo(conn, plan, done)
    if not done:
        state = " Nothing had been applied: the account is as it was. Fix the cause and run again."
    elif after == plan.before and not not_undone:
        state = (f" The account is exactly as before the run: the {len(done)} step(s) already applied "
                 "were undone. Fix the cause and run again.")
    else:
        state = (f" The account is partly changed: applied {[s.shown for s in done]}; not undone: "
                 f"{not_undone or 'none, but it differs from before (changed by someone else meanwhile?)'}; "
                 f"not applied: {[s.shown for s in plan.steps[len(done) + 1:]]}. Running again converges it.")
    error = TransientError if is_transient(exc) else PermanentError
    return error(where + state)


def _undo(conn, plan: AccountPlan, done: list[Step]) -> tuple[AccountState | None, list[str]]:
    """Undo the applied steps in reverse; (the account as read afterwards, what was not undone)."""
    if not done:
        return plan.before, []
    not_undone: list[str] = []
    try:
        cur = conn.cursor()
    except Exception as exc:  # the connection is gone: nothing can be undone over it
        return None, [f"{s.shown} (no connection left: {redact(str(exc), *plan.secrets)})" for s in done]
    try:
        for applied in reversed(done):
            if applied.undo is None:
                not_undone.append(f"{applied.shown} (cannot be undone)")
                continue
            try:
                cur.execute(applied.undo)
            except Exception as undo_exc:
                not_undone.append(f"{applied.shown} (its undo failed: {redact(str(undo_exc), *plan.secrets)})")
        try:
            return read_state(cur, plan.account.user, plan.account.host,
                              is_mariadb=plan.flavor == "mariadb"), not_undone
        except Exception as read_exc:
            return None, not_undone + [f"(the account could not be read back: {redact(str(read_exc), *plan.secrets)})"]
    finally:
        cur.close()


def apply_role(conn, role: str, account: Account, database: str, *, admin_login: str | None = None,
               directory: Path = USERS_DIR, planned: list[str] | None = None) -> list[str]:
    """Converge the account of `role` to its template; returns what was done (no secrets).

    `planned`: the steps shown to (and maybe approved by) the operator earlier; if the account
    changed since, nothing is applied."""
    plan = plan_role(conn, role, account, database, admin_login=admin_login, directory=directory)
    if planned is not None and plan.shown != planned:
        raise PermanentError(f"{role}: {account.grantee} changed since its plan was made: planned "
                             f"{planned}, now {plan.shown}. Nothing applied; run again.")
    actions = execute(conn, plan)
    after = plan_role(conn, role, account, database, admin_login=admin_login, directory=directory)
    if after.steps:
        # e.g. a privilege name the server reports differently: never report success on a guess.
        raise PermanentError(f"{role}: {account.grantee} does not match include/sql/users/{plan.flavor}/"
                             f"{role}.sql after applying it; still to do: {after.shown}")
    if not actions:
        actions.append(f"privileges of {account.grantee} already match {plan.flavor}/{role}.sql, and so do "
                       "its password, plugin, limits, roles and host entries")
    return actions


# --- anonymous accounts ----------------------------------------------------------------------

def plan_anonymous(conn) -> list[str]:
    """Accounts with an empty user name match every login from their host, and the server picks
    the most specific host first: ''@'127.0.0.1' catches shop_app's logins from there before
    shop_app@'%' does, with whatever it holds. They are dropped (mysql_secure_installation's
    rule), before the five accounts converge."""
    cur = conn.cursor()
    try:
        hosts = hosts_of(cur, "", is_mariadb=server_info(conn).is_mariadb)
    finally:
        cur.close()
    anonymous = ", ".join("''@" + string_literal(host) for host in hosts)
    return [f"DROP USER {anonymous}"] if hosts else []


def drop_anonymous(conn, planned: list[str] | None = None) -> list[str]:
    """Drop the anonymous accounts; with `planned`, only if they are still those planned."""
    steps = plan_anonymous(conn)
    if planned is not None and steps != planned:
        raise PermanentError(f"the anonymous accounts changed since the plan: planned {planned}, now {steps}. "
                             "Nothing dropped; run again.")
    cur = conn.cursor()
    try:
        for sql in steps:
            cur.execute(sql)
    finally:
        cur.close()
    return steps
