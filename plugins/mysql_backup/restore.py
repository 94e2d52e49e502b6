"""Restore a full backup and replay binlogs up to a point in time, checking everything first.

Order matters: every object needed is fetched and its size and SHA-256 compared with its
manifest, the key is matched against the recipients recorded at backup time, and every
binlog is decrypted and decompressed, all before the target database is touched. The dump
is not decrypted twice: its checksum proves the bytes are exactly what age wrote for a
recipient we hold the key of. Then the dump is loaded and the binlogs are replayed from the
exact position recorded in the dump, so no transaction is applied twice.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from mysql_common.errors import ConfigurationError, PermanentError, mysql_errno
from mysql_common.identifiers import check_identifier, quote
from mysql_common.progress import Progress

from mysql_backup.access import MySqlAccess
from mysql_backup.catalog import Catalog, load_catalog
from mysql_backup.chain import RestorePlan, plan_restore
from mysql_backup.crypto import AgeKey
from mysql_backup.errors import BackupCorruption, BackupWrongKey, PitrOutOfRange, StageFailed, TransientStageFailed
from mysql_backup.manifest import BinlogPosition, FullManifest, Instance, Layout, RestoreBreak, StoredObject, human, \
    iso, parse_iso, utc, utc_now
from mysql_backup.pipeline import CHUNK, Command, run_pipeline
from mysql_backup.qualified_names import BinlogStatementScan, DumpGuard, refuse_message
from mysql_backup.server import read_instance, server_facts
from mysql_backup.storage import Storage
from mysql_backup.tools import ToolSet, detect_tools

log = logging.getLogger(__name__)

# Restored data is not new history: keeping it out of the server's binlog avoids shipping
# a scratch copy and re-logging old GTIDs, which would confuse replicas.
NO_BINLOG = "--init-command=SET SESSION sql_log_bin=0"


@dataclass
class RestoreReport:
    backup_id: str
    source_database: str
    target_database: str
    reaches: str
    binlogs: list[str]
    phases: dict[str, float] = field(default_factory=dict)  # seconds

    @property
    def rto_seconds(self) -> float:
        return round(sum(self.phases.values()), 3)

    def to_dict(self) -> dict:
        return {**asdict(self), "rto_seconds": self.rto_seconds}


def choose_database(catalog: Catalog, database: str | None) -> str:
    names = sorted({f.database for f in catalog.fulls})
    if database:
        return database
    if len(names) == 1:
        return names[0]
    if not names:
        raise PitrOutOfRange(f"no complete full backup in storage under {catalog.layout.server!r}")
    raise ConfigurationError(f"backups of several databases exist ({', '.join(names) or 'none'}): "
                             "say which one to restore")


def plan_for(catalog: Catalog, database: str, *, backup_id: str | None, target_time: datetime | None,
             stop_at: BinlogPosition | None, dump_only: bool = False) -> RestorePlan:
    """dump_only: no binlog replay (seeding a replica, which reads the binlogs from its primary)."""
    if backup_id and backup_id in catalog.incomplete:
        key = catalog.layout.full_manifest(backup_id)
        raise BackupCorruption(f"backup {backup_id} has objects but no manifest ({key} is missing): it is "
                               "incomplete or damaged and is not restored", key=key)
    fulls = [f for f in catalog.fulls if f.database == database]
    return plan_restore(fulls, catalog.epochs, backup_id=backup_id, target_time=target_time, stop_at=stop_at,
                        dump_only=dump_only, breaks=catalog.breaks)


def check_keys(plan: RestorePlan, age_key: AgeKey) -> None:
    if not age_key.can_decrypt:
        raise ConfigurationError("restoring needs the age secret key (Variable `mysql_backup_age_secret_key`)")
    for obj, recipients in [(plan.full.dump, plan.full.recipients)] + [(b.object, b.recipients) for b in plan.binlogs]:
        if not age_key.matches(recipients):
            raise BackupWrongKey(f"{obj.key} was encrypted for {', '.join(recipients)}; the configured key "
                                 f"is for {', '.join(age_key.identity_recipients)}: wrong key (Variable "
                                 "`mysql_backup_age_secret_key`)", key=obj.key)


def fetch_verified(storage: Storage, obj: StoredObject, workdir: Path) -> Path:
    """A local file with exactly the stored bytes, or BackupCorruption naming the object."""
    local = storage.local_path(obj.key)
    digest = hashlib.sha256()
    size = 0
    try:
        if local is not None:
            with open(local, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
            path = local
        else:
            path = workdir / obj.key.replace("/", "_")
            with storage.open_read(obj.key) as source, open(path, "wb") as out:
                while chunk := source.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
    except FileNotFoundError:
        raise BackupCorruption(f"{obj.key} is missing from the storage", key=obj.key) from None
    if size != obj.size:
        raise BackupCorruption(f"{obj.key} has {size} bytes, its manifest says {obj.size} (truncated or "
                               "replaced)", key=obj.key)
    if digest.hexdigest() != obj.sha256:
        raise BackupCorruption(f"{obj.key}: SHA-256 {digest.hexdigest()} does not match the manifest's "
                               f"{obj.sha256} (altered)", key=obj.key)
    return path


def decrypt_to_file(source: Path, dest: Path, obj: StoredObject, expected_size: int, age_key: AgeKey,
                    tools: ToolSet) -> None:
    """age -d | zstd -d into dest; a failure here means the object cannot be used."""
    with open(dest, "wb") as out, open(source, "rb") as encrypted, \
            age_key.decrypt_argv(tools.path("age")) as (argv, fds):
        try:
            run_pipeline([Command("age", argv, pass_fds=fds), Command("zstd", [tools.path("zstd"), "-d", "-q", "-c"])],
                         stdin=encrypted, sink=out.write, redact=age_key.redact)
        except (StageFailed, TransientStageFailed) as exc:
            raise BackupCorruption(f"{obj.key} cannot be decrypted and decompressed: {exc}", key=obj.key) from None
    if dest.stat().st_size != expected_size:
        raise BackupCorruption(f"{obj.key} decompresses to {dest.stat().st_size} bytes, the manifest says "
                               f"{expected_size}", key=obj.key)


class _Feed:
    """Feeds a pipeline from a file, counting the stored bytes read (mysql_common.progress)."""

    def __init__(self, source, total: int, what: str):
        self.source, self.progress = source, Progress(what, total, unit="bytes")

    def readinto(self, buffer) -> int:
        count = self.source.readinto(buffer)
        self.progress.add(count)
        return count

    def close(self) -> None:
        pass  # the caller owns the file


def _binlog_command(tools: ToolSet, plan: RestorePlan, files: list[Path], *extra: str) -> list[str]:
    argv = [tools.path("binlog"), "--no-defaults", *extra, f"--start-position={plan.full.position.position}"]
    if plan.stop_datetime is not None:  # mariadb-binlog reads it as local time: UTC here (see _utc_env)
        argv.append(f"--stop-datetime={utc(plan.stop_datetime).strftime('%Y-%m-%d %H:%M:%S')}")
    if plan.stop_position is not None:
        argv.append(f"--stop-position={plan.stop_position}")
    return argv + [str(f) for f in files]


def _utc_env() -> dict[str, str]:
    """mariadb-binlog reads --stop-datetime in its own local time zone; the plan's time is UTC."""
    return {**os.environ, "TZ": "UTC"}


