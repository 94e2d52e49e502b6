"""A binlog numbering reset (RESET MASTER, a re-initialised server, a restored primary) never
passes for the old chain: shipping, verify and a "latest" restore carry the new rows or fail
naming the reset, also once retention removed the early files and the new numbering reaches
the names of files already shipped."""
from __future__ import annotations

from datetime import timedelta

import pytest

from backup_support import Source, next_second, shipped
from mysql_backup.binlog_ship import ServerBinlogs, server_binlogs, ship_binlogs
from mysql_backup.catalog import load_catalog
from mysql_backup.drill import run_drill
from mysql_backup.errors import BackupChainBroken
from mysql_backup.full_backup import take_full_backup
from mysql_backup.manifest import Layout, binlog_index, parse_iso
from mysql_backup.restore import restore_backup
from mysql_backup.retention import retention
from mysql_backup.verify import verify_backups

pytestmark = pytest.mark.integration

RESET = "binlog numbering was reset"


def write(source, *labels):
    for label in labels:
        source.sql(f"INSERT INTO markers VALUES ('{label}')")


def markers(source, database) -> list[str]:
    return [row[0] for row in source.sql("SELECT label FROM markers ORDER BY label", database)]


def verify_with_server(source, storage, tmp_path):
    seen: ServerBinlogs = server_binlogs(source.access, tmp_path, flush=False)
    return verify_backups(storage, "src", identify=seen.identify)


def refused_latest(source, storage, age_key, target="latest_refused"):
    with pytest.raises(BackupChainBroken, match=RESET) as caught:
        restore_backup(source.access, storage, age_key, server="src", target_database=target)
    assert source.sql(f"SHOW DATABASES LIKE '{target}'", None) == ()
    return str(caught.value)


def test_reset_master_after_a_backup_not_at_000001(source, storage, age_key, scratch_cleanup, tmp_path):
    source.sql("CREATE TABLE markers (label varchar(20) PRIMARY KEY)")
    for _ in range(3):
        source.sql("FLUSH BINARY LOGS", None)
    full = take_full_backup(source.access, storage, age_key, server="src")
    assert binlog_index(full.position.file)[1] > 1
    write(source, "a1")
    before_reset = next_second()
    ship_binlogs(source.access, storage, age_key, server="src")  # the chain covers until its flush
    source.sql("RESET MASTER", None)
    write(source, "b1", "b2")

    # Verify sees it before the shipping does: the server no longer continues the chain.
    report = verify_with_server(source, storage, tmp_path)
    assert not report.ok and RESET in " ".join(report.problems["chain"])

    # Shipping carries the new rows into a new epoch, and fails naming the reset.
    with pytest.raises(BackupChainBroken, match=RESET):
        ship_binlogs(source.access, storage, age_key, server="src")
    catalog = load_catalog(storage, Layout("src"))
    assert len(catalog.epochs) == 2 and catalog.newest_epoch.id != full.position.epoch
    assert "binlog.000001" in {m.name for m in catalog.newest_epoch.binlogs.values()}
    report = verify_backups(storage, "src")
    assert not report.ok and any(RESET in p and "no full backup starts in the newest epoch" in p
                                 for p in report.problems["chain"])
    text = refused_latest(source, storage, age_key)
    assert full.backup_id in text and catalog.newest_epoch.id in text

    # Before the reset, point-in-time recovery from the old backup still works.
    scratch_cleanup.append("before_reset")
    restore_backup(source.access, storage, age_key, server="src", target_time=before_reset,
                   target_database="before_reset")
    assert markers(source, "before_reset") == ["a1"]

    # A full backup starts in the new epoch: everything is green and carries the new rows.
    take_full_backup(source.access, storage, age_key, server="src")
    write(source, "b3")
    ship_binlogs(source.access, storage, age_key, server="src")
    report = verify_with_server(source, storage, tmp_path)
    assert report.ok, report.problems
    assert any(RESET in w for w in report.warnings)  # the old window stays documented
    scratch_cleanup.append("after_reset")
    restore_backup(source.access, storage, age_key, server="src", target_database="after_reset")
    assert markers(source, "after_reset") == ["a1", "b1", "b2", "b3"]
    assert not run_drill(source.access, storage, age_key, server="src").problems


