# The two commands a new user types: `make demo` and `make test`. Both set up everything themselves.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup demo test test-fast bench bench-scale fuzz workload airflow clean

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

# The migration at scale (default 10: 11M rows, 2.4 GB) against the server's fastest ingest of
# the same rows, on a private mariadbd with its defaults and with the recommended settings
# (tools/bench_scale.py; about an hour at 10 on 2 cores, a few minutes at SCALE=1).
bench-scale: SCALE = 10
bench-scale: setup
	@$(PY) -m tools.bench_scale --scale $(SCALE) $(BENCH_SCALE_ARGS)

# The demo shop's requests replayed by locust on SQLite and on the migrated MySQL (docs/query-insights.md).
SCALE ?= 1
workload: setup
	@$(PY) -m tools.workload --scale $(SCALE) $(WORKLOAD_ARGS)

# Long randomized runs of the property tests that `make test` runs a few examples of: the restore
# chain, and the migration's fidelity fuzzer (FUZZ_EXAMPLES random SQLite databases; its seed is
# printed first, and FUZZ_SEED replays a run). No per-test timeout: a long run is the point.
FUZZ_EXAMPLES ?= 10000
ifndef FUZZ_SEED
FUZZ_SEED := $(shell od -An -N4 -tu4 /dev/urandom | tr -d ' ')
endif
fuzz: setup
	@BACKUP_CHAIN_RANDOM=1 BACKUP_CHAIN_EXAMPLES=$${BACKUP_CHAIN_EXAMPLES:-200} BACKUP_CHAIN_STEPS=$${BACKUP_CHAIN_STEPS:-40} \
		.venv/bin/pytest -s --timeout=0 tests/integration/backup/test_restore_chain_property.py $(PYTEST_ARGS)
	@echo "fuzz: fidelity seed $(FUZZ_SEED), $(FUZZ_EXAMPLES) examples (replay: make fuzz FUZZ_SEED=$(FUZZ_SEED))"
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) .venv/bin/pytest -p no:cacheprovider --timeout=0 --hypothesis-seed=$(FUZZ_SEED) \
		tests/integration/migration/test_fidelity_fuzz.py $(PYTEST_ARGS)

airflow: setup
	@bash tools/airflow_local.sh

clean:
	rm -rf .airflow build .pytest_cache
