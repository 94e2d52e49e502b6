"""Ship closed binlogs: FLUSH BINARY LOGS, prove which epoch they belong to, copy the new ones.

The copy comes over the network (`mariadb-binlog --read-from-remote-server --raw`, byte for
byte), is checked against the size the server lists and walked event by event, then goes
through zstd | age into storage; its manifest is written last, then the epoch's head. What is
already shipped is read from storage itself, so a rerun ships nothing twice and no Airflow
state is needed.

Before anything is shipped the server's binlogs are identified (epochs.py). If they do not
continue the newest epoch (RESET MASTER, a re-initialised or restored server), they are
shipped into a new epoch and the run fails naming the reset: until a full backup starts in
the new epoch, changes made since the reset cannot be restored. A binlog purged from the
server before it was shipped is reported as a gap, after every file still available has
been shipped.
"""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mysql_common.errors import ConfigurationError, OperatorFacingError, PermanentError

from mysql_backup.access import MySqlAccess
from mysql_backup.binlog_file import BadBinlog, digest_after_first_event, digest_from, inspect_binlog
from mysql_backup.catalog import Catalog, Epoch, load_catalog
from mysql_backup.chain import gap_error, shipping_gap
from mysql_backup.crypto import AgeKey
from mysql_backup.epochs import Identification, identify, instance_change, new_epoch_id
from mysql_backup.errors import BackupChainBroken, StageFailed, TransientStageFailed
from mysql_backup.manifest import BinlogManifest, BinlogPosition, EpochHead, Instance, Layout, binlog_index, human, \
    iso, parse_iso, utc_now
from mysql_backup.pipeline import Command, run_pipeline
from mysql_backup.server import ServerBinlog, list_binlogs, read_instance, server_facts, start_gtid
from mysql_backup.storage import Storage
from mysql_backup.tools import ToolSet, detect_tools
from mysql_backup.upload import store_stream

log = logging.getLogger(__name__)


@dataclass
class ShipReport:
    epoch: str = ""
    shipped: list[str] = field(default_factory=list)
    already_shipped: int = 0
    not_needed: list[str] = field(default_factory=list)  # older than every full backup's position
    problems: list[OperatorFacingError] = field(default_factory=list)  # gap, reset: raised at the end


@dataclass
class ServerBinlogs:
    """The server's binlog files as one shipping run or one backup sees them."""

    access: MySqlAccess
    tools: ToolSet
    workdir: Path
    instance: Instance
    files: list[ServerBinlog]
    gtids: dict[str, str | None] = field(default_factory=dict)

    def start_gtid(self, name: str) -> str | None:
        if name not in self.gtids:
            conn = self.access.connect()
            try:
                self.gtids[name] = start_gtid(conn, name)
            finally:
                conn.close()
        return self.gtids[name]

    def tail_digest(self, name: str, offset: int) -> str | None:
        """SHA-256 of the server's file from offset on; None if it cannot be read from there."""
        with tempfile.TemporaryDirectory(prefix="binlog-tail-", dir=self.workdir) as tmp:
            try:
                copy = read_binlog(self.access, self.tools, Path(tmp), name, start=offset)
                return digest_after_first_event(copy)
            except (StageFailed, BadBinlog) as exc:  # no such position in that file: not the same file
                log.info("%s cannot be read from position %d: %s", name, offset, exc)
                return None

    def identify(self, catalog: Catalog) -> Identification:
        return identify(self.instance, self.files, catalog.newest_epoch, start_gtid=self.start_gtid,
                        tail_digest=self.tail_digest)


def server_binlogs(access: MySqlAccess, workdir: Path, *, flush: bool, tools: ToolSet | None = None) -> ServerBinlogs:
    conn = access.connect()
    try:
        facts = server_facts(conn)
        if not facts.log_bin:
            raise ConfigurationError(f"{access.describe()} has no binary log (log_bin is OFF): enable log_bin "
                                     "and binlog_format=ROW to ship binlogs and allow point-in-time recovery")
        if flush:
            # Without a flush, the file being written is never shipped (WAL-G #1332): closing it
            # makes everything committed until now shippable.
            conn.cursor().execute("FLUSH BINARY LOGS")
        instance, files = read_instance(conn, facts.flavor), list_binlogs(conn)
    finally:
        conn.close()
    tools = tools or detect_tools(facts.flavor, ("binlog", "zstd", "age"))
    return ServerBinlogs(access, tools, workdir, instance, files)


def read_binlog(access: MySqlAccess, tools: ToolSet, directory: Path, name: str, start: int | None = None) -> Path:
    """A raw copy of one binlog (from `start` on: the format description, then those events)."""
    with access.option_file() as option_file:
        run_pipeline([Command(os.path.basename(tools.path("binlog")), [
            tools.path("binlog"), f"--defaults-extra-file={option_file}", "--read-from-remote-server", "--raw",
            *([f"--start-position={start}"] if start is not None else []), f"--result-file={directory}/", name])])
    return directory / name


