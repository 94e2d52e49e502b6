"""Benchmark of the masked copy and of the Parquet snapshot against their plain peers, same run.

    .venv/bin/python -m tools.bench_masking --source shop.sqlite3 [--repeat 3]

On a private mariadbd with a binary log, the demo shop is migrated and backed up once (untimed).
Then, alternating, `repeat` times:
- plain restore: restore_backup of that backup (dump only) into a scratch database: what a
  developer does today to get production-shaped data (about `zstd -dc | age -d | mariadb`);
- masked copy: the same restore into the scratch database, then the whole masked copy (coverage,
  masking stream into the staging database, verification, leak scan, publish), as the DAG runs it;
  the target is at most twice the plain restore;
- raw read: every row of every table of the masked copy fetched through mysqlclient in keyset
  batches (the same reads, nothing written);
- Parquet export: the same tables written as Parquet (export_snapshot, local directory) and
  checked against MySQL (check_snapshot).
The median of the runs is kept (a two-core machine shared with the server is noisy).
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

from data_masking import RULES_DIR, masking_pipeline  # noqa: E402
from data_masking.masking_schema import load_schema  # noqa: E402
from data_masking.masking_strategies import Keyed  # noqa: E402
from data_masking.parquet_snapshot import check_snapshot, export_snapshot, read_batches  # noqa: E402
from mysql_backup.access import SimpleAccess  # noqa: E402
from mysql_backup.crypto import AgeKey  # noqa: E402
from mysql_backup.full_backup import take_full_backup  # noqa: E402
from mysql_backup.restore import drop_database, restore_backup  # noqa: E402
from mysql_backup.storage import LocalStorage  # noqa: E402
from tools.bench_backup import prepare_database  # noqa: E402
from tools.private_mariadb import PrivateMariaDB  # noqa: E402

KEY = Keyed(b"benchmark-masking-key-0123456789")


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _median_run(totals: list[float], restores: list[float], phases: list[dict]) -> dict:
    """The phases of the run whose total is the median, with its restore: the medians of separate
    figures come from different runs and do not add up."""
    run = sorted(range(len(totals)), key=totals.__getitem__)[len(totals) // 2]
    return {"restore": round(restores[run], 3), **phases[run], "total": round(totals[run], 3)}


def raw_read(conn, database: str, batch_rows: int = 50_000) -> int:
    """Every row of every table, fetched in the same keyset batches the export reads."""
    rows = 0
    for table in load_schema(conn.cursor(), database).tables.values():
        for batch in read_batches(conn, database, table, table.columns, batch_rows):
            rows += len(batch)
    return rows


def run(source, server=None, *, repeat: int = 3) -> dict:
    own = server is None
    server = server or PrivateMariaDB(log_bin=True).start()
    work = Path(tempfile.mkdtemp(prefix="bench-masking-"))
    created: list[str] = []
    try:
        database = prepare_database(source, server, created)
        identity = subprocess.run(["age-keygen"], capture_output=True, text=True, check=True).stdout
        key = AgeKey.from_config(secret=identity)
        access = SimpleAccess("127.0.0.1", server.port, "root", "", database)
        storage = LocalStorage(work / "store")
        backup = take_full_backup(access, storage, key, server="bench")
        rules = RULES_DIR / "shop.yaml"
        times: dict[str, list[float]] = {"plain_restore": [], "masked_copy": [], "masked_copy_restore_phase": [],
                                         "raw_read": [], "parquet_export": []}
        phases: list[dict] = []
        rows = 0
        for number in range(repeat):
            plain = f"bench_plain_{number}_{uuid.uuid4().hex[:6]}"
            created.append(plain)
            started = time.monotonic()
            restore_backup(access, storage, key, server="bench", database=database, backup_id=backup.backup_id,
                           target_database=plain, dump_only=True)
            times["plain_restore"].append(time.monotonic() - started)
            drop_database(access, plain)

            scratch, dev = f"mask_bench_{number}_{uuid.uuid4().hex[:6]}", f"bench_dev_{number}_{uuid.uuid4().hex[:6]}"
            created += [scratch, dev]
            started = time.monotonic()
            restore_backup(access, storage, key, server="bench", database=database, backup_id=backup.backup_id,
                           target_database=scratch, dump_only=True)
            restored = time.monotonic() - started
            report = masking_pipeline.build(access, access, scratch, dev, rules, KEY)
            times["masked_copy"].append(time.monotonic() - started)
            times["masked_copy_restore_phase"].append(restored)
            phases.append(report.phases)
            drop_database(access, scratch)

            conn = access.connect()
            try:
                started = time.monotonic()
                rows = raw_read(conn, dev)
                times["raw_read"].append(time.monotonic() - started)
                started = time.monotonic()
                manifest = export_snapshot(conn, dev, LocalStorage(work / f"parquet{number}"))
                problems = check_snapshot(conn, dev, LocalStorage(work / f"parquet{number}"), manifest)
                times["parquet_export"].append(time.monotonic() - started)
            finally:
                conn.close()
            if problems:
                raise RuntimeError(f"the snapshot does not match: {problems}")
            drop_database(access, dev)
        result = {"database": database, "repeat": repeat, "rows": rows,
                  **{f"{name}_seconds": _median(values) for name, values in times.items()},
                  "masked_copy_phases": _median_run(times["masked_copy"], times["masked_copy_restore_phase"],
                                                    phases)}
        result["masked_copy_vs_plain_restore"] = round(result["masked_copy_seconds"] /
                                                       result["plain_restore_seconds"], 3)
        result["parquet_export_vs_raw_read"] = round(result["parquet_export_seconds"] / result["raw_read_seconds"], 3)
        return result
    finally:
        for name in created:
            server.sql(f"DROP DATABASE IF EXISTS `{name}`")
        subprocess.run(["rm", "-rf", str(work)], check=False)
        if own:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Masked copy vs plain restore, Parquet export vs raw read")
    parser.add_argument("--source", required=True, help="the demo shop's SQLite file (include/demo_shop/generate.py)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(run(args.source, repeat=args.repeat), indent=2))


if __name__ == "__main__":
    main()
