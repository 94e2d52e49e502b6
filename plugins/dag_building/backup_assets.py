"""The Asset a successful full backup updates; restore drills (and reports) are scheduled on it."""
from __future__ import annotations

from airflow.sdk import Asset

FULL_BACKUP = Asset(name="mysql_full_backup", uri="mysql-backup://full-backup", group="mysql-backups")
