"""Per-table checksums that a restore drill compares against.

They are taken right after the dump, in one consistent snapshot whose binlog position the
server reports (MariaDB's binlog_snapshot_file/position), so a drill can restore the dump,
replay binlogs exactly up to that position and expect identical checksums. The checksum is
order-independent but counts duplicates: a sum (not a XOR, which cancels pairs) of the first
64 bits of each row's MD5.
"""
from __future__ import annotations

from mysql_common.identifiers import qualified, quote

from mysql_backup.manifest import BinlogPosition, Checksums, TableChecksum, iso, utc_now


def base_tables(cur, database: str) -> list[str]:
    cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
                "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", (database,))
    return [row[0] for row in cur.fetchall()]


def checksum_table(cur, database: str, table: str) -> TableChecksum:
    cur.execute("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s "
                "AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (database, table))
    columns = [quote(row[0]) for row in cur.fetchall()]
    # Binary casts: no collation mixing, and values compare byte for byte.
    values = ", ".join(f"CAST({c} AS BINARY)" for c in columns)
    nulls = ", ".join(f"ISNULL({c})" for c in columns)
    row = f"CONCAT_WS('#', {values}, CONCAT({nulls}))"
    cur.execute(f"SELECT COUNT(*), COALESCE(SUM(CAST(CONV(LEFT(MD5({row}), 16), 16, 10) AS UNSIGNED)), 0) "
                f"FROM {qualified(database, table)}")
    count, total = cur.fetchone()
    return TableChecksum(table, int(count), str(total))


def snapshot_checksums(conn, database: str) -> Checksums | None:
    """Checksums of every base table at one binlog position; None when the server cannot say
    which position its snapshot is at (no binlog, or MySQL without binlog_snapshot_*)."""
    cur = conn.cursor()
    try:
        cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cur.execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        cur.execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
        status = {name.lower(): value for name, value in cur.fetchall()}
        if not status.get("binlog_snapshot_file"):
            return None
        position = BinlogPosition(status["binlog_snapshot_file"], int(status["binlog_snapshot_position"]))
        taken_at = iso(utc_now())
        tables = [checksum_table(cur, database, table) for table in base_tables(cur, database)]
        return Checksums(position, taken_at, tables)
    finally:
        cur.execute("ROLLBACK")
        cur.close()


def compare(expected: Checksums, actual: list[TableChecksum]) -> list[str]:
    """Every difference, one line each: a drill reports all of them at once."""
    found = {t.table: t for t in actual}
    problems = []
    for table in expected.tables:
        got = found.pop(table.table, None)
        if got is None:
            problems.append(f"table {table.table}: missing after restore")
        elif (got.rows, got.checksum) != (table.rows, table.checksum):
            problems.append(f"table {table.table}: {got.rows} rows / checksum {got.checksum}, "
                            f"expected {table.rows} rows / checksum {table.checksum}")
    problems += [f"table {name}: not in the backup's checksums" for name in sorted(found)]
    return problems
