"""Check that a usable backup exists, complete and fresh, without restoring anything.

Like pgBackRest's `verify`, every object listed in a manifest must be present with its
recorded size and SHA-256, and each full backup's binlog chain must run without a hole to
the newest file its epoch says was shipped (epoch.json), so a newest binlog deleted with its
manifest is missed too. With deep=True each object is also decrypted and its zstd frame
checksums tested, which proves the key still opens it.

"Nothing found" is a failure, never "verified 0 objects": a location that does not exist,
no complete full backup, a newest backup without its manifest. Freshness: the newest full
backup must be younger than its schedule allows, and binlog coverage must reach within one
shipping interval of now. Given the server's binlogs, verify also proves that they
continue the shipped chain (a RESET MASTER not yet seen by the shipping shows here).

Findings are grouped by check (objects, chain, full_age, binlog_age), so each group can
be one incident that opens and resolves. A hole that only older backups depend on is a
warning (it failed the shipping run when it appeared); a hole after the newest backup, or a
reset without a full backup since, is a problem.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from mysql_common.errors import PermanentError

from mysql_backup.catalog import Catalog, load_catalog
from mysql_backup.chain import binlog_name
from mysql_backup.crypto import AgeKey
from mysql_backup.epochs import Identification
from mysql_backup.errors import BackupCorruption, StageFailed, TransientStageFailed
from mysql_backup.manifest import Layout, StoredObject, binlog_index, human, parse_iso, utc_now
from mysql_backup.pipeline import CHUNK, Command, run_pipeline
from mysql_backup.storage import Storage
from mysql_backup.tools import ToolSet

log = logging.getLogger(__name__)

CHECKS = {  # check -> the error code of its incident
    "objects": "BACKUP_CORRUPTION",
    "chain": "BACKUP_CHAIN_BROKEN",
    "full_age": "BACKUP_FULL_STALE",
    "binlog_age": "BACKUP_BINLOG_STALE",
}


class VerifyFailed(PermanentError):
    """Verify found problems: each is listed with the code of its check."""

    code = "BACKUP_VERIFY_FAILED"


@dataclass(frozen=True)
class Freshness:
    """How old the newest backups may be: the schedules plus a grace for a run's own duration."""

    full_every: timedelta = timedelta(hours=24)
    binlog_every: timedelta = timedelta(hours=4)
    grace: timedelta = timedelta(hours=1)


@dataclass
class VerifyReport:
    objects: int = 0
    bytes: int = 0
    problems: dict[str, list[str]] = field(default_factory=lambda: {check: [] for check in CHECKS})
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(self.problems.values())

    def all_problems(self) -> list[str]:
        return [text for texts in self.problems.values() for text in texts]

    def add(self, check: str, text: str) -> None:
        self.problems[check].append(text)


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


def verify_backups(storage: Storage, server: str, *, deep_with: tuple[AgeKey, ToolSet] | None = None,
                   freshness: Freshness | None = None, now: datetime | None = None,
                   identify: Callable[[Catalog], Identification] | None = None) -> VerifyReport:
    """freshness None: no age checks. identify: proves the server's binlogs continue the chain
    (binlog_ship.ServerBinlogs.identify), or None to check the storage alone."""
    report = VerifyReport()
    where = f"{storage.description} (server folder {server!r})"
    problem = storage.problem()
    if problem:
        report.add("objects", f"backup location {where}: {problem}")
        return report
    try:
        catalog = load_catalog(storage, Layout(server))
    except BackupCorruption as exc:
        report.add("objects", str(exc))
        return report
    objects = [obj for full in catalog.fulls for obj in full.objects] + [m.object for m in catalog.binlogs()]
    for obj in objects:
        problem = check_object(storage, obj, deep_with=deep_with)
        report.objects += 1
        report.bytes += obj.size
        if problem:
            report.add("objects", problem)
        log.info("%s %s", "BAD" if problem else "ok ", obj.key)
    _check_fulls(catalog, report, where)
    _check_chains(catalog, report)
    if identify is not None:
        _check_server(catalog, report, identify)
    if freshness is not None:
        _check_freshness(catalog, report, freshness, now or utc_now())
    for info in catalog.unmanifested_binlogs:
        report.warnings.append(f"{info.key}: binlog object without manifest (interrupted shipping)")
    return report


def _check_fulls(catalog: Catalog, report: VerifyReport, where: str) -> None:
    if not catalog.fulls and not catalog.incomplete:
        report.add("full_age", f"no full backup in {where}: nothing to restore from (a misspelled location, "
                               "or mysql_full_backup never succeeded)")
    newest = max((f.backup_id for f in catalog.fulls), default="")
    for backup_id, leftovers in sorted(catalog.incomplete.items()):
        text = (f"backup {backup_id}: {len(leftovers)} object(s) without manifest (interrupted, or the "
                f"manifest {catalog.layout.full_manifest(backup_id)} was deleted): not a usable backup")
        if backup_id > newest:  # the newest backup is the one that matters
            report.add("objects", text + ("" if catalog.fulls else "; no complete backup exists"))
        else:
            report.warnings.append(text)


