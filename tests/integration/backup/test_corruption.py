"""Damaged or incomplete backups are refused before anything is applied, naming the object."""
from __future__ import annotations

import json

import pytest

from backup_support import manifest_key, shipped
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.crypto import AgeKey
from mysql_backup.errors import BackupChainBroken, BackupCorruption, BackupWrongKey
from mysql_backup.full_backup import take_full_backup
from mysql_backup.restore import restore_backup

pytestmark = pytest.mark.integration

TARGET = "must_not_exist"


@pytest.fixture
def history(source, storage, age_key):
    """A full backup with three shipped binlogs after it."""
    source.sql("CREATE TABLE markers (label varchar(20) NOT NULL)")
    full = take_full_backup(source.access, storage, age_key, server="src")
    for label in ("a", "b", "c"):
        source.sql(f"INSERT INTO markers VALUES ('{label}')")
        ship_binlogs(source.access, storage, age_key, server="src")
    binlogs = sorted((m for m in shipped(storage).values() if m.name >= full.position.file), key=lambda m: m.index)
    return full, binlogs


def refused(source, storage, key, error, **kwargs):
    with pytest.raises(error) as caught:
        restore_backup(source.access, storage, key, server="src", target_database=TARGET, **kwargs)
    assert source.sql(f"SHOW DATABASES LIKE '{TARGET}'", None) == ()  # nothing was applied
    return caught.value


def test_one_flipped_byte_in_the_dump(source, storage, age_key, history):
    full, _ = history
    path = storage.local_path(full.dump.key)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    error = refused(source, storage, age_key, BackupCorruption)
    assert error.code == "BACKUP_CORRUPTION" and error.key == full.dump.key
    assert full.dump.key in str(error) and "SHA-256" in str(error)


def test_truncated_binlog_object(source, storage, age_key, history):
    _, binlogs = history
    path = storage.local_path(binlogs[1].object.key)
    path.write_bytes(path.read_bytes()[:-10])
    error = refused(source, storage, age_key, BackupCorruption)
    assert error.key == binlogs[1].object.key and "truncated" in str(error)


def test_binlog_object_missing(source, storage, age_key, history):
    _, binlogs = history
    storage.delete(binlogs[1].object.key)
    error = refused(source, storage, age_key, BackupCorruption)
    assert error.key == binlogs[1].object.key and "missing" in str(error)


def test_binlog_missing_from_the_chain(source, storage, age_key, history):
    _, binlogs = history
    storage.delete(manifest_key(binlogs[1]))
    storage.delete(binlogs[1].object.key)
    error = refused(source, storage, age_key, BackupChainBroken)
    assert binlogs[1].name in str(error) and "point-in-time recovery is impossible" in str(error)


def test_wrong_key_is_named_as_such_not_as_corruption(source, storage, history):
    """Nothing is damaged: the operator must look for the right key, not for a broken backup."""
    import subprocess

    other = AgeKey.from_config(secret=subprocess.run(["age-keygen"], capture_output=True, text=True).stdout)
    full, _ = history
    error = refused(source, storage, other, BackupWrongKey)
    assert error.code == "BACKUP_WRONG_KEY" and not isinstance(error, BackupCorruption)
    assert error.key == full.dump.key and "wrong key" in str(error) and "mysql_backup_age_secret_key" in str(error)


def test_damaged_ciphertext_with_a_matching_manifest_fails_decryption(source, storage, age_key, history):
    """Someone altered both object and manifest: age's authentication still catches it."""
    import hashlib

    _, binlogs = history
    victim = binlogs[0]
    path = storage.local_path(victim.object.key)
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    key = manifest_key(victim)
    raw = json.loads(storage.read_bytes(key))
    raw["object"]["sha256"] = hashlib.sha256(bytes(data)).hexdigest()
    storage.put_bytes(key, json.dumps(raw).encode())
    error = refused(source, storage, age_key, BackupCorruption)
    assert error.key == victim.object.key and "cannot be decrypted" in str(error)


def test_missing_manifest(source, storage, age_key, history, scratch_cleanup):
    full, _ = history
    older = full
    newer = take_full_backup(source.access, storage, age_key, server="src")
    storage.delete(f"src/full/{newer.backup_id}/manifest.json")
    error = refused(source, storage, age_key, BackupCorruption, backup_id=newer.backup_id)
    assert error.key == f"src/full/{newer.backup_id}/manifest.json" and "no manifest" in str(error)
    # Asked for the latest, the restore uses the newest complete backup instead.
    scratch_cleanup.append("fallback")
    report = restore_backup(source.access, storage, age_key, server="src", target_database="fallback")
    assert report.backup_id == older.backup_id
