"""Airflow-free building blocks shared by the migration, backup and monitoring code:
MySQL session settings, error classification and retries, identifier quoting, secret redaction."""
