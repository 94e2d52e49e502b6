"""The bodies of the TaskFlow tasks (@task callables): each opens its connections through
the hooks and runs one step of an Airflow-free package. The DAG files import them lazily,
inside the task, so parsing a DAG never loads them."""
