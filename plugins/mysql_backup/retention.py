"""Apply the retention plan of chain.plan_retention to a storage, or just report it.

Deletion order keeps the storage meaningful if the run stops halfway: a backup's
manifest goes first (it stops being a backup), then its objects; binlog manifests go
before their objects too, and an epoch's head goes after its last file. Rerunning
finishes the job.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from mysql_backup.catalog import BINLOG_SUFFIX, load_catalog
from mysql_backup.chain import BinlogEntry, FullEntry, Leftover, RetentionPlan, plan_retention
from mysql_backup.manifest import Layout, binlog_index, parse_iso, utc_now
from mysql_backup.storage import Storage

log = logging.getLogger(__name__)


def retention(storage: Storage, server: str, *, keep_days: int, dry_run: bool, now: datetime | None = None,
              grace: timedelta = timedelta(hours=48)) -> RetentionPlan:
    if keep_days < 1:
        raise ValueError("keep_days must be at least 1")
    now = now or utc_now()
    layout = Layout(server)
    catalog = load_catalog(storage, layout)
    fulls = [FullEntry(f.backup_id, parse_iso(f.finished_at),
                       (f.position.epoch, binlog_index(f.position.file)[1]) if f.position else None, f.database)
             for f in catalog.fulls]
    names = {(m.epoch, m.name) for m in catalog.binlogs()}
    names |= {tuple(info.key[len(layout.binlog_prefix):-len(BINLOG_SUFFIX)].split("/", 1))
              for info in catalog.unmanifested_binlogs if info.key.endswith(BINLOG_SUFFIX)}
    binlogs = [BinlogEntry(epoch, name) for epoch, name in sorted(names)]
    leftovers = [Leftover(f"backup {backup_id}", max(o.modified for o in objects))
                 for backup_id, objects in catalog.incomplete.items()]
    unfinished = {f"upload {info.key}": info for info in storage.incomplete(f"{server}/")}
    leftovers += [Leftover(label, info.modified) for label, info in unfinished.items()]
    plan = plan_retention(fulls, binlogs, leftovers, now=now, keep_days=keep_days, grace=grace,
                          epochs=list(catalog.epochs))
    verb = "would delete" if dry_run else "deleting"
    for backup_id, why in sorted(plan.keep_fulls.items()):
        log.info("keeping full backup %s: %s", backup_id, why)
    for backup_id, why in sorted(plan.delete_fulls.items()):
        log.info("%s full backup %s: %s", verb, backup_id, why)
        if not dry_run:
            storage.delete(layout.full_manifest(backup_id))
            for info in storage.list(layout.full_dir(backup_id) + "/"):
                storage.delete(info.key)
    for (epoch, name), why in sorted(plan.delete_binlogs.items(), key=lambda item: (item[0][0],
                                                                                       binlog_index(item[0][1]))):
        log.info("%s binlog %s of epoch %s: %s", verb, name, epoch, why)
        if not dry_run:
            storage.delete(layout.binlog_manifest(epoch, name))
            storage.delete(layout.binlog_object(epoch, name))
    for epoch, why in sorted(plan.delete_epochs.items()):
        log.info("%s binlog epoch %s: %s", verb, epoch, why)
        if not dry_run:
            storage.delete(layout.epoch_head(epoch))
    for label, why in sorted(plan.delete_leftovers.items()):
        log.info("%s %s: %s", verb, label, why)
        if dry_run:
            continue
        if label in unfinished:
            storage.discard_incomplete(unfinished[label])
        else:
            backup_id = label.split(" ", 1)[1]
            for info in storage.list(layout.full_dir(backup_id) + "/"):
                storage.delete(info.key)
    if plan.empty:
        log.info("retention: nothing to delete (%d full backups and %d binlogs kept)", len(plan.keep_fulls),
                 len(binlogs))
    return plan
