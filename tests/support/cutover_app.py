"""The application of the cutover tests: a schema with every key shape, a writer that keeps
changing it and remembers exactly what it committed, and the checks that compare MySQL with
that record and with SQLite."""
from __future__ import annotations

import random
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from sqlite_to_mysql.cutover import sqlite_capture
from sqlite_to_mysql.declared_types import affinity
from sqlite_to_mysql.source import open_source
from sqlite_to_mysql.source_schema import qi
from sqlite_to_mysql.sqlite_functions import register
from sqlite_to_mysql.cutover.switch_actions import SwitchConfig
from sqlite_to_mysql.type_mapping import sqlite_value
from sqlite_to_mysql.verify import TableVerifier
from tools.bench import connector
from tools.bench_cutover import open_cutover

LINES = 'order "lines" 2024'  # quotes and spaces in a table name, composite key
SCHEMA = f"""
CREATE TABLE item (id INTEGER PRIMARY KEY AUTOINCREMENT, name VARCHAR(40) NOT NULL, price decimal NOT NULL,
                   updated datetime NOT NULL, photo BLOB);
CREATE TABLE "{LINES.replace('"', '""')}" (code TEXT NOT NULL, line INTEGER NOT NULL,
                   item_id INTEGER REFERENCES item(id), qty INTEGER NOT NULL, note TEXT, PRIMARY KEY (code, line));
CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID;
CREATE TABLE events (kind TEXT, payload TEXT);
CREATE TABLE slots (at DATETIME PRIMARY KEY, label TEXT);
"""
NAMES = ["plain", "it's", 'say "hi"', "back\\slash", "\u00e9t\u00e9", "\U0001F600", "tab\tnew\nline", "100%"]


def build_app_db(path: Path, rows: int = 300) -> Path:
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    for i in range(1, rows + 1):
        conn.execute("INSERT INTO item VALUES (?, ?, ?, ?, ?)", (i, f"{rng.choice(NAMES)} {i}",
                     f"{rng.randrange(100, 99999) / 100:.2f}", f"2024-01-{1 + i % 28:02d} 10:00:00",
                     rng.randbytes(8) if i % 3 else None))
        conn.execute(f'INSERT INTO "{LINES.replace(chr(34), chr(34) * 2)}" VALUES (?, ?, ?, ?, ?)',
                     (f"c{i % 40}", i, i, i % 5 + 1, rng.choice(NAMES)))
        conn.execute("INSERT INTO kv VALUES (?, ?)", (f"key {i}", rng.choice(NAMES)))
        conn.execute("INSERT INTO events VALUES (?, ?)", ("seed", rng.choice(NAMES)))
        conn.execute("INSERT INTO slots VALUES (?, ?)", (f"2023-06-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00",
                                                         rng.choice(NAMES)))
    conn.commit()
    conn.close()
    return path


# --- the application's writer -------------------------------------------------------------

QUOTED_LINES = '"' + LINES.replace('"', '""') + '"'


