"""mysql_backup_verify goes red when there is no usable backup: a missing or empty location, a
missing manifest, a missing newest binlog (with or without its manifest), stale backups."""
from __future__ import annotations

from datetime import timedelta

import pytest

from backup_support import manifest_key, shipped
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.errors import BackupChainBroken
from mysql_backup.full_backup import take_full_backup
from mysql_backup.manifest import parse_iso
from mysql_backup.restore import restore_backup
from mysql_backup.storage import LocalStorage
from mysql_backup.verify import Freshness, verify_backups

pytestmark = pytest.mark.integration


@pytest.fixture
def backed_up(source, storage, age_key):
    source.sql("CREATE TABLE markers (label varchar(20) NOT NULL)")
    full = take_full_backup(source.access, storage, age_key, server="src")
    for label in ("a", "b"):
        source.sql(f"INSERT INTO markers VALUES ('{label}')")
        ship_binlogs(source.access, storage, age_key, server="src")
    assert verify_backups(storage, "src").ok
    return full


def problems(report, check=None) -> str:
    return " | ".join(report.problems[check] if check else report.all_problems())


@pytest.mark.parametrize("where", ["missing", "empty", "misspelled server folder"])
def test_nothing_to_verify_is_a_failure(tmp_path, where):
    root = tmp_path / "backups"
    if where != "missing":
        root.mkdir()
    report = verify_backups(LocalStorage(root), "src" if where != "misspelled server folder" else "scr")
    assert not report.ok and report.objects == 0
    if where == "missing":
        assert f"directory {root} does not exist" in problems(report, "objects")
    else:
        assert "no full backup in" in problems(report, "full_age") and str(root) in problems(report)


def test_the_only_full_manifest_deleted(source, storage, backed_up):
    key = f"src/full/{backed_up.backup_id}/manifest.json"
    storage.delete(key)
    report = verify_backups(storage, "src")
    assert not report.ok and key in problems(report, "objects") and "no complete backup exists" in problems(report)


@pytest.mark.parametrize("with_manifest", [True, False])
def test_the_newest_binlog_deleted(source, storage, age_key, backed_up, with_manifest):
    newest = max(shipped(storage).values(), key=lambda m: m.index)
    storage.delete(newest.object.key)
    if with_manifest:
        storage.delete(manifest_key(newest))
    report = verify_backups(storage, "src")
    assert not report.ok and newest.name in problems(report)
    if with_manifest:
        assert "is the newest binlog shipped (epoch.json) and is gone" in problems(report, "chain")
        # And "latest" does not stop at the previous file as if nothing were missing.
        with pytest.raises(BackupChainBroken, match=f"binlog {newest.name} missing"):
            restore_backup(source.access, storage, age_key, server="src", target_database="never_created")
        assert source.sql("SHOW DATABASES LIKE 'never_created'", None) == ()
    else:
        assert f"{newest.object.key}: missing" in problems(report, "objects")


def test_freshness(source, storage, backed_up):
    freshness = Freshness(full_every=timedelta(hours=24), binlog_every=timedelta(hours=4), grace=timedelta(hours=1))
    finished = parse_iso(backed_up.finished_at)
    assert verify_backups(storage, "src", freshness=freshness, now=finished + timedelta(hours=3)).ok
    stale_binlogs = verify_backups(storage, "src", freshness=freshness, now=finished + timedelta(hours=6))
    assert not stale_binlogs.ok and not stale_binlogs.problems["full_age"]
    assert "one shipping interval allows" in problems(stale_binlogs, "binlog_age")
    stale = verify_backups(storage, "src", freshness=freshness, now=finished + timedelta(hours=26))
    assert f"the newest full backup, {backed_up.backup_id}" in problems(stale, "full_age")
    assert "more than the 25.0 h its schedule allows" in problems(stale, "full_age")


def test_the_whole_binlog_epoch_deleted(source, storage, age_key, backed_up):
    """Binlogs and epoch.json gone: "latest" must not quietly become the dump alone."""
    epoch = backed_up.position.epoch
    for info in storage.list(f"src/binlog/{epoch}/"):
        storage.delete(info.key)
    report = verify_backups(storage, "src")
    assert not report.ok and f"binlog epoch {epoch} is missing" in problems(report, "chain")
    with pytest.raises(BackupChainBroken, match=f"binlog epoch {epoch} of backup {backed_up.backup_id} is missing"):
        restore_backup(source.access, storage, age_key, server="src", target_database="never_created")
