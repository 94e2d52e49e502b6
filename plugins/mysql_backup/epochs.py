"""Which binlog epoch the server's binlogs belong to, proven, never assumed from file names.

All files a server lists at one moment share one numbering, so it is enough to prove that
one of them is a file already shipped into the newest epoch. Proofs, strongest first:

- content: a closed file on the server has the name, size, starting GTID state and the
  last transaction (byte for byte) of a file shipped into the epoch;
- the server run: the server is the same run (same start second, same server id/uid) that
  the latest shipping run saw, and no RESET was executed since (Com_reset unchanged).

Without a proof the server starts a new epoch: after RESET MASTER, a re-initialised or a
restored server, or a restart after every shipped file with a transaction was purged. File
sizes, GTID states and timestamps alone prove nothing: GTIDs restart at 1 after RESET
MASTER, and a new numbering can repeat them, file sizes and even the second of a rotation.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from mysql_backup.catalog import Catalog, Epoch
from mysql_backup.manifest import Instance, backup_id_for, human
from mysql_backup.server import ServerBinlog


@dataclass(frozen=True)
class Identification:
    epoch: str | None        # None: the server's binlogs begin a new epoch
    how: str                 # the proof, or why there is none (for the log and messages)

    @property
    def continues(self) -> bool:
        return self.epoch is not None


def identify(instance: Instance, files: list[ServerBinlog], newest: Epoch | None, *,
             start_gtid: Callable[[str], str | None],
             tail_digest: Callable[[str, int], str | None]) -> Identification:
    """files: SHOW BINARY LOGS (the last one is being written). start_gtid and tail_digest read
    one file's starting GTID state and the SHA-256 of its bytes from an offset (None: unreadable)."""
    if newest is None:
        return Identification(None, "no binlog epoch in storage yet")
    shipped = [(f, newest.by_name(f.name)) for f in files[:-1]]
    shipped = [(f, m) for f, m in shipped if m is not None]
    for file, manifest in shipped:
        if file.size != manifest.size:
            return Identification(None, f"{file.name} on the server has {file.size} bytes, the copy shipped into "
                                        f"epoch {newest.id} {manifest.size}")
    with_transactions = [(f, m) for f, m in shipped if m.tail_offset is not None]
    if with_transactions:
        file, manifest = with_transactions[-1]
        gtid = start_gtid(file.name)
        if gtid is not None and gtid != manifest.start_gtid:
            return Identification(None, f"{file.name} on the server starts at GTID state {gtid or 'empty'}, the copy "
                                        f"shipped into epoch {newest.id} at {manifest.start_gtid or 'empty'}")
        if tail_digest(file.name, manifest.tail_offset) == manifest.tail_sha256:
            return Identification(newest.id, f"{file.name} on the server is the copy shipped into epoch {newest.id} "
                                             "(same last transaction, byte for byte)")
        return Identification(None, f"{file.name} on the server holds other transactions than the copy shipped "
                                    f"into epoch {newest.id}")
    head = newest.head
    if head is not None and head.instance == instance:
        return Identification(newest.id, f"same server run as the last shipping into epoch {newest.id}, no RESET "
                                         "since")
    change = "epoch.json is missing" if head is None else instance_change(head.instance, instance)
    return Identification(None, f"{change}, and no binlog with a transaction shipped into epoch {newest.id} is still "
                                "on the server to prove that its numbering continues")


def instance_change(before: Instance, now: Instance) -> str:
    if (before.server_id, before.server_uid) != (now.server_id, now.server_uid):
        return (f"another server answers (server_id {before.server_id} -> {now.server_id}, "
                f"uid {before.server_uid} -> {now.server_uid})")
    if before.started_at != now.started_at:
        return f"the server restarted at {human(datetime.fromtimestamp(now.started_at, timezone.utc))}"
    if before.resets != now.resets:
        return f"RESET was executed on the server (Com_reset {before.resets} -> {now.resets}: RESET MASTER?)"
    return "nothing changed"


def new_epoch_id(catalog: Catalog, now: datetime) -> str:
    """Sorts after every existing epoch (string order is time order), even if the clock went back."""
    newest = max(catalog.epochs, default="")
    base = max(backup_id_for(now), newest.split("-", 1)[0])
    candidate, number = base, 1
    while candidate <= newest:
        number += 1
        candidate = f"{base}-{number:03d}"
    return candidate
