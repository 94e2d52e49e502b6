"""Benchmark of the full backup and of the restore against the plain pipelines, same run.

    .venv/bin/python -m tools.bench_backup                     # a 1M-row table on a private server
    .venv/bin/python -m tools.bench_backup --rows 20000        # the same, smaller (a smoke run)
    .venv/bin/python -m tools.bench_backup --source shop.sqlite3  # migrated first
    .venv/bin/python -m tools.bench_backup --database shop --port 3306

Backup: `mariadb-dump --single-transaction | zstd -T0 > file` and `| gzip > file`, against
the whole full-backup task as mysql_full_backup runs it (dump | zstd | age, SHA-256, the
per-table checksums the drills compare against, computed from the dump stream, the binlog
epoch of the position, manifest), and the same without the checksums, which says what they
cost. The binlogs are shipped once before, as the scheduled DAGs keep them: steady state.
Restore: `zstd -dc file | mariadb` against restore_backup (fetch, checksum, decrypt, load).
Runs alternate and the median of `repeat` runs is kept, because a two-core machine shared
with the server is noisy. Peak memory is the largest resident set of the backup process and
of any of its commands, for the database and for a tiny one: flat memory means both are
about the same.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "plugins", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from mysql_backup.access import SimpleAccess  # noqa: E402
from mysql_backup.binlog_ship import ship_binlogs  # noqa: E402
from mysql_backup.crypto import AgeKey  # noqa: E402
from mysql_backup.restore import drop_database, restore_backup  # noqa: E402
from mysql_backup.storage import LocalStorage  # noqa: E402
from tools.private_mariadb import PrivateMariaDB  # noqa: E402

# Runs one backup in a fresh process, so its peak memory is its own.
_CHILD = """
import json, resource, sys, time
sys.path[:0] = {paths!r}
from mysql_backup.access import SimpleAccess
from mysql_backup.crypto import AgeKey
from mysql_backup.full_backup import take_full_backup
from mysql_backup.storage import LocalStorage
def vm_hwm_mb():
    # This process's own high-water mark: getrusage's ru_maxrss would include the parent's
    # resident set inherited through fork and exec.
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
key = AgeKey.from_config(secret=open({key!r}).read())
started = time.monotonic()
manifest = take_full_backup(SimpleAccess("127.0.0.1", {port}, "root", "", {database!r}), LocalStorage({store!r}),
                            key, server="bench", table_checksums={checksums!r})
