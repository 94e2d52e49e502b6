"""The data-state page: readers of what the DAGs write (readers.py), inline SVG plots (svg.py)
and the HTML page (page.py). No Airflow here; data_state_plugin.py serves it in the UI."""
