"""Backups of a MySQL/MariaDB database: full logical dumps, binlog shipping, retention,
restore with point-in-time recovery, verification and restore drills.

Airflow-free on purpose: the DAGs wire Airflow connections and variables to these modules
(see plugins/task_callables/backup_tasks.py), and the tests drive them with plain pytest against
real servers. Every stored object is zstd-compressed and age-encrypted; a JSON manifest written
last marks a backup (or a shipped binlog) as complete. See docs/backups.md.
"""
