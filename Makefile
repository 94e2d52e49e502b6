# The two commands a new user types: `make demo` and `make test`. Both set up everything themselves.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup demo test test-fast bench fuzz airflow clean

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

# The long property runs (`make test` runs the same tests with a few hundred examples).
# FUZZ_SEED replays a run: the seed is printed first.
FUZZ_EXAMPLES ?= 10000
ifndef FUZZ_SEED
FUZZ_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
fuzz: setup
	@echo "fuzz: seed $(FUZZ_SEED), $(FUZZ_EXAMPLES) examples (replay: make fuzz FUZZ_SEED=$(FUZZ_SEED))"
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) .venv/bin/pytest -p no:cacheprovider --hypothesis-seed=$(FUZZ_SEED) \
		tests/integration/migration/test_fidelity_fuzz.py $(PYTEST_ARGS)

airflow: setup
	@bash tools/airflow_local.sh

clean:
	rm -rf .airflow build .pytest_cache
