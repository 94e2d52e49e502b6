"""Production hardening of the target MySQL/MariaDB: least-privilege accounts, server settings,
audit logging, health checks with incident tracking, index and partition plans, read replicas.

Airflow-free: every module takes a DB-API connection (MySQLdb) and returns plain data, so it is
tested with plain pytest against real servers. The SQL templates and plans live in
`include/sql/`, which is not on Airflow's sys.path: they are found relative to this file.
"""
from __future__ import annotations

from pathlib import Path

# plugins/mysql_hardening/__init__.py -> repository root -> include/sql
SQL_DIR = Path(__file__).resolve().parents[2] / "include" / "sql"
