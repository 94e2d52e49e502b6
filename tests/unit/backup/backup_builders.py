"""Builders of manifests for the pure planning tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mysql_backup.catalog import Epoch
from mysql_backup.manifest import BinlogManifest, BinlogPosition, EpochHead, FullManifest, Instance, StoredObject, iso

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
EPOCH = "20260101T000000Z"
INSTANCE = Instance(1, "uid", 1_767_225_600, 0)


def full(backup_id: str, at: datetime, position: tuple[str, int] | None = ("binlog.000003", 400),
         database: str = "shop", epoch: str = EPOCH) -> FullManifest:
    return FullManifest(
        backup_id=backup_id, server="srv", database=database, database_collation="utf8mb4_unicode_520_ci",
        started_at=iso(at), consistent_at=iso(at), finished_at=iso(at + timedelta(minutes=5)),
        server_version="10.11.19-MariaDB", server_id=1, server_flavor="mariadb", binlog_format="ROW",
        position=BinlogPosition(*position, epoch=epoch) if position else None,
        objects=[StoredObject(f"srv/full/{backup_id}/{database}.sql.zst.age", 100, "ab" * 32, 500)],
        recipients=["age1x"], tools={}, dump_options=[])


def binlog(index: int, opened: datetime, closed: datetime, epoch: str = EPOCH) -> BinlogManifest:
    name = f"binlog.{index:06d}"
    return BinlogManifest(name=name, epoch=epoch, server="srv", server_id=1, size=1000, first_event_at=iso(opened),
                          last_event_at=iso(closed), start_gtid=f"[0-1-{index * 10}]", tail_offset=600,
                          tail_sha256=f"{index:064x}", shipped_at=iso(closed),
                          object=StoredObject(f"srv/binlog/{epoch}/{name}.zst.age", 50, "cd" * 32, 1000),
                          recipients=["age1x"], tools={})


def epoch_of(binlogs: dict[str, BinlogManifest] | list[BinlogManifest], epoch: str = EPOCH, *,
             head: bool = True, began: datetime = T0 - timedelta(days=60),
             began_after: dict | None = None) -> Epoch:
    """An epoch holding these binlogs, with the head a shipping run would have written."""
    files = list(binlogs.values()) if isinstance(binlogs, dict) else list(binlogs)
    newest = max(files, key=lambda m: m.index) if files else None
    made = Epoch(epoch, binlogs={m.index: m for m in files})
    if head:
        made.head = EpochHead(epoch=epoch, server="srv", began_at=iso(began), instance=INSTANCE,
                              seen_at=newest.shipped_at if newest else iso(began),
                              last_shipped=newest.name if newest else None,
                              last_event_at=newest.last_event_at if newest else None, began_after=began_after)
    return made


def hourly_binlogs(first: int, last: int, epoch: str = EPOCH) -> dict[str, BinlogManifest]:
    """binlog N covers [T0 + (N-3)h, T0 + (N-2)h): binlog 3 is open when the backup at T0 runs."""
    made = [binlog(i, T0 + timedelta(hours=i - 3), T0 + timedelta(hours=i - 2), epoch) for i in range(first, last + 1)]
    return {m.name: m for m in made}


def epochs(*made: Epoch) -> dict[str, Epoch]:
    return {e.id: e for e in made}
