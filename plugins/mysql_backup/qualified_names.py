"""Statements that name the backed-up database explicitly, which a restore would get wrong.

Replay keeps only the backed-up database (`--database`, which filters by the statement's
default database) and may rename it (`--rewrite-db`, which rewrites the default database
and row events, not names written inside a statement). So a statement that names the
database explicitly is either dropped (run from another default database) or, after a
rename, applied to the original database instead of the restored copy. The dump has the
same trap in trigger, routine and event definitions. Row data is never affected, and
Django-style applications never qualify names; when one does, the restore is refused
rather than silently wrong or, worse, changing the live database.

A reference is found by tokenizing each statement as the server would read it (see
sql_stream): an identifier equal to the database (backticked, bare, or double-quoted under
ANSI_QUOTES), then `.`, then a name or `*`. The same characters inside a string literal or
a comment (`COMMENT 'mirror of shop.example.com'`) are not a reference. Names are compared
without regard to case, which can only err towards refusing.
"""
from __future__ import annotations

import re

from mysql_common.errors import PermanentError

from mysql_backup.sql_stream import SKIPPED, SqlSplitter, identifier, tokens

_SQL_MODE = re.compile(rb"(?i)sql_mode\s*:?=\s*(?:(\d+)|'([^']*)'|(\S+))")
_ANSI_QUOTES = 4  # MODE_ANSI_QUOTES in the numeric sql_mode mariadb-binlog prints


def qualified_references(text: bytes, database: str, *, ansi_quotes: bool = False) -> list[str]:
    """Each `database`.name written in the statement, as written."""
    wanted = database.casefold()
    significant = [(kind, value) for kind, value in tokens(text) if kind not in SKIPPED]
    found = []
    for i in range(len(significant) - 2):
        name = identifier(*significant[i], ansi_quotes=ansi_quotes)
        if name is None or name.casefold() != wanted or significant[i + 1] != ("other", b"."):
            continue
        if i and significant[i - 1] == ("other", b"."):
            continue  # the middle part of x.db.name: db is a table name there
        after = significant[i + 2]
        if after == ("other", b"*") or identifier(*after, ansi_quotes=ansi_quotes) is not None:
            found.append((significant[i][1] + b"." + after[1]).decode("utf-8", "replace"))
    return found


def sql_mode_ansi_quotes(text: bytes, current: bool) -> bool:
    """Track ANSI_QUOTES through `SET sql_mode = ...` (a dump) or `SET @@session.sql_mode=N`
    (mariadb-binlog); an assignment from a variable restores the dump's default (off)."""
    matches = list(_SQL_MODE.finditer(text))
    if not matches or not text.lstrip().upper().startswith((b"SET", b"/*!")):
        return current
    match = matches[-1]
    if match[1] is not None:
        return bool(int(match[1]) & _ANSI_QUOTES)
    if match[2] is not None:
        return bool(re.search(rb"(?i)\bANSI(_QUOTES)?\b", match[2]))
    return False


class DumpGuard(SqlSplitter):
    """A pipeline tap on the decompressed dump, used when restoring under another name.

    It sees each chunk before the client does, so a statement naming the source database
    is never sent: the restore stops and the partial copy is dropped. Row data (INSERT) is
    skipped at the speed of bytes.find.
    """

    def __init__(self, database: str):
        super().__init__(self._check, rows=lambda _table, _data, _last: None)
        self.database = database
        self.ansi_quotes = False

    def _check(self, text: bytes, _delimiter: bytes) -> None:
        self.ansi_quotes = sql_mode_ansi_quotes(text, self.ansi_quotes)
        found = qualified_references(text, self.database, ansi_quotes=self.ansi_quotes)
        if found:
            statement = " ".join(text.decode("utf-8", "replace").split())[:200]
            raise PermanentError(
                f"the dump has a definition naming database {self.database!r} explicitly ({found[0]}); loaded "
                f"under another name it would change {self.database!r} itself, so the restore stopped before "
                f"it (restore under the original name on a separate server): {statement}")


_SKIP = {b"SET", b"START", b"COMMIT", b"ROLLBACK", b"BEGIN", b"XA"}  # session and transaction control


class BinlogStatementScan(SqlSplitter):
    """A pipeline sink over `mariadb-binlog --short-form` output (no --database filter)."""

    def __init__(self, database: str, renaming: bool):
        super().__init__(self._statement)
        self.database = database
        self.renaming = renaming
        self.current: str | None = None
        self.ansi_quotes = False
        self.problems: list[str] = []

    def _statement(self, text: bytes, _delimiter: bytes) -> None:
        self.ansi_quotes = sql_mode_ansi_quotes(text, self.ansi_quotes)
        significant = [(kind, value) for kind, value in tokens(text) if kind not in SKIPPED]
        first = next((value.upper() for kind, value in significant if kind == "word"), None)
        if first == b"USE" and significant[0][1].upper() == b"USE" and len(significant) > 1:
            self.current = identifier(*significant[1])
            return
        if first is None or first in _SKIP:
            return
        found = qualified_references(text, self.database, ansi_quotes=self.ansi_quotes)
        if not found:
            return
        if self.current != self.database:
            where = f"in database {self.current!r}" if self.current else "without a default database"
            why = f"runs {where}, so replaying only {self.database!r} would drop it"
        elif self.renaming:
            why = f"names {self.database!r} explicitly, so replay into a renamed copy would change " \
                  f"{self.database!r} itself ({found[0]})"
        else:
            return
        if len(self.problems) < 20:
            statement = " ".join(text.decode("utf-8", "replace").split())
            self.problems.append(f"{why}: {statement[:200]}")

    def result(self) -> list[str]:
        self.finish()
        return self.problems


def refuse_message(problems: list[str], database: str) -> str:
    return (f"the binlogs hold statements that name database {database!r} explicitly; replay would be "
            "wrong, so nothing was applied. Restore under the original name on a separate server instead. "
            + " | ".join(problems))
