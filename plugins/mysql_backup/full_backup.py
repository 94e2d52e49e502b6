"""The full backup: dump | tap | zstd | age | SHA-256 -> storage, then the manifest.

Streaming end to end: no full-size temporary file, memory bounded by the pipe buffers
(and, on S3, by the queued parts). The tap reads the binlog position from the dump and
computes the per-table checksums the drills compare against, so the tables are read once.
The dump object becomes visible only after every stage exited 0 and the dump ended with its
completion line; the position is then placed in its binlog epoch, and the manifest, written
last, is what turns those objects into a backup.
"""
from __future__ import annotations

import logging
import os
from dataclasses import replace
from datetime import datetime, timezone

from mysql_common.errors import ConfigurationError, PermanentError
from mysql_common.progress import Progress

from mysql_backup.access import MySqlAccess
from mysql_backup.binlog_ship import epoch_of_position
from mysql_backup.catalog import load_catalog
from mysql_backup.checksums import DATA_OPTIONS, DumpDigests
from mysql_backup.crypto import AgeKey
from mysql_backup.dumpscan import DumpScanner
from mysql_backup.manifest import FullManifest, Layout, backup_id_for, iso, utc_now
from mysql_backup.pipeline import Command
from mysql_backup.server import ServerFacts, database_collation, read_instance, server_facts
from mysql_backup.storage import Storage
from mysql_backup.tools import ToolSet, detect_tools
from mysql_backup.upload import store_stream

log = logging.getLogger(__name__)


def dump_options(facts: ServerFacts) -> list[str]:
    """Options differ between MariaDB's dump and MySQL 8.4's; DATA_OPTIONS decide how rows are
    written, which the drill's dump of the restored copy repeats (see checksums.py)."""
    options = ["--single-transaction", "--routines", "--events", "--triggers", *DATA_OPTIONS]
    if facts.log_bin:
        # 2 = as a comment: the dump records the position without acting on it when loaded.
        options += ["--master-data=2", "--gtid"] if facts.info.is_mariadb else [
            "--source-data=2", "--set-gtid-purged=COMMENTED"]
    if not facts.info.is_mariadb:
        options.append("--no-tablespaces")  # needs PROCESS on 8.4; the dump of one database needs none
    return options


def _new_backup_id(storage: Storage, layout: Layout, moment: datetime) -> str:
    """The timestamp, with a suffix if a backup (even an interrupted one) already uses it."""
    base = backup_id_for(moment)
    candidate, number = base, 1
    while storage.list(layout.full_dir(candidate) + "/"):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def take_full_backup(access: MySqlAccess, storage: Storage, age_key: AgeKey, *, server: str,
                     run_id: str | None = None, table_checksums: bool = True,
                     tools: ToolSet | None = None, workdir: str | None = None) -> FullManifest:
    """Back up access.database; returns the manifest (already stored).

    Idempotent per run_id: a retried task whose earlier try completed returns that backup.
    """
    layout = Layout(server)
    database = access.database
    if run_id:
        done = next((f for f in load_catalog(storage, layout).fulls if f.run_id == run_id), None)
        if done is not None:
            log.info("backup %s already completed for run %s: nothing to do", done.backup_id, run_id)
            return done
    conn = access.connect()
    try:
        facts = server_facts(conn)
        collation = database_collation(conn, database)
        instance = read_instance(conn, facts.flavor) if facts.log_bin else None
    finally:
        conn.close()
    if collation is None:
        raise ConfigurationError(f"database {database!r} does not exist on {access.describe()}")
    if not facts.log_bin:
        log.warning("the server has no binary log: this backup allows no point-in-time recovery "
                    "(enable log_bin, binlog_format=ROW)")
    elif facts.binlog_format != "ROW":
        log.warning("binlog_format is %s: point-in-time replay into a renamed database is reliable only "
                    "with ROW", facts.binlog_format)
    tools = tools or detect_tools(facts.flavor, ("dump", "binlog", "zstd", "age") if facts.log_bin else
                                  ("dump", "zstd", "age"))
    started = utc_now()
    backup_id = _new_backup_id(storage, layout, started)
    dump_key = layout.dump_object(backup_id, database)
    scanner = DumpScanner()
    digests = DumpDigests() if table_checksums else None

    def check() -> None:
        if not scanner.completed:
            raise PermanentError("the dump ended without its completion line: it is truncated")
        if facts.log_bin and scanner.position() is None:
            raise PermanentError("the dump does not record its binlog position")

    progress = Progress(f"dump of {database}", None, unit="bytes")

    def tap(chunk) -> None:
        scanner(chunk)
        progress.add(len(chunk))
        if digests is not None:
            digests(chunk)

    log.info("full backup %s of %s from %s to %s", backup_id, database, access.describe(),
             storage.description)
    with access.option_file() as option_file:
        dump = [tools.path("dump"), f"--defaults-extra-file={option_file}", *dump_options(facts), database]
        commands = [Command(os.path.basename(dump[0]), dump, tap=tap),
                    Command("zstd", [tools.path("zstd"), "-T0", "-q", "-c"]),
                    Command("age", age_key.encrypt_argv(tools.path("age")))]
        stored = store_stream(storage, dump_key, commands, age_key=age_key, check=check,
                              raw_size=lambda: scanner.size)
    position = scanner.position()
    consistent_at = datetime.fromtimestamp(scanner.position_seen_at, timezone.utc) \
        if scanner.position_seen_at else started
    log.info("dump stored: %d bytes (%d before compression), position %s", stored.size, scanner.size,
             position)
    if position is not None:
        epoch = epoch_of_position(access, storage, age_key, server, position, instance, tools, workdir)
        position = replace(position, epoch=epoch)
    manifest = FullManifest(
        backup_id=backup_id, server=server, database=database, database_collation=collation,
        started_at=iso(started), consistent_at=iso(consistent_at), finished_at=iso(utc_now()),
        server_version=facts.info.version_text, server_id=facts.server_id, server_flavor=facts.flavor,
        binlog_format=facts.binlog_format, position=position, objects=[stored],
        recipients=age_key.recipients, tools=tools.versions(), dump_options=dump_options(facts),
        run_id=run_id, table_checksums=digests.result() if digests is not None else None)
    storage.put_bytes(layout.full_manifest(backup_id), manifest.to_json())
    log.info("backup %s complete: manifest %s", backup_id, layout.full_manifest(backup_id))
    return manifest
