"""Pure planning over the backup history: binlog gaps, what to restore, what retention deletes.

No I/O here, so every rule is tested directly (retention by a property test over random
histories). A full backup needs every binlog of its epoch from the file holding its
recorded position onward; a chain never crosses from one epoch into the next (see
manifest.py): after a numbering reset, only a full backup taken since can be replayed on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from mysql_backup.catalog import Epoch
from mysql_backup.errors import BackupChainBroken, PitrOutOfRange
from mysql_backup.manifest import BinlogManifest, BinlogPosition, FullManifest, RestoreBreak, binlog_index, human, \
    parse_iso, utc


def binlog_name(base: str, index: int, width: int = 6) -> str:
    return f"{base}.{index:0{width}d}"


def _span(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{names[0]} to {names[-1]} ({len(names)} files)"


def gap_error(base: str, width: int, missing: list[int], after: datetime | None,
              before: datetime | None, *, hint: str | None = None) -> BackupChainBroken:
    """The error names the missing files and the time window that can no longer be recovered."""
    names = [binlog_name(base, i, width) for i in missing]
    since = human(after) if after else "the previous backup"
    until = human(before) if before else "the next binlog shipped after them"
    return BackupChainBroken(
        f"binlog {_span(names)} missing from the shipped chain (purged from the server before it "
        f"was shipped, or deleted from storage): point-in-time recovery is impossible from {since} "
        f"until {until}. " + (hint or "Take a full backup now, and ship binlogs more often than the server's "
                                      "binlog expiry (expire_logs_days / binlog_expire_logs_seconds)"))


def shipping_gap(last_shipped: int | None, needed_from: int | None, oldest_on_server: int | None) -> list[int]:
    """Binlog numbers that should have been shipped but are gone from the server.

    Shipping resumes after the last shipped file, or at the oldest file a complete full
    backup needs when nothing was shipped yet. Older holes were reported when they appeared.
    """
    lower = last_shipped + 1 if last_shipped is not None else needed_from
    if lower is None or oldest_on_server is None:
        return []
    return list(range(lower, oldest_on_server))


def reset_after(epoch: Epoch, later: list[Epoch], what: str) -> BackupChainBroken:
    """A later epoch began: what was written since cannot be replayed onto this epoch's backups."""
    newer = later[0]
    began = human(parse_iso(newer.head.began_at)) if newer.head else f"epoch {newer.id}"
    why = (newer.head.began_after or {}).get("reason") if newer.head else None
    end = human(parse_iso(epoch.head.last_event_at)) if epoch.head and epoch.head.last_event_at else (
        human(parse_iso(epoch.newest.last_event_at)) if epoch.newest else "the backup itself")
    return BackupChainBroken(
        f"{what}: the binlog numbering was reset ({why or 'RESET MASTER, a re-initialised or a restored server'}). "
        f"Binlogs since then belong to epoch {newer.id}, which began {began}; they cannot be replayed onto a backup "
        f"of epoch {epoch.id}, whose chain ends at {end}. Restore to a time before then, or from a full backup "
        "taken after the reset (take one now if there is none)")


def break_error(crossed: RestoreBreak, backup_id: str) -> BackupChainBroken:
    return BackupChainBroken(
        f"database {crossed.database} was restored over itself at {human(parse_iso(crossed.at))} (from backup "
        f"{crossed.backup_id}, {crossed.reaches}): binlogs after that apply to the restored data, not to what backup "
        f"{backup_id} holds. Restore to a time before then, or from a full backup taken after it (take one now if "
        "there is none)")


# --- restore -----------------------------------------------------------------------------

@dataclass(frozen=True)
class RestorePlan:
    full: FullManifest
    binlogs: list[BinlogManifest]         # the first is read from full.position, the rest whole
    stop_datetime: datetime | None = None  # exclusive, whole seconds, UTC
    stop_position: int | None = None       # in the last binlog
    reaches: str = ""                      # what the restored database will show, for the log