def test_reset_after_retention_removed_the_early_files(source, storage, age_key, scratch_cleanup, tmp_path):
    """The stored chain starts far from .000001; the new numbering first stays below it, then
    reaches the names of files that are still stored: neither passes for the old chain."""
    source.sql("CREATE TABLE markers (label varchar(20) PRIMARY KEY)")
    fulls = []
    for round_ in range(3):
        fulls.append(take_full_backup(source.access, storage, age_key, server="src"))
        write(source, f"a{round_}")
        source.sql("FLUSH BINARY LOGS", None)
        ship_binlogs(source.access, storage, age_key, server="src")
    later = parse_iso(fulls[-1].finished_at) + timedelta(days=30)
    retention(storage, "src", keep_days=1, dry_run=False, now=later)
    oldest_kept = min(binlog_index(name)[1] for name in shipped(storage))
    assert oldest_kept > 3

    source.sql("RESET MASTER", None)
    write(source, "b1")
    with pytest.raises(BackupChainBroken, match=RESET):
        ship_binlogs(source.access, storage, age_key, server="src")
    refused_latest(source, storage, age_key)
    assert not verify_backups(storage, "src").ok

    # The new numbering reaches the old names: still a separate epoch, still refused.
    while binlog_index(source.binlogs()[-1])[1] <= oldest_kept + 1:
        write(source, f"b{len(source.binlogs()) + 1}")
        source.sql("FLUSH BINARY LOGS", None)
    with pytest.raises(BackupChainBroken, match="no full backup starts in binlog epoch"):
        ship_binlogs(source.access, storage, age_key, server="src")
    refused_latest(source, storage, age_key)

    take_full_backup(source.access, storage, age_key, server="src")
    write(source, "c1")
    ship_binlogs(source.access, storage, age_key, server="src")
    report = verify_with_server(source, storage, tmp_path)
    assert report.ok, report.problems
    scratch_cleanup.append("latest_copy")
    restore_backup(source.access, storage, age_key, server="src", target_database="latest_copy")
    assert markers(source, "latest_copy") == markers(source, "shop")


def test_a_restored_primary_starts_a_new_epoch(source, private_mariadb, storage, age_key, scratch_cleanup, tmp_path):
    """The primary is rebuilt from the backup on a new server: its binlogs start again at
    .000001 and must not be taken for the old ones."""
    source.sql("CREATE TABLE markers (label varchar(20) PRIMARY KEY)")
    write(source, "a1")
    take_full_backup(source.access, storage, age_key, server="src")
    write(source, "a2")
    ship_binlogs(source.access, storage, age_key, server="src")

    rebuilt = Source(private_mariadb(log_bin=True))
    restore_backup(rebuilt.access, storage, age_key, server="src", target_database="shop")
    assert markers(rebuilt, "shop") == ["a1", "a2"]
    write(rebuilt, "c1")
    with pytest.raises(BackupChainBroken, match=RESET):
        ship_binlogs(rebuilt.access, storage, age_key, server="src")
    refused_latest(rebuilt, storage, age_key)

    take_full_backup(rebuilt.access, storage, age_key, server="src")
    write(rebuilt, "c2")
    ship_binlogs(rebuilt.access, storage, age_key, server="src")
    restore_backup(rebuilt.access, storage, age_key, server="src", target_database="latest_copy")
    assert markers(rebuilt, "latest_copy") == ["a1", "a2", "c1", "c2"]


def test_a_restarted_server_continues_its_epoch(source, storage, age_key, scratch_cleanup):
    """A restart (even a crash) keeps the numbering: a shipped file still on the server proves it."""
    source.sql("CREATE TABLE markers (label varchar(20) PRIMARY KEY)")
    take_full_backup(source.access, storage, age_key, server="src")
    write(source, "a1")
    ship_binlogs(source.access, storage, age_key, server="src")
    epoch = load_catalog(storage, Layout("src")).newest_epoch.id
    source.server.kill()
    source.server.start()
    write(source, "a2")
    report = ship_binlogs(source.access, storage, age_key, server="src")
    assert report.epoch == epoch and report.shipped
    scratch_cleanup.append("latest_copy")
    restore_backup(source.access, storage, age_key, server="src", target_database="latest_copy")
    assert markers(source, "latest_copy") == ["a1", "a2"]


def test_a_database_restored_over_itself_is_a_break(source, storage, age_key, scratch_cleanup, tmp_path):
    """mysql_restore with confirm_overwrite on the backed-up server: the binlog numbering goes on,
    but what follows applies to the restored data. Replaying it onto an earlier backup would
    resurrect what the overwrite removed, so no restore crosses it."""
    source.sql("CREATE TABLE markers (label varchar(20) PRIMARY KEY)")
    write(source, "a1")
    take_full_backup(source.access, storage, age_key, server="src")
    back_then = next_second()
    write(source, "a2")  # lost by the overwrite below
    before = next_second()
    ship_binlogs(source.access, storage, age_key, server="src")
    restore_backup(source.access, storage, age_key, server="src", target_time=back_then, target_database="shop",
                   overwrite=True)
    assert markers(source, "shop") == ["a1"]
    write(source, "b1")
    ship_binlogs(source.access, storage, age_key, server="src")

    with pytest.raises(BackupChainBroken, match="restored over itself"):
        restore_backup(source.access, storage, age_key, server="src", target_database="never_created")
    assert source.sql("SHOW DATABASES LIKE 'never_created'", None) == ()
    assert "restored over itself" in " ".join(verify_backups(storage, "src").problems["chain"])
    scratch_cleanup.append("before_overwrite")
    restore_backup(source.access, storage, age_key, server="src", target_time=before,
                   target_database="before_overwrite")
    assert markers(source, "before_overwrite") == ["a1", "a2"]

    take_full_backup(source.access, storage, age_key, server="src")
    write(source, "b2")
    ship_binlogs(source.access, storage, age_key, server="src")
    assert verify_backups(storage, "src").ok
    scratch_cleanup.append("latest_copy")
    restore_backup(source.access, storage, age_key, server="src", target_database="latest_copy")
    assert markers(source, "latest_copy") == ["a1", "b1", "b2"]
