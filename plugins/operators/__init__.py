"""Thin Airflow operators wiring the hooks to the domain packages (the migration, the cutover,
approval gates). TaskFlow task bodies are in task_callables/, DAG building blocks in dag_building/."""
