"""The restore drill: restore the newest backup into a scratch database and prove it right.

The backup recorded per-table checksums of its own dump (rows and SHA-256 of their text, see
checksums.py), i.e. of the data at its binlog position. The drill restores the dump, runs
the binlog replay up to exactly that position (from the recorded start, through the same
decryption and statement checks as any restore), dumps the scratch copy with the same tool
and data options, and compares. That exercises everything a real recovery needs and
measures the RTO. The scratch database is always dropped, and the report is kept next to
the backups (drills/<timestamp>.json).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field

from mysql_common.errors import PermanentError

from mysql_backup.access import MySqlAccess
from mysql_backup.catalog import load_catalog
from mysql_backup.checksums import DATA_OPTIONS, DumpDigests, compare
from mysql_backup.crypto import AgeKey
from mysql_backup.manifest import Layout, TableChecksum, iso, utc_now
from mysql_backup.pipeline import Command, run_pipeline
from mysql_backup.restore import choose_database, drop_database, restore_backup
from mysql_backup.server import server_facts
from mysql_backup.storage import Storage
from mysql_backup.tools import ToolSet, detect_tools


class DrillFailed(PermanentError):
    code = "RESTORE_DRILL_FAILED"


log = logging.getLogger(__name__)


@dataclass
class DrillReport:
    started_at: str
    backup_id: str = ""
    scratch_database: str = ""
    reaches: str = ""
    tables_compared: int = 0
    phases: dict[str, float] = field(default_factory=dict)
    rto_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()


def run_drill(access: MySqlAccess, storage: Storage, age_key: AgeKey, *, server: str,
              database: str | None = None, workdir: str | None = None, tools: ToolSet | None = None) -> DrillReport:
    """Restore, compare, drop, record; raise DrillFailed if anything differs or fails."""
    layout = Layout(server)
    now = utc_now()
    report = DrillReport(started_at=iso(now))
    try:
        catalog = load_catalog(storage, layout)
        database = choose_database(catalog, database)
        fulls = [f for f in catalog.fulls if f.database == database]
        if not fulls:
            raise DrillFailed(f"no complete full backup of {database!r} to drill with")
        full = fulls[-1]
        report.backup_id = full.backup_id
        report.scratch_database = f"drill_{full.backup_id.lower().replace('-', '_')}"[:64]
        if full.table_checksums is None:
            report.warnings.append("the backup has no table checksums: the restore is checked for success only")
        conn = access.connect()
        try:
            tools = tools or detect_tools(server_facts(conn).flavor, ("dump", "binlog", "client", "zstd", "age"))
        finally:
            conn.close()
        drop_database(access, report.scratch_database)  # left over by an interrupted drill
        try:
            restored = restore_backup(access, storage, age_key, server=server, database=database,
                                      backup_id=full.backup_id, stop_at=full.position,
                                      target_database=report.scratch_database, workdir=workdir, tools=tools)
            report.reaches = restored.reaches
            report.phases = dict(restored.phases)
            report.rto_seconds = restored.rto_seconds
            if full.table_checksums is not None:
                started = time.monotonic()
                actual = dump_checksums(access, report.scratch_database, tools)
                report.tables_compared = len(full.table_checksums)
                report.problems += compare(full.table_checksums, actual)
                report.phases["compare"] = round(time.monotonic() - started, 3)
        finally:
            drop_database(access, report.scratch_database)
    except Exception as exc:
        report.problems.append(str(exc))
        _record(storage, layout, now, report)
        raise DrillFailed(f"restore drill of {report.backup_id or 'the newest backup'} failed: {exc}") from exc
    _record(storage, layout, now, report)
    if report.problems:
        raise DrillFailed(f"restore drill of {report.backup_id}: the restored data differs from the backup's "
                          "checksums: " + "; ".join(report.problems))
    log.info("drill of %s passed: %d tables identical, RTO %.1fs (%s)", report.backup_id, report.tables_compared,
             report.rto_seconds, ", ".join(f"{k} {v:.1f}s" for k, v in report.phases.items()))
    return report


def dump_checksums(access: MySqlAccess, database: str, tools: ToolSet) -> list[TableChecksum]:
    """The checksums of a database as a full backup computes them: its dump, same data options."""
    digests = DumpDigests()
    options = ["--single-transaction", "--skip-triggers", *DATA_OPTIONS]
    if tools.server_flavor != "mariadb":
        options.append("--no-tablespaces")
    with access.option_file() as option_file:
        dump = [tools.path("dump"), f"--defaults-extra-file={option_file}", *options, database]
        run_pipeline([Command("dump", dump)], sink=digests)
    return digests.result()


def _record(storage: Storage, layout: Layout, now, report: DrillReport) -> None:
    try:
        storage.put_bytes(layout.drill_report(now), report.to_json())
    except Exception as exc:  # the drill's own outcome is what the operator needs to see
        log.error("could not store the drill report: %s", exc)
