"""The whole backup lifecycle against a private mariadbd, in random order: writes, full backups,
binlog flushes, shipping runs, retention, server crashes and restarts, RESET MASTER, purges of
unshipped binlogs. Then, for a random point in time written in a random notation (Z, +hh:mm,
-hh:mm, or without offset, which is UTC), or for "latest":

- a restore that succeeds equals the source as it was at that time (or, for latest, at the
  end of the shipped chain), row for row;
- a restore that fails does so loudly (chain broken, out of range), and verify names the same
  gap or reset;
- where nothing was lost (no reset, crash or purge since the backup, the time shipped) the
  restore must succeed.

The model keeps the ground truth the system must not guess: every write's commit second and
the binlog file (of which numbering) it went into, and which files reached storage.

`make test` runs a few examples; `make fuzz` many (BACKUP_CHAIN_EXAMPLES, BACKUP_CHAIN_STEPS).
"""
from __future__ import annotations

import os
import random
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, rule, run_state_machine_as_test

from backup_support import Source
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.catalog import load_catalog
from mysql_backup.crypto import AgeKey
from mysql_backup.errors import BackupChainBroken, PitrOutOfRange
from mysql_backup.full_backup import take_full_backup
from mysql_backup.manifest import Layout, binlog_index, parse_iso, parse_point_in_time
from mysql_backup.restore import drop_database, restore_backup
from mysql_backup.retention import retention
from mysql_backup.storage import LocalStorage
from mysql_backup.verify import verify_backups
from tools.private_mariadb import PrivateMariaDB

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = int(os.environ.get("BACKUP_CHAIN_EXAMPLES", "8"))
STEPS = int(os.environ.get("BACKUP_CHAIN_STEPS", "25"))
ACTIONS = (["write"] * 8 + ["full"] * 2 + ["flush"] * 2 + ["ship"] * 3 + ["retention", "restart", "reset",
                                                                           "purge"] + ["check"] * 2)


STATS: dict[str, int] = {}  # what the examples exercised, printed at the end


def count(what: str) -> None:
    STATS[what] = STATS.get(what, 0) + 1


class Model:
    """Ground truth: writes (second, numbering, file), backups, what reached storage."""

    def __init__(self) -> None:
        self.gen = 0                          # binlog numbering: +1 at every RESET MASTER
        self.writes: list[tuple[int, int, str, int, str | None]] = []  # (second, gen, file, key, value or None)
        self.fulls: dict[str, tuple[int, int]] = {}       # backup id -> (gen, writes committed before it)
        self.stored: dict[str, tuple[int, str]] = {}      # storage key of a binlog object -> (gen, file)
        self.breaks: list[float] = []          # reset, crash, purge: continuity cannot be asserted across
        self.ships: list[float] = []           # times of shipping runs that ran through
        self.seconds: set[int] = set()

    def state_at(self, second: int) -> dict[int, str]:
        rows: dict[int, str] = {}
        for at, _gen, _file, key, value in self.writes:
            if at < second:
                if value is None:
                    rows.pop(key, None)
                else:
                    rows[key] = value
        return rows

    def state_of_chain(self, backup_id: str) -> dict[int, str]:
        """The backup's snapshot, then what the stored binlogs of its numbering hold after it."""
        gen, before = self.fulls[backup_id]
        files = [f for g, f in self.stored.values() if g == gen]
        last = max(map(_index, files), default=0)
        rows: dict[int, str] = {}
        for number, (_at, wgen, file, key, value) in enumerate(self.writes):
            if number < before or (wgen == gen and _index(file) <= last):
                if value is None:
                    rows.pop(key, None)
                else:
                    rows[key] = value
        return rows


def _index(name: str) -> int:
    return binlog_index(name)[1]


def notation(moment: datetime, rng: random.Random) -> str:
    kind = rng.choice(["Z", "plus", "minus", "naive"])
    if kind == "Z":
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "naive":
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    minutes = rng.choice([0, 30, 45]) + 60 * rng.randint(1, 11)
    return moment.astimezone(timezone(timedelta(minutes=minutes if kind == "plus" else -minutes))).isoformat()