def _width(name: str) -> int:
    return len(name.rsplit(".", 1)[1])


def _missing_error(full: FullManifest, chain: dict[int, BinlogManifest], missing: list[int],
                   hint: str | None = None) -> BackupChainBroken:
    base, _ = binlog_index(full.position.file)
    before_gap = chain.get(missing[0] - 1)
    after_gap = next((chain[i] for i in sorted(chain) if i > missing[-1]), None)
    return gap_error(base, _width(full.position.file), missing,
                     parse_iso(before_gap.last_event_at) if before_gap else parse_iso(full.consistent_at),
                     parse_iso(after_gap.first_event_at) if after_gap else None, hint=hint)


def _expected_last(epoch: Epoch) -> int | None:
    """The newest file number the epoch should hold: what storage has, or what its head says
    was shipped last (a newest file deleted with its manifest leaves the head behind)."""
    numbers = list(epoch.binlogs)
    if epoch.head and epoch.head.last_shipped:
        numbers.append(binlog_index(epoch.head.last_shipped)[1])
    return max(numbers) if numbers else None


def plan_restore(fulls: list[FullManifest], epochs: dict[str, Epoch], *,
                 backup_id: str | None = None, target_time: datetime | None = None,
                 stop_at: BinlogPosition | None = None, dump_only: bool = False,
                 breaks: list[RestoreBreak] = ()) -> RestorePlan:
    """Choose the full backup and the binlogs that reach the target.

    target_time None means the end of the shipped chain ("latest"). It is converted to UTC
    (naive: already UTC), truncated to whole seconds because binlog events carry whole-second
    timestamps, and exclusive: what committed before that second is restored. stop_at
    (drills) stops at an exact position. dump_only: the dump, no binlog (seeding a replica).
    """
    if target_time is not None:
        target_time = utc(target_time).replace(microsecond=0)
    full = _choose_full(fulls, backup_id, target_time)
    if dump_only:
        return RestorePlan(full, [], reaches=f"the dump alone ({human(parse_iso(full.consistent_at))})")
    if full.position is None:
        if target_time is not None or stop_at is not None:
            raise PitrOutOfRange(f"backup {full.backup_id} was taken without a binary log: it restores "
                                 f"only to its own time ({human(parse_iso(full.consistent_at))})")
        return RestorePlan(full, [], reaches=f"the backup itself ({human(parse_iso(full.consistent_at))}; "
                                             "no binary log)")
    crossed = [b for b in breaks if b.database == full.database and parse_iso(b.at) > parse_iso(full.consistent_at)
               and (target_time is None or target_time > parse_iso(b.at))]
    if crossed and stop_at is None:
        raise break_error(crossed[0], full.backup_id)
    epoch = epochs.get(full.position.epoch)
    if epoch is None:  # it existed when the backup was written: deleted since
        raise BackupChainBroken(f"binlog epoch {full.position.epoch} of backup {full.backup_id} is missing from the "
                                "storage (its binlogs and epoch.json were deleted): nothing after the backup's own "
                                "time can be restored from it")
    later = [e for key, e in sorted(epochs.items()) if key > epoch.id]
    chain = epoch.binlogs
    start = binlog_index(full.position.file)[1]
    if stop_at is not None:
        stop_index = binlog_index(stop_at.file)[1]
        if stop_at.epoch not in (None, epoch.id) or stop_index < start:
            raise PitrOutOfRange(f"position {stop_at} is not after backup {full.backup_id} ({full.position})")
        wanted = list(range(start, stop_index + 1))
        missing = [i for i in wanted if i not in chain]
        if missing:
            raise _missing_error(full, chain, missing)
        return RestorePlan(full, [chain[i] for i in wanted], stop_position=stop_at.position,
                           reaches=f"binlog position {stop_at}")
    expected_last = _expected_last(epoch)
    shipped = sorted(i for i in chain if i >= start)
    if target_time is None:
        if later:
            raise reset_after(epoch, later, f"'latest' cannot be reached from backup {full.backup_id}")
        if expected_last is None or expected_last < start:
            return RestorePlan(full, [], reaches=f"the backup itself ({human(parse_iso(full.consistent_at))}; "
                                                 "no binlog shipped since)")
        missing = [i for i in range(start, expected_last + 1) if i not in chain]
        if missing:
            raise _missing_error(full, chain, missing)
        files = [chain[i] for i in range(start, expected_last + 1)]
        end = human(parse_iso(files[-1].last_event_at))
        return RestorePlan(full, files, reaches=f"end of the shipped chain ({end}, {files[-1].name})")
    if expected_last is None or expected_last < start:
        if later:
            raise reset_after(epoch, later, f"{human(target_time)} cannot be reached from backup {full.backup_id}")
        raise PitrOutOfRange(f"no binlog shipped since backup {full.backup_id} "
                             f"({human(parse_iso(full.consistent_at))}): {human(target_time)} cannot be reached; "
                             "run the binlog backup (mysql_binlog_backup) first")
    # Files opened at or after the target hold nothing to replay.
    last = max([start] + [i for i in shipped if parse_iso(chain[i].first_event_at) < target_time])
    in_gap = (f"{human(target_time)} cannot be reached across it: restore to a time before the gap, or to a later "
              "time from a full backup taken after it")
    missing = [i for i in range(start, last + 1) if i not in chain]
    if missing:
        raise _missing_error(full, chain, missing, hint=in_gap)
    end = parse_iso(chain[last].last_event_at) if last in chain else parse_iso(full.consistent_at)
    if target_time > end and last + 1 not in chain:
        if expected_last is not None and expected_last > last:
            gap = [last + 1]
            while gap[-1] + 1 <= expected_last and gap[-1] + 1 not in chain:
                gap.append(gap[-1] + 1)
            raise _missing_error(full, chain, gap, hint=in_gap)
        if later:
            raise reset_after(epoch, later, f"{human(target_time)} cannot be reached from backup {full.backup_id}")
        raise PitrOutOfRange(f"{human(target_time)} is after the end of the shipped binlog chain "
                             f"({human(end)}, {chain[last].name if last in chain else 'no binlog shipped yet'}): "
                             "run the binlog backup (mysql_binlog_backup) first, or restore to latest")
    files = [chain[i] for i in range(start, last + 1) if i in chain]
    return RestorePlan(full, files, stop_datetime=target_time,
                       reaches=f"everything committed before {human(target_time)}")


