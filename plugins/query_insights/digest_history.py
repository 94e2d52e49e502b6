"""The digest history as Parquet files in the backup storage, next to the server's backups.

    <server>/query-insights/state.parquet                       last cumulative reading (+ meta)
    <server>/query-insights/deltas/<day>/<interval start>.parquet   work per digest, one interval
    <server>/query-insights/samples/<day>/<interval start>.parquet  sampled executions (latency)
    <server>/query-insights/baseline.parquet                    the baseline window, per digest
    <server>/query-insights/reports/<day>.json and .md           daily reports
    <server>/query-insights/validations/<digest>.json            index candidates timed on a scratch copy

Every object is written with Storage.put_bytes (visible only when complete). An interval's files
are named after its start, so a retried snapshot overwrites its own files instead of counting
the same work twice, and the state (what the next interval starts from) is written last.
Nothing here holds literals: digest texts are normalised by the server (`?` for values).
"""
from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from mysql_backup.storage import Storage

META_KEY = b"query_insights"


@dataclass(frozen=True)
class InsightsLayout:
    server: str

    @property
    def root(self) -> str:
        return f"{self.server}/query-insights"

    @property
    def state(self) -> str:
        return f"{self.root}/state.parquet"

    @property
    def baseline(self) -> str:
        return f"{self.root}/baseline.parquet"

    def interval(self, kind: str, start: datetime) -> str:
        """Microseconds in the name: two readings within one second (manual runs) keep both intervals."""
        start = start.astimezone(timezone.utc)
        return f"{self.root}/{kind}/{start.date().isoformat()}/{start.strftime('%Y%m%dT%H%M%S.%fZ')}.parquet"

    def day_prefix(self, kind: str, day: date) -> str:
        return f"{self.root}/{kind}/{day.isoformat()}/"

    def report(self, day: date, ext: str) -> str:
        return f"{self.root}/reports/{day.isoformat()}.{ext}"

    def validation(self, schema: str, digest: str) -> str:
        return f"{self.root}/validations/{schema}-{digest}.json"


def to_parquet(frame: pd.DataFrame, meta: dict | None = None) -> bytes:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    if meta is not None:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), META_KEY: json.dumps(meta)})
    out = io.BytesIO()
    pq.write_table(table, out, compression="zstd")
    return out.getvalue()


def from_parquet(data: bytes) -> tuple[pd.DataFrame, dict | None]:
    table = pq.read_table(io.BytesIO(data))
    raw = (table.schema.metadata or {}).get(META_KEY)
    return table.to_pandas(), json.loads(raw) if raw else None


def load_state(storage: Storage, layout: InsightsLayout) -> tuple[pd.DataFrame | None, dict | None]:
    if storage.stat(layout.state) is None:
        return None, None
    return from_parquet(storage.read_bytes(layout.state))


def save_snapshot(storage: Storage, layout: InsightsLayout, *, cumulative: pd.DataFrame, meta: dict,
                  deltas: pd.DataFrame | None, samples: pd.DataFrame | None, interval_start: datetime | None) -> None:
    """The interval's files first, the state last: a failure in between repeats the interval."""
    if interval_start is not None:
        storage.put_bytes(layout.interval("deltas", interval_start), to_parquet(deltas))
        storage.put_bytes(layout.interval("samples", interval_start), to_parquet(samples))
    storage.put_bytes(layout.state, to_parquet(cumulative, meta))


def load_window(storage: Storage, layout: InsightsLayout, kind: str, start: datetime, end: datetime) -> pd.DataFrame:
    """Every interval of `kind` that started in [start, end), concatenated (empty if none)."""
    frames = []
    day = start.date()
    while day <= end.date():
        for info in storage.list(layout.day_prefix(kind, day)):
            frame, _ = from_parquet(storage.read_bytes(info.key))
            if len(frame):
                frames.append(frame)
        day += timedelta(days=1)
    if not frames:
        return pd.DataFrame()
    frame = pd.concat(frames, ignore_index=True)
    started = frame["interval_start"]
    return frame[(started >= pd.Timestamp(start)) & (started < pd.Timestamp(end))].reset_index(drop=True)


def first_interval(storage: Storage, layout: InsightsLayout) -> datetime | None:
    """Start of the oldest interval kept (the history's beginning)."""
    keys = storage.list(f"{layout.root}/deltas/")
    if not keys:
        return None
    frame, _ = from_parquet(storage.read_bytes(keys[0].key))
    return frame["interval_start"].min().to_pydatetime() if len(frame) else None


def prune(storage: Storage, layout: InsightsLayout, before: date) -> int:
    """Delete interval files of days before `before`; the baseline and reports stay."""
    removed = 0
    for kind in ("deltas", "samples"):
        for info in storage.list(f"{layout.root}/{kind}/"):
            day = info.key[len(f"{layout.root}/{kind}/"):].split("/", 1)[0]
            if date.fromisoformat(day) < before:
                storage.delete(info.key)
                removed += 1
    return removed


def save_baseline(storage: Storage, layout: InsightsLayout, frame: pd.DataFrame, meta: dict) -> None:
    storage.put_bytes(layout.baseline, to_parquet(frame, meta))


def load_baseline(storage: Storage, layout: InsightsLayout) -> tuple[pd.DataFrame | None, dict | None]:
    if storage.stat(layout.baseline) is None:
        return None, None
    return from_parquet(storage.read_bytes(layout.baseline))


def put_json(storage: Storage, key: str, value) -> None:
    storage.put_bytes(key, (json.dumps(value, indent=2, sort_keys=True, default=str) + "\n").encode())


def get_json(storage: Storage, key: str):
    if storage.stat(key) is None:
        return None
    return json.loads(storage.read_bytes(key))