class Writer(threading.Thread):
    """Inserts, updates and deletes in every table, one transaction at a time, and keeps a
    model of what committed: {(table, key): row or None}. Busy, frozen and guarded writes
    roll back and are not recorded."""

    def __init__(self, path: Path, *, seed: int = 3, pause: float = 0.002) -> None:
        super().__init__(name="app-writer", daemon=True)
        self.path, self.rng, self.pause = path, random.Random(seed), pause
        self.model: dict[tuple, tuple | None] = {}
        self.committed = self.refused = self.busy = 0
        self.stopping = threading.Event()
        self.error: BaseException | None = None
        self.ours: list[int] = []  # items this writer inserted (only those are deleted: no orphan lines)

    def run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0.1, isolation_level=None)
        try:
            while not self.stopping.is_set():
                changes: dict = {}
                new_items: list[int] = []
                try:
                    conn.execute("BEGIN")
                    for _ in range(self.rng.randint(1, 3)):
                        self._one(conn, changes, new_items)
                    conn.execute("COMMIT")
                except (sqlite3.OperationalError, sqlite3.IntegrityError) as exc:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    text = str(exc)
                    if "frozen" in text or "retired" in text:
                        self.refused += 1
                    elif "locked" in text or "busy" in text:
                        self.busy += 1
                    elif "UNIQUE" not in text:
                        raise
                    continue
                self.model.update(changes)
                self.ours += new_items
                self.committed += 1
                time.sleep(self.pause)
        except BaseException as exc:
            self.error = exc
        finally:
            conn.close()

    def _one(self, conn: sqlite3.Connection, changes: dict, new_items: list) -> None:
        rng = self.rng
        now = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:00:00"
        op = rng.randrange(12)
        if op == 0:
            row = (f"{rng.choice(NAMES)} new", f"{rng.randrange(1, 99999) / 100:.2f}", now,
                   rng.randbytes(rng.randint(0, 12)) or None)
            cur = conn.execute("INSERT INTO item (name, price, updated, photo) VALUES (?, ?, ?, ?)", row)
            changes[("item", (cur.lastrowid,))] = row
            new_items.append(cur.lastrowid)
        elif op == 1:
            item = rng.randint(1, 300)
            row = conn.execute("SELECT name, price, updated, photo FROM item WHERE id = ?", (item,)).fetchone()
            row = (row[0], f"{rng.randrange(1, 99999) / 100:.2f}", now, row[3])
            conn.execute("UPDATE item SET price = ?, updated = ? WHERE id = ?", (row[1], now, item))
            changes[("item", (item,))] = row
        elif op == 2 and self.ours:
            item = self.ours.pop(rng.randrange(len(self.ours)))  # popped for good even if this rolls back
            conn.execute("DELETE FROM item WHERE id = ?", (item,))
            changes[("item", (item,))] = None
        elif op in (3, 4):
            key = (f"c{rng.randrange(60)}", rng.randrange(1, 2000))
            row = (rng.randint(1, 300), rng.randint(1, 9), rng.choice(NAMES))
            conn.execute(f"INSERT OR REPLACE INTO {QUOTED_LINES} VALUES (?, ?, ?, ?, ?)", (*key, *row))
            changes[("lines", key)] = row
        elif op == 5:
            found = conn.execute(f"SELECT code, line, item_id, qty, note FROM {QUOTED_LINES} ORDER BY random() "
                                 f"LIMIT 1").fetchone()
            if found:  # the key itself moves
                conn.execute(f"UPDATE {QUOTED_LINES} SET line = line + 5000 WHERE code = ? AND line = ?", found[:2])
                changes[("lines", found[:2])] = None
                changes[("lines", (found[0], found[1] + 5000))] = tuple(found[2:])
        elif op == 6:
            found = conn.execute(f"SELECT code, line FROM {QUOTED_LINES} ORDER BY random() LIMIT 1").fetchone()
            if found:
                conn.execute(f"DELETE FROM {QUOTED_LINES} WHERE code = ? AND line = ?", found)
                changes[("lines", tuple(found))] = None
        elif op == 7:
            key, value = f"key {rng.randrange(400)}", rng.choice(NAMES) + str(rng.random())
            conn.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, value))
            changes[("kv", (key,))] = (value,)
        elif op == 8:
            key = f"key {rng.randrange(400)}"
            if conn.execute("DELETE FROM kv WHERE k = ?", (key,)).rowcount:
                changes[("kv", (key,))] = None
        elif op == 9:
            row = (rng.choice(["click", "view"]), rng.choice(NAMES))
            cur = conn.execute("INSERT INTO events VALUES (?, ?)", row)
            changes[("events", (cur.lastrowid,))] = row
        elif op == 10:
            found = conn.execute("SELECT rowid, kind FROM events ORDER BY random() LIMIT 1").fetchone()
            if found:
                if rng.random() < 0.5:
                    conn.execute("DELETE FROM events WHERE rowid = ?", (found[0],))
                    changes[("events", (found[0],))] = None
                else:
                    payload = rng.choice(NAMES) + "!"
                    conn.execute("UPDATE events SET payload = ? WHERE rowid = ?", (payload, found[0]))
                    changes[("events", (found[0],))] = (found[1], payload)
        else:
            at = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:30:00"
            if rng.random() < 0.7:
                label = rng.choice(NAMES)
                conn.execute("INSERT OR REPLACE INTO slots VALUES (?, ?)", (at, label))
                changes[("slots", (at,))] = (label,)
            elif conn.execute("DELETE FROM slots WHERE at = ?", (at,)).rowcount:
                changes[("slots", (at,))] = None

    def stop(self) -> None:
        self.stopping.set()
        self.join(60)
        if self.error:
            raise self.error


