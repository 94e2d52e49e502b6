"""The by-hand procedures of the README and of docs/backups.md work with standard tools alone:
each bash block is run as written, only its example values replaced by this backup's."""
from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from backup_support import next_second
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.full_backup import take_full_backup
from tests.support.paths import ROOT

pytestmark = pytest.mark.integration

COLLATION = "utf8mb4_bin"  # not the server's default: a CREATE DATABASE without it would differ


def bash_block(path: Path, heading: str) -> str:
    text = path.read_text()
    section = text[text.index(heading):]
    return re.search(r"```bash\n(.*?)```", section, re.S)[1]


def run_as_written(block: str, values: dict[str, str], env: dict) -> None:
    """values: example text -> this backup's, replaced in order (each must still be there)."""
    for example, value in values.items():
        assert example in block, f"the documented procedure no longer has {example!r}"
        block = block.replace(example, value)
    subprocess.run(["bash", "-c", "set -euo pipefail\n" + block], check=True, env=env, capture_output=True)


@pytest.fixture
def history(source, storage, age_key, tmp_path):
    """A backup of a database with a non-default collation, a table created after it, and a
    target time between two markers."""
    source.sql("DROP DATABASE shop", None)
    source.sql(f"CREATE DATABASE shop CHARACTER SET utf8mb4 COLLATE {COLLATION}", None)
    source.sql("CREATE TABLE markers (label varchar(10) NOT NULL)")
    full = take_full_backup(source.access, storage, age_key, server="db1")
    source.sql("CREATE TABLE later (name varchar(10))")  # takes the database's collation
    source.sql("INSERT INTO markers VALUES ('m1')")
    target = next_second()
    next_second()
    source.sql("INSERT INTO markers VALUES ('m2')")
    ship_binlogs(source.access, storage, age_key, server="db1")
    home = tmp_path / "home"
    home.mkdir()
    (home / ".my.cnf").write_text(f"[client]\nhost=127.0.0.1\nport={source.server.port}\nuser=root\n")
    return full, target, {**os.environ, "HOME": str(home)}


def backup_values(storage, full, target, age_identity, tmp_path) -> dict[str, str]:
    key = tmp_path / "mysql-backup.key"
    key.write_text(age_identity)
    base = storage.root / "db1"
    manifest = json.loads((base / "full" / full.backup_id / "manifest.json").read_text())
    epoch = manifest["position"]["epoch"]
    binlogs = sorted(p.name[:-len(".zst.age")] for p in (base / "binlog" / epoch).glob("*.zst.age")
                     if p.name >= manifest["position"]["file"])
    return {"base": str(base), "key": str(key), "id": full.backup_id, "collation": manifest["database_collation"],
            "epoch": epoch, "binlogs": binlogs, "position": str(manifest["position"]["position"]),
            "target": target.strftime("%Y-%m-%d %H:%M:%S")}


def check(source):
    assert source.sql("SELECT label FROM markers", "shop_restored") == (("m1",),)
    assert source.scalar("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = "
                         "'shop_restored'", None) == COLLATION
    assert source.scalar("SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                         "'shop_restored' AND TABLE_NAME = 'later'", None) == COLLATION


def test_readme_restore_by_hand(source, storage, age_identity, history, tmp_path, scratch_cleanup):
    full, target, env = history
    v = backup_values(storage, full, target, age_identity, tmp_path)
    scratch_cleanup.append("shop_restored")
    out = tmp_path / "out"
    out.mkdir()
    run_as_written(bash_block(ROOT / "README.md", "## Restore by hand"), {
        "B=/var/backups/mysql/db1": f"B={v['base']}", "KEY=mysql-backup.key": f"KEY={v['key']}",
        "ID=20260301T020000Z": f"ID={v['id']}", "utf8mb4_unicode_520_ci": v["collation"],
        "E=$B/binlog/20260201T000000Z": f"E=$B/binlog/{v['epoch']}",
        "for f in binlog.000042 binlog.000043;": f"for f in {' '.join(v['binlogs'])};",
        "> /tmp/$f": f"> {out}/$f",
        "/tmp/binlog.000042 /tmp/binlog.000043": " ".join(f"{out}/{name}" for name in v["binlogs"]),
        "--start-position=4711": f"--start-position={v['position']}",
        "2026-03-01 14:30:00": v["target"],
    }, env)
    check(source)


def test_docs_restore_by_hand(source, storage, age_identity, history, tmp_path, scratch_cleanup):
    full, target, env = history
    v = backup_values(storage, full, target, age_identity, tmp_path)
    scratch_cleanup.append("shop_restored")
    out = tmp_path / "out"
    run_as_written(bash_block(ROOT / "docs" / "backups.md", "## Restore by hand"), {
        "B=/var/backups/mysql/db1": f"B={v['base']}", "KEY=mysql-backup.key": f"KEY={v['key']}",
        "ID=20260301T020000Z": f"ID={v['id']}", "utf8mb4_unicode_520_ci": v["collation"],
        "E=$B/binlog/20260201T000000Z": f"E=$B/binlog/{v['epoch']}",
        "binlog.000042 binlog.000043 binlog.000044;": " ".join(v["binlogs"]) + ";",
        "/tmp/binlogs": str(out),
        f"{out}/binlog.000042 {out}/binlog.000043 {out}/binlog.000044":
            " ".join(f"{out}/{name}" for name in v["binlogs"]),
        "--start-position=4711": f"--start-position={v['position']}",
        "2026-03-01 14:30:00": v["target"],
    }, env)
    check(source)


def test_the_documented_sandbox_line_removal(source, storage, age_key, age_identity, tmp_path, scratch_cleanup):
    """MariaDB's dump starts with a line MySQL's client rejects; the documented sed removes
    exactly that line, and the rest still loads."""
    source.sql("CREATE TABLE markers (label varchar(10) NOT NULL)")
    source.sql("INSERT INTO markers VALUES ('m1')")
    full = take_full_backup(source.access, storage, age_key, server="db1")
    key = tmp_path / "key"
    key.write_text(age_identity)
    dump = storage.local_path(full.dump.key)
    plain = subprocess.run(f"age -d -i {key} {dump} | zstd -dc", shell=True, check=True, capture_output=True).stdout
    assert plain.startswith(b"/*M!999999\\- enable the sandbox mode */")
    docs = (ROOT / "docs" / "backups.md").read_text()
    sed = re.search(r"`(sed '[^`]*')`", docs[docs.index("MySQL's client and MariaDB dumps"):])[1]
    stripped = subprocess.run(sed, shell=True, input=plain, check=True, capture_output=True).stdout
    assert b"sandbox" not in stripped.splitlines()[0] and stripped == plain.split(b"\n", 1)[1]
    scratch_cleanup.append("unsandboxed")
    source.sql("CREATE DATABASE unsandboxed", None)
    subprocess.run(["mariadb", "-h127.0.0.1", f"-P{source.server.port}", "-uroot", "unsandboxed"], input=stripped,
                   check=True, capture_output=True)
    assert source.sql("SELECT label FROM markers", "unsandboxed") == (("m1",),)
