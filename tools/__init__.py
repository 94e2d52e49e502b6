"""Developer and operator tools that run outside Airflow: private servers, demo, benchmark."""