def _check_chains(catalog: Catalog, report: VerifyReport) -> None:
    newest = {}
    for full in catalog.fulls:  # oldest first: the last one per database wins
        newest[full.database] = full
    for full in catalog.fulls:
        if full.position is None:
            report.warnings.append(f"backup {full.backup_id}: taken without binary log (no point-in-time recovery)")
            continue
        epoch = catalog.epochs.get(full.position.epoch)
        base, start = binlog_index(full.position.file)
        if epoch is None:
            message = (f"backup {full.backup_id}: its binlog epoch {full.position.epoch} is missing from the storage "
                       "(binlogs and epoch.json deleted): no point-in-time recovery from this backup")
            (report.problems["chain"] if newest[full.database] is full else report.warnings).append(message)
            continue
        chain = epoch.binlogs
        numbers = [i for i in chain if i >= start]
        if epoch.head and epoch.head.last_shipped:
            numbers.append(binlog_index(epoch.head.last_shipped)[1])
        if not numbers:
            continue
        missing = [i for i in range(start, max(numbers) + 1) if i not in chain]
        if not missing:
            continue
        width = len(full.position.file.rsplit(".", 1)[1])
        names = ", ".join(binlog_name(base, i, width) for i in missing[:20])
        message = (f"backup {full.backup_id}: binlog chain broken, missing {names} (epoch {full.position.epoch}): "
                   "point-in-time recovery from this backup stops before the hole")
        if epoch.head and epoch.head.last_shipped and binlog_index(epoch.head.last_shipped)[1] in missing:
            message += f"; {epoch.head.last_shipped} is the newest binlog shipped (epoch.json) and is gone"
        (report.problems["chain"] if newest[full.database] is full else report.warnings).append(message)
    _check_epochs(catalog, report)
    _check_breaks(catalog, report, newest)


def _check_breaks(catalog: Catalog, report: VerifyReport, newest: dict) -> None:
    """A database restored over itself: problem until a full backup follows, then a warning."""
    for crossed in catalog.breaks:
        text = (f"database {crossed.database} was restored over itself at {human(parse_iso(crossed.at))} (from "
                f"backup {crossed.backup_id}): point-in-time recovery cannot cross that time")
        latest = newest.get(crossed.database)
        if latest is not None and latest.position and parse_iso(latest.consistent_at) < parse_iso(crossed.at):
            report.add("chain", text + "; no full backup since: take one now")
        else:
            report.warnings.append(text)


def _check_epochs(catalog: Catalog, report: VerifyReport) -> None:
    """A reset: problem while no full backup starts in the newest epoch, then a warning."""
    starts = {f.position.epoch for f in catalog.fulls if f.position}
    for previous, epoch in zip(list(catalog.epochs.values()), list(catalog.epochs.values())[1:]):
        why = (epoch.head.began_after or {}).get("reason", "a new numbering") if epoch.head else "a new numbering"
        text = (f"the binlog numbering was reset: epoch {epoch.id} follows {previous.id} ({why}); point-in-time "
                "recovery cannot cross from one to the other")
        if epoch is catalog.newest_epoch and epoch.id not in starts and starts:
            report.add("chain", text + ", and no full backup starts in the newest epoch: changes since the reset "
                                       "cannot be restored; take a full backup now")
        else:
            report.warnings.append(text)


def _check_server(catalog: Catalog, report: VerifyReport, identify: Callable[[Catalog], Identification]) -> None:
    identified = identify(catalog)
    if catalog.newest_epoch is not None and not identified.continues:
        report.add("chain", f"the binlog numbering was reset (RESET MASTER, a re-initialised or a restored "
                            f"server?): the server's binlogs do not continue the shipped chain (epoch "
                            f"{catalog.newest_epoch.id}): {identified.how}. Run mysql_binlog_backup, then take a "
                            "full backup")


def _check_freshness(catalog: Catalog, report: VerifyReport, freshness: Freshness, now: datetime) -> None:
    if catalog.fulls:
        newest = max(catalog.fulls, key=lambda f: parse_iso(f.finished_at))
        age = now - parse_iso(newest.finished_at)
        allowed = freshness.full_every + freshness.grace
        if age > allowed:
            report.add("full_age", f"the newest full backup, {newest.backup_id}, finished "
                                   f"{human(parse_iso(newest.finished_at))}, {_hours(age)} ago: more than the "
                                   f"{_hours(allowed)} its schedule allows (is mysql_full_backup failing?)")
        if newest.position is None:
            return  # no binary log: nothing to ship
    epoch = catalog.newest_epoch
    if epoch is None:
        if any(f.position for f in catalog.fulls):
            report.add("binlog_age", "no binlog has been shipped: point-in-time recovery is impossible "
                                     "(is mysql_binlog_backup running?)")
        return
    end = epoch.head.last_event_at if epoch.head else (epoch.newest.last_event_at if epoch.newest else None)
    if end is None:
        return
    lag = now - parse_iso(end)
    allowed = freshness.binlog_every + freshness.grace
    if lag > allowed:
        report.add("binlog_age", f"shipped binlogs cover changes only up to {human(parse_iso(end))}, {_hours(lag)} "
                                 f"ago: more than the {_hours(allowed)} one shipping interval allows (is "
                                 "mysql_binlog_backup failing?)")


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:.1f} h"
