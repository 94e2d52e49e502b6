"""Thin Airflow operators and task helpers wiring the hooks to the domain packages."""
