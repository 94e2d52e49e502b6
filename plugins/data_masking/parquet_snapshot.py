"""Parquet snapshots of the masked copy for analysts: one dataset per table, with a manifest.

Layout under the snapshot location (a directory or s3://bucket/prefix, like the backups):

    <database>/<snapshot id>/<table>/part-00000.parquet
    <database>/<snapshot id>/manifest.json        written last: it is what makes a snapshot
    <database>/latest.json                        the newest complete snapshot's manifest key

Types are faithful: DECIMAL(p,s) -> decimal128(p,s), DATETIME/TIMESTAMP -> timestamp[us, UTC]
(sessions run in UTC), DATE -> date32, TIME -> duration[us] (MySQL TIME spans +-838 hours),
JSON, UUID and text -> string, BLOB -> binary. Rows are read in keyset batches and written as
one row group per batch through the storage's streaming writer, so memory stays flat in table
size. The manifest holds row counts, each file's size and SHA-256, and the sum of every DECIMAL
column, which check_snapshot compares with the database.
"""
from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from mysql_common.identifiers import quote

from data_masking import MaskingError
from data_masking.masking_schema import Column, Table, keyset_batches, load_schema

log = logging.getLogger(__name__)
BATCH_ROWS = 50_000
_INTS = {"tinyint": 8, "smallint": 16, "mediumint": 32, "int": 32, "integer": 32, "bigint": 64}


def arrow_type(col: Column):
    import pyarrow as pa

    t = col.data_type
    if t in _INTS:
        bits = _INTS[t]
        return getattr(pa, f"{'uint' if 'unsigned' in col.column_type else 'int'}{bits}")()
    if t == "year":
        return pa.int16()
    if t == "decimal":
        return (pa.decimal128 if col.precision <= 38 else pa.decimal256)(col.precision, col.scale)
    if t == "float":
        return pa.float32()
    if t == "double":
        return pa.float64()
    if t == "date":
        return pa.date32()
    if t in ("datetime", "timestamp"):
        return pa.timestamp("us", tz="UTC")
    if t == "time":
        return pa.duration("us")
    if t == "bit":
        return pa.uint64()
    if col.is_string or t in ("uuid", "inet4", "inet6"):
        return pa.string()
    if t in ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"):
        return pa.binary()
    raise MaskingError(f"{col.name}: no Arrow type for {col.column_type}")


def _select(col: Column) -> str:
    c = quote(col.name)
    if col.data_type in ("uuid", "inet4", "inet6"):
        return f"CAST({c} AS CHAR)"
    if col.data_type == "bit":
        return f"{c} + 0"
    return c


class _StorageFile:
    """A write-only file over a storage ObjectWriter that hashes what passes through."""

    def __init__(self, writer):
        self.writer = writer
        self.sha256 = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data) -> int:
        data = bytes(data)
        self.sha256.update(data)
        self.size += len(data)
        self.writer.write(data)
        return len(data)

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@dataclass
class TableExport:
    rows: int
    files: list[dict]
    decimal_sums: dict[str, str]
    columns: list[dict]
    seconds: float


def read_batches(conn, database: str, table: Table, columns: list[Column], batch_rows: int):
    """Rows of `columns` (without the key prefix keyset_batches adds), in key order."""
    nk = len(table.scan_key)
    for rows in keyset_batches(conn, database, table, [_select(c) for c in columns], batch_rows):
        yield [r[nk:] for r in rows]


