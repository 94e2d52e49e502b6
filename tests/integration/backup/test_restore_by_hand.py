"""The by-hand procedure of docs/backups.md works with standard tools alone."""
from __future__ import annotations

import json
import subprocess

import pytest

from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.full_backup import take_full_backup
from backup_support import next_second

pytestmark = pytest.mark.integration


def test_restore_by_hand_with_age_zstd_mariadb_binlog(source, storage, age_key, age_identity, tmp_path,
                                                      scratch_cleanup):
    source.sql("CREATE TABLE markers (label varchar(10) NOT NULL)")
    full = take_full_backup(source.access, storage, age_key, server="db1")
    source.sql("INSERT INTO markers VALUES ('m1')")
    target = next_second()
    next_second()
    source.sql("INSERT INTO markers VALUES ('m2')")
    ship_binlogs(source.access, storage, age_key, server="db1")

    key = tmp_path / "mysql-backup.key"
    key.write_text(age_identity)
    base = storage.root / "db1"
    manifest = json.loads((base / "full" / full.backup_id / "manifest.json").read_text())
    binlogs = sorted(p.name[:-len(".json")] for p in (base / "binlog").glob("*.json")
                     if p.name[:-len(".json")] >= manifest["position"]["file"])
    client = f"mariadb -h127.0.0.1 -P{source.server.port} -uroot"
    scratch_cleanup.append("shop_restored")
    script = f"""
        set -euo pipefail
        B={base}; KEY={key}; ID={full.backup_id}
        test "$(sha256sum $B/full/$ID/shop.sql.zst.age | cut -d' ' -f1)" = {manifest['objects'][0]['sha256']}
        {client} -e "CREATE DATABASE shop_restored CHARACTER SET utf8mb4 COLLATE {manifest['database_collation']}"
        age -d -i $KEY $B/full/$ID/shop.sql.zst.age | zstd -dc \\
          | {client} --init-command="SET SESSION sql_log_bin=0" shop_restored
        mkdir -p {tmp_path}/binlogs
        for f in {' '.join(binlogs)}; do
          age -d -i $KEY $B/binlog/$f.zst.age | zstd -dc > {tmp_path}/binlogs/$f
        done
        TZ=UTC mariadb-binlog --database=shop --rewrite-db='shop->shop_restored' \\
            --start-position={manifest['position']['position']} \\
            --stop-datetime='{target.strftime('%Y-%m-%d %H:%M:%S')}' \\
            {' '.join(f'{tmp_path}/binlogs/{f}' for f in binlogs)} \\
          | {client} --binary-mode --init-command="SET SESSION sql_log_bin=0" shop_restored
    """
    subprocess.run(["bash", "-c", script], check=True)
    assert source.sql("SELECT label FROM markers", "shop_restored") == (("m1",),)
