"""Split a SQL stream into statements as the mysql/mariadb client does, while it flows.

The client ends a statement at its delimiter (`;`, or whatever DELIMITER set) only outside
string literals, quoted identifiers and comments. `/*! ... */` and `/*M! ... */` are not
comments to the client: their content is code and is scanned as such.

Dumps add one shape that must go at the speed of bytes.find: row data. mysqldump and
mariadb-dump write `INSERT INTO `t` VALUES ...;` with every newline inside a value escaped,
so the first ";\\n" ends the statement. With `rows` set, those statements are handed over in
slices as they arrive and never buffered whole (one row may be larger than memory allows).
Everything else is buffered up to its delimiter and handed over whole.

`tokens()` and `identifier()` give the same view of one statement to whoever must tell an
identifier from the same characters inside a string or a comment.
"""
from __future__ import annotations

import functools
import re
from typing import Callable, Iterator

_QUOTED = (rb"'(?:[^'\\]|\\.|'')*'", rb'"(?:[^"\\]|\\.|"")*"', rb"`(?:[^`]|``)*`")
_BODY = (
    rb"|(?P<ws>\s+)"
    rb"|(?P<comment>(?:--(?=\s)|\#)[^\n]*(?:\n|\Z)|/\*(?!M?!).*?\*/)"
    rb"|(?P<mark>/\*M?!\d*|\*/)"
    rb"|(?P<string>" + _QUOTED[0] + rb"|" + _QUOTED[1] + rb")"
    rb"|(?P<ident>" + _QUOTED[2] + rb")"
    rb"|(?P<var>@@?(?:" + b"|".join(_QUOTED) + rb"|[\w$.\x80-\xff]+))"
    rb"|(?P<word>[\w$\x80-\xff]+)"
    # A quote or comment still open where the buffer ends: wait for more, or it is malformed.
    rb"|(?P<open>(?:'(?:[^'\\]|\\.|'')*\\?|\"(?:[^\"\\]|\\.|\"\")*\\?|`(?:[^`]|``)*|/\*(?!M?!).*)\Z)"
    rb"|(?P<other>.)"
)
_INSERT_HEAD = b"INSERT INTO `"
_INSERT = re.compile(rb"INSERT INTO `((?:[^`]|``)+)`(?: \((?:[^)`]|`(?:[^`]|``)*`)*\))? VALUES ?")
_DELIMITER = re.compile(rb"(?i)delimiter[ \t]+(\S+)[^\n]*(?:\n|\Z)")
_LEADING = re.compile(rb"(?:\s+|(?:--(?=\s)|\#)[^\n]*\n|/\*(?!M?!).*?\*/)*", re.S)
SKIPPED = ("ws", "comment", "mark")


def _statement_end(data: bytes) -> int:
    """Where `;\n` first occurs: a `;` alone is found several times faster, and values rarely hold one."""
    at = data.find(b";")
    for _ in range(8):
        if at < 0 or data[at + 1:at + 2] == b"\n":
            return at
        at = data.find(b";", at + 1)
    return data.find(b";\n", at) if at >= 0 else -1


def _maybe_delimiter_command(line: bytes) -> bool:
    """A DELIMITER command whose line is not complete yet (or a prefix of the word)."""
    word = line[:9].upper()
    if len(word) < 9:
        return b"DELIMITER".startswith(word)
    return word == b"DELIMITER" and line[9:10] in (b"", b" ", b"\t") and b"\n" not in line


@functools.lru_cache(maxsize=8)
def _pattern(delimiter: bytes | None) -> re.Pattern:
    head = rb"(?P<delim>" + re.escape(delimiter) + rb")" if delimiter else rb"(?P<delim>(?!))"
    return re.compile(head + _BODY, re.S)


def tokens(text: bytes) -> Iterator[tuple[str, bytes]]:
    """(kind, bytes) for every token of one statement: ws, comment, mark (`/*!50003`, `*/`),
    string, ident (backticks), var (@x, @@x.y), word, open (unterminated), other (one byte)."""
    for match in _pattern(None).finditer(text):
        yield match.lastgroup, match.group()


def identifier(kind: str, value: bytes, *, ansi_quotes: bool = False) -> str | None:
    """The name a token denotes if it is an identifier; None if it is anything else."""
    if kind == "word":
        return value.decode("utf-8", "replace")
    if kind == "ident":
        return value[1:-1].replace(b"``", b"`").decode("utf-8", "replace")
    if kind == "string" and ansi_quotes and value.startswith(b'"'):
        return value[1:-1].replace(b'""', b'"').decode("utf-8", "replace")
    return None