def ship_binlogs(access: MySqlAccess, storage: Storage, age_key: AgeKey, *, server: str,
                 tools: ToolSet | None = None, workdir: str | None = None, raise_problems: bool = True,
                 needed_from: str | None = None) -> ShipReport:
    """raise_problems=False and needed_from (the file of its position): a full backup whose
    position no epoch can be proven to hold ships through here first, which starts the epoch;
    gaps and resets are its to resolve, so they are returned in the report."""
    layout = Layout(server)
    with tempfile.TemporaryDirectory(prefix="binlog-ship-", dir=workdir) as tmp:
        work = Path(tmp)
        seen = server_binlogs(access, work, flush=True, tools=tools)
        catalog = load_catalog(storage, layout)
        identified = seen.identify(catalog)
        previous = catalog.newest_epoch
        if identified.continues:
            epoch = catalog.epochs[identified.epoch]
            log.info("the server's binlogs continue epoch %s: %s", epoch.id, identified.how)
        else:
            epoch = Epoch(new_epoch_id(catalog, utc_now()))
            log.warning("the server's binlogs begin a new epoch %s: %s", epoch.id, identified.how)
        report = ShipReport(epoch=epoch.id)
        closed = seen.files[:-1]  # the last one is being written
        starts = sorted(binlog_index(f.position.file)[1] for f in catalog.fulls
                        if f.position and f.position.epoch == epoch.id)
        needed = starts + ([binlog_index(needed_from)[1]] if needed_from else [])
        first_needed = min(needed) if needed else None
        last_shipped = max(epoch.binlogs) if epoch.binlogs else None
        todo = []
        for binlog in closed:
            if epoch.by_name(binlog.name) is not None:
                report.already_shipped += 1
            elif first_needed is not None and binlog_index(binlog.name)[1] < first_needed:
                report.not_needed.append(binlog.name)
            else:
                todo.append(binlog)
        if report.not_needed:
            log.info("not shipping %d binlogs older than the oldest full backup's position", len(report.not_needed))
        for binlog in todo:
            manifest = _ship_one(seen, storage, age_key, layout, epoch.id, binlog, work)
            epoch.binlogs[manifest.index] = manifest
            report.shipped.append(binlog.name)
            log.info("shipped %s into epoch %s: %d bytes, events %s .. %s", binlog.name, epoch.id, binlog.size,
                     manifest.first_event_at, manifest.last_event_at)
        _write_head(storage, layout, epoch, seen.instance, previous if not identified.continues else None,
                    identified.how)
    report.problems += _problems(catalog, epoch, identified, previous, last_shipped, first_needed, closed, starts)
    for problem in report.problems:
        (log.error if raise_problems else log.warning)("%s", problem)
    if raise_problems and report.problems:
        raise report.problems[0] if len(report.problems) == 1 else BackupChainBroken(
            " | ".join(str(p) for p in report.problems))
    return report


def _problems(catalog: Catalog, epoch: Epoch, identified: Identification, previous: Epoch | None,
              last_shipped: int | None, needed_from: int | None, closed: list[ServerBinlog],
              starts: list[int]) -> list[OperatorFacingError]:
    problems: list[OperatorFacingError] = []
    if identified.continues and closed:
        oldest = closed[0].name
        missing = shipping_gap(last_shipped, needed_from, binlog_index(oldest)[1])
        if missing:
            base, width = binlog_index(oldest)[0], len(oldest.rsplit(".", 1)[1])
            before = epoch.binlogs.get(missing[0] - 1)
            after = epoch.binlogs.get(missing[-1] + 1)
            first_full = next((f for f in catalog.fulls if f.position and f.position.epoch == epoch.id), None)
            since = parse_iso(before.last_event_at) if before else (parse_iso(first_full.consistent_at)
                                                                     if first_full else None)
            problems.append(gap_error(base, width, missing, since, parse_iso(after.first_event_at) if after else None))
    if not identified.continues and previous is not None:
        problems.append(reset_error(previous, epoch.id, identified.how))
    elif not starts and any(f.position for f in catalog.fulls):
        problems.append(BackupChainBroken(
            f"no full backup starts in binlog epoch {epoch.id}, the one the server writes now (it began "
            f"{human(parse_iso(epoch.head.began_at))}: {(epoch.head.began_after or {}).get('reason', 'new numbering')}"
            "): changes since then cannot be restored. Take a full backup now (trigger mysql_full_backup)"))
    return problems


def reset_error(previous: Epoch, new: str, why: str) -> BackupChainBroken:
    end = human(parse_iso(previous.head.last_event_at)) if previous.head and previous.head.last_event_at else \
        "its last shipped binlog"
    return BackupChainBroken(
        f"the binlog numbering was reset (RESET MASTER, a re-initialised or a restored server?): {why}. The server's "
        f"binlogs now go into a new epoch {new}; point-in-time recovery from earlier backups ends at {end} (epoch "
        f"{previous.id}), and changes since the reset cannot be restored until a full backup is taken: take one "
        "now (trigger mysql_full_backup)")


