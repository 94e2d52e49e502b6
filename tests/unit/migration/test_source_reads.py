"""The preflight's checks that look rows up by key (PRAGMA integrity_check, foreign_key_check)
must not re-read the file many times over: with SQLite's default 2 MiB page cache they read
a file of a few tens of MiB about twenty times through read() (the demo shop at scale 2: 8.7
GiB for a 288 MiB file), and the factor grows with the file. Counted in bytes read
(/proc/self/io), not timed."""
from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from sqlite_to_mysql.source import open_source
from sqlite_to_mysql.source_scan import SourceScan, _foreign_key_check, _with_cache, integrity

ROWS = 120_000


def read_bytes() -> int:
    return int(next(line.split()[1] for line in Path("/proc/self/io").read_text().splitlines()
                    if line.startswith("rchar")))


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Path:
    """Orders referencing customers in random order, with an index per foreign key: lookups
    jump around the parent table and the child table."""
    path = tmp_path_factory.mktemp("reads") / "shop.sqlite3"
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE);
        CREATE TABLE purchase (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),
                               note TEXT, placed TEXT NOT NULL);
        CREATE INDEX purchase_customer ON purchase (customer_id);
        CREATE INDEX purchase_placed ON purchase (placed);
    """)
    conn.executemany("INSERT INTO customer VALUES (?, ?, ?)",
                     ((i, f"customer {i} " + "x" * 60, f"c{rng.random()}@example.com") for i in range(1, ROWS + 1)))
    conn.executemany("INSERT INTO purchase VALUES (?, ?, ?, ?)",
                     ((i, rng.randint(1, ROWS), "note " * rng.randint(0, 20), f"2024-{rng.random()}")
                      for i in range(1, 2 * ROWS + 1)))
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("check", ["integrity", "foreign keys"])
def test_key_lookups_read_the_file_a_few_times_at_most(shop, check):
    size = shop.stat().st_size
    assert size > 16 * 2 ** 20  # well above SQLite's default page cache
    conn = _with_cache(open_source(shop))  # as scan_source opens its connections
    try:
        before = read_bytes()
        if check == "integrity":
            assert integrity(conn, "full") == "ok"
        else:
            found = SourceScan()
            _foreign_key_check(conn, "purchase", found)
            assert found.orphans == {"purchase": []}
        read = read_bytes() - before
    finally:
        conn.close()
    assert read < 3 * size, f"{check}: {read / 2 ** 20:.0f} MiB read for a {size / 2 ** 20:.0f} MiB file"
