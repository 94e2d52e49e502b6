"""Statements that name the backed-up database explicitly, which a restore would get wrong.

Replay keeps only the backed-up database (`--database`, which filters by the statement's
default database) and may rename it (`--rewrite-db`, which rewrites the default database
and row events, not names written inside a statement). So a statement that names the
database explicitly is either dropped (run from another default database) or, after a
rename, applied to the original database instead of the restored copy. The dump has the
same trap in trigger, routine and event definitions. Row data is never affected, and
Django-style applications never qualify names; when one does, the restore is refused
rather than silently wrong or, worse, changing the live database.
"""
from __future__ import annotations

import re

from mysql_common.errors import PermanentError


def qualified_pattern(database: str) -> str:
    """`db`. or db. followed by a name, not part of a longer identifier."""
    name = re.escape(database)
    return rf"(?<![\w$`.])(?:`{name}`|{name})\s*\.\s*[`\w$]"


_INSERT = re.compile(rb"(?m)^INSERT INTO ")


class DumpGuard:
    """A pipeline tap on the decompressed dump, used when restoring under another name.

    It sees each chunk before the client does, so a statement naming the source database
    is never sent: the restore stops and the partial copy is dropped. INSERT statements
    hold only row data (their strings have newlines escaped, so the first ";\n" ends them)
    and are skipped at the speed of bytes.find.
    """

    def __init__(self, database: str):
        self.database = database
        self.pattern = re.compile(qualified_pattern(database).encode())
        self.pending = b""  # an unfinished line, or the last byte of an unfinished INSERT
        self.in_insert = False

    def __call__(self, chunk: memoryview) -> None:
        data = self.pending + bytes(chunk)
        pos = 0
        while True:
            if self.in_insert:
                end = data.find(b";\n", pos)
                if end < 0:
                    self.pending = data[-1:]
                    return
                self.in_insert, pos = False, end + 2
                continue
            insert = _INSERT.search(data, pos)
            stop = insert.start() if insert else data.rfind(b"\n", pos) + 1 or pos
            self._check(data[pos:stop])
            if insert is None:
                self.pending = data[stop:]
                return
            self.in_insert, pos = True, insert.end()

    def _check(self, text: bytes) -> None:
        match = self.pattern.search(text)
        if match:
            line_start = text.rfind(b"\n", 0, match.start()) + 1
            line = text[line_start: line_start + 200].split(b"\n", 1)[0]
            raise PermanentError(
                f"the dump has a definition naming database {self.database!r} explicitly; loaded under "
                f"another name it would change {self.database!r} itself, so the restore stopped before "
                f"it (restore under the original name on a separate server): {line.decode('utf-8', 'replace')}")


_USE = re.compile(r"^use `((?:[^`]|``)+)`/\*!\*/;$")
_SKIP = ("SET ", "DELIMITER", "START TRANSACTION", "COMMIT", "ROLLBACK", "BEGIN", "/*!", "XA ")


class BinlogStatementScan:
    """A pipeline sink over `mariadb-binlog --short-form` output (no --database filter)."""

    def __init__(self, database: str, renaming: bool):
        self.database = database
        self.renaming = renaming
        self.pattern = re.compile(qualified_pattern(database))
        self.current: str | None = None
        self.statement: list[str] = []
        self.rest = b""
        self.problems: list[str] = []

    def __call__(self, chunk: memoryview) -> None:
        data = self.rest + bytes(chunk)
        lines = data.split(b"\n")
        self.rest = lines.pop()
        for line in lines:
            self._line(line.decode("utf-8", "replace"))

    def finish(self) -> list[str]:
        if self.rest:
            self._line(self.rest.decode("utf-8", "replace"))
        return self.problems

    def _line(self, line: str) -> None:
        if line.startswith("#") or (not self.statement and not line.strip()):
            return
        match = _USE.match(line)
        if match:
            self.current = match[1].replace("``", "`")
            return
        self.statement.append(line)
        if line.endswith("/*!*/;"):
            self._statement("\n".join(self.statement)[: -len("/*!*/;")].strip())
            self.statement = []

    def _statement(self, text: str) -> None:
        if not text or text.upper().startswith(_SKIP) or not self.pattern.search(text):
            return
        if self.current != self.database:
            where = f"in database {self.current!r}" if self.current else "without a default database"
            why = f"runs {where}, so replaying only {self.database!r} would drop it"
        elif self.renaming:
            why = f"names {self.database!r} explicitly, so replay into a renamed copy would change {self.database!r} itself"
        else:
            return
        if len(self.problems) < 20:
            self.problems.append(f"{why}: {text[:200]}")


def refuse_message(problems: list[str], database: str) -> str:
    return (f"the binlogs hold statements that name database {database!r} explicitly; replay would be "
            "wrong, so nothing was applied. Restore under the original name on a separate server instead. "
            + " | ".join(problems))