def scan_statements(plan: RestorePlan, files: list[Path], target: str, tools: ToolSet) -> None:
    scan = BinlogStatementScan(plan.full.database, renaming=target != plan.full.database)
    run_pipeline([Command("binlog-scan", _binlog_command(tools, plan, files, "--short-form"), env=_utc_env())],
                 sink=scan)
    problems = scan.result()
    if problems:
        raise PermanentError(refuse_message(problems, plan.full.database))


def prepare_target(conn, target: str, *, overwrite: bool, collation: str) -> bool:
    """Create the target database; True if it was created by us (and may be dropped on failure)."""
    cur = conn.cursor()
    try:
        cur.execute("SET SESSION sql_log_bin = 0")
    except Exception as exc:
        if mysql_errno(exc) in (1227, 1044, 1045):
            raise ConfigurationError("the restore account needs SUPER (or BINLOG ADMIN, BINLOG REPLAY and "
                                     "SET USER): see 'The restore account' in docs/backups.md") from None
        raise
    cur.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (target,))
    exists = cur.fetchone() is not None
    if exists and not overwrite:
        raise ConfigurationError(f"database {target!r} already exists: restore into a new database, or "
                                 "confirm the overwrite explicitly")
    if exists:
        # Without PROCESS, the process list shows only our own sessions: the application's
        # would go unseen, so an overwrite is not safe to attempt.
        cur.execute("SELECT 1 FROM information_schema.USER_PRIVILEGES WHERE PRIVILEGE_TYPE = 'PROCESS'")
        if cur.fetchone() is None:
            raise ConfigurationError(f"overwriting {target!r} needs the PROCESS privilege, to check that no "
                                     "application session uses it")
        cur.execute("SELECT USER, HOST FROM information_schema.PROCESSLIST WHERE DB = %s "
                    "AND ID <> CONNECTION_ID()", (target,))
        sessions = sorted({f"{user}@{host}" for user, host in cur.fetchall()})
        if sessions:
            raise PermanentError(f"database {target!r} is in use by {len(sessions)} session(s) "
                                 f"({', '.join(sessions[:10])}): stop the application or point it "
                                 "elsewhere before overwriting")
        log.warning("dropping database %s to overwrite it with the restore", target)
        cur.execute(f"DROP DATABASE {quote(target)}")
    if not re.fullmatch(r"[A-Za-z0-9_]+", collation):
        raise BackupCorruption(f"the manifest's database collation {collation!r} is not a collation name")
    charset = collation.split("_", 1)[0]
    cur.execute(f"CREATE DATABASE {quote(target)} CHARACTER SET {charset} COLLATE {collation}")
    cur.close()
    return not exists


