"""Ship closed binlogs: FLUSH BINARY LOGS, then copy every closed file not yet shipped.

The copy comes over the network (`mariadb-binlog --read-from-remote-server --raw`, byte for
byte), is checked against the size the server lists and walked event by event, then goes
through zstd | age into storage; its manifest is written last. What is already shipped is
read from storage itself, so a rerun ships nothing twice and no Airflow state is needed.
A binlog purged from the server before it was shipped is reported as a gap, after every
file still available has been shipped.
"""
from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from mysql_common.errors import ConfigurationError, PermanentError

from mysql_backup.access import MySqlAccess
from mysql_backup.binlog_file import BadBinlog, inspect_binlog
from mysql_backup.catalog import load_catalog
from mysql_backup.chain import gap_error, shipping_gap
from mysql_backup.crypto import AgeKey
from mysql_backup.errors import BackupChainBroken, TransientStageFailed
from mysql_backup.full_backup import store_stream
from mysql_backup.manifest import BinlogManifest, Layout, binlog_index, iso, parse_iso, utc_now
from mysql_backup.pipeline import Command, run_pipeline
from mysql_backup.server import server_facts
from mysql_backup.storage import Storage
from mysql_backup.tools import ToolSet, detect_tools

log = logging.getLogger(__name__)


@dataclass
class ShipReport:
    shipped: list[str] = field(default_factory=list)
    already_shipped: int = 0
    not_needed: list[str] = field(default_factory=list)  # older than every full backup's position


def ship_binlogs(access: MySqlAccess, storage: Storage, age_key: AgeKey, *, server: str,
                 tools: ToolSet | None = None, workdir: str | None = None) -> ShipReport:
    layout = Layout(server)
    conn = access.connect()
    try:
        facts = server_facts(conn)
        if not facts.log_bin:
            raise ConfigurationError(f"{access.describe()} has no binary log (log_bin is OFF): enable log_bin "
                                     "and binlog_format=ROW to ship binlogs and allow point-in-time recovery")
        cur = conn.cursor()
        # Without a flush, the file being written is never shipped (WAL-G #1332): closing it
        # makes everything committed until now shippable.
        cur.execute("FLUSH BINARY LOGS")
        cur.execute("SHOW BINARY LOGS")
        listing = [(row[0], int(row[1])) for row in cur.fetchall()]
        cur.close()
    finally:
        conn.close()
    tools = tools or detect_tools(facts.flavor, ("binlog", "zstd", "age"))
    base = binlog_index(listing[-1][0])[0]
    closed = listing[:-1]  # the last one is being written
    catalog = load_catalog(storage, layout)
    chain = catalog.binlog_chain(base)
    for name, size in closed:
        shipped = catalog.binlogs.get(name)
        if shipped is not None and shipped.size != size:
            raise BackupChainBroken(
                f"binlog {name} on the server ({size} bytes) differs from the shipped copy ({shipped.size} "
                "bytes): the binlog numbering was reset (RESET MASTER?). Take a full backup, then move the "
                f"old binlogs under {layout.binlog_prefix} aside before shipping again")
    starts = sorted(((binlog_index(f.position.file)[1], f) for f in catalog.fulls
                     if f.position and binlog_index(f.position.file)[0] == base), key=lambda s: s[0])
    needed_from = starts[0][0] if starts else None
    last_shipped = max(chain) if chain else None
    report = ShipReport(already_shipped=sum(1 for name, _ in closed if name in catalog.binlogs))
    todo = []
    for name, size in closed:
        if name in catalog.binlogs:
            continue
        if needed_from is not None and binlog_index(name)[1] < needed_from:
            report.not_needed.append(name)
        else:
            todo.append((name, size))
    if report.not_needed:
        log.info("not shipping %d binlogs older than the oldest full backup's position", len(report.not_needed))
    with tempfile.TemporaryDirectory(prefix="binlog-ship-", dir=workdir) as tmp:
        for name, size in todo:
            manifest = _ship_one(access, storage, age_key, tools, layout, Path(tmp), name, size,
                                 facts.server_id)
            chain[manifest.index] = manifest
            report.shipped.append(name)
            log.info("shipped %s: %d bytes, events %s .. %s", name, size, manifest.first_event_at,
                     manifest.last_event_at)
    missing = shipping_gap(last_shipped, needed_from, binlog_index(listing[0][0])[1])
    if missing:
        width = len(listing[0][0].rsplit(".", 1)[1])
        before = chain.get(missing[0] - 1)
        after = chain.get(missing[-1] + 1)
        since = parse_iso(before.last_event_at) if before else parse_iso(starts[0][1].consistent_at)
        raise gap_error(base, width, missing, since, parse_iso(after.first_event_at) if after else None)
    return report


def _ship_one(access: MySqlAccess, storage: Storage, age_key: AgeKey, tools: ToolSet, layout: Layout,
              tmp: Path, name: str, size: int, server_id: int) -> BinlogManifest:
    with access.option_file() as option_file:
        run_pipeline([Command(os.path.basename(tools.path("binlog")), [
            tools.path("binlog"), f"--defaults-extra-file={option_file}", "--read-from-remote-server",
            "--raw", f"--result-file={tmp}/", name])])
    copy = tmp / name
    got = copy.stat().st_size if copy.exists() else None
    if got != size:
        raise TransientStageFailed(f"copy of binlog {name} has {got} bytes, the server lists {size}")
    try:
        span = inspect_binlog(copy)
    except BadBinlog as exc:
        raise PermanentError(f"the copy of {name} is not a valid binlog: {exc}") from None
    if not span.cleanly_closed:
        log.warning("binlog %s was not closed cleanly (server crash?): shipped as the server has it", name)
    with open(copy, "rb") as source:
        stored = store_stream(storage, layout.binlog_object(name), [
            Command("zstd", [tools.path("zstd"), "-q", "-c"]),
            Command("age", age_key.encrypt_argv(tools.path("age")))], age_key=age_key, stdin=source,
            raw_size=lambda: size)
    manifest = BinlogManifest(name=name, server=layout.server, server_id=server_id, size=size,
                              first_event_at=iso(span.first_event_at), last_event_at=iso(span.last_event_at),
                              shipped_at=iso(utc_now()), object=stored, recipients=age_key.recipients,
                              tools=tools.versions())
    storage.put_bytes(layout.binlog_manifest(name), manifest.to_json())
    copy.unlink()
    return manifest
