"""What the DAG files are built from: the default args and the one retry policy
(task_policy), trigger-form fields (dag_params), the migration DAG's shape from the source
schema (migration_layout) and the Assets that schedule DAGs on each other (backup_assets)."""
