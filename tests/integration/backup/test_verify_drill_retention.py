"""verify walks everything without restoring; the drill restores and compares; retention
deletes only what no kept backup needs."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from backup_support import fill, manifest_key, shipped
from mysql_backup.binlog_ship import ship_binlogs
from mysql_backup.catalog import load_catalog
from mysql_backup.drill import DrillFailed, run_drill
from mysql_backup.full_backup import take_full_backup
from mysql_backup.manifest import Layout, parse_iso
from mysql_backup.retention import retention
from mysql_backup.tools import detect_tools
from mysql_backup.verify import verify_backups

pytestmark = pytest.mark.integration


@pytest.fixture
def history(source, storage, age_key):
    fill(source, rows=3000)
    source.sql("CREATE TABLE order_lines (id int PRIMARY KEY AUTO_INCREMENT, order_id int, qty int, price double)")
    source.sql("INSERT INTO order_lines (order_id, qty, price) SELECT seq % 3000, seq % 7, seq / 3 FROM seq_1_to_5000")
    fulls = []
    for round_ in range(3):
        fulls.append(take_full_backup(source.access, storage, age_key, server="src"))
        source.sql(f"UPDATE orders SET total = total + 1 WHERE id % 10 = {round_}")
        ship_binlogs(source.access, storage, age_key, server="src")
    return fulls


def test_verify_passes_then_names_every_problem(source, storage, age_key, history):
    source.sql("UPDATE orders SET total = 0 WHERE id = 1")
    ship_binlogs(source.access, storage, age_key, server="src")
    deep = (age_key, detect_tools("mariadb", ("zstd", "age")))
    catalog = load_catalog(storage, Layout("src"))
    report = verify_backups(storage, "src", deep_with=deep)
    assert report.ok and report.objects == 3 + len(catalog.binlogs())

    dump = storage.local_path(history[0].dump.key)
    dump.write_bytes(dump.read_bytes()[:-1] + b"\x00")
    needed = history[-1].position.file  # the newest backup's first binlog
    storage.delete(shipped(storage)[needed].object.key)
    storage.delete(manifest_key(shipped(storage)[needed]))
    report = verify_backups(storage, "src")
    assert not report.ok
    text = "\n".join(report.all_problems())
    assert f"{history[0].dump.key}: SHA-256" in text
    assert f"backup {history[-1].backup_id}: binlog chain broken, missing {needed}" in text
    # Older backups depend on the same hole: reported, as warnings.
    assert any(history[0].backup_id in w and needed in w for w in report.warnings)


def test_drill_restores_compares_and_drops(source, storage, age_key, history):
    report = run_drill(source.access, storage, age_key, server="src")
    assert report.backup_id == history[-1].backup_id and not report.problems
    assert report.tables_compared == 2 and report.rto_seconds > 0
    assert set(report.phases) >= {"verify", "load", "replay", "compare"}
    assert source.sql(f"SHOW DATABASES LIKE '{report.scratch_database}'", None) == ()
    stored = [i.key for i in storage.list("src/drills/")]
    assert len(stored) == 1 and json.loads(storage.read_bytes(stored[0]))["backup_id"] == report.backup_id


def test_drill_detects_restored_data_that_differs(source, storage, age_key, history):
    """Tamper with the recorded checksums (as if the restore had lost a row): the drill fails."""
    newest = history[-1]
    key = f"src/full/{newest.backup_id}/manifest.json"
    raw = json.loads(storage.read_bytes(key))
    raw["table_checksums"][0]["rows"] += 1
    storage.put_bytes(key, json.dumps(raw).encode())
    with pytest.raises(DrillFailed, match="differs from the backup's checksums") as caught:
        run_drill(source.access, storage, age_key, server="src")
    assert caught.value.code == "RESTORE_DRILL_FAILED"
    assert source.sql("SHOW DATABASES LIKE 'drill_%'", None) == ()


def test_retention_dry_run_then_delete(source, storage, age_key, history):
    catalog = load_catalog(storage, Layout("src"))
    newest = history[-1]
    # Thirty days later, with a one-day window: only the newest backup and its binlogs are needed.
    later = parse_iso(newest.finished_at) + timedelta(days=30)
    before = {i.key for i in storage.list("src/")}
    plan = retention(storage, "src", keep_days=1, dry_run=True, now=later)
    assert {i.key for i in storage.list("src/")} == before  # a dry run deletes nothing
    assert set(plan.delete_fulls) == {history[0].backup_id, history[1].backup_id}
    needed_from = newest.position.file
    assert {name for _, name in plan.delete_binlogs} == {m.name for m in catalog.binlogs() if m.name < needed_from}

    retention(storage, "src", keep_days=1, dry_run=False, now=later)
    after = load_catalog(storage, Layout("src"))
    assert [f.backup_id for f in after.fulls] == [newest.backup_id]
    assert all(m.name >= needed_from for m in after.binlogs())
    assert verify_backups(storage, "src").ok
    assert retention(storage, "src", keep_days=1, dry_run=False, now=later).empty
