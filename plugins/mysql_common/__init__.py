"""Airflow-free building blocks shared by the migration, backup and monitoring code:
MySQL session settings, error classification (transient or permanent), identifier quoting,
secret redaction."""