# what the model's rows look like when read back from MySQL (table -> SELECT, source table, columns)
MYSQL_READ = {
    "item": ("SELECT name, price, updated, photo FROM item WHERE id = %s", "item", ("name", "price", "updated", "photo")),
    "lines": ("SELECT item_id, qty, note FROM `order \"lines\" 2024` WHERE code = %s AND line = %s", LINES,
              ("item_id", "qty", "note")),
    "kv": ("SELECT v FROM kv WHERE k = %s", "kv", ("v",)),
    "events": ("SELECT kind, payload FROM events WHERE _sqlite_rowid = %s", "events", ("kind", "payload")),
    "slots": ("SELECT label FROM slots WHERE at = %s", "slots", ("label",)),
}


def missing_writes(model: dict, dst, plan, source: Path) -> list:
    """Every committed write of the model that MySQL does not hold as committed (read back
    the way a rollback would store it in the SQLite file `source`)."""
    wrong = []
    cur = dst.cursor()
    conn = sqlite3.connect(source)
    try:
        affinities = {t.source: {r[1]: affinity(r[2]) for r in conn.execute(f"PRAGMA table_info({qi(t.source)})")}
                      for t in plan.tables}
    finally:
        conn.close()
    for (table, key), row in model.items():
        sql, name, columns = MYSQL_READ[table]
        cur.execute(sql, key)
        found = cur.fetchone()
        tp = plan.table(name)
        found = None if found is None else tuple(sqlite_value(tp.column(c), v, affinities[name][c])
                                                 for c, v in zip(columns, found))
        if table == "item" and row is not None:
            row = (row[0], Decimal(row[1]), row[2], row[3])
            found = found and (found[0], Decimal(str(found[1])), *found[2:])
        if found != row:
            wrong.append((table, key, row, found))
    dst.commit()
    return wrong


def verify_all(source: Path, dst, plan) -> list:
    """Every table, compared row by row (counts and checksums) as the migration verifies."""
    src = open_source(source)
    register(src)
    try:
        bad = []
        for tp in plan.tables:
            verdict = TableVerifier(src, dst, tp, flavor=plan.flavor).run()
            if not verdict.ok:
                bad.append((tp.source, verdict.issues, verdict.differences[:3]))
        return bad
    finally:
        src.close()


@dataclass
class Migrated:
    """A migrated target with capture armed; every connection it opens is closed by close(),
    so a failed test never leaves a session whose locks block dropping its database."""

    source: Path
    plan: object
    database: str
    params: dict
    tmp: Path
    migration: dict
    opened: list = field(default_factory=list)

    def cutover(self, run_id: str = "cutover_test", **config):
        settings = {"settings_file": str(self.tmp / "app.env"), **config}
        cut = open_cutover(self.source, self.params, self.plan, run_id=run_id, config=SwitchConfig(**settings))
        self.opened += [cut.src, cut.dst]
        return cut

    def mysql(self):
        conn = connector(self.params, self.database)()
        self.opened.append(conn)
        return conn

    def app(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.source, isolation_level=None, timeout=5)
        self.opened.append(conn)
        return conn

    def close(self) -> None:
        for conn in self.opened:
            try:
                conn.close()
            except Exception:
                pass
        self.opened.clear()

    def phase(self) -> str | None:
        conn = sqlite3.connect(self.source)
        try:
            return sqlite_capture.read_state(conn).get("phase")
        finally:
            conn.close()




def switch_over(migrated: Migrated, **config):
    """A complete cutover with nothing writing: the application is on MySQL afterwards."""
    from sqlite_to_mysql.cutover import forward

    cut = migrated.cutover(**config)
    forward.prepare(cut)
    live = forward.verify_live(cut, max_lag_changes=0, timeout=120)
    report = forward.freeze_and_switch(cut, live, mode="switch", timeout=60, max_lag_changes=0,
                                       catch_up_timeout=120)
    assert report["outcome"] == "switch", report
    return cut
