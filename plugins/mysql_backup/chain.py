"""Pure planning over the backup history: binlog gaps, what to restore, what retention deletes.

No I/O here, so every rule is tested directly (retention by a property test over random
histories). The chain is ordered by the binlog file number; a full backup needs every
binlog from the one holding its recorded position onward.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mysql_backup.errors import BackupChainBroken, PitrOutOfRange
from mysql_backup.manifest import BinlogManifest, BinlogPosition, FullManifest, binlog_index, human, parse_iso


def binlog_name(base: str, index: int, width: int = 6) -> str:
    return f"{base}.{index:0{width}d}"


def _width(name: str) -> int:
    return len(name.rsplit(".", 1)[1])


def _span(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} to {names[-1]} ({len(names)} files)"


def gap_error(base: str, width: int, missing: list[int], after: datetime | None,
              before: datetime | None) -> BackupChainBroken:
    """The error names the missing files and the time window that can no longer be recovered."""
    names = [binlog_name(base, i, width) for i in missing]
    since = human(after) if after else "the previous backup"
    until = human(before) if before else "the next binlog shipped after them"
    return BackupChainBroken(
        f"binlog {_span(names)} missing from the shipped chain (purged from the server before it "
        f"was shipped, or deleted from storage): point-in-time recovery is impossible from {since} "
        f"until {until}. Take a full backup now, and ship binlogs more often than the server's "
        f"binlog expiry (expire_logs_days / binlog_expire_logs_seconds)")


def shipping_gap(last_shipped: int | None, needed_from: int | None, oldest_on_server: int | None) -> list[int]:
    """Binlog numbers that should have been shipped but are gone from the server.

    Shipping resumes after the last shipped file, or at the oldest file a complete full
    backup needs when nothing was shipped yet. Older holes were reported when they appeared.
    """
    lower = last_shipped + 1 if last_shipped is not None else needed_from
    if lower is None or oldest_on_server is None:
        return []
    return list(range(lower, oldest_on_server))


# --- restore -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RestorePlan:
    full: FullManifest
    binlogs: list[BinlogManifest]         # the first is read from full.position, the rest whole
    stop_datetime: datetime | None = None  # exclusive, whole seconds, UTC
    stop_position: int | None = None       # in the last binlog
    reaches: str = ""                      # what the restored database will show, for the log


def _chain(binlogs: dict[str, BinlogManifest], base: str) -> dict[int, BinlogManifest]:
    chain = {}
    for name, manifest in binlogs.items():
        got_base, index = binlog_index(name)
        if got_base == base:
            chain[index] = manifest
    return chain


def _missing_error(full: FullManifest, chain: dict[int, BinlogManifest], missing: list[int]) -> BackupChainBroken:
    base, _ = binlog_index(full.position.file)
    before_gap = chain.get(missing[0] - 1)
    after_gap = chain.get(missing[-1] + 1)
    return gap_error(base, _width(full.position.file), missing,
                     parse_iso(before_gap.last_event_at) if before_gap else parse_iso(full.consistent_at),
                     parse_iso(after_gap.first_event_at) if after_gap else None)


def plan_restore(fulls: list[FullManifest], binlogs: dict[str, BinlogManifest], *,
                 backup_id: str | None = None, target_time: datetime | None = None,
                 stop_at: BinlogPosition | None = None) -> RestorePlan:
    """Choose the full backup and the binlogs that reach the target.

    target_time None means the end of the shipped chain ("latest"); it is truncated to whole
    seconds because binlog events carry whole-second timestamps, and it is exclusive: what
    committed before that second is restored. stop_at (drills) stops at an exact position.
    """
    if target_time is not None:
        target_time = target_time.replace(microsecond=0)
    full = _choose_full(fulls, backup_id, target_time)
    if full.position is None:
        if target_time is not None or stop_at is not None:
            raise PitrOutOfRange(f"backup {full.backup_id} was taken without a binary log: it restores "
                                 f"only to its own time ({full.consistent_at})")
        return RestorePlan(full, [], reaches=f"the backup itself ({full.consistent_at}; no binary log)")
    base, start = binlog_index(full.position.file)
    chain = _chain(binlogs, base)
    if stop_at is not None:
        stop_base, stop_index = binlog_index(stop_at.file)
        if stop_base != base or stop_index < start:
            raise PitrOutOfRange(f"position {stop_at} is before backup {full.backup_id} ({full.position})")
        wanted = list(range(start, stop_index + 1))
        missing = [i for i in wanted if i not in chain]
        if missing:
            raise _missing_error(full, chain, missing)
        return RestorePlan(full, [chain[i] for i in wanted], stop_position=stop_at.position,
                           reaches=f"binlog position {stop_at}")
    shipped = sorted(i for i in chain if i >= start)
    if not shipped:
        if target_time is not None:
            raise PitrOutOfRange(f"no binlog shipped since backup {full.backup_id} ({full.consistent_at}): "
                                 f"{target_time.isoformat()} cannot be reached; ship binlogs first")
        return RestorePlan(full, [], reaches=f"the backup itself ({full.consistent_at}; no binlog shipped since)")
    if target_time is None:
        last = shipped[-1]
    else:  # files opened at or after the target hold nothing to replay
        last = max([start] + [i for i in shipped if parse_iso(chain[i].first_event_at) < target_time])
    missing = [i for i in range(start, last + 1) if i not in chain]
    if missing:
        raise _missing_error(full, chain, missing)
    if target_time is not None:
        end = parse_iso(chain[last].last_event_at)
        if target_time > end and last + 1 not in chain:
            raise PitrOutOfRange(f"{target_time.isoformat()} is after the end of the shipped binlog chain "
                                 f"({end.isoformat()}, {chain[last].name}): run the binlog backup first, "
                                 "or restore to latest")
    files = [chain[i] for i in range(start, last + 1)]
    if target_time is None:
        return RestorePlan(full, files, reaches=f"end of the shipped chain ({files[-1].last_event_at}, "
                                                f"{files[-1].name})")
    return RestorePlan(full, files, stop_datetime=target_time,
                       reaches=f"everything committed before {target_time.isoformat()}")


def _choose_full(fulls: list[FullManifest], backup_id: str | None, target: datetime | None) -> FullManifest:
    if not fulls:
        raise PitrOutOfRange("no complete full backup exists for this server")
    if backup_id is not None:
        full = next((f for f in fulls if f.backup_id == backup_id), None)
        if full is None:
            raise PitrOutOfRange(f"no complete backup {backup_id!r}; complete backups: "
                                 + ", ".join(f.backup_id for f in fulls[-10:]))
        if target is not None and parse_iso(full.consistent_at) >= target:
            raise PitrOutOfRange(f"backup {backup_id} was taken at {full.consistent_at}, not before "
                                 f"{target.isoformat()}")
        return full
    ordered = sorted(fulls, key=lambda f: parse_iso(f.consistent_at))
    if target is None:
        return ordered[-1]
    before = [f for f in ordered if parse_iso(f.consistent_at) < target]
    if not before:
        raise PitrOutOfRange(f"no full backup was taken before {target.isoformat()}; the oldest is "
                             f"{ordered[0].backup_id} ({ordered[0].consistent_at})")
    return before[-1]


# --- retention ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FullEntry:
    backup_id: str
    finished_at: datetime
    start: tuple[str, int] | None  # (binlog base name, number) of its position; None: no binlog
    database: str = ""


@dataclass(frozen=True)
class BinlogEntry:
    name: str

    @property
    def base_index(self) -> tuple[str, int]:
        return binlog_index(self.name)


@dataclass(frozen=True)
class Leftover:
    """Objects of an interrupted run: a backup without manifest, or an unfinished upload."""

    label: str
    modified: datetime


@dataclass
class RetentionPlan:
    keep_fulls: dict[str, str] = field(default_factory=dict)       # id -> why kept
    delete_fulls: dict[str, str] = field(default_factory=dict)     # id -> why deleted
    delete_binlogs: dict[str, str] = field(default_factory=dict)   # name -> why deleted
    delete_leftovers: dict[str, str] = field(default_factory=dict)  # label -> why deleted

    @property
    def empty(self) -> bool:
        return not (self.delete_fulls or self.delete_binlogs or self.delete_leftovers)


def plan_retention(fulls: list[FullEntry], binlogs: list[BinlogEntry], leftovers: list[Leftover], *,
                   now: datetime, keep_days: int, grace: timedelta = timedelta(hours=48)) -> RetentionPlan:
    """Keep what recovery to any point of the last keep_days needs; delete the rest.

    Kept: every full finished within the window, the newest one finished before it (the base
    for recovering to the window's first hours), hence always the newest full; and every
    binlog from the oldest kept full's position on. A binlog is deleted only because no kept
    backup needs it, never because of its age.
    """
    plan = RetentionPlan()
    cutoff = now - timedelta(days=keep_days)
    ordered = sorted(fulls, key=lambda f: (f.finished_at, f.backup_id))
    for database in sorted({f.database for f in ordered}):
        _keep_window([f for f in ordered if f.database == database], plan, cutoff, keep_days)
    starts = [f.start for f in ordered if f.backup_id in plan.keep_fulls and f.start is not None]
    if starts:
        for binlog in binlogs:
            base, index = binlog.base_index
            if not any(base == s_base and index >= s_index for s_base, s_index in starts):
                plan.delete_binlogs[binlog.name] = (f"before {binlog_name(*min(starts))}, where the oldest "
                                                    "kept full backup starts: no kept backup needs it")
    newest_finish = ordered[-1].finished_at if ordered else None
    for leftover in leftovers:
        if leftover.modified < now - grace and newest_finish is not None and newest_finish > leftover.modified:
            plan.delete_leftovers[leftover.label] = (f"interrupted (no manifest), last written "
                                                     f"{leftover.modified.isoformat()}, and a newer "
                                                     "complete backup exists")
    return plan


def _keep_window(ordered: list[FullEntry], plan: RetentionPlan, cutoff: datetime, keep_days: int) -> None:
    """The full-backup rule for one database's backups (ordered by finish time)."""
    older = [f for f in ordered if f.finished_at < cutoff]
    for full in ordered:
        if full.finished_at >= cutoff:
            plan.keep_fulls[full.backup_id] = f"finished within the last {keep_days} days"
    if older:
        plan.keep_fulls[older[-1].backup_id] = (f"newest backup finished before the window: the base for "
                                                f"recovery to points after {cutoff.isoformat()}")
    for full in older[:-1]:
        newer = older[-1]
        plan.delete_fulls[full.backup_id] = (f"finished {full.finished_at.isoformat()}, before the "
                                             f"{keep_days}-day window; kept backup {newer.backup_id} "
                                             "is newer")
