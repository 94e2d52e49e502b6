# The two commands a new user types: `make demo` and `make test`. Both set up everything themselves.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup demo test test-fast bench airflow clean

setup:
	@bash tools/setup.sh

demo: setup
	@$(PY) -m tools.demo $(DEMO_ARGS)

test: setup
	@WITH_BROWSER=1 bash tools/setup.sh
	@.venv/bin/pytest $(PYTEST_ARGS)

test-fast: setup
	@.venv/bin/pytest -m "not slow and not browser" $(PYTEST_ARGS)

bench: setup
	@$(PY) -m tools.bench $(BENCH_ARGS)

airflow: setup
	@bash tools/airflow_local.sh

clean:
	rm -rf .airflow build .pytest_cache
