"""Full backups against a real mariadbd with a binary log: consistent under writes, and a
failing stage never leaves something that looks like a backup."""
from __future__ import annotations

import stat
import subprocess
import threading

import pytest

from backup_support import fill
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.drill import dump_checksums
from mysql_backup.errors import StageFailed, StorageFull, TransientStageFailed
from mysql_backup.full_backup import take_full_backup
from mysql_backup.manifest import FullManifest
from mysql_backup.restore import restore_backup
from mysql_backup.tools import Tool, ToolSet, detect_tools
from mysql_common.errors import ConfigurationError, PermanentError

pytestmark = pytest.mark.integration


class Writer(threading.Thread):
    """Commits one order and its line per transaction until stopped: seq 1, 2, 3, ..."""

    def __init__(self, source):
        super().__init__(daemon=True)
        self.conn = source.server.connect("shop")
        self.conn.autocommit(False)
        self.stop = threading.Event()
        self.committed = 0
        self.error = None

    def run(self):
        cur = self.conn.cursor()
        try:
            while not self.stop.is_set():
                seq = self.committed + 1
                cur.execute("INSERT INTO orders (id, customer, total, created_at) VALUES (%s, 'w', 1, NOW(6))",
                            (1_000_000 + seq,))
                cur.execute("INSERT INTO order_lines VALUES (%s, %s)", (seq, 1_000_000 + seq))
                self.conn.commit()
                self.committed = seq
        except Exception as exc:  # reported by the test
            self.error = exc
        finally:
            self.conn.close()

    def wait_for(self, count: int) -> None:
        while self.committed < count and self.is_alive():
            self.stop.wait(0.01)


def test_backup_under_concurrent_writes_is_consistent_and_exactly_positioned(source, storage, age_key,
                                                                            scratch_cleanup):
    fill(source, rows=200_000)  # enough rows that the dump runs while the writer commits
    source.sql("CREATE TABLE order_lines (seq int PRIMARY KEY, order_id int NOT NULL UNIQUE)")
    writer = Writer(source)
    writer.start()
    writer.wait_for(50)
    manifest = take_full_backup(source.access, storage, age_key, server="src")
    during = writer.committed
    writer.wait_for(during + 200)
    writer.stop.set()
    writer.join()
    assert writer.error is None
    ship_binlogs(source.access, storage, age_key, server="src")

    # The dump alone, exactly at its recorded position: both tables hold the same prefix 1..k.
    at_dump = "at_dump"
    scratch_cleanup.append(at_dump)
    restore_backup(source.access, storage, age_key, server="src", stop_at=manifest.position,
                   target_database=at_dump)
    k = source.scalar("SELECT COUNT(*) FROM order_lines", at_dump)
    assert 50 <= k <= during
    assert source.scalar("SELECT MAX(seq) FROM order_lines", at_dump) == k  # no hole: a prefix
    assert source.scalar("SELECT COUNT(*) FROM orders WHERE id > 1000000", at_dump) == k
    assert source.scalar("SELECT COUNT(*) FROM orders o JOIN order_lines l ON l.order_id = o.id", at_dump) == k

    # The checksums computed from the dump stream are those of the copy at the recorded position,
    # as the drill computes them on its scratch copy.
    assert {t.table: t.rows for t in manifest.table_checksums} == {"orders": 200_000 + k, "order_lines": k}
    assert dump_checksums(source.access, at_dump, detect_tools("mariadb", ("dump",))) == manifest.table_checksums

    # Replayed from the recorded position to the end: every commit exactly once.
    latest = "at_latest"
    scratch_cleanup.append(latest)
    restore_backup(source.access, storage, age_key, server="src", target_database=latest)
    assert source.scalar("SELECT COUNT(*), MAX(seq) FROM order_lines", latest) == writer.committed
    assert source.sql("SELECT COUNT(*), MAX(seq) FROM order_lines", latest)[0] == (writer.committed,
                                                                                  writer.committed)
    assert source.scalar("SELECT COUNT(*) FROM orders", latest) == 200_000 + writer.committed


