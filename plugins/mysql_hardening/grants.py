"""What an account holds, read from the server's own SHOW GRANTS and SHOW CREATE USER.

Those two statements render the server's account tables (mysql.global_priv, db, tables_priv,
columns_priv, procs_priv, proxies_priv, roles_mapping on MariaDB; their MySQL 8 counterparts)
in one syntax: privileges at every level (global, database, table, column, routine), proxy and
role grants, the default role, the authentication plugins, limits, lock and expiry.
information_schema's privilege views show only the first four levels, so a role holding ALL
went unseen there. Nothing here is skipped: a line the parser does not understand is an error,
never a grant quietly left in place.

ALL PRIVILEGES is expanded into its privileges through information_schema, so that a template
privilege held under ALL is kept while the rest is revoked.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from mysql_common.errors import PermanentError
from mysql_common.identifiers import quote

ROUTINE_KINDS = ("PROCEDURE", "FUNCTION", "PACKAGE", "PACKAGE BODY")
# Account limits in SHOW CREATE USER / ALTER USER ... WITH; MAX_STATEMENT_TIME is MariaDB's.
LIMITS = ("MAX_QUERIES_PER_HOUR", "MAX_UPDATES_PER_HOUR", "MAX_CONNECTIONS_PER_HOUR",
          "MAX_USER_CONNECTIONS", "MAX_STATEMENT_TIME")


class GrantParseError(PermanentError):
    """The server said something about an account that this code does not understand."""


@dataclass(frozen=True, order=True)
class Level:
    """Where a privilege applies: *.* (the default), db.*, db.table, a column of db.table,
    or a routine (routine = PROCEDURE/FUNCTION/PACKAGE/PACKAGE BODY, table = its name)."""

    db: str = "*"
    table: str = "*"
    column: str = ""
    routine: str = ""

    @property
    def on(self) -> str:
        """The ON clause (without the column, which goes beside the privilege)."""
        if self.db == "*":
            return "*.*"
        target = f"{quote(self.db)}.{'*' if self.table == '*' else quote(self.table)}"
        return f"{self.routine} {target}" if self.routine else target

    @property
    def owner(self) -> "Level":
        """The level a column's GRANT OPTION lives on: its table."""
        return Level(self.db, self.table, routine=self.routine)

    def __str__(self) -> str:
        return self.on + (f" ({quote(self.column)})" if self.column else "")


GLOBAL = Level()


@dataclass(frozen=True, order=True)
class Principal:
    """A user or role: MariaDB roles have no host (host None), MySQL's do."""

    name: str
    host: str | None = None

    @property
    def sql(self) -> str:
        return quote_name(self.name) + ("" if self.host is None else "@" + quote_name(self.host))


def quote_name(value: str) -> str:
    """A user, host or role name as a backtick identifier (user names may be empty, which
    mysql_common.identifiers.quote refuses for schema objects)."""
    return "`" + value.replace("`", "``") + "`"


@dataclass
class AccountState:
    """Everything the hardening manages about one user@host, as the server has it now."""

    exists: bool = False
    auth: tuple = ()  # ((plugin, stored string as bytes), ...): MariaDB may have several (OR)
    factors: int = 1  # MySQL multi-factor authentication: more than 1 is not managed here
    limits: dict = field(default_factory=dict)  # LIMITS name -> value; absent means 0
    locked: bool = False
    expired: bool = False
    lifetime: str = "DEFAULT"  # DEFAULT, NEVER or "INTERVAL n DAY"
    privileges: dict = field(default_factory=dict)  # Level -> frozenset of privilege names
    grant_option: frozenset = frozenset()  # Levels WITH GRANT OPTION
    roles: dict = field(default_factory=dict)  # Principal -> WITH ADMIN OPTION
    default_roles: tuple = ()
    proxies: dict = field(default_factory=dict)  # Principal (user@host) -> WITH GRANT OPTION
    other_hosts: tuple = ()  # other accounts with the same user name


# --- tokens ----------------------------------------------------------------------------------

_TOKENS = re.compile(r"""
    (?P<space>\s+)
  | `(?P<backtick>(?:[^`]|``)*)`
  | "(?P<dquote>(?:[^"\\]|\\.|"")*)"
  | '(?P<squote>(?:[^'\\]|\\.|'')*)'
  | (?P<hex>0[xX][0-9A-Fa-f]*)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<word>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<punct>[,().*@=])
""", re.X | re.S)
_ESCAPES = {"0": "\0", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "b": "\b"}