print(json.dumps({{"seconds": time.monotonic() - started, "stored_bytes": manifest.dump.size,
                  "dump_bytes": manifest.dump.raw_size, "backup_id": manifest.backup_id,
                  "peak_rss_mb": vm_hwm_mb(),
                  "peak_child_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}}))
"""


def _shell(script: str) -> float:
    started = time.monotonic()
    subprocess.run(["bash", "-o", "pipefail", "-c", script], check=True)
    return time.monotonic() - started


def _ours(server, database: str, store: Path, key_file: Path, *, checksums: bool) -> dict:
    script = _CHILD.format(paths=[str(ROOT), str(ROOT / "plugins")], key=str(key_file), port=server.port,
                           database=database, store=str(store), checksums=checksums)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def run(source, server=None, *, repeat: int = 3, rows: int = 1_000_000) -> dict:
    """Figures for `source`: a SQLite file (migrated to `server` first), a database on `server`,
    or None: a synthetic table of `rows` rows.

    server: a running tools.private_mariadb.PrivateMariaDB (default: a private one with a binlog,
    stopped afterwards).
    """
    own = server is None
    server = server or PrivateMariaDB(log_bin=True).start()
    work = Path(tempfile.mkdtemp(prefix="bench-backup-"))
    created: list[str] = []
    try:
        database = prepare_database(source, server, created, rows)
        identity = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
        key_file = work / "age.key"
        key_file.write_text(identity)
        key_file.chmod(0o600)
        key = AgeKey.from_config(secret=identity)
        access = SimpleAccess("127.0.0.1", server.port, "root", "", database)
        storage = LocalStorage(work / "store")
        if _has_binlog(server):
            ship_binlogs(access, storage, key, server="bench", workdir=str(work))
        result: dict = {"database": database, "repeat": repeat}
        times: dict[str, list[float]] = {"plain_zstd": [], "plain_gzip": [], "full_backup": [],
                                         "full_backup_without_checksums": []}
        ours: list[dict] = []
        with access.option_file() as cnf:
            dump = f"mariadb-dump --defaults-extra-file={cnf} --single-transaction {database}"
            for _ in range(repeat):
                times["plain_zstd"].append(_shell(f"{dump} | zstd -T0 -q > {work}/plain.sql.zst"))
                ours.append(_ours(server, database, work / "store", key_file, checksums=True))
                times["full_backup"].append(ours[-1]["seconds"])
                times["plain_gzip"].append(_shell(f"{dump} | gzip > {work}/plain.sql.gz"))
                times["full_backup_without_checksums"].append(
                    _ours(server, database, work / "store", key_file, checksums=False)["seconds"])
            result.update({f"{name}_seconds": _median(values) for name, values in times.items()})
            plain = result["plain_zstd_seconds"]
            result["full_backup_vs_plain_zstd"] = round(result["full_backup_seconds"] / plain, 3)
            result["full_backup_without_checksums_vs_plain_zstd"] = round(
                result["full_backup_without_checksums_seconds"] / plain, 3)
            result["checksums_cost_seconds"] = round(result["full_backup_seconds"]
                                                     - result["full_backup_without_checksums_seconds"], 3)
            result["dump_bytes"] = ours[-1]["dump_bytes"]
            result["stored_bytes"] = ours[-1]["stored_bytes"]
            result["plain_zstd_bytes"] = (work / "plain.sql.zst").stat().st_size
            result["plain_gzip_bytes"] = (work / "plain.sql.gz").stat().st_size
            result["peak_rss_mb"] = round(max(o["peak_rss_mb"] for o in ours), 1)
            result["peak_command_rss_mb"] = round(max(o["peak_child_rss_mb"] for o in ours), 1)
            tiny = f"bench_tiny_{uuid.uuid4().hex[:6]}"
            created.append(tiny)
            server.sql(f"CREATE DATABASE {tiny}")
            server.sql("CREATE TABLE t (id int PRIMARY KEY)", tiny)
            small = _ours(server, tiny, work / "store", key_file, checksums=True)
            result["peak_rss_mb_tiny_database"] = round(small["peak_rss_mb"], 1)

            rto, plain_restore = [], []
            for number in range(repeat):
                scratch = f"bench_restore_{number}_{uuid.uuid4().hex[:6]}"
                created.append(scratch)
                report = restore_backup(access, storage, key, server="bench", database=database,
                                        backup_id=ours[-1]["backup_id"], stop_at=None, target_database=scratch,
                                        workdir=str(work))
                rto.append(report.rto_seconds)
                drop_database(access, scratch)
                plain_db = f"bench_plain_{number}_{uuid.uuid4().hex[:6]}"
                created.append(plain_db)
                server.sql(f"CREATE DATABASE {plain_db}")
                # Same session settings as ours (no binlog for restored data): compare like with like.
                plain_restore.append(_shell(f"zstd -dc {work}/plain.sql.zst | mariadb --defaults-extra-file={cnf} "
                                            f"--init-command='SET SESSION sql_log_bin=0' {plain_db}"))
                drop_database(access, plain_db)
            result["restore_rto_seconds"] = _median(rto)
            result["plain_restore_seconds"] = _median(plain_restore)
            result["restore_vs_plain"] = round(result["restore_rto_seconds"] / result["plain_restore_seconds"], 3)
        return result
    finally:
        for name in created:
            server.sql(f"DROP DATABASE IF EXISTS `{name}`")
        subprocess.run(["rm", "-rf", str(work)], check=False)
        if own:
            server.stop()


def summary(result: dict) -> str:
    """The figures side by side, as docs/measured.md shows them."""
    rows = [
        ("`mariadb-dump --single-transaction \\| zstd -T0 > file`", f"{result['plain_zstd_seconds']:.2f}"),
        ("`mariadb-dump --single-transaction \\| gzip > file`", f"{result['plain_gzip_seconds']:.2f}"),
        ("full-backup task (dump, zstd, age, SHA-256, table checksums, epoch, manifest)",
         f"{result['full_backup_seconds']:.2f} ({result['full_backup_vs_plain_zstd']:.2f}x plain zstd)"),
        ("the same without the table checksums",
         f"{result['full_backup_without_checksums_seconds']:.2f} "
         f"({result['full_backup_without_checksums_vs_plain_zstd']:.2f}x plain zstd)"),
        ("restore: `zstd -dc file \\| mariadb`", f"{result['plain_restore_seconds']:.2f}"),
        ("restore_backup (fetch, verify, decrypt, load)",
         f"{result['restore_rto_seconds']:.2f} (RTO; {result['restore_vs_plain']:.2f}x plain)"),
    ]
    lines = ["| | seconds |", "|---|---|"] + [f"| {label} | {value} |" for label, value in rows]
    lines.append(f"\nDump {result['dump_bytes']:,} bytes, stored {result['stored_bytes']:,} (plain zstd "
                 f"{result['plain_zstd_bytes']:,}); peak memory {result['peak_rss_mb']} MB, "
                 f"{result['peak_rss_mb_tiny_database']} MB for a one-table database.")
    return "\n".join(lines)


def _has_binlog(server) -> bool:
    return bool(int(server.sql("SELECT @@log_bin")[0][0]))


def prepare_database(source, server, created: list[str], rows: int = 1_000_000) -> str:
    """The database to back up: migrated from a SQLite file, or named, or `rows` synthetic rows."""
    if source and Path(str(source)).is_file():
        from sqlite_to_mysql.migration import Connections, run_all
        from sqlite_to_mysql.planner import Settings
        from sqlite_to_mysql.source import open_source

        database = f"bench_backup_{uuid.uuid4().hex[:6]}"
        created.append(database)
        conns = Connections(source=lambda: open_source(Path(source)), server=lambda: SimpleAccess(
            "127.0.0.1", server.port, "root", "", "").connect(),
            database=lambda: _connect_db(server, database))
        with tempfile.TemporaryDirectory() as reports:
            run_all(conns, source_path=str(source), database=database, settings=Settings(),
                    run_id="bench_backup", report_base=reports)
        return database
    if source:
        return str(source)
    database = f"bench_backup_{uuid.uuid4().hex[:6]}"
    created.append(database)
    server.sql(f"CREATE DATABASE {database}")
    server.sql("CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int NOT NULL, created_at datetime(6) NOT NULL, "
               "status varchar(20) NOT NULL, total decimal(12,2) NOT NULL, note varchar(200), KEY (customer_id))",
               database)
    server.sql("INSERT INTO orders SELECT seq, seq % 50000, TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND, "
               "ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'), (seq % 100000) / 100, "
               f"CONCAT('note ', MD5(seq)) FROM seq_1_to_{int(rows)}", database)
    return database


def _connect_db(server, database: str):
    conn = SimpleAccess("127.0.0.1", server.port, "root", "", database).connect()
    conn.select_db(database)
    return conn


def main() -> None:
    parser = argparse.ArgumentParser(description="Full backup and restore against the plain pipelines")
    parser.add_argument("--source", help="SQLite file to migrate first")
    parser.add_argument("--database", help="an existing database on the server (with --port)")
    parser.add_argument("--port", type=int, help="server on 127.0.0.1 (root, no password); default: private")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the synthetic table")
    args = parser.parse_args()
    server = _Running(args.port) if args.port else None
    result = run(args.source or args.database, server, repeat=args.repeat, rows=args.rows)
    print(json.dumps(result, indent=2))
    print(summary(result))


class _Running:
    """A server someone else runs on 127.0.0.1 (root, no password): what run() needs of it."""

    def __init__(self, port: int):
        self.port = port

    def sql(self, statement: str, database: str | None = None):
        conn = SimpleAccess("127.0.0.1", self.port, "root", "", "").connect()
        try:
            if database:
                conn.select_db(database)
            cur = conn.cursor()
            cur.execute(statement)
            conn.commit()
            return cur.fetchall() if cur.description else []
        finally:
            conn.close()


if __name__ == "__main__":
    main()
