"""What the storage holds for one server: complete backups, interrupted ones, binlog epochs.

Only a manifest makes a backup; objects without one are reported as incomplete (an
interrupted run, or a manifest that went missing) and are never restored from. Binlogs are
grouped by epoch (see manifest.py): within one, the file number orders the chain.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from mysql_backup.errors import BackupCorruption
from mysql_backup.manifest import BinlogManifest, EpochHead, FullManifest, Layout, RestoreBreak, binlog_index
from mysql_backup.storage import ObjectInfo, Storage

HEAD_NAME = "epoch.json"
BINLOG_SUFFIX = ".zst.age"


@dataclass
class Epoch:
    id: str
    head: EpochHead | None = None
    binlogs: dict[int, BinlogManifest] = field(default_factory=dict)  # file number -> manifest

    @property
    def newest(self) -> BinlogManifest | None:
        return self.binlogs[max(self.binlogs)] if self.binlogs else None

    def by_name(self, name: str) -> BinlogManifest | None:
        manifest = self.binlogs.get(binlog_index(name)[1])
        return manifest if manifest is not None and manifest.name == name else None


@dataclass
class Catalog:
    layout: Layout
    fulls: list[FullManifest] = field(default_factory=list)          # complete, oldest first
    incomplete: dict[str, list[ObjectInfo]] = field(default_factory=dict)  # backup id -> objects
    epochs: dict[str, Epoch] = field(default_factory=dict)           # epoch id -> its chain, oldest first
    unmanifested_binlogs: list[ObjectInfo] = field(default_factory=list)
    breaks: list[RestoreBreak] = field(default_factory=list)         # oldest first

    @property
    def newest_epoch(self) -> Epoch | None:
        return self.epochs[max(self.epochs)] if self.epochs else None

    def binlogs(self) -> list[BinlogManifest]:
        return [m for _, epoch in sorted(self.epochs.items()) for _, m in sorted(epoch.binlogs.items())]


def _parse(storage: Storage, key: str, parser):
    try:
        return parser(storage.read_bytes(key))
    except FileNotFoundError:
        raise BackupCorruption(f"{key}: listed but unreadable (deleted meanwhile?)", key=key) from None
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise BackupCorruption(f"{key}: not a valid manifest ({exc})", key=key) from None


def load_catalog(storage: Storage, layout: Layout) -> Catalog:
    catalog = Catalog(layout)
    by_backup: dict[str, list[ObjectInfo]] = {}
    for info in storage.list(layout.full_prefix):
        backup_id = info.key[len(layout.full_prefix):].split("/", 1)[0]
        by_backup.setdefault(backup_id, []).append(info)
    for backup_id, objects in sorted(by_backup.items()):
        manifest_key = layout.full_manifest(backup_id)
        if any(o.key == manifest_key for o in objects):
            catalog.fulls.append(_parse(storage, manifest_key, FullManifest.from_json))
        else:
            catalog.incomplete[backup_id] = objects
    catalog.fulls.sort(key=lambda f: (f.consistent_at, f.backup_id))
    objects = {}
    for info in storage.list(layout.binlog_prefix):
        epoch_id, _, name = info.key[len(layout.binlog_prefix):].partition("/")
        if not name or "/" in name:
            raise BackupCorruption(f"{info.key}: not where a binlog epoch keeps its files ({layout.binlog_prefix}"
                                   "<epoch>/<file>)", key=info.key)
        epoch = catalog.epochs.setdefault(epoch_id, Epoch(epoch_id))
        if name == HEAD_NAME:
            epoch.head = _parse(storage, info.key, EpochHead.from_json)
        elif name.endswith(".json"):
            manifest = _parse(storage, info.key, BinlogManifest.from_json)
            epoch.binlogs[manifest.index] = manifest
        else:
            objects[info.key] = info
    catalog.epochs = dict(sorted(catalog.epochs.items()))
    referenced = {m.object.key for m in catalog.binlogs()}
    catalog.unmanifested_binlogs = [info for key, info in sorted(objects.items()) if key not in referenced]
    catalog.breaks = [_parse(storage, info.key, RestoreBreak.from_json) for info in storage.list(layout.break_prefix)]
    return catalog