@dataclass(frozen=True)
class Token:
    kind: str  # name (quoted identifier), string, hex, number, word, punct
    value: str

    @property
    def upper(self) -> str:
        return self.value.upper()

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.upper in words


def _unescape(text: str, quote_char: str) -> str:
    text = text.replace(quote_char * 2, quote_char)
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], m[1]), text, flags=re.S)


def tokenize(text: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(text):
        m = _TOKENS.match(text, pos)
        if not m:
            # What follows may be an unterminated secret: show only what came before.
            raise GrantParseError(f"cannot read character {pos} of {_shown(text[:pos])!r}...")
        pos = m.end()
        kind = m.lastgroup
        if kind == "space":
            continue
        value = m[kind]
        if kind == "backtick":
            tokens.append(Token("name", value.replace("``", "`")))
        elif kind == "dquote":
            tokens.append(Token("name", _unescape(value, '"')))
        elif kind == "squote":
            tokens.append(Token("string", _unescape(value, "'")))
        else:
            tokens.append(Token(kind, value))
    return tokens


def _shown(text: str) -> str:
    """A statement as it may appear in an error: authentication strings are secrets."""
    return re.sub(r"'(?:[^'\\]|\\.|'')*'|0[xX][0-9A-Fa-f]+", "'***'", text)


class _Reader:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            self.fail("unexpected end")
        self.i += 1
        return tok

    def done(self) -> bool:
        return self.i >= len(self.tokens)

    def accept(self, *words: str) -> bool:
        """Consume the words if they come next, in order."""
        for k, w in enumerate(words):
            tok = self.peek(k)
            if tok is None or not tok.is_word(w):
                return False
        self.i += len(words)
        return True

    def expect(self, *words: str) -> None:
        if not self.accept(*words):
            self.fail(f"expected {' '.join(words)}")

    def punct(self, char: str) -> bool:
        tok = self.peek()
        if tok is not None and tok.kind == "punct" and tok.value == char:
            self.i += 1
            return True
        return False

    def name(self) -> str:
        tok = self.take()
        if tok.kind not in ("name", "string", "word"):
            self.fail("expected a name")
        return tok.value

    def principal(self) -> Principal:
        name = self.name()
        return Principal(name, self.name()) if self.punct("@") else Principal(name)

    def fail(self, why: str):
        raise GrantParseError(f"{why} at token {self.i} of {_shown(self.text)!r}")


# --- SHOW GRANTS -----------------------------------------------------------------------------

@dataclass
class GrantLine:
    kind: str  # privileges, roles, proxy, default_roles
    level: Level | None = None
    privileges: list = field(default_factory=list)  # [(privilege, [columns] or None)]
    principals: list = field(default_factory=list)
    option: bool = False  # WITH GRANT OPTION / WITH ADMIN OPTION


def parse_grant(line: str) -> GrantLine:
    r = _Reader(line)
    if r.accept("SET", "DEFAULT", "ROLE"):
        roles = [] if r.accept("NONE") else _principal_list(r, until="FOR")
        r.expect("FOR")
        r.principal()
        return GrantLine("default_roles", principals=roles)
    r.expect("GRANT")
    first = r.peek()
    if first is not None and first.kind in ("name", "string"):  # GRANT `role` TO ...
        roles = _principal_list(r, until="TO")
        r.expect("TO")
        r.principal()
        return GrantLine("roles", principals=roles, option=_with_option(r, "ADMIN"))
    privileges = _privilege_list(r)
    r.expect("ON")
    if [p for p, _ in privileges] == ["PROXY"]:
        proxied = r.principal()
        r.expect("TO")
        r.principal()
        return GrantLine("proxy", principals=[proxied], option=_with_option(r, "GRANT"))
    level = _object(r)
    r.expect("TO")
    r.principal()
    return GrantLine("privileges", level, privileges, option=_with_option(r, "GRANT"))


def _principal_list(r: _Reader, until: str) -> list[Principal]:
    found = [r.principal()]
    while r.punct(","):
        found.append(r.principal())
    if not r.peek() or not r.peek().is_word(until):
        r.fail(f"expected {until}")
    return found


def _privilege_list(r: _Reader) -> list:
    items = []
    while True:
        words = []
        while r.peek() is not None and r.peek().kind == "word" and not r.peek().is_word("ON"):
            words.append(r.take().upper)
        if not words:
            r.fail("expected a privilege")
        columns = None
        if r.punct("("):
            columns = [r.name()]
            while r.punct(","):
                columns.append(r.name())
            if not r.punct(")"):
                r.fail("expected )")
        items.append((" ".join(words), columns))
        if not r.punct(","):
            return items


def _object(r: _Reader) -> Level:
    routine = ""
    for kind in ("PACKAGE BODY", *ROUTINE_KINDS):
        if r.accept(*kind.split()):
            routine = kind
            break
    if r.punct("*"):
        if not (r.punct(".") and r.punct("*")) or routine:
            r.fail("expected *.*")
        return GLOBAL
    db = r.name()
    if not r.punct("."):
        r.fail("expected db.object")
    if r.punct("*"):
        if routine:
            r.fail("a routine needs a name")
        return Level(db)
    return Level(db, r.name(), routine=routine)


def _with_option(r: _Reader, kind: str) -> bool:
    """After the grantee: IDENTIFIED ..., REQUIRE ..., WITH GRANT OPTION / ADMIN OPTION / limits.
    Only the option matters here (SHOW CREATE USER is read for the rest)."""
    found = False
    while not r.done():
        if r.accept(kind, "OPTION"):
            found = True
        else:
            r.take()
    return found


# --- SHOW CREATE USER ------------------------------------------------------------------------

def parse_create_user(lines: list[str], state: AccountState) -> None:
    """Fill auth, limits, lock, expiry (and MySQL's default roles) from SHOW CREATE USER, whose
    MariaDB form may add an `ALTER USER ... PASSWORD EXPIRE ...` line."""
    for line in lines:
        r = _Reader(line)
        if not (r.accept("CREATE", "USER") or r.accept("ALTER", "USER")):
            r.fail("expected CREATE USER")
        r.principal()
        while not r.done():
            _user_clause(r, state)


def _user_clause(r: _Reader, state: AccountState) -> None:
    if r.accept("IDENTIFIED"):
        state.auth, state.factors = _identified(r, state)
    elif r.accept("REQUIRE"):  # TLS requirements are the operator's: read past them
        while r.peek() is not None and (r.peek().kind == "string" or r.peek().is_word(
                "NONE", "SSL", "X509", "CIPHER", "ISSUER", "SUBJECT", "AND")):
            r.take()
    elif r.accept("WITH"):
        while r.peek() is not None and r.peek().kind == "word" and r.peek().upper in LIMITS:
            name = r.take().upper
            state.limits[name] = _number(r)
    elif r.accept("ACCOUNT"):
        if r.accept("LOCK"):
            state.locked = True
        else:
            r.expect("UNLOCK")
    elif r.accept("PASSWORD", "EXPIRE"):
        if r.accept("DEFAULT"):
            state.lifetime = "DEFAULT"
        elif r.accept("NEVER"):
            state.lifetime = "NEVER"
        elif r.accept("INTERVAL"):
            state.lifetime = f"INTERVAL {int(_number(r))} DAY"
            r.expect("DAY")
        else:
            state.expired = True
    elif r.accept("PASSWORD", "HISTORY") or r.accept("FAILED_LOGIN_ATTEMPTS"):
        r.take()  # MySQL password policy (DEFAULT or a number): not managed
    elif r.accept("PASSWORD", "REUSE", "INTERVAL"):
        if not r.accept("DEFAULT"):
            _number(r)
            r.expect("DAY")
    elif r.accept("PASSWORD", "REQUIRE", "CURRENT"):
        r.accept("DEFAULT") or r.accept("OPTIONAL")
    elif r.accept("PASSWORD_LOCK_TIME"):
        r.take()
    elif r.accept("ATTRIBUTE") or r.accept("COMMENT"):
        r.take()
    elif r.accept("DEFAULT", "ROLE"):  # MySQL
        state.default_roles = tuple([] if r.accept("NONE") else _principal_list_to_end(r))
    else:
        r.fail("unknown account clause")


def _principal_list_to_end(r: _Reader) -> list[Principal]:
    found = [r.principal()]
    while r.punct(","):
        found.append(r.principal())
    return found


def _identified(r: _Reader, state: AccountState) -> tuple[tuple, int]:
    """MariaDB: BY PASSWORD 'hash' | VIA plugin [USING 'x'] (OR plugin [USING 'x'])*.
    MySQL: WITH 'plugin' [AS 'x'|0x..] (AND IDENTIFIED WITH ...)* for more factors."""
    if r.accept("BY", "PASSWORD"):
        return (("mysql_native_password", _string(r)),), 1
    if r.accept("VIA"):
        methods = [_method(r, "USING")]
        while r.accept("OR"):
            methods.append(_method(r, "USING"))
        return tuple(methods), 1
    r.expect("WITH")
    methods = [_method(r, "AS")]
    while r.accept("AND", "IDENTIFIED", "WITH"):
        methods.append(_method(r, "AS"))
    return tuple(methods[:1]), len(methods)


def _method(r: _Reader, keyword: str) -> tuple[str, bytes]:
    plugin = r.name()
    return (plugin, _string(r) if r.accept(keyword) else b"")


def _string(r: _Reader) -> bytes:
    tok = r.take()
    if tok.kind == "string":
        return tok.value.encode("utf-8", "surrogateescape")
    if tok.kind == "hex":
        return bytes.fromhex(tok.value[2:])
    r.fail("expected a string")


def _number(r: _Reader) -> float:
    tok = r.take()
    if tok.kind != "number":
        r.fail("expected a number")
    value = float(tok.value)
    return int(value) if value.is_integer() else value


# --- reading an account ----------------------------------------------------------------------

def grantee(user: str, host: str) -> str:
    """How information_schema spells an account in its GRANTEE columns."""
    return f"'{user}'@'{host}'"


def hosts_of(cur, user: str, *, is_mariadb: bool) -> list[str]:
    """Every host entry of a user name (MariaDB roles, which have none, left out)."""
    if is_mariadb:
        cur.execute("SELECT Host FROM mysql.user WHERE User = %s AND is_role = 'N'", (user,))
    else:
        cur.execute("SELECT Host FROM mysql.user WHERE User = %s", (user,))
    return sorted(_text(h) for (h,) in cur.fetchall())


def read_state(cur, user: str, host: str, *, is_mariadb: bool) -> AccountState:
    """The whole state of user@host; an account that does not exist reads as exists=False."""
    hosts = hosts_of(cur, user, is_mariadb=is_mariadb)
    state = AccountState(other_hosts=tuple(sorted(h for h in hosts if h != host)))
    if host not in hosts:
        return state
    state.exists = True
    account = f"{quote_name(user)}@{quote_name(host)}"
    if not is_mariadb:
        cur.execute("SET SESSION print_identified_with_as_hex = ON")  # salts are binary
    cur.execute(f"SHOW CREATE USER {account}")
    parse_create_user([_text(row[0]) for row in cur.fetchall()], state)
    cur.execute(f"SHOW GRANTS FOR {account}")
    privileges: dict = {}
    grant_option = set()
    for (line,) in cur.fetchall():
        g = parse_grant(_text(line))
        if g.kind == "default_roles":
            state.default_roles = tuple(g.principals)
        elif g.kind == "roles":
            for role in g.principals:
                state.roles[role] = g.option
        elif g.kind == "proxy":
            state.proxies[g.principals[0]] = g.option
        else:
            if g.option:
                grant_option.add(g.level)
            for privilege, columns in g.privileges:
                if privilege == "USAGE":
                    continue
                if privilege in ("ALL", "ALL PRIVILEGES"):
                    names = _expand_all(cur, user, host, g.level)
                    privileges.setdefault(g.level, set()).update(names)
                elif columns:
                    for column in columns:
                        level = Level(g.level.db, g.level.table, column)
                        privileges.setdefault(level, set()).add(privilege)
                else:
                    privileges.setdefault(g.level, set()).add(privilege)
    state.privileges = {level: frozenset(p) for level, p in privileges.items()}
    state.grant_option = frozenset(grant_option)
    return state


def _expand_all(cur, user: str, host: str, level: Level) -> set[str]:
    """ALL PRIVILEGES at a level, as the server lists it privilege by privilege."""
    who = grantee(user, host)
    if level.routine:
        return {"EXECUTE", "ALTER ROUTINE"}
    if level == GLOBAL:
        cur.execute("SELECT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = %s", (who,))
    elif level.table == "*":
        cur.execute("SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES "
                    "WHERE GRANTEE = %s AND TABLE_SCHEMA = %s", (who, level.db))
    else:
        cur.execute("SELECT PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES "
                    "WHERE GRANTEE = %s AND TABLE_SCHEMA = %s AND TABLE_NAME = %s", (who, level.db, level.table))
    names = {_text(p).upper() for (p,) in cur.fetchall()} - {"USAGE"}
    if not names:
        raise GrantParseError(f"{who} holds ALL PRIVILEGES on {level} but information_schema lists none")
    return names


def _text(value) -> str:
    return value.decode("utf-8", "surrogateescape") if isinstance(value, (bytes, bytearray)) else value