def _choose_full(fulls: list[FullManifest], backup_id: str | None, target: datetime | None) -> FullManifest:
    if not fulls:
        raise PitrOutOfRange("no complete full backup exists for this server")
    if backup_id is not None:
        full = next((f for f in fulls if f.backup_id == backup_id), None)
        if full is None:
            raise PitrOutOfRange(f"no complete backup {backup_id!r}; complete backups: "
                                 + ", ".join(f.backup_id for f in fulls[-10:]))
        if target is not None and parse_iso(full.consistent_at) >= target:
            raise PitrOutOfRange(f"backup {backup_id} was taken at {human(parse_iso(full.consistent_at))}, not "
                                 f"before {human(target)}")
        return full
    ordered = sorted(fulls, key=lambda f: parse_iso(f.consistent_at))
    if target is None:
        return ordered[-1]
    before = [f for f in ordered if parse_iso(f.consistent_at) < target]
    if not before:
        raise PitrOutOfRange(f"no full backup was taken before {human(target)}; the oldest is "
                             f"{ordered[0].backup_id} ({human(parse_iso(ordered[0].consistent_at))})")
    return before[-1]


# --- retention ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FullEntry:
    backup_id: str
    finished_at: datetime
    start: tuple[str, int] | None  # (epoch, file number) of its position; None: no binlog
    database: str = ""


@dataclass(frozen=True)
class BinlogEntry:
    epoch: str
    name: str

    @property
    def index(self) -> int:
        return binlog_index(self.name)[1]


