"""A backup history in the storage's real format (the manifests' and drill reports' own
to_json, written through LocalStorage): two servers' worth of full backups, shipped binlogs with
one gap, and drills, for the data-state page's tests."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from mysql_backup.drill import DrillReport
from mysql_backup.manifest import Layout, StoredObject, iso
from mysql_backup.storage import LocalStorage
from tests.unit.backup.backup_builders import T0, full, hourly_binlogs

SERVER = "srv"  # the builders' server
MISSING = ("binlog.000012", "binlog.000013")
DRILL_RTOS = (41.5, 44.0, 39.2)


def write_backup_history(root: Path) -> LocalStorage:
    storage = LocalStorage(root)
    layout = Layout(SERVER)
    for day in range(3):
        at = T0 + timedelta(days=day)
        manifest = full(f"2026030{day + 1}T020000Z", at, (f"binlog.{3 + 24 * day:06d}", 400))
        dump = manifest.objects[0]
        manifest = replace(manifest, run_id=f"scheduled__{iso(at)}", finished_at=iso(at + timedelta(minutes=5 + day)),
                           objects=[StoredObject(dump.key, (120 + 15 * day) * 1_000_000, dump.sha256, dump.raw_size)])
        storage.put_bytes(layout.full_manifest(manifest.backup_id), manifest.to_json())
    for name, binlog in hourly_binlogs(3, 60).items():
        if name not in MISSING:
            storage.put_bytes(layout.binlog_manifest(name), binlog.to_json())
    for n, rto in enumerate(DRILL_RTOS):
        moment = T0 + timedelta(days=n, hours=6)
        report = DrillReport(started_at=iso(moment), backup_id=f"2026030{n + 1}T020000Z",
                             scratch_database=f"drill_2026030{n + 1}t020000z", reaches="binlog position",
                             tables_compared=17, phases={"fetch": 5.0, "load": rto - 10, "replay": 5.0},
                             rto_seconds=rto)
        storage.put_bytes(layout.drill_report(moment), report.to_json())
    return storage
