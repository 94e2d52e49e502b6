"""Bookkeeping tables the migration keeps in the target database.

They live next to the data so a batch and its checkpoint commit in one transaction:
after a crash the checkpoint names exactly the last batch that is in.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from mysql_common.identifiers import quote

CHECKPOINT = "_s2m_checkpoint"
QUARANTINE = "_s2m_quarantine"
OWNED = "_s2m_tables"
PLANS = "_s2m_plan"
INTERNAL = (CHECKPOINT, QUARANTINE, OWNED, PLANS)

_DDL = [
    f"""CREATE TABLE IF NOT EXISTS {quote(CHECKPOINT)} (
  table_name VARCHAR(64) NOT NULL PRIMARY KEY,
  run_id VARCHAR(250) NOT NULL,
  plan_fingerprint CHAR(40) NOT NULL,
  last_key LONGTEXT NULL COMMENT 'JSON array: scan key of the last committed batch',
  rows_copied BIGINT NOT NULL DEFAULT 0,
  rows_quarantined BIGINT NOT NULL DEFAULT 0,
  status VARCHAR(16) NOT NULL,
  updated_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
    f"""CREATE TABLE IF NOT EXISTS {quote(QUARANTINE)} (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run_id VARCHAR(250) NOT NULL,
  table_name VARCHAR(64) NOT NULL,
  source_key LONGTEXT NOT NULL,
  problems LONGTEXT NOT NULL,
  row_data LONGTEXT NOT NULL COMMENT 'JSON: every source value, exact (typeof + text or base64)',
  created_at DATETIME(6) NOT NULL,
  KEY by_table (table_name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
    f"""CREATE TABLE IF NOT EXISTS {quote(OWNED)} (
  table_name VARCHAR(64) NOT NULL PRIMARY KEY,
  source_name LONGTEXT NOT NULL,
  run_id VARCHAR(250) NOT NULL,
  created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
    f"""CREATE TABLE IF NOT EXISTS {quote(PLANS)} (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  run_id VARCHAR(250) NOT NULL,
  plan LONGTEXT NOT NULL COMMENT 'JSON: the plan the tables were built with',
  created_at DATETIME(6) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
]


def ensure(conn) -> None:
    cur = conn.cursor()
    for statement in _DDL:
        cur.execute(statement)
    conn.commit()


@dataclass
class Checkpoint:
    run_id: str
    plan_fingerprint: str
    last_key: list | None
    rows_copied: int
    rows_quarantined: int
    status: str


def read_checkpoint(conn, table: str) -> Checkpoint | None:
    cur = conn.cursor()
    cur.execute(f"SELECT run_id, plan_fingerprint, last_key, rows_copied, rows_quarantined, status "
                f"FROM {quote(CHECKPOINT)} WHERE table_name = %s", (table,))
    row = cur.fetchone()
    if not row:
        return None
    return Checkpoint(row[0], row[1], json.loads(row[2]) if row[2] else None, row[3], row[4], row[5])


def write_checkpoint(cur, table: str, cp: Checkpoint) -> None:
    """Within the caller's transaction: commits together with the batch it describes."""
    cur.execute(
        f"INSERT INTO {quote(CHECKPOINT)} (table_name, run_id, plan_fingerprint, last_key, rows_copied, "
        f"rows_quarantined, status, updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, UTC_TIMESTAMP(6)) "
        f"ON DUPLICATE KEY UPDATE run_id = VALUES(run_id), plan_fingerprint = VALUES(plan_fingerprint), "
        f"last_key = VALUES(last_key), rows_copied = VALUES(rows_copied), "
        f"rows_quarantined = VALUES(rows_quarantined), status = VALUES(status), updated_at = VALUES(updated_at)",
        (table, cp.run_id, cp.plan_fingerprint, json.dumps(cp.last_key) if cp.last_key is not None else None,
         cp.rows_copied, cp.rows_quarantined, cp.status))


def owned_tables(conn) -> dict[str, str]:
    cur = conn.cursor()
    cur.execute(f"SELECT table_name, run_id FROM {quote(OWNED)}")
    return dict(cur.fetchall())


def quarantined_count(conn, table: str, run_id: str | None = None) -> int:
    cur = conn.cursor()
    sql = f"SELECT COUNT(*) FROM {quote(QUARANTINE)} WHERE table_name = %s"
    args: tuple = (table,)
    if run_id:
        sql += " AND run_id = %s"
        args += (run_id,)
    cur.execute(sql, args)
    return cur.fetchone()[0]


def save_plan(conn, run_id: str, plan_json: str) -> None:
    """Kept with the data, so a verification can run later without the migration run's XCom."""
    ensure(conn)
    cur = conn.cursor()
    cur.execute(f"INSERT INTO {quote(PLANS)} (run_id, plan, created_at) VALUES (%s, %s, UTC_TIMESTAMP(6))",
                (run_id, plan_json))
    conn.commit()


def latest_plan(conn) -> tuple[str, str] | None:
    """(run_id, plan JSON) of the newest migration run that set up this database."""
    cur = conn.cursor()
    cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = DATABASE() "
                "AND table_name = %s", (PLANS,))
    if not cur.fetchone()[0]:
        return None
    cur.execute(f"SELECT run_id, plan FROM {quote(PLANS)} ORDER BY id DESC LIMIT 1")
    row = cur.fetchone()
    return (row[0], row[1]) if row else None