@dataclass(frozen=True)
class Leftover:
    """Objects of an interrupted run: a backup without manifest, or an unfinished upload."""

    label: str
    modified: datetime


@dataclass
class RetentionPlan:
    keep_fulls: dict[str, str] = field(default_factory=dict)       # id -> why kept
    delete_fulls: dict[str, str] = field(default_factory=dict)     # id -> why deleted
    delete_binlogs: dict[tuple[str, str], str] = field(default_factory=dict)  # (epoch, name) -> why deleted
    delete_epochs: dict[str, str] = field(default_factory=dict)    # epoch -> why its head is deleted
    delete_leftovers: dict[str, str] = field(default_factory=dict)  # label -> why deleted

    @property
    def empty(self) -> bool:
        return not (self.delete_fulls or self.delete_binlogs or self.delete_epochs or self.delete_leftovers)


def plan_retention(fulls: list[FullEntry], binlogs: list[BinlogEntry], leftovers: list[Leftover], *,
                   now: datetime, keep_days: int, grace: timedelta = timedelta(hours=48),
                   epochs: list[str] | None = None) -> RetentionPlan:
    """Keep what recovery to any point of the last keep_days needs; delete the rest.

    Kept: every full finished within the window, the newest one finished before it (the base
    for recovering to the window's first hours), hence always the newest full; every binlog
    of a kept full's epoch from the oldest kept position in it on; and every binlog of an
    epoch newer than all kept fulls' (a reset not yet followed by a full backup: its files are
    the evidence, and nothing else holds those changes). A binlog is deleted only because no
    kept backup needs it, never because of its age. An epoch's head goes with its last file.
    """
    plan = RetentionPlan()
    cutoff = now - timedelta(days=keep_days)
    ordered = sorted(fulls, key=lambda f: (f.finished_at, f.backup_id))
    for database in sorted({f.database for f in ordered}):
        _keep_window([f for f in ordered if f.database == database], plan, cutoff, keep_days)
    starts: dict[str, int] = {}
    for full in ordered:
        if full.backup_id in plan.keep_fulls and full.start is not None:
            epoch, index = full.start
            starts[epoch] = min(index, starts.get(epoch, index))
    if starts:
        newest_with_full = max(starts)
        for binlog in binlogs:
            if binlog.epoch > newest_with_full:
                continue
            if binlog.epoch not in starts:
                plan.delete_binlogs[(binlog.epoch, binlog.name)] = (
                    f"epoch {binlog.epoch} precedes the newest kept full backup's epoch and no kept backup "
                    "starts in it")
            elif binlog.index < starts[binlog.epoch]:
                plan.delete_binlogs[(binlog.epoch, binlog.name)] = (
                    f"before {binlog_name(binlog.name.rsplit('.', 1)[0], starts[binlog.epoch], _width(binlog.name))}"
                    f", where the oldest kept full backup of epoch {binlog.epoch} starts: no kept backup needs it")
        remaining = {b.epoch for b in binlogs if (b.epoch, b.name) not in plan.delete_binlogs}
        for epoch in sorted(set(epochs or []) | {b.epoch for b in binlogs}):
            if epoch < newest_with_full and epoch not in starts and epoch not in remaining:
                plan.delete_epochs[epoch] = "no kept backup starts in it and none of its binlogs is kept"
    newest_finish = ordered[-1].finished_at if ordered else None
    for leftover in leftovers:
        if leftover.modified < now - grace and newest_finish is not None and newest_finish > leftover.modified:
            plan.delete_leftovers[leftover.label] = (f"interrupted (no manifest), last written "
                                                     f"{human(leftover.modified)}, and a newer "
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
                                                f"recovery to points after {human(cutoff)}")
    for full in older[:-1]:
        newer = older[-1]
        plan.delete_fulls[full.backup_id] = (f"finished {human(full.finished_at)}, before the "
                                             f"{keep_days}-day window; kept backup {newer.backup_id} "
                                             "is newer")