def export_table(conn, database: str, table: Table, storage, key: str, *, batch_rows: int = BATCH_ROWS) -> TableExport:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    started = time.monotonic()
    columns = table.columns
    schema = pa.schema([pa.field(c.name, arrow_type(c), nullable=c.nullable) for c in columns])
    decimals = [i for i, c in enumerate(columns) if c.data_type == "decimal"]
    sums = {columns[i].name: None for i in decimals}
    writer = storage.writer(key)
    sink = _StorageFile(writer)
    rows = 0
    try:
        with pq.ParquetWriter(pa.PythonFile(sink, mode="w"), schema, compression="zstd") as parquet:
            for batch in read_batches(conn, database, table, columns, batch_rows):
                arrays = [pa.array([r[i] for r in batch], type=schema.field(i).type) for i in range(len(columns))]
                record = pa.RecordBatch.from_arrays(arrays, schema=schema)
                parquet.write_batch(record)
                for i in decimals:
                    part = pc.sum(arrays[i]).as_py()
                    if part is not None:
                        name = columns[i].name
                        sums[name] = part if sums[name] is None else sums[name] + part
                rows += len(batch)
            if rows == 0:
                parquet.write_table(schema.empty_table())
    except BaseException:
        writer.abort()
        raise
    writer.commit()
    return TableExport(rows, [{"key": key, "size": sink.size, "sha256": sink.sha256.hexdigest()}],
                       {k: (None if v is None else str(v)) for k, v in sums.items()},
                       [{"name": c.name, "mysql_type": c.column_type, "arrow_type": str(schema.field(i).type)}
                        for i, c in enumerate(columns)], round(time.monotonic() - started, 3))


def snapshot_prefix(database: str, snapshot_id: str) -> str:
    return f"{database}/{snapshot_id}"


def export_snapshot(conn, database: str, storage, *, snapshot_id: str | None = None, source: dict | None = None,
                    batch_rows: int = BATCH_ROWS) -> dict:
    """Every table of `database`; returns the manifest (stored last, then latest.json)."""
    now = datetime.now(timezone.utc)
    snapshot_id = snapshot_id or now.strftime("%Y%m%dT%H%M%SZ")
    prefix = snapshot_prefix(database, snapshot_id)
    schema = load_schema(conn.cursor(), database)
    manifest = {"database": database, "snapshot_id": snapshot_id, "created_at": now.isoformat(),
                "source": source or {}, "format": "parquet", "tables": {}}
    for name, table in sorted(schema.tables.items()):
        exported = export_table(conn, database, table, storage, f"{prefix}/{name}/part-00000.parquet",
                                batch_rows=batch_rows)
        manifest["tables"][name] = {"rows": exported.rows, "files": exported.files, "columns": exported.columns,
                                    "decimal_sums": exported.decimal_sums, "seconds": exported.seconds}
        log.info("parquet: %s: %d rows in %.1fs", name, exported.rows, exported.seconds)
    manifest_key = f"{prefix}/manifest.json"
    storage.put_bytes(manifest_key, (json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    storage.put_bytes(f"{database}/latest.json", (json.dumps({"manifest": manifest_key}) + "\n").encode())
    return manifest


def check_snapshot(conn, database: str, storage, manifest: dict) -> list[str]:
    """Each file's SHA-256 re-read from storage, its row count and DECIMAL sums against MySQL."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    problems = []
    cur = conn.cursor()
    for name, entry in sorted(manifest["tables"].items()):
        sums = list(entry["decimal_sums"])
        select = ", ".join(["COUNT(*)"] + [f"SUM({quote(c)})" for c in sums])
        cur.execute(f"SELECT {select} FROM {quote(database)}.{quote(name)}")
        mysql = cur.fetchone()
        rows = 0
        totals: dict[str, object] = {c: None for c in sums}
        for file in entry["files"]:
            data = storage.read_bytes(file["key"])
            if hashlib.sha256(data).hexdigest() != file["sha256"] or len(data) != file["size"]:
                problems.append(f"{file['key']}: size or SHA-256 differs from the manifest")
                continue
            parquet = pq.ParquetFile(pa.BufferReader(data))
            rows += parquet.metadata.num_rows
            for batch in parquet.iter_batches(columns=sums or None) if sums else ():
                for c in sums:
                    part = pc.sum(batch.column(c)).as_py()
                    if part is not None:
                        totals[c] = part if totals[c] is None else totals[c] + part
        if rows != mysql[0] or rows != entry["rows"]:
            problems.append(f"{name}: {rows} rows in Parquet, {mysql[0]} in MySQL, {entry['rows']} in the manifest")
        for c, expected in zip(sums, mysql[1:]):
            if totals[c] != expected:
                problems.append(f"{name}.{c}: sum {totals[c]} in Parquet, {expected} in MySQL")
    return problems