class SqlSplitter:
    """A pipeline tap or sink: feed() chunks (or call it), finish() at the end of the stream.

    on_statement(text, delimiter) gets each statement without its delimiter. With
    rows=on_rows, dump INSERTs go to on_rows(table, data, last) instead, in slices of their
    VALUES part (without the final `;`), as they arrive.
    """

    def __init__(self, on_statement: Callable[[bytes, bytes], None], *,
                 rows: Callable[[str, bytes, bool], None] | None = None, delimiter: bytes = b";"):
        self.on_statement = on_statement
        self.on_rows = rows
        self.delimiter = delimiter
        self.buffer = b""
        self.start = 0                 # where the current statement starts in buffer
        self.scan = 0                  # where tokenizing resumes
        self.table: str | None = None  # inside a dump INSERT (the rows fast path)
        self.carry = b""               # inside an INSERT: a trailing ';' that may end it

    def __call__(self, chunk) -> None:
        self.feed(bytes(chunk))

    def feed(self, data: bytes) -> None:
        if self.table is not None:
            data = self._rows(data)
            if data is None:
                return
        self.buffer = self.buffer[self.start:] + data
        self.scan -= self.start
        self.start = 0
        self._split(final=False)

    def finish(self) -> None:
        if self.table is not None:
            self.on_rows(self.table, self.carry, True)
            self.table, self.carry = None, b""
        self._split(final=True)
        rest = self.buffer[self.start:]
        if rest.strip():
            self.on_statement(rest, self.delimiter)
        self.buffer, self.start, self.scan = b"", 0, 0

    def _rows(self, data: bytes) -> bytes | None:
        """Pass row bytes on; return what follows the INSERT, or None while it goes on."""
        data = self.carry + data
        end = _statement_end(data)
        if end < 0:
            keep = 1 if data.endswith(b";") else 0
            self.on_rows(self.table, data[:len(data) - keep], False)
            self.carry = data[len(data) - keep:]
            return None
        self.on_rows(self.table, data[:end], True)
        self.table, self.carry = None, b""
        return data[end + 1:]  # from the newline on: the next statement

    def _split(self, *, final: bool) -> None:
        while True:
            if self.scan == self.start and not self._at_statement_start(final):
                return
            if self.table is not None:  # the rest of the buffer is row data
                rest = self._rows(self.buffer[self.scan:])
                self.buffer, self.start, self.scan = (rest or b""), 0, 0
                if rest is None:
                    return
                continue
            buffer, delimiter = self.buffer, self.delimiter
            for match in _pattern(delimiter).finditer(buffer, self.scan):
                if not final and self._undecided(match, buffer, delimiter):
                    self.scan = match.start()
                    return
                if match.lastgroup == "delim":
                    self.on_statement(buffer[self.start:match.start()], delimiter)
                    self.start = self.scan = match.end()
                    break
            else:
                self.scan = len(buffer)
                return

    @staticmethod
    def _undecided(match: re.Match, buffer: bytes, delimiter: bytes) -> bool:
        """Whether the bytes still to come could make this token something else.

        A complete delimiter is final: waiting for more would let the client (which gets this
        chunk right after the tap) run a statement nobody checked. Any other token needs to
        see the byte after it (a doubled quote, a longer word), `-` two (`-- `), `/` three
        (`/*M!`); and what could be the start of a longer delimiter waits for all of it.
        """
        left = len(buffer) - match.start()
        if left < len(delimiter) and delimiter.startswith(buffer[match.start():]):
            return True
        if match.lastgroup == "delim":
            return False
        need = {b"-": 2, b"/": 3}.get(match.group(), 1) if match.lastgroup == "other" else 1
        return match.end() + need > len(buffer)

    def _at_statement_start(self, final: bool) -> bool:
        """Skip leading blanks and comments; handle DELIMITER and dump INSERTs. False: need more."""
        buffer = self.buffer
        first = _LEADING.match(buffer, self.start).end()
        self.start = self.scan = first
        head = buffer[first:first + len(_INSERT_HEAD)]
        if not final and (len(head) < len(_INSERT_HEAD) and _INSERT_HEAD.startswith(head)
                          or _maybe_delimiter_command(buffer[first:first + 256])):
            return False  # too few bytes to tell
        command = _DELIMITER.match(buffer, first)
        if command:
            if not final and not command.group().endswith(b"\n"):
                return False
            self.delimiter = command[1]
            self.start = self.scan = command.end()
            return self._at_statement_start(final)
        if self.on_rows is not None and self.delimiter == b";" and head == _INSERT_HEAD:
            header = _INSERT.match(buffer, first)
            if header is None or header.end() == len(buffer):
                # Not all here yet; past 64 KiB it is no dump INSERT but an ordinary statement.
                return final or len(buffer) - first > 64 * 1024
            self.table = header[1].replace(b"``", b"`").decode("utf-8", "replace")
            self.start = self.scan = header.end()
        return True
