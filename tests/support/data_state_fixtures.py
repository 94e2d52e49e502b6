"""A backup history in the storage's real format (format 2), for the data-state page's tests:
the manifests', epoch heads' and drill reports' own to_json at the keys mysql_backup.manifest's
Layout gives, through LocalStorage, as mysql_full_backup, mysql_binlog_backup and the drill
write them. Three daily full backups, hourly binlogs of one epoch shipped with one gap, three
drills; optionally a numbering reset after them (a new epoch, with or without a full backup
starting in it)."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from mysql_backup.catalog import Epoch
from mysql_backup.drill import DrillReport
from mysql_backup.manifest import FullManifest, Layout, StoredObject, iso
from mysql_backup.storage import LocalStorage, Storage
from tests.unit.backup.backup_builders import EPOCH, T0, binlog, epoch_of, full, hourly_binlogs

SERVER = "srv"  # the builders' server
MISSING = ("binlog.000012", "binlog.000013")
DRILL_RTOS = (41.5, 44.0, 39.2)
FULLS = ("20260301T020000Z", "20260302T020000Z", "20260303T020000Z")
RESET_EPOCH = "20260303T120000Z"  # the numbering after a RESET MASTER, 58 h after T0
AFTER_RESET = "20260303T140500Z"  # a full backup taken in it
REASON = ("RESET was executed on the server (Com_reset 0 -> 1: RESET MASTER?), and no binlog with a transaction "
          f"shipped into epoch {EPOCH} is still on the server to prove that its numbering continues")


def store_full(storage: Storage, manifest: FullManifest, minutes: int, megabytes: int) -> None:
    """As mysql_full_backup writes it: its run, how long it took, the size of its dump."""
    dump = manifest.objects[0]
    at = manifest.consistent_at
    manifest = replace(manifest, run_id=f"scheduled__{at}",
                       finished_at=iso(datetime.fromisoformat(at) + timedelta(minutes=minutes)),
                       objects=[StoredObject(dump.key, megabytes * 1_000_000, dump.sha256, dump.raw_size)])
    storage.put_bytes(Layout(manifest.server).full_manifest(manifest.backup_id), manifest.to_json())


def store_epoch(storage: Storage, epoch: Epoch) -> None:
    """Each binlog's manifest, then the head (shipping writes it last)."""
    layout = Layout(SERVER)
    for manifest in epoch.binlogs.values():
        storage.put_bytes(layout.binlog_manifest(epoch.id, manifest.name), manifest.to_json())
    if epoch.head is not None:
        storage.put_bytes(layout.epoch_head(epoch.id), epoch.head.to_json())


def write_backup_history(root: Path, *, reset: str | None = None) -> LocalStorage:
    """reset None: one epoch. "unprotected": the numbering was reset after the last full backup
    and none was taken since. "followed": a full backup was taken in the new numbering."""
    storage = LocalStorage(root)
    for day, backup_id in enumerate(FULLS):
        store_full(storage, full(backup_id, T0 + timedelta(days=day), (f"binlog.{3 + 24 * day:06d}", 400)),
                   5 + day, 120 + 15 * day)
    shipped = epoch_of(hourly_binlogs(3, 60))  # the head: binlog.000060 shipped last
    for name in MISSING:
        del shipped.binlogs[int(name.rsplit(".", 1)[1])]  # purged from the server before they were shipped
    store_epoch(storage, shipped)
    for n, rto in enumerate(DRILL_RTOS):
        moment = T0 + timedelta(days=n, hours=6)
        report = DrillReport(started_at=iso(moment), backup_id=FULLS[n],
                             scratch_database=f"drill_{FULLS[n].lower()}", reaches="binlog position",
                             tables_compared=17, phases={"fetch": 5.0, "load": rto - 10, "replay": 5.0},
                             rto_seconds=rto)
        storage.put_bytes(Layout(SERVER).drill_report(moment), report.to_json())
    if reset is not None:
        write_reset(storage, followed=reset == "followed")
    return storage


def write_reset(storage: Storage, *, followed: bool) -> None:
    """RESET MASTER after binlog.000060: the shipping saw binlog.000001 again and began a new epoch."""
    began = T0 + timedelta(hours=58)
    files = [binlog(i, began + timedelta(hours=i - 1), began + timedelta(hours=i), RESET_EPOCH) for i in range(1, 7)]
    store_epoch(storage, epoch_of(files, RESET_EPOCH, began=began,
                                  began_after={"epoch": EPOCH, "reason": REASON}))
    if followed:
        store_full(storage, full(AFTER_RESET, began + timedelta(hours=2, minutes=5), ("binlog.000003", 400),
                                 epoch=RESET_EPOCH), 8, 166)