def fake(tmp_path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def with_tool(role: str, path: str) -> ToolSet:
    real = detect_tools("mariadb", ("dump", "zstd", "age"))
    return ToolSet("mariadb", {**real.tools, role: Tool(path, "test double", "mariadb")})


FAILURES = {
    "dump killed halfway": ("dump", 'mariadb-dump "$@" | head -c 30000; kill -9 $$', TransientStageFailed),
    "dump cut short, exit 0": ("dump", 'mariadb-dump "$@" | head -c 30000; exit 0', PermanentError),
    "dump denied": ("dump", 'echo "mariadb-dump: Got error: 1045: Access denied" >&2; exit 2', StageFailed),
    "compression fails": ("zstd", 'head -c 1000 >/dev/null; echo "zstd: error 70" >&2; exit 1', StageFailed),
    "encryption fails": ("age", 'cat >/dev/null; echo "age: error: bad recipient" >&2; exit 1', StageFailed),
    "encryption silently skipped": ("age", "cat", PermanentError),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_a_failing_stage_fails_the_backup_and_leaves_no_manifest(case, source, storage, age_key, tmp_path):
    fill(source, rows=20_000)
    role, script, error = FAILURES[case]
    with pytest.raises(error):
        take_full_backup(source.access, storage, age_key, server="src",
                         tools=with_tool(role, fake(tmp_path, role, script)))
    assert storage.list("") == []          # neither a manifest nor a dump object
    assert storage.incomplete("") == []    # and the partial file is gone


def test_storage_full_fails_and_leaves_no_manifest(source, age_key, tmp_path):
    mount = tmp_path / "tiny"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        from mysql_backup.storage import LocalStorage

        storage = LocalStorage(mount)
        source.sql("CREATE TABLE blobs (id int PRIMARY KEY, b longblob)")
        source.sql("INSERT INTO blobs SELECT seq, RANDOM_BYTES(1024) FROM seq_1_to_3000")
        with pytest.raises(StorageFull, match="no space left"):
            take_full_backup(source.access, storage, age_key, server="src")
        assert storage.list("") == [] and storage.incomplete("") == []
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_same_run_id_does_not_back_up_twice(source, storage, age_key):
    fill(source, rows=100)
    first = take_full_backup(source.access, storage, age_key, server="src", run_id="scheduled__1")
    again = take_full_backup(source.access, storage, age_key, server="src", run_id="scheduled__1")
    assert again == first
    assert [i.key for i in storage.list("") if i.key.endswith("manifest.json")] == [
        f"src/full/{first.backup_id}/manifest.json"]


def test_manifest_records_what_a_restore_by_hand_needs(source, storage, age_key, age_identity, tmp_path):
    fill(source, rows=100)
    manifest = take_full_backup(source.access, storage, age_key, server="src")
    stored = FullManifest.from_json(storage.read_bytes(f"src/full/{manifest.backup_id}/manifest.json"))
    assert stored == manifest
    assert stored.position.file in source.binlogs() and stored.position.gtid
    assert stored.server_flavor == "mariadb" and "MariaDB" in stored.tools["dump"]
    assert stored.recipients == age_key.recipients
    # The documented manual path: age -d | zstd -d gives the SQL with the recorded position.
    key_file = tmp_path / "key.txt"
    key_file.write_text(age_identity)
    path = storage.local_path(stored.dump.key)
    sql = subprocess.run(f"age -d -i {key_file} {path} | zstd -dc", shell=True, capture_output=True,
                         check=True).stdout
    assert f"MASTER_LOG_POS={stored.position.position}".encode() in sql
    assert len(sql) == stored.dump.raw_size


def test_server_without_binary_log(private_mariadb, storage, age_key):
    server = private_mariadb(log_bin=False)
    server.sql("CREATE DATABASE shop")
    server.sql("CREATE TABLE t (id int PRIMARY KEY)", "shop")
    from mysql_backup.access import SimpleAccess

    access = SimpleAccess("127.0.0.1", server.port, "root", "", "shop")
    manifest = take_full_backup(access, storage, age_key, server="nobin")
    # No position, but the checksums of the dump itself: a drill can still compare.
    assert manifest.position is None and [t.table for t in manifest.table_checksums] == ["t"]
    from mysql_backup.drill import run_drill

    assert run_drill(access, storage, age_key, server="nobin").tables_compared == 1
    with pytest.raises(ConfigurationError, match="log_bin is OFF"):
        ship_binlogs(access, storage, age_key, server="nobin")


def test_missing_database_is_a_configuration_error(source, storage, age_key):
    access = source.access
    access.database = "nope"
    with pytest.raises(ConfigurationError, match="does not exist"):
        take_full_backup(access, storage, age_key, server="src")
    assert storage.list("") == []
