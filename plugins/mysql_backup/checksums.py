"""Per-table checksums of a dump, computed from the dump stream itself.

They cost no second read of the tables: while the dump flows to compression, each table's
row data (the VALUES part of its INSERT statements) goes through SHA-256 and its rows are
counted. A restore drill loads the dump into a scratch database, dumps that copy with the
same tool and DATA_OPTIONS, and must get the same figures: a value that did not survive the
round trip (a lost or changed row, a missing table) changes them.

The digest does not depend on where the dump tool starts a new INSERT: each statement's
VALUES part is hashed followed by ",", which is what one statement with all the rows would
give. Rows: mariadb-dump writes one row per line (values never hold a raw newline), so
rows are newlines; mysqldump writes them on one line, where `),(` is counted outside string
literals.
"""
from __future__ import annotations

import hashlib
import re

from mysql_backup.manifest import TableChecksum
from mysql_backup.sql_stream import SKIPPED, SqlSplitter, identifier, tokens

# Dump options that decide how row data is written: the backup and the drill's dump of the
# restored copy must use the same ones for the checksums to compare.
DATA_OPTIONS = ["--hex-blob", "--default-character-set=utf8mb4", "--max-allowed-packet=1G"]

_STRING = re.compile(rb"'(?:[^'\\]|\\.)*'")


class _Rows:
    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.rows = 0
        self.statement_started = False
        self.one_line = False
        self.tail = b""  # the last bytes seen outside strings (and an open string, one-line format)

    def add(self, data: bytes, last: bool) -> None:
        self.digest.update(data)
        if not self.statement_started:
            self.statement_started = True
            self.one_line = not data.startswith(b"\n")
            self.rows += 1 if self.one_line else 0
            self.tail = b""
        if self.one_line:
            self._count_one_line(data)
        else:  # a row per line, and no value holds a raw newline
            self.rows += data.count(b"\n")
        if last:
            self.digest.update(b",")
            self.statement_started = False

    def _count_one_line(self, data: bytes) -> None:
        text = _STRING.sub(b"", self.tail + data)
        quote = text.find(b"'")  # what is left of a quote opens a string still going on
        counted = text if quote < 0 else text[:quote]
        self.rows += counted.count(b"),(")
        self.tail = text[-2:] if quote < 0 else text[max(0, quote - 2):]


class DumpDigests:
    """A pipeline tap on a dump; result() gives the checksum of every table, empty ones too."""

    def __init__(self) -> None:
        self.splitter = SqlSplitter(self._statement, rows=self._rows)
        self.tables: dict[str, _Rows] = {}

    def __call__(self, chunk) -> None:
        self.splitter(chunk)

    def _statement(self, text: bytes, delimiter: bytes) -> None:
        """Register every table the dump creates, so an empty one has its checksum too. Routine
        and trigger bodies (which may create tables) are under another DELIMITER."""
        if delimiter != b";" or b"TABLE" not in text[:4096].upper():
            return
        words = [(kind, value.upper() if kind == "word" else value)
                 for kind, value in tokens(text[:4096]) if kind not in SKIPPED]
        keywords = [value if kind == "word" else None for kind, value in words]
        for i, word in enumerate(keywords):
            if word != b"CREATE":
                continue
            rest = keywords[i + 1:i + 4]
            table = 1 if rest[:1] == [b"TABLE"] else 3 if rest[:3] == [b"OR", b"REPLACE", b"TABLE"] else None
            if table is not None:
                name = next((identifier(kind, value) for kind, value in words[i + table + 1:i + table + 5]
                             if kind == "ident"), None)
                if name is not None:
                    self.tables.setdefault(name, _Rows())
            return

    def _rows(self, table: str, data: bytes, last: bool) -> None:
        self.tables.setdefault(table, _Rows()).add(data, last)

    def result(self) -> list[TableChecksum]:
        self.splitter.finish()
        return [TableChecksum(name, rows.rows, rows.digest.hexdigest()) for name, rows in sorted(self.tables.items())]


def compare(expected: list[TableChecksum], actual: list[TableChecksum]) -> list[str]:
    """Every difference, one line each: a drill reports all of them at once."""
    found = {t.table: t for t in actual}
    problems = []
    for table in expected:
        got = found.pop(table.table, None)
        if got is None:
            problems.append(f"table {table.table}: missing after restore")
        elif (got.rows, got.sha256) != (table.rows, table.sha256):
            problems.append(f"table {table.table}: {got.rows} rows / SHA-256 {got.sha256[:16]}..., the backup "
                            f"recorded {table.rows} rows / SHA-256 {table.sha256[:16]}...")
    problems += [f"table {name}: not in the backup's checksums" for name in sorted(found)]
    return problems
