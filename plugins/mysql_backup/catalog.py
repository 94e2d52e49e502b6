"""What the storage holds for one server: complete backups, interrupted ones, shipped binlogs.

Only a manifest makes a backup; objects without one are reported as incomplete (an
interrupted run, or a manifest that went missing) and are never restored from.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from mysql_backup.errors import BackupCorruption
from mysql_backup.manifest import BinlogManifest, FullManifest, Layout, binlog_index
from mysql_backup.storage import ObjectInfo, Storage


@dataclass
class Catalog:
    layout: Layout
    fulls: list[FullManifest] = field(default_factory=list)          # complete, oldest first
    incomplete: dict[str, list[ObjectInfo]] = field(default_factory=dict)  # backup id -> objects
    binlogs: dict[str, BinlogManifest] = field(default_factory=dict)  # file name -> manifest
    unmanifested_binlogs: list[ObjectInfo] = field(default_factory=list)

    def binlog_chain(self, base: str) -> dict[int, BinlogManifest]:
        """Shipped binlogs of one base name, by index."""
        chain = {}
        for name, manifest in self.binlogs.items():
            got_base, index = binlog_index(name)
            if got_base == base:
                chain[index] = manifest
        return chain


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
    binlog_objects = {}
    for info in storage.list(layout.binlog_prefix):
        name = info.key[len(layout.binlog_prefix):]
        if name.endswith(".json"):
            manifest = _parse(storage, info.key, BinlogManifest.from_json)
            catalog.binlogs[manifest.name] = manifest
        else:
            binlog_objects[info.key] = info
    referenced = {m.object.key for m in catalog.binlogs.values()}
    catalog.unmanifested_binlogs = [info for key, info in sorted(binlog_objects.items())
                                    if key not in referenced]
    return catalog
