"""Values the target server's own types refuse, found by asking the server.

Some rules are the server's and differ between servers and versions: MariaDB's UUID type
refuses 128-bit values that are not RFC 4122 (a version nibble of 'a', say), and JSON_VALID
refuses documents that SQLite and Python accept (nesting 32 deep, lone surrogate escapes)
while accepting some they refuse ('1.'). The preflight does not re-implement them: it sends
the candidate values to the server in batches and takes the server's answer. Nothing is
written; the query reads only its parameter.
"""
from __future__ import annotations

import json
import threading

BATCH_BYTES = 2 * 1024 * 1024  # of JSON per statement, well under max_allowed_packet
# kind -> (how JSON_TABLE reads a value, SQL true for a value j.v the server's type refuses)
REFUSES = {"uuid": ("CHAR(36) CHARACTER SET ascii", "CAST(j.v AS UUID) IS NULL"),
           "json": ("LONGTEXT CHARACTER SET utf8mb4", "NOT JSON_VALID(j.v)")}


class ServerTypes:
    """Asks one server connection (shared by the preflight's threads, one query at a time)."""

    def __init__(self, conn, *, is_mariadb: bool) -> None:
        self.conn, self.lock = conn, threading.Lock()
        self.kinds = set(REFUSES) if is_mariadb else {"json"}  # MySQL has no UUID type

    def refused(self, kind: str, values: list[str]) -> set[str]:
        """The values (as MySQL would receive them) that the server's type of `kind` refuses."""
        found: set[str] = set()
        column, refuses = REFUSES[kind]
        for batch in _batches(values):
            sql = (f"SELECT j.n FROM JSON_TABLE(%s, '$[*]' COLUMNS (n FOR ORDINALITY, v {column} PATH '$')) AS j "
                   f"WHERE {refuses}")
            with self.lock:
                cur = self.conn.cursor()
                cur.execute(sql, (json.dumps(batch, ensure_ascii=False),))
                found.update(batch[n - 1] for (n,) in cur.fetchall())
                cur.close()
        return found


def _batches(values: list[str]):
    batch, size = [], 0
    for value in values:
        if batch and size + len(value) > BATCH_BYTES:
            yield batch
            batch, size = [], 0
        batch.append(value)
        size += len(value) + 4
    if batch:
        yield batch
