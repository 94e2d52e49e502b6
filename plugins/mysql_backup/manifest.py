"""Manifests (the completion markers), binlog epochs, the storage layout, and times.

    <server>/full/<backup id>/<database>.sql.zst.age    the dump, compressed then encrypted
    <server>/full/<backup id>/manifest.json             written last: without it, no backup
    <server>/binlog/<epoch>/<binlog file>.zst.age       one closed binlog, byte for byte
    <server>/binlog/<epoch>/<binlog file>.json          its manifest, written last
    <server>/binlog/<epoch>/epoch.json                  the epoch's head: newest file shipped, server seen
    <server>/drills/<timestamp>.json                    restore drill reports (RTO per phase)
    <server>/breaks/<timestamp>.json                    the database restored over itself on the server

A binlog epoch is one unbroken numbering of the server's binlogs. RESET MASTER, a
re-initialised server or a primary restored from a backup start a new numbering whose
file names repeat the old ones, so a file is identified by (epoch, name), never by its
name alone; a restore never replays across epochs. Epoch ids are the UTC time the
shipping first saw the numbering (20261206T041808Z), so they sort in time order.

Manifests are plain JSON (no secrets, readable without the key) so an operator can find
the right objects and their SHA-256 with `cat` alone. Every time is UTC.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from mysql_common.errors import ConfigurationError

FORMAT = 2
_BINLOG_NAME = re.compile(r"^(?P<base>.+)\.(?P<index>\d{6,})$")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive time is taken to be UTC already (the project's rule)."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    return utc(moment).isoformat(timespec="microseconds") if moment else None


def human(moment: datetime) -> str:
    """How times appear in messages and logs: always converted to UTC, and saying so."""
    return utc(moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def parse_point_in_time(text: str | None) -> datetime | None:
    """'latest' (or nothing) -> None; otherwise an ISO time converted to UTC.

    Accepts `Z`, `+hh:mm` and `-hh:mm` offsets; a time without offset is UTC.
    """
    text = (text or "latest").strip()
    if text.lower() == "latest":
        return None
    try:
        return utc(datetime.fromisoformat(text))
    except ValueError:
        raise ConfigurationError(f"point_in_time {text!r}: use 'latest' or a timestamp such as "
                                 "'2026-03-01 14:30:00' (UTC), '2026-03-01T14:30:00Z' or "
                                 "'2026-03-01T16:30:00+02:00'") from None


def backup_id_for(moment: datetime) -> str:
    """Sortable and browsable: 20260126T020000Z."""
    return utc(moment).strftime("%Y%m%dT%H%M%SZ")


def binlog_index(name: str) -> tuple[str, int]:
    """('binlog', 7) for 'binlog.000007': within an epoch, the chain is ordered by this number."""
    match = _BINLOG_NAME.match(name)
    if not match:
        raise ValueError(f"not a binlog file name: {name!r}")
    return match["base"], int(match["index"])


@dataclass(frozen=True)
class Layout:
    server: str

    @property
    def full_prefix(self) -> str:
        return f"{self.server}/full/"

    @property
    def binlog_prefix(self) -> str:
        return f"{self.server}/binlog/"

    def epoch_prefix(self, epoch: str) -> str:
        return f"{self.binlog_prefix}{epoch}/"

    def full_dir(self, backup_id: str) -> str:
        return f"{self.server}/full/{backup_id}"

    def full_manifest(self, backup_id: str) -> str:
        return f"{self.full_dir(backup_id)}/manifest.json"

    def dump_object(self, backup_id: str, database: str) -> str:
        return f"{self.full_dir(backup_id)}/{database}.sql.zst.age"

    def binlog_object(self, epoch: str, name: str) -> str:
        return f"{self.epoch_prefix(epoch)}{name}.zst.age"

    def binlog_manifest(self, epoch: str, name: str) -> str:
        return f"{self.epoch_prefix(epoch)}{name}.json"

    def epoch_head(self, epoch: str) -> str:
        return f"{self.epoch_prefix(epoch)}epoch.json"

    def drill_report(self, moment: datetime) -> str:
        return f"{self.server}/drills/{backup_id_for(moment)}.json"

    @property
    def break_prefix(self) -> str:
        return f"{self.server}/breaks/"

    def break_record(self, moment: datetime) -> str:
        return f"{self.break_prefix}{utc(moment).strftime('%Y%m%dT%H%M%S%fZ')}.json"


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str
    raw_size: int | None = None  # bytes before compression, when known


@dataclass(frozen=True)
class BinlogPosition:
    file: str
    position: int
    gtid: str | None = None
    epoch: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.position}" + (f" (GTID {self.gtid})" if self.gtid else "")


@dataclass(frozen=True)
class TableChecksum:
    """A table's rows as the dump wrote them: how many, and the SHA-256 of their text.

    Computed from the dump stream itself (no second read of the table); a drill dumps the
    restored copy with the same tool and options and must get the same figures.
    """

    table: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Instance:
    """One run of one server: a restart changes started_at, RESET (MASTER) changes resets."""

    server_id: int
    server_uid: str
    started_at: int  # Unix seconds, exact: UNIX_TIMESTAMP() - Uptime in one statement
    resets: int      # Com_reset since the start


class _Json:
    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()


@dataclass(frozen=True)
class FullManifest(_Json):
    backup_id: str
    server: str
    database: str
    database_collation: str
    started_at: str
    consistent_at: str  # upper bound of the snapshot time: the dump reported its position then
    finished_at: str
    server_version: str
    server_id: int
    server_flavor: str
    binlog_format: str | None
    position: BinlogPosition | None  # None when the server has no binary log (no PITR)
    objects: list[StoredObject]
    recipients: list[str]
    tools: dict[str, str]
    dump_options: list[str]
    run_id: str | None = None
    table_checksums: list[TableChecksum] | None = None  # of the dump itself, i.e. at `position`
    kind: str = "full"
    format: int = FORMAT

    @property
    def dump(self) -> StoredObject:
        return self.objects[0]

    @classmethod
    def from_json(cls, data: bytes) -> "FullManifest":
        raw = _load(data, "full")
        raw["objects"] = [StoredObject(**o) for o in raw["objects"]]
        raw["position"] = BinlogPosition(**raw["position"]) if raw.get("position") else None
        if raw.get("table_checksums") is not None:
            raw["table_checksums"] = [TableChecksum(**t) for t in raw["table_checksums"]]
        return cls(**raw)


@dataclass(frozen=True)
class BinlogManifest(_Json):
    name: str
    epoch: str
    server: str
    server_id: int
    size: int            # bytes of the binlog on the server (closed files never change)
    first_event_at: str  # when the server opened the file
    last_event_at: str   # its last event (the rotate written when it was closed)
    start_gtid: str      # the GTID state the file starts with, as SHOW BINLOG EVENTS shows it
    # Identity of the content: SHA-256 of the bytes from the last transaction's first event
    # to the end. None when the file holds no transaction (then its bytes say nothing).
    tail_offset: int | None
    tail_sha256: str | None
    shipped_at: str
    object: StoredObject
    recipients: list[str]
    tools: dict[str, str]
    kind: str = "binlog"
    format: int = FORMAT

    @property
    def index(self) -> int:
        return binlog_index(self.name)[1]

    @classmethod
    def from_json(cls, data: bytes) -> "BinlogManifest":
        raw = _load(data, "binlog")
        raw["object"] = StoredObject(**raw["object"])
        return cls(**raw)


@dataclass(frozen=True)
class EpochHead(_Json):
    """Written by every shipping run, last: what the chain of this epoch should hold."""

    epoch: str
    server: str
    began_at: str                 # when shipping first saw this numbering
    instance: Instance            # the server run seen by the latest shipping run
    seen_at: str
    last_shipped: str | None      # newest binlog shipped into this epoch
    last_event_at: str | None     # its last event: the chain covers time up to here
    began_after: dict[str, str] | None = None  # {"epoch": previous epoch, "reason": why a new one}
    kind: str = "epoch"
    format: int = FORMAT

    @classmethod
    def from_json(cls, data: bytes) -> "EpochHead":
        raw = _load(data, "epoch")
        raw["instance"] = Instance(**raw["instance"])
        return cls(**raw)


@dataclass(frozen=True)
class RestoreBreak(_Json):
    """The backed-up database was restored over itself on the backed-up server (restores run
    without binlog): binlogs written after `at` apply to the restored data, not to what the
    backups taken before hold, so no point-in-time recovery crosses it."""

    server: str
    database: str
    at: str          # when the overwrite began
    backup_id: str   # what was restored
    reaches: str
    kind: str = "break"
    format: int = FORMAT

    @classmethod
    def from_json(cls, data: bytes) -> "RestoreBreak":
        return cls(**_load(data, "break"))


def _load(data: bytes, kind: str) -> dict:
    raw = json.loads(data)
    if raw.get("kind") != kind:
        raise ValueError(f"not a {kind} manifest (kind={raw.get('kind')!r})")
    if raw.get("format") != FORMAT:
        raise ValueError(f"manifest format {raw.get('format')!r}, this version reads format {FORMAT} (binlogs "
                         "identified by epoch, table checksums from the dump): take a new full backup into a "
                         "new location; older backups restore by hand as docs/backups.md describes")
    return raw