class RestoreChain(RuleBasedStateMachine):
    server: PrivateMariaDB
    age_key: AgeKey

    @initialize()
    def fresh(self):
        self.source = Source(self.server)
        self.source.sql("DROP DATABASE IF EXISTS shop", None)
        self.source.sql("CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci", None)
        self.source.sql("CREATE TABLE rows_ (k int PRIMARY KEY, v varchar(40) NOT NULL)")
        self.source.sql("RESET MASTER", None)  # a new server, as far as this example knows
        self.work = tempfile.mkdtemp(prefix="restore-chain-")
        self.storage = LocalStorage(Path(self.work) / "backups")
        self.storage.root.mkdir()
        self.model = Model()
        self.rng = random.Random()
        self.next_key = 1
        self.checks = 0
        for action in ("write", "full", "write", "ship"):  # a base every example starts from
            self.step(action, 0)

    def teardown(self):
        self.check_restore(None)  # every example ends by restoring "latest"
        import shutil

        shutil.rmtree(self.work, ignore_errors=True)

    # -- actions --------------------------------------------------------------------------
    @rule(action=st.sampled_from(ACTIONS), seed=st.integers(0, 2 ** 32))
    def random_step(self, action, seed):
        self.step(action, seed)

    def step(self, action, seed):
        self.rng.seed(seed)
        count(action)
        before = self._stored_keys()
        getattr(self, f"do_{action}")()
        self._track_storage(before)

    def do_write(self):
        conn = self.server.connect("shop")
        try:
            cur = conn.cursor()
            existing = [w[3] for w in self.model.writes]
            if existing and self.rng.random() < 0.3:
                key = self.rng.choice(existing)
                if self.rng.random() < 0.5:
                    cur.execute("DELETE FROM rows_ WHERE k = %s AND (@at := UNIX_TIMESTAMP()) IS NOT NULL", (key,))
                    value = None
                else:
                    value = f"u{self.rng.randint(0, 10 ** 6)}"
                    cur.execute("UPDATE rows_ SET v = %s WHERE k = %s AND (@at := UNIX_TIMESTAMP()) IS NOT NULL",
                                (value, key))
            else:
                key, value = self.next_key, f"i{self.rng.randint(0, 10 ** 6)}"
                self.next_key += 1
                cur.execute("INSERT INTO rows_ SELECT %s, %s FROM DUAL WHERE (@at := UNIX_TIMESTAMP()) IS NOT NULL",
                            (key, value))
            if cur.rowcount == 0:
                conn.commit()
                return  # a key deleted before: nothing was written
            conn.commit()
            cur.execute("SELECT @at")
            at = int(cur.fetchone()[0])
            cur.execute("SHOW MASTER STATUS")
            file = cur.fetchone()[0]
        finally:
            conn.close()
        self.model.writes.append((at, self.model.gen, file, key, value))
        self.model.seconds.add(at)

    def do_full(self):
        manifest = take_full_backup(self.source.access, self.storage, self.age_key, server="src", workdir=self.work)
        self.model.fulls[manifest.backup_id] = (self.model.gen, len(self.model.writes))
        self.model.seconds.add(int(parse_iso(manifest.consistent_at).timestamp()) + 1)

    def do_flush(self):
        self.source.sql("FLUSH BINARY LOGS", None)

    def do_ship(self):
        started = datetime.now(timezone.utc).timestamp()
        try:
            ship_binlogs(self.source.access, self.storage, self.age_key, server="src", workdir=self.work)
        except BackupChainBroken:
            return  # loud: a gap or a reset, named (tested by the restores below)
        self.model.ships.append(started)
        self.model.seconds.add(int(started))

    def do_retention(self):
        later = datetime.now(timezone.utc) + timedelta(days=2)
        retention(self.storage, "src", keep_days=1, dry_run=False, now=later)

    def do_restart(self):
        self.model.breaks.append(datetime.now(timezone.utc).timestamp())
        if self.rng.random() < 0.5:
            self.server.kill()
        else:
            self.server.stop_keeping_data()
        self.server.start()

    def do_reset(self):
        self.model.breaks.append(datetime.now(timezone.utc).timestamp())
        self.source.sql("RESET MASTER", None)
        self.model.gen += 1

    def do_purge(self):
        """PURGE BINARY LOGS TO the current file: shipped or not. The server may keep some back."""
        self.model.breaks.append(datetime.now(timezone.utc).timestamp())
        self.source.sql(f"PURGE BINARY LOGS TO '{self.source.binlogs()[-1]}'", None)

    def do_check(self):
        writes = sorted(self.model.seconds)
        if not writes or self.rng.random() < 0.2:
            self.check_restore(None)
            return
        second = self.rng.choice(writes) + self.rng.choice([-1, 0, 1, 2])
        self.check_restore(second)

    # -- the oracle -----------------------------------------------------------------------
    def check_restore(self, second: int | None):
        self.checks += 1
        target = f"chain_check_{self.checks}"
        catalog = load_catalog(self.storage, Layout("src"))
        moment = datetime.fromtimestamp(second, timezone.utc) if second is not None else None
        candidates = [f for f in catalog.fulls if moment is None or parse_iso(f.consistent_at) < moment]
        full = max(candidates, key=lambda f: parse_iso(f.consistent_at)) if candidates else None
        text = notation(moment, self.rng) if moment is not None else "latest"
        try:
            report = restore_backup(self.source.access, self.storage, self.age_key, server="src", database="shop",
                                    target_time=parse_point_in_time(text), target_database=target,
                                    workdir=self.work)
        except (BackupChainBroken, PitrOutOfRange) as exc:
            assert self.source.sql(f"SHOW DATABASES LIKE '{target}'", None) == ()
            assert not self._must_succeed(full, second), f"{text}: refused although nothing was lost: {exc}"
            count(f"refused: {type(exc).__name__}")
            if isinstance(exc, BackupChainBroken):
                self._verify_names(str(exc))
            return
        try:
            restored = dict(self.source.sql("SELECT k, v FROM rows_", target))
        finally:
            drop_database(self.source.access, target)
        assert full is not None and report.backup_id == full.backup_id
        expected = self.model.state_at(second) if second is not None else self.model.state_of_chain(full.backup_id)
        assert restored == expected, f"restore to {text} ({report.reaches}) differs from the source then"
        count("restored and equal" + (" (had to)" if self._must_succeed(full, second) else ""))
        if second is None and self._must_succeed(full, None):  # nothing lost: verify has nothing to say
            verified = verify_backups(self.storage, "src")
            assert not verified.problems["objects"] and not verified.problems["chain"], verified.problems

    def _must_succeed(self, full, second) -> bool:
        if full is None:
            return False
        started, finished = parse_iso(full.started_at).timestamp(), parse_iso(full.finished_at).timestamp()
        later_ships = [t for t in self.model.ships if t > finished]
        if not later_ships or any(b > started - 1 for b in self.model.breaks):
            return False
        return second is None or second <= int(max(later_ships))

    def _verify_names(self, refused: str) -> None:
        report = verify_backups(self.storage, "src")
        said = " ".join(report.all_problems() + report.warnings)
        if "numbering was reset" in refused:
            assert "numbering was reset" in said, said
            return
        names = [word.strip(",.:;()") for word in refused.split() if word.startswith("binlog.")]
        if names:
            assert names[0] in said, f"verify does not name {names[0]}: {said}"

    # -- storage ground truth -------------------------------------------------------------
    def _stored_keys(self) -> set[str]:
        return {i.key for i in self.storage.list("src/binlog/") if i.key.endswith(".zst.age")}

    def _track_storage(self, before: set[str]) -> None:
        after = self._stored_keys()
        for key in after - before:  # only closed files of the current numbering are ever shipped
            self.model.stored[key] = (self.model.gen, key.rsplit("/", 1)[1][:-len(".zst.age")])
        for key in before - after:
            self.model.stored.pop(key, None)


