"""Builders of manifests for the pure planning tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone


from mysql_backup.manifest import BinlogManifest, BinlogPosition, FullManifest, StoredObject, iso

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


def full(backup_id: str, at: datetime, position: tuple[str, int] | None = ("binlog.000003", 400),
         database: str = "shop") -> FullManifest:
    return FullManifest(
        backup_id=backup_id, server="srv", database=database, database_collation="utf8mb4_unicode_520_ci",
        started_at=iso(at), consistent_at=iso(at), finished_at=iso(at + timedelta(minutes=5)),
        server_version="10.11.19-MariaDB", server_id=1, server_flavor="mariadb", binlog_format="ROW",
        position=BinlogPosition(*position) if position else None,
        objects=[StoredObject(f"srv/full/{backup_id}/{database}.sql.zst.age", 100, "ab" * 32, 500)],
        recipients=["age1x"], tools={}, dump_options=[])


def binlog(index: int, opened: datetime, closed: datetime) -> BinlogManifest:
    name = f"binlog.{index:06d}"
    return BinlogManifest(name=name, server="srv", server_id=1, size=1000, first_event_at=iso(opened),
                          last_event_at=iso(closed), shipped_at=iso(closed),
                          object=StoredObject(f"srv/binlog/{name}.zst.age", 50, "cd" * 32, 1000),
                          recipients=["age1x"], tools={})


def hourly_binlogs(first: int, last: int) -> dict[str, BinlogManifest]:
    """binlog N covers [T0 + (N-3)h, T0 + (N-2)h): binlog 3 is open when the backup at T0 runs."""
    made = [binlog(i, T0 + timedelta(hours=i - 3), T0 + timedelta(hours=i - 2)) for i in range(first, last + 1)]
    return {m.name: m for m in made}

