"""SQLite databases with every hard case the migration must survive.

`build_clean` holds only values that have an exact MySQL form (the run must verify clean
with the default `fail` policy); `build_conflicts` adds values MySQL cannot hold as they
are, one kind per column, for the conflict policies.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

LONG_NAME = "a_table_name_that_is_much_longer_than_the_sixty_four_characters_mysql_allows_for_names"


def build_clean(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(f'''
    PRAGMA foreign_keys = OFF;
    CREATE TABLE "order" ("select" INTEGER PRIMARY KEY AUTOINCREMENT, "from" TEXT, "weird `name" TEXT,
                          "dotted.col" TEXT, "quote""d" TEXT);
    CREATE TABLE "Order Lines" (id INTEGER PRIMARY KEY, "order" INTEGER REFERENCES "order"("select"),
                                price decimal, qty integer unsigned, amount NUMERIC(10,2));
    CREATE TABLE "{LONG_NAME}" (id INTEGER PRIMARY KEY, "{LONG_NAME}_column" TEXT);
    CREATE TABLE "trail " (id INTEGER PRIMARY KEY, v TEXT);
    CREATE TABLE numbers (id INTEGER PRIMARY KEY, r REAL, d DOUBLE, big INTEGER, money MONEY, untyped,
                          s SMALLINT, flag bool, f2 BOOLEAN);
    CREATE TABLE moments (id INTEGER PRIMARY KEY, dt DATETIME, ts TIMESTAMP, d DATE, t TIME);
    CREATE TABLE texts (id INTEGER PRIMARY KEY, short VARCHAR(5), code CHAR(4), body TEXT, nul_text TEXT,
                        doc TEXT CHECK (json_valid(doc) OR doc IS NULL), uid char(32), blobby BLOB);
    CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(150) NOT NULL UNIQUE, email TEXT,
                        manager_id INTEGER REFERENCES users(id));
    CREATE TABLE pairs (a TEXT NOT NULL, b INTEGER NOT NULL, note TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
    CREATE TABLE nokey (x INTEGER, y TEXT);
    CREATE TABLE shadowed (rowid TEXT, _rowid_ TEXT, val INTEGER);
    CREATE TABLE chicken (id INTEGER PRIMARY KEY, egg_id INTEGER REFERENCES egg(id));
    CREATE TABLE egg (id INTEGER PRIMARY KEY, chicken_id INTEGER REFERENCES chicken(id));
    CREATE TABLE empty_table (id INTEGER PRIMARY KEY, v TEXT);
    CREATE TABLE longkeys (id INTEGER PRIMARY KEY, k TEXT UNIQUE, j TEXT);
    CREATE INDEX longkeys_j ON longkeys(j);
    CREATE INDEX partial_idx ON texts(short) WHERE short IS NOT NULL;
    CREATE TABLE gen (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL);
    CREATE VIEW order_view AS SELECT "select", "from" FROM "order";
    CREATE TRIGGER order_touch AFTER UPDATE ON "order" BEGIN SELECT 1; END;
    ''')
    try:
        conn.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body)")
        conn.execute("INSERT INTO docs VALUES ('hello', 'full text')")
    except sqlite3.OperationalError:
        pass  # SQLite built without FTS5
    conn.executemany('INSERT INTO "order" VALUES (?, ?, ?, ?, ?)', [
        (1, "tab\there", "new\nline", "back\\slash", "it's"),
        (2, "\\N", "", None, "\U0001F600 emoji"),
        (3, "carriage\rreturn", "\u00e9t\u00e9 accents", "combining e\u0301", "\u4e2d\u6587"),
        (5, "deleted ids below", "x", "y", "z"),
    ])
    conn.execute('INSERT INTO "order" VALUES (9, "will be deleted", "", "", "")')
    conn.execute('DELETE FROM "order" WHERE "select" = 9')  # sqlite_sequence stays at 9
    conn.executemany('INSERT INTO "Order Lines" VALUES (?, ?, ?, ?, ?)', [
        (1, 1, 19.99, 3, 10.5), (2, 1, 0.1, 1, 0.99), (3, 2, 1234.5, 2, 100), (4, 5, 0, 0, -0.5),
        (5, 3, 20, 7, 1e-2), (6, 42, 99999.99, 1, 12345678.9),  # order 42 does not exist: orphan
    ])
    conn.execute(f'INSERT INTO "{LONG_NAME}" VALUES (1, "long names")')
    conn.execute('INSERT INTO "trail " VALUES (1, "trailing space table")')
    conn.executemany("INSERT INTO numbers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        (1, 0.30000000000000004, 1e-7, 2 ** 62, 12.34, 7, -32768, 1, "true"),
        (2, 1.7976931348623157e308, 5e-324, -(2 ** 63), 0, 3.5, 32767, 0, "f"),
        (3, -0.0, 123456789012345680000.0, 0, -1.05, "text too", 0, "t", "0"),
        (4, None, None, None, None, None, None, None, None),
        (5, 100.0, 2.5, 1, 7, x := b"\x00\x01", 1, "false", "yes"),
    ])
    conn.executemany("INSERT INTO moments VALUES (?, ?, ?, ?, ?)", [
        (1, "2020-03-01T00:00:00", "2020-03-01 12:34:56.123456", "2020-03-01", "12:00"),
        (2, "2020-03-01 10:00:00Z", "2020-03-01T10:00:00+02:00", "1999-12-31", "23:59:59.999999"),
        (3, "2020-03-01 10:00:00.5", "2021-06-30T23:59:59.000001-0130", "2000-02-29", "00:00:00"),
        (4, "2020-03-01", None, None, None),
    ])
    conn.executemany("INSERT INTO texts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
        (1, "abc", "ab  ", "x" * 70000, "nul\x00inside", '{"a": [1, 2, {"b": null}], "c": "\u00e9"}',
         "0123456789abcdef0123456789abcdef", bytes(range(256))),
        (2, "longer than five", "abcd", "", "plain", "[]", "ffffffffffffffffffffffffffffffff",
         b"\x00\t\n\\\xff"),
        (3, None, None, None, None, None, None, b""),
        (4, "\u00e9\u00e9\u00e9", "x", "y", "z", '"just a string"', "00000000000000000000000000000000", None),
    ])
    conn.executemany("INSERT INTO users VALUES (?, ?, ?, ?)", [
        (1, "Anna", "anna@example.com", None), (2, "anna", "ANNA@example.com", 1),
        (3, "a", None, 2), (4, "a ", None, 3), (5, "\u00e1", None, 1), (6, "A", "", 99),  # 99: orphan
    ])
    conn.executemany("INSERT INTO pairs VALUES (?, ?, ?)", [
        ("x", 1, "one"), ("x", 2, "two"), ("X", 1, "upper"), ("x ", 1, "trailing"), ("", 0, "empty key"),
    ])
    conn.executemany("INSERT INTO nokey VALUES (?, ?)", [(1, "dup"), (1, "dup"), (None, None), (2, "b")])
    conn.executemany("INSERT INTO shadowed VALUES (?, ?, ?)", [("r1", "r2", 1), ("r1", "r2", 1)])
    conn.executemany("INSERT INTO chicken VALUES (?, ?)", [(1, 1), (2, None)])
    conn.executemany("INSERT INTO egg VALUES (?, ?)", [(1, 2), (2, 1)])
    conn.executemany("INSERT INTO longkeys VALUES (?, ?, ?)", [
        (1, "k" * 900, "j" * 900), (2, "k" * 899 + "l", "j" * 900), (3, "short", None)])
    conn.executemany("INSERT INTO gen (id, a) VALUES (?, ?)", [(1, 2), (2, 5)])
    conn.commit()
    conn.close()
    return path


# table -> (column, bad value kind) for build_conflicts: one problem per column
CONFLICTS = {
    "bad_values": ["n_int", "n_dec", "n_real", "n_dt", "n_json", "n_text"],
}


def build_conflicts(path: Path) -> Path:
    """build_clean plus a table whose columns hold values MySQL cannot take as they are."""
    build_clean(path)
    conn = sqlite3.connect(path)
    conn.execute("""CREATE TABLE bad_values (id INTEGER PRIMARY KEY, n_int INTEGER, n_dec DECIMAL(6,2),
                    n_real REAL, n_dt DATETIME, n_json TEXT CHECK (json_valid(n_json) OR 1), n_text TEXT,
                    ok TEXT)""")
    rows = [(i, i, i + 0.25, i * 1.5, f"2024-01-{i % 28 + 1:02d} 10:00:00", "{}", f"row {i}", "fine")
            for i in range(1, 41)]
    conn.executemany("INSERT INTO bad_values VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("UPDATE bad_values SET n_int = 'not a number' WHERE id = 3")
    conn.execute("UPDATE bad_values SET n_dec = 0.125 WHERE id = 5")  # a third decimal place
    conn.execute("UPDATE bad_values SET n_real = 9e999 WHERE id = 7")  # +Infinity
    conn.execute("UPDATE bad_values SET n_dt = '2021-02-30 10:00:00' WHERE id = 11")
    conn.execute("UPDATE bad_values SET n_dt = 1600000000 WHERE id = 12")  # epoch number
    conn.execute("UPDATE bad_values SET n_json = '{not json' WHERE id = 13")
    conn.execute("UPDATE bad_values SET n_text = CAST(x'6869ff21' AS TEXT) WHERE id = 17")  # invalid UTF-8
    conn.commit()
    conn.close()
    return path


# rows of bad_values that hold a value MySQL cannot take as it is
BAD_ROWS = {3, 5, 7, 11, 12, 13, 17}