@pytest.fixture(scope="module")
def chain_server():
    server = KeptServer(log_bin=True).start()
    yield server
    server.stop()


class KeptServer(PrivateMariaDB):
    """A private server that can be stopped cleanly without losing its data directory."""

    def stop_keeping_data(self) -> None:
        keep, self.keep = self.keep, True
        try:
            self.stop()
        finally:
            self.keep = keep


def test_restores_equal_the_source_or_fail_naming_the_gap(chain_server):
    RestoreChain.server = chain_server
    RestoreChain.age_key = AgeKey.from_config(secret=__import__("subprocess").run(
        ["age-keygen"], capture_output=True, text=True, check=True).stdout)
    # `make test`: the same examples every run. `make fuzz` (BACKUP_CHAIN_RANDOM=1): new ones each
    # run; a failure prints the @reproduce_failure line that replays it.
    fuzz = os.environ.get("BACKUP_CHAIN_RANDOM") == "1"
    config = settings(max_examples=EXAMPLES, stateful_step_count=STEPS, deadline=None, derandomize=not fuzz,
                      print_blob=True, suppress_health_check=list(HealthCheck), database=None)
    STATS.clear()
    run_state_machine_as_test(RestoreChain, settings=config)
    print("restore-chain property:", dict(sorted(STATS.items())))