def default_target(full: FullManifest) -> str:
    suffix = f"_restore_{utc_now().strftime('%Y%m%d%H%M%S')}"
    return full.database[: 64 - len(suffix)] + suffix


def restore_backup(access: MySqlAccess, storage: Storage, age_key: AgeKey, *, server: str,
                   database: str | None = None, backup_id: str | None = None,
                   target_time: datetime | None = None, stop_at: BinlogPosition | None = None,
                   target_database: str | None = None, overwrite: bool = False, workdir: str | None = None,
                   tools: ToolSet | None = None, dump_only: bool = False) -> RestoreReport:
    """Restore into target_database (default: a new scratch database) on access's server."""
    started = time.monotonic()
    catalog = load_catalog(storage, Layout(server))
    database = choose_database(catalog, database)
    plan = plan_for(catalog, database, backup_id=backup_id, target_time=target_time, stop_at=stop_at,
                    dump_only=dump_only)
    full = plan.full
    target = check_identifier(target_database or default_target(full))
    check_keys(plan, age_key)
    conn = access.connect()
    try:
        flavor = server_facts(conn).flavor
        tools = tools or detect_tools(flavor, ("binlog", "client", "zstd", "age"))
        over_itself = target == full.database and _is_backed_up_server(catalog, full, read_instance(conn, flavor))
    finally:
        conn.close()
    report = RestoreReport(full.backup_id, database, target, plan.reaches, [b.name for b in plan.binlogs])
    log.info("restore plan: backup %s (position %s) + %d binlog(s) into %s, reaching %s", full.backup_id,
             full.position, len(plan.binlogs), target, plan.reaches)
    with tempfile.TemporaryDirectory(prefix="mysql-restore-", dir=workdir) as tmp:
        work = Path(tmp)
        dump_path = fetch_verified(storage, full.dump, work)
        encrypted = [fetch_verified(storage, b.object, work) for b in plan.binlogs]
        files = []
        for binlog, path in zip(plan.binlogs, encrypted):
            files.append(work / binlog.name)
            decrypt_to_file(path, files[-1], binlog.object, binlog.size, age_key, tools)
            if path.parent == work:
                path.unlink()  # a downloaded copy, no longer needed
        if files:
            scan_statements(plan, files, target, tools)
        report.phases["verify"] = round(time.monotonic() - started, 3)
        log.info("verified %d object(s) in %.1fs; nothing applied yet", 1 + len(files), report.phases["verify"])
        if over_itself:
            record = RestoreBreak(server=server, database=full.database, at=iso(utc_now()), backup_id=full.backup_id,
                                  reaches=plan.reaches)
            storage.put_bytes(catalog.layout.break_record(utc_now()), record.to_json())
            log.warning("restoring %s over itself on the server it is backed up from: recorded in %s, so no "
                        "point-in-time recovery from earlier backups crosses %s; take a full backup after this "
                        "restore", full.database, catalog.layout.break_prefix, human(parse_iso(record.at)))
        _apply(access, age_key, tools, plan, dump_path, files, target, overwrite, report)
    log.info("restored %s into %s: RTO %.1fs (%s)", full.backup_id, target, report.rto_seconds,
             ", ".join(f"{k} {v:.1f}s" for k, v in report.phases.items()))
    return report


