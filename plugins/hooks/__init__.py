"""Thin Airflow hooks: Airflow connections in, configured driver connections out."""
