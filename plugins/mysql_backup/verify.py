"""Check every stored backup without restoring anything (pgBackRest's `verify`).

Every object listed in a manifest must be present with its recorded size and SHA-256, and
the binlog chain must run without a hole from each full backup's position to the newest
shipped binlog. With deep=True each object is also decrypted and its zstd frame checksums
tested, which proves the key still opens it. All findings are collected and reported at
once; a hole that only older backups depend on is a warning (it was reported as an error
when it appeared), a hole after the newest backup is an error.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from mysql_backup.catalog import Catalog, load_catalog
from mysql_backup.chain import binlog_name
from mysql_backup.crypto import AgeKey
from mysql_backup.errors import BackupCorruption, StageFailed, TransientStageFailed
from mysql_backup.manifest import Layout, StoredObject, binlog_index
from mysql_backup.pipeline import CHUNK, Command, run_pipeline
from mysql_backup.storage import Storage
from mysql_backup.tools import ToolSet

log = logging.getLogger(__name__)


@dataclass
class VerifyReport:
    objects: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_object(storage: Storage, obj: StoredObject, *, deep_with: tuple[AgeKey, ToolSet] | None = None) -> str | None:
    """None if the object is whole; else what is wrong with it."""
    info = storage.stat(obj.key)
    if info is None:
        return f"{obj.key}: missing"
    if info.size != obj.size:
        return f"{obj.key}: {info.size} bytes, the manifest says {obj.size}"
    digest = hashlib.sha256()
    try:
        source = storage.open_read(obj.key)
    except FileNotFoundError:
        return f"{obj.key}: missing"
    with source:
        if deep_with is None:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
        else:
            age_key, tools = deep_with
            hashing = _HashingReader(source, digest)
            with age_key.decrypt_argv(tools.path("age")) as (argv, fds):
                try:
                    run_pipeline([Command("age", argv, pass_fds=fds),
                                  Command("zstd", [tools.path("zstd"), "-t", "-q"])], feed=hashing,
                                 redact=age_key.redact)
                except (StageFailed, TransientStageFailed) as exc:
                    return f"{obj.key}: cannot be decrypted and decompressed: {exc}"
    if digest.hexdigest() != obj.sha256:
        return f"{obj.key}: SHA-256 {digest.hexdigest()} differs from the manifest's {obj.sha256}"
    return None


class _HashingReader:
    """Feeds a pipeline while hashing, so a deep check reads each object once."""

    def __init__(self, source, digest):
        self.source = source
        self.digest = digest

    def readinto(self, buffer) -> int:
        data = self.source.read(len(buffer))
        self.digest.update(data)
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        pass  # the caller closes the storage stream


def verify_backups(storage: Storage, server: str, *, deep_with: tuple[AgeKey, ToolSet] | None = None) -> VerifyReport:
    report = VerifyReport()
    try:
        catalog = load_catalog(storage, Layout(server))
    except BackupCorruption as exc:
        report.problems.append(str(exc))
        return report
    objects = [obj for full in catalog.fulls for obj in full.objects]
    objects += [m.object for _, m in sorted(catalog.binlogs.items())]
    for obj in objects:
        problem = check_object(storage, obj, deep_with=deep_with)
        report.objects += 1
        report.bytes += obj.size
        if problem:
            report.problems.append(problem)
        log.info("%s %s", "BAD" if problem else "ok ", obj.key)
    _check_chains(catalog, report)
    for backup_id, leftovers in sorted(catalog.incomplete.items()):
        report.warnings.append(f"backup {backup_id}: {len(leftovers)} object(s) without manifest (interrupted "
                               "or manifest lost): not a usable backup")
    for info in catalog.unmanifested_binlogs:
        report.warnings.append(f"{info.key}: binlog object without manifest (interrupted shipping)")
    return report


def _check_chains(catalog: Catalog, report: VerifyReport) -> None:
    newest = {}
    for full in catalog.fulls:  # oldest first: the last one per database wins
        newest[full.database] = full
    for full in catalog.fulls:
        if full.position is None:
            report.warnings.append(f"backup {full.backup_id}: taken without binary log (no point-in-time recovery)")
            continue
        base, start = binlog_index(full.position.file)
        chain = catalog.binlog_chain(base)
        later = [i for i in chain if i >= start]
        if not later:
            continue
        missing = [i for i in range(start, max(later)) if i not in chain]
        if not missing:
            continue
        width = len(full.position.file.rsplit(".", 1)[1])
        names = ", ".join(binlog_name(base, i, width) for i in missing[:20])
        message = (f"backup {full.backup_id}: binlog chain broken, missing {names}: point-in-time recovery "
                   "from this backup stops before the hole")
        (report.problems if newest[full.database] is full else report.warnings).append(message)