def _write_head(storage: Storage, layout: Layout, epoch: Epoch, instance: Instance, previous: Epoch | None,
                why: str) -> None:
    newest = epoch.newest
    now = iso(utc_now())
    began_at = epoch.head.began_at if epoch.head else now
    began_after = epoch.head.began_after if epoch.head else (
        {"epoch": previous.id, "reason": why} if previous is not None else None)
    epoch.head = EpochHead(epoch=epoch.id, server=layout.server, began_at=began_at, instance=instance, seen_at=now,
                           last_shipped=newest.name if newest else None,
                           last_event_at=newest.last_event_at if newest else None, began_after=began_after)
    storage.put_bytes(layout.epoch_head(epoch.id), epoch.head.to_json())


def _ship_one(seen: ServerBinlogs, storage: Storage, age_key: AgeKey, layout: Layout, epoch: str,
              binlog: ServerBinlog, tmp: Path) -> BinlogManifest:
    copy = read_binlog(seen.access, seen.tools, tmp, binlog.name)
    got = copy.stat().st_size if copy.exists() else None
    if got != binlog.size:
        raise TransientStageFailed(f"copy of binlog {binlog.name} has {got} bytes, the server lists {binlog.size}")
    try:
        span = inspect_binlog(copy)
    except BadBinlog as exc:
        raise PermanentError(f"the copy of {binlog.name} is not a valid binlog: {exc}") from None
    if not span.cleanly_closed:
        log.warning("binlog %s was not closed cleanly (server crash?): shipped as the server has it", binlog.name)
    gtid = seen.start_gtid(binlog.name)
    with open(copy, "rb") as source:
        stored = store_stream(storage, layout.binlog_object(epoch, binlog.name), [
            Command("zstd", [seen.tools.path("zstd"), "-q", "-c"]),
            Command("age", age_key.encrypt_argv(seen.tools.path("age")))], age_key=age_key, stdin=source,
            raw_size=lambda: binlog.size)
    manifest = BinlogManifest(
        name=binlog.name, epoch=epoch, server=layout.server, server_id=seen.instance.server_id, size=binlog.size,
        first_event_at=iso(span.first_event_at), last_event_at=iso(span.last_event_at), start_gtid=gtid or "",
        tail_offset=span.tail_offset,
        tail_sha256=digest_from(copy, span.tail_offset) if span.tail_offset is not None else None,
        shipped_at=iso(utc_now()), object=stored, recipients=age_key.recipients, tools=seen.tools.versions())
    storage.put_bytes(layout.binlog_manifest(epoch, binlog.name), manifest.to_json())
    copy.unlink()
    return manifest


def epoch_of_position(access: MySqlAccess, storage: Storage, age_key: AgeKey, server: str,
                      position: BinlogPosition, before: Instance, tools: ToolSet, workdir: str | None) -> str:
    """The binlog epoch of the dump's position, proven (see epochs.py).

    The server run must be the one that started before the dump (no restart, no RESET since),
    so the file of the position is in the numbering the server lists now. When storage has no
    proof that this numbering continues an epoch, the binlogs are shipped first: that starts
    the epoch this backup then opens.
    """
    with tempfile.TemporaryDirectory(prefix="backup-epoch-", dir=workdir) as tmp:
        seen = server_binlogs(access, Path(tmp), flush=False, tools=tools)
        if seen.instance != before:
            raise TransientStageFailed(f"the server restarted or its binlogs were reset during the backup "
                                       f"({instance_change(before, seen.instance)}): its position "
                                       f"{position} cannot be placed; a retry takes a new backup")
        if position.file not in {f.name for f in seen.files}:
            raise TransientStageFailed(f"binlog {position.file} of the dump's position is no longer on the server "
                                       "(purged during the backup?): a retry takes a new backup")
        identified = seen.identify(load_catalog(storage, Layout(server)))
    if identified.continues:
        log.info("position %s is in binlog epoch %s: %s", position, identified.epoch, identified.how)
        return identified.epoch
    log.warning("no shipped binlog epoch continues on the server (%s): shipping its binlogs first, into a new "
                "epoch that starts with this backup", identified.how)
    report = ship_binlogs(access, storage, age_key, server=server, tools=tools, workdir=workdir,
                          raise_problems=False, needed_from=position.file)
    conn = access.connect()
    try:
        after = read_instance(conn, tools.server_flavor)
    finally:
        conn.close()
    if after != before:
        raise TransientStageFailed(f"the server restarted or its binlogs were reset during the backup "
                                   f"({instance_change(before, after)}): a retry takes a new backup")
    return report.epoch