def _is_backed_up_server(catalog: Catalog, full: FullManifest, instance: Instance) -> bool:
    """Whether the restore writes to the server whose binlogs back this backup up."""
    epoch = catalog.epochs.get(full.position.epoch) if full.position else None
    seen = epoch.head.instance if epoch and epoch.head else None
    return seen is not None and (seen.server_id, seen.server_uid) == (instance.server_id, instance.server_uid)


def _apply(access: MySqlAccess, age_key: AgeKey, tools: ToolSet, plan: RestorePlan, dump_path: Path,
           files: list[Path], target: str, overwrite: bool, report: RestoreReport) -> None:
    conn = access.connect()
    try:
        created = prepare_target(conn, target, overwrite=overwrite, collation=plan.full.database_collation)
    finally:
        conn.close()
    try:
        with access.option_file() as option_file:
            client = [tools.path("client"), f"--defaults-extra-file={option_file}", NO_BINLOG]
            phase = time.monotonic()
            guard = DumpGuard(plan.full.database) if target != plan.full.database else None
            with open(dump_path, "rb") as encrypted, age_key.decrypt_argv(tools.path("age")) as (argv, fds):
                run_pipeline([Command("age", argv, pass_fds=fds),
                              Command("zstd", [tools.path("zstd"), "-d", "-q", "-c"], tap=guard),
                              Command("client", client + [target])],
                             feed=_Feed(encrypted, plan.full.dump.size, f"loading {target} (stored bytes)"),
                             redact=age_key.redact)
            report.phases["load"] = round(time.monotonic() - phase, 3)
            log.info("dump loaded into %s in %.1fs", target, report.phases["load"])
            if files:
                phase = time.monotonic()
                rewrite = [f"--rewrite-db={plan.full.database}->{target}"] if target != plan.full.database else []
                run_pipeline([Command("binlog", _binlog_command(tools, plan, files, f"--database={plan.full.database}",
                                                                *rewrite), env=_utc_env()),
                              Command("client", client + ["--binary-mode", target])])
                report.phases["replay"] = round(time.monotonic() - phase, 3)
                log.info("replayed %d binlog(s) in %.1fs", len(files), report.phases["replay"])
    except BaseException:
        if created:
            _drop_quietly(access, target)
            log.error("restore failed: dropped the partial database %s", target)
        else:
            log.error("restore failed: database %s is INCOMPLETE (it was overwritten)", target)
        raise


def _drop_quietly(access: MySqlAccess, database: str) -> None:
    try:
        drop_database(access, database)
    except Exception as exc:  # the original failure matters more; this one is logged
        log.error("could not drop %s: %s", database, exc)


def drop_database(access: MySqlAccess, database: str) -> None:
    conn = access.connect()
    try:
        cur = conn.cursor()
        cur.execute("SET SESSION sql_log_bin = 0")
        cur.execute(f"DROP DATABASE IF EXISTS {quote(database)}")
    finally:
        conn.close()
