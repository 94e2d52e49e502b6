"""S3 storage against a real S3-compatible server (moto in server mode, its own process)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from backup_support import fill, s3_client
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.errors import StorageUnavailable
from mysql_backup.full_backup import take_full_backup
from mysql_backup.restore import restore_backup
from mysql_backup.retention import retention
from mysql_backup.s3_storage import MIN_PART, S3Storage, part_size_for
from mysql_backup.verify import verify_backups
from tools.private_mariadb import free_port

pytestmark = pytest.mark.integration


def test_backup_ship_restore_verify_through_s3_with_multipart(source, age_key, s3_bucket, scratch_cleanup):
    client, bucket = s3_bucket
    storage = S3Storage(client, bucket, "prod/mysql", part_size=MIN_PART)
    source.sql("CREATE TABLE blobs (id int PRIMARY KEY, b longblob)")
    source.sql("INSERT INTO blobs SELECT seq, RANDOM_BYTES(1024) FROM seq_1_to_14000")  # ~28 MB as hex
    full = take_full_backup(source.access, storage, age_key, server="src")
    etag = client.head_object(Bucket=bucket, Key=f"prod/mysql/{full.dump.key}")["ETag"]
    assert etag.strip('"').endswith(f"-{-(-full.dump.size // MIN_PART)}")  # a multipart upload of N parts
    source.sql("INSERT INTO blobs VALUES (0, 'after the dump')")
    ship_binlogs(source.access, storage, age_key, server="src")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="prod/mysql/src/")["Contents"]]
    assert f"prod/mysql/src/full/{full.backup_id}/manifest.json" in keys
    assert storage.incomplete("src/") == []

    report = verify_backups(storage, "src")
    assert report.ok and report.objects >= 2
    scratch_cleanup.append("from_s3")
    restore_backup(source.access, storage, age_key, server="src", target_database="from_s3")
    assert source.scalar("SELECT COUNT(*), SUM(LENGTH(b)) FROM blobs", "from_s3") == 14001
    assert source.sql("SELECT SUM(CRC32(b)) FROM blobs", "from_s3") == source.sql("SELECT SUM(CRC32(b)) FROM blobs")


def test_interrupted_upload_leaves_nothing_that_looks_complete(source, age_key, age_identity, s3_bucket,
                                                               moto_server, tmp_path):
    """Kill the backup process in the middle of a multipart upload."""
    client, bucket = s3_bucket
    source.sql("CREATE TABLE blobs (id int PRIMARY KEY, b longblob)")
    source.sql("INSERT INTO blobs SELECT seq, RANDOM_BYTES(1024) FROM seq_1_to_30000")
    script = tmp_path / "backup.py"
    script.write_text(textwrap.dedent(f"""
        import sys
        sys.path[:0] = {[str(p) for p in (source_root(), source_root() / "plugins")]!r}
        sys.path.insert(0, {str(tmp_path)!r})
        from mysql_backup.access import SimpleAccess
        from mysql_backup.crypto import AgeKey
        from mysql_backup.full_backup import take_full_backup
        from mysql_backup.s3_storage import S3Storage
        import boto3
        client = boto3.client("s3", endpoint_url={moto_server!r}, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        storage = S3Storage(client, {bucket!r}, "p", part_size={MIN_PART})
        real_upload = client.upload_part
        def upload_part(**kw):
            answer = real_upload(**kw)
            if kw["PartNumber"] == 2:
                print("PART2", flush=True)
                import time; time.sleep(600)
            return answer
        client.upload_part = upload_part
        take_full_backup(SimpleAccess("127.0.0.1", {source.server.port}, "root", "", "shop"), storage,
                         AgeKey.from_config(secret=open({str(tmp_path / "key")!r}).read()), server="src")
    """))
    (tmp_path / "key").write_text(age_identity)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == b"PART2"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    storage = S3Storage(client, bucket, "p", part_size=MIN_PART)
    assert storage.list("") == []  # no object, no manifest: nothing looks like a backup
    assert [info.key.split("/")[1] for info in storage.incomplete("src/")] == ["full"]

    # Retention aborts the unfinished upload once it is old and a complete backup exists.
    take_full_backup(source.access, storage, age_key, server="src")
    later = time.time() + 3 * 24 * 3600
    from datetime import datetime, timezone

    retention(storage, "src", keep_days=30, dry_run=False, now=datetime.fromtimestamp(later, timezone.utc))
    assert storage.incomplete("src/") == []


def test_unreachable_s3_fails_as_transient_and_leaves_no_manifest(source, age_key, storage):
    fill(source, rows=100)
    dead = S3Storage(s3_client(f"http://127.0.0.1:{free_port()}", connect_timeout=1), "bucket", "p")
    with pytest.raises(StorageUnavailable):
        take_full_backup(source.access, dead, age_key, server="src")


def test_part_sizes_grow_so_large_objects_fit():
    assert part_size_for(1, MIN_PART) == MIN_PART
    assert part_size_for(1001, MIN_PART) == 2 * MIN_PART
    total = sum(part_size_for(n, 16 * 1024 * 1024) for n in range(1, 10_001))
    assert total > 5 * 1024 ** 4  # more than 5 TiB within S3's 10,000 parts


def source_root():
    from pathlib import Path

    return Path(__file__).resolve().parents[3]
