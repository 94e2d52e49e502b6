"""Post-copy verification of one table: counts that add up, and content checksums over
key-range segments; a segment that differs is split (as data-diff does) until the exact
rows are found, then shown side by side.

Both sides hash at once (SQLite in a worker thread, MySQL on the server), so the check
costs about as much as the slower side, not the sum. Segments are sized so that their rows'
forms stay well inside MySQL's max_allowed_packet (GROUP_CONCAT's ceiling); a segment that
still does not fit is hashed row by row in Python instead.
"""
from __future__ import annotations

import logging
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from mysql_common.identifiers import quote
from mysql_common.progress import Progress
from sqlite_to_mysql import checksums, key_sql, row_sql, target_state
from sqlite_to_mysql.checksums import Digest
from sqlite_to_mysql.plan import ColumnPlan, TablePlan
from sqlite_to_mysql.row_transport import show_key
from sqlite_to_mysql.source_schema import qi
from sqlite_to_mysql.values import excerpt

log = logging.getLogger(__name__)
SEGMENTABLE_KINDS = {"int": "integer", "text": "text", "blob": "blob"}  # kind -> its own storage class
SEGMENT_BYTES = 32 * 1024 * 1024  # upper bound; also at most half of max_allowed_packet
ROW_CUT = 1260  # MySQL warning: row cut by GROUP_CONCAT()


@dataclass
class RowDifference:
    key: dict
    kind: str  # missing_in_target, extra_in_target, values_differ
    columns: dict = field(default_factory=dict)  # column -> {"source": ..., "target": ...}


@dataclass
class TableVerification:
    table: str
    target: str
    source_rows: int
    target_rows: int
    quarantined: int
    checksum: str  # OK or DIFF
    differing_rows: int
    differences: list[RowDifference]
    segments: int
    seconds: float
    issues: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.source_rows == self.target_rows + self.quarantined and self.differing_rows == 0
                and not self.issues)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def target_value_sql(col: ColumnPlan) -> str | None:
    """MySQL side of a column's canonical text; None where Python must canonicalize
    (DOUBLE: server formatting differs between MySQL and MariaDB)."""
    c = quote(col.target)
    if col.kind == "double":
        return None
    if col.kind in ("text", "json", "blob"):
        return f"CAST({c} AS BINARY)"
    return f"CAST(CAST({c} AS CHAR) AS BINARY)"


