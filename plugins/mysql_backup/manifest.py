"""Manifests (the completion markers) and the storage layout.

    <server>/full/<backup id>/<database>.sql.zst.age   the dump, compressed then encrypted
    <server>/full/<backup id>/manifest.json            written last: without it, no backup
    <server>/binlog/<binlog file>.zst.age              one closed binlog, byte for byte
    <server>/binlog/<binlog file>.json                 its manifest, written last
    <server>/drills/<timestamp>.json                   restore drill reports (RTO per phase)

Manifests are plain JSON (no secrets, readable without the key) so an operator can find
the right objects and their SHA-256 with `cat` alone.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

FORMAT = 1
_BINLOG_NAME = re.compile(r"^(?P<base>.+)\.(?P<index>\d{6,})$")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds") if moment else None


def human(moment: datetime) -> str:
    """How times appear in messages: the operator compares them with --stop-datetime."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_iso(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def backup_id_for(moment: datetime) -> str:
    """Sortable and browsable: 20260126T020000Z."""
    return moment.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def binlog_index(name: str) -> tuple[str, int]:
    """('binlog', 7) for 'binlog.000007': the chain is ordered by this number."""
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

    def full_dir(self, backup_id: str) -> str:
        return f"{self.server}/full/{backup_id}"

    def full_manifest(self, backup_id: str) -> str:
        return f"{self.full_dir(backup_id)}/manifest.json"

    def dump_object(self, backup_id: str, database: str) -> str:
        return f"{self.full_dir(backup_id)}/{database}.sql.zst.age"

    def binlog_object(self, name: str) -> str:
        return f"{self.binlog_prefix}{name}.zst.age"

    def binlog_manifest(self, name: str) -> str:
        return f"{self.binlog_prefix}{name}.json"

    def drill_report(self, moment: datetime) -> str:
        return f"{self.server}/drills/{backup_id_for(moment)}.json"


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

    def __str__(self) -> str:
        return f"{self.file}:{self.position}" + (f" (GTID {self.gtid})" if self.gtid else "")


@dataclass(frozen=True)
class TableChecksum:
    table: str
    rows: int
    checksum: str


@dataclass(frozen=True)
class Checksums:
    """Per-table checksums taken in one snapshot at a known binlog position (>= the dump's)."""

    position: BinlogPosition
    taken_at: str
    tables: list[TableChecksum]


@dataclass(frozen=True)
class FullManifest:
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
    checksums: Checksums | None = None
    kind: str = "full"
    format: int = FORMAT

    @property
    def dump(self) -> StoredObject:
        return self.objects[0]

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> "FullManifest":
        raw = json.loads(data)
        _check_format(raw, "full")
        raw["objects"] = [StoredObject(**o) for o in raw["objects"]]
        raw["position"] = BinlogPosition(**raw["position"]) if raw.get("position") else None
        if raw.get("checksums"):
            c = raw["checksums"]
            raw["checksums"] = Checksums(BinlogPosition(**c["position"]), c["taken_at"],
                                         [TableChecksum(**t) for t in c["tables"]])
        return cls(**raw)


@dataclass(frozen=True)
class BinlogManifest:
    name: str
    server: str
    server_id: int
    size: int            # bytes of the binlog on the server (closed files never change)
    first_event_at: str  # when the server opened the file
    last_event_at: str   # its last event (the rotate written when it was closed)
    shipped_at: str
    object: StoredObject
    recipients: list[str]
    tools: dict[str, str]
    kind: str = "binlog"
    format: int = FORMAT

    @property
    def index(self) -> int:
        return binlog_index(self.name)[1]

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()

    @classmethod
    def from_json(cls, data: bytes) -> "BinlogManifest":
        raw = json.loads(data)
        _check_format(raw, "binlog")
        raw["object"] = StoredObject(**raw["object"])
        return cls(**raw)


def _check_format(raw: dict, kind: str) -> None:
    if raw.get("kind") != kind or raw.get("format") != FORMAT:
        raise ValueError(f"not a format-{FORMAT} {kind} manifest (kind={raw.get('kind')!r}, "
                         f"format={raw.get('format')!r})")
