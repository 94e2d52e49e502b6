"""Moving a SQLite database into MySQL/MariaDB without losing a value.

Airflow-free: schema reading, data profiling, type mapping, FK ordering, key-range planning,
the bulk copy, checksums and reports. The Airflow hooks and operators are thin wrappers.
"""