class TableVerifier:
    def __init__(self, src, dst, tp: TablePlan, *, flavor: str, segment_rows: int = 50000,
                 leaf_rows: int = 256, max_examples: int = 20) -> None:
        self.src, self.dst, self.tp = src, dst, tp
        self.flavor = flavor
        self.segment_rows, self.leaf_rows, self.max_examples = segment_rows, leaf_rows, max_examples
        # A hidden rowid is compared too: it is how the cutover addresses the row.
        hidden = tp.key_source if tp.hidden_rowid else []
        self.names = hidden + [c.source for c in tp.columns]
        self.source_values = hidden + [row_sql.canonical_sql(c) for c in tp.columns]
        self.source_form = checksums.sqlite_form(self.source_values, [False] * len(hidden) +
                                                 [c.kind in ("text", "json", "blob") for c in tp.columns])
        self.target_values = [f"CAST({quote(k)} AS BINARY)" for k in tp.key_target[:len(hidden)]] + \
            [target_value_sql(c) for c in tp.columns]
        self.python_side = any(v is None for v in self.target_values)
        self.bad = row_sql.bad_row_sql(tp)
        # (a generated key: the declared key is a hash index, which has no ranges)
        names = [key_sql.key_name(k) for k in tp.key_source]
        self.segmentable = not tp.generated_key and all(_orders_alike(tp.column(name)) for name in names
                                                        if name in {c.source for c in tp.columns})
        self.differences: list[RowDifference] = []
        self.differing = 0
        self._size_segments()
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"verify-{tp.target}")

    # --- public -----------------------------------------------------------------------
    def run(self) -> TableVerification:
        started = time.monotonic()
        try:
            source_total = self.src.execute(f"SELECT count(*) FROM {qi(self.tp.source)}").fetchone()[0]
            quarantined = target_state.quarantined_count(self.dst, self.tp.target)
            bounds = self._boundaries() if self.segmentable else []
            ranges = list(zip([None] + bounds, bounds + [None]))
            target_rows = 0
            progress = Progress(f"verify {self.tp.source}", source_total)
            for low, high in ranges:
                s_digest, t_digest = self._digests(low, high)
                target_rows += t_digest.rows
                progress.add(s_digest.rows)
                if s_digest != t_digest:
                    self._narrow(low, high, s_digest, t_digest)
            issues = []
            if source_total != target_rows + quarantined:
                issues.append(f"row counts do not add up: source {source_total} != target {target_rows} + "
                              f"quarantined {quarantined}")
            return TableVerification(
                table=self.tp.source, target=self.tp.target, source_rows=source_total, target_rows=target_rows,
                quarantined=quarantined, checksum="OK" if not self.differing else "DIFF",
                differing_rows=self.differing, differences=self.differences, segments=len(ranges),
                seconds=time.monotonic() - started, issues=issues)
        finally:
            self.pool.shutdown(wait=True)

    # --- segments ---------------------------------------------------------------------
    def _size_segments(self) -> None:
        cur = self.dst.cursor()
        cur.execute("SELECT @@max_allowed_packet")
        budget = min(SEGMENT_BYTES, int(cur.fetchone()[0]) // 2)
        # Long forms must sort by all their bytes, not the first max_sort_length (1024) only.
        cur.execute(f"SET SESSION group_concat_max_len = {budget * 2}, max_sort_length = 8388608")
        per_row = self.tp.bytes // max(1, self.tp.rows) + 3 * len(self.tp.columns) + 1
        self.segment_rows = max(100, min(self.segment_rows, budget // per_row))

    def _boundaries(self) -> list[tuple]:
        """Every segment_rows-th key of the source, streamed (memory: one key per segment)."""
        keys = ", ".join(self.tp.key_source)
        where = f" WHERE NOT ({self.bad})" if self.bad else ""
        cursor = self.src.execute(f"SELECT {keys} FROM {qi(self.tp.source)}{where} ORDER BY {keys}")
        bounds, n = [], 0
        while True:
            chunk = cursor.fetchmany(10000)
            if not chunk:
                break
            for row in chunk:
                n += 1
                if n % self.segment_rows == 0:
                    bounds.append(tuple(row))
        return bounds

    def _source_where(self, low, high) -> tuple[str, list]:
        where, params = key_sql.sqlite_range(self.tp.key_source, low, high)
        return (f"{where} AND NOT ({self.bad})" if self.bad else where), params

    def _target_where(self, low, high) -> tuple[str, list]:
        return key_sql.mysql_range(self.tp.key_target, low, high)

    def _digests(self, low, high) -> tuple[Digest, Digest]:
        future = self.pool.submit(self._source_digest, low, high)
        target = self._target_digest(low, high)
        return future.result(), target

    def _source_digest(self, low, high) -> Digest:
        where, params = self._source_where(low, high)
        try:
            return checksums.sqlite_digest(self.src, self.source_form, qi(self.tp.source), where, params)
        except sqlite3.DataError as exc:  # SQLITE_TOOBIG: the segment's forms exceed SQLite's longest string
            if "too big" not in str(exc):
                raise
        log.info("%s: a segment's rows exceed SQLite's string limit; hashing it row by row", self.tp.source)
        cursor = self.src.execute(f"SELECT {', '.join(self.source_values)} FROM {qi(self.tp.source)} "
                                  f"WHERE {where}", params)
        return checksums.digest_of_rows(cursor)

    def _target_digest(self, low, high) -> Digest:
        where, params = self._target_where(low, high)
        cur = self.dst.cursor()
        if not self.python_side:
            cur.execute(checksums.mysql_digest_select(self.target_values, quote(self.tp.target), where), params)
            rows, md5 = cur.fetchone()
            if not self._rows_cut(cur):
                return Digest(int(rows), md5 or checksums.NO_ROWS)
            log.info("%s: a segment's rows do not fit GROUP_CONCAT; hashing it row by row", self.tp.target)
        cur.execute(f"SELECT {', '.join(self._target_fetch())} FROM {quote(self.tp.target)} WHERE {where}", params)
        return checksums.digest_of_rows(cur)

    def _rows_cut(self, cur) -> bool:
        """Did the last statement's GROUP_CONCAT cut a row (warning 1260)?"""
        if not self.dst.warning_count():
            return False
        cur.execute("SHOW WARNINGS")
        return any(code == ROW_CUT for _level, code, _msg in cur.fetchall())

    def _target_fetch(self) -> list[str]:
        hidden = len(self.target_values) - len(self.tp.columns)
        return self.target_values[:hidden] + [v if v is not None else quote(c.target)
                                              for v, c in zip(self.target_values[hidden:], self.tp.columns)]

    # --- narrowing --------------------------------------------------------------------
    def _narrow(self, low, high, s: Digest, t: Digest) -> None:
        if max(s.rows, t.rows) <= self.leaf_rows or not self.segmentable:
            self._diff_rows(low, high)
            return
        middle = self._middle_key(low, high, use_source=s.rows >= t.rows)
        if middle is None or middle == low:
            self._diff_rows(low, high)
            return
        for part_low, part_high in ((low, middle), (middle, high)):
            ps, pt = self._digests(part_low, part_high)
            if ps != pt:
                self._narrow(part_low, part_high, ps, pt)

    def _middle_key(self, low, high, use_source: bool):
        if use_source:
            where, params = self._source_where(low, high)
            keys = ", ".join(self.tp.key_source)
            rows = self.src.execute(f"SELECT {keys} FROM {qi(self.tp.source)} WHERE {where} ORDER BY {keys}",
                                    params).fetchall()
        else:
            where, params = self._target_where(low, high)
            keys = ", ".join(quote(c) for c in self.tp.key_target)
            cur = self.dst.cursor()
            cur.execute(f"SELECT {keys} FROM {quote(self.tp.target)} WHERE {where} ORDER BY {keys}", params)
            rows = cur.fetchall()
        return tuple(rows[len(rows) // 2]) if len(rows) > 1 else None

    def _diff_rows(self, low, high) -> None:
        n = len(self.tp.key_source)
        where, params = self._source_where(low, high)
        source = {}
        sql = (f"SELECT {', '.join(map(row_sql.raw_sql, self.tp.key_source))}, {', '.join(self.source_values)} "
               f"FROM {qi(self.tp.source)} WHERE {where}")
        for row in self.src.execute(sql, params):
            source[_key_bytes(row[:n])] = (row[:n], row[n:])
        where, params = self._target_where(low, high)
        cur = self.dst.cursor()
        keys = [quote(c) for c in self.tp.key_target]
        cur.execute(f"SELECT {', '.join(keys)}, {', '.join(self._target_fetch())} FROM {quote(self.tp.target)} "
                    f"WHERE {where}", params)
        target = {_key_bytes(row[:n]): (row[:n], row[n:]) for row in cur.fetchall()}
        names = self.names
        key_names = [key_sql.key_name(k) for k in self.tp.key_source]
        for key in sorted(set(source) | set(target)):
            s, t = source.get(key), target.get(key)
            if s and t:
                cols = {name: {"source": _show(a), "target": _show(b)}
                        for name, a, b in zip(names, s[1], t[1])
                        if checksums.canonical(a) != checksums.canonical(b)}
                if not cols:
                    continue
                diff = RowDifference(dict(zip(key_names, map(show_key, s[0]))), "values_differ", cols)
            elif s:
                diff = RowDifference(dict(zip(key_names, map(show_key, s[0]))), "missing_in_target")
            else:
                diff = RowDifference(dict(zip(key_names, map(show_key, t[0]))), "extra_in_target")
            self.differing += 1
            if len(self.differences) < self.max_examples:
                self.differences.append(diff)


def _orders_alike(col: ColumnPlan) -> bool:
    """Do SQLite and MySQL order this key column's values alike, so that one key range means
    the same rows on both sides? Only when every value has the storage class of the column's
    kind (SQLite puts numbers before text before BLOBs; MySQL compares the stored bytes)."""
    own = SEGMENTABLE_KINDS.get(col.kind)
    return own is not None and not any(n for storage, n in col.storage.items()
                                       if storage in ("integer", "real", "text", "blob") and storage != own)


def _key_bytes(values) -> bytes:
    return checksums.row_bytes(values)


def _show(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            return excerpt(value.decode("utf-8"), 120)
        except UnicodeDecodeError:
            return "x'" + excerpt(value, 120) + "'"
    return excerpt(value, 120)


