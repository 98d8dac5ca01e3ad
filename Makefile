# The two commands of the README: `make demo` and `make test`.
# Each installs what it needs on first use: uv (into .tools/) and the locked
# dependencies (into .venv/, `uv sync --frozen`).
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
export ENVMON_HOME ?= $(CURDIR)/var

.PHONY: demo test test-files lint bench install clean airflow

install: $(VENV)/.synced

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	touch $@

demo: install
	$(VENV)/bin/envmon demo

# -rfEs: the failures, errors and the reason of every skip, listed at the end
# (a skip hides a test that proved nothing; under CI it fails, tests/conftest.py).
# --durations: the slowest tests, to keep .ci/run (both passes) inside CI's
# 90 minutes.
test: install lint
	$(VENV)/bin/pytest -q -rfEs --durations=15

# The same suite on the files storage (ENVMON_STORAGE=files, docs/lakehouse.md),
# which a deployment may still choose: tests read what was stored through
# tests/support/stored.py, whichever storage holds it. tests/deploy sets the
# storage of each deployment it starts, and the upkeep bench's test always
# measures the lakehouse: both run in `make test` only.
test-files: install lint
	ENVMON_STORAGE=files $(VENV)/bin/pytest -q -rfEs --durations=15 --ignore=tests/deploy \
		--ignore=tests/bench/test_upkeep.py

lint: install
	$(VENV)/bin/ruff check .

bench: install
	$(VENV)/bin/python -m benchmarks.local

# Issue 14's lakehouse upkeep (benchmarks/upkeep.py): a week of hourly
# pulls, `envmon lakehouse compact`, the queries before and after.
.PHONY: bench-upkeep
bench-upkeep: install
	$(VENV)/bin/python -m benchmarks.upkeep $(BENCH_UPKEEP_ARGS)

# Issue 7's national scale (benchmarks/national.py): domains one after
# another, results saved per domain; a fraction of the year by default (see
# docs/benchmarks.md), the whole year with BENCH_NATIONAL_ARGS="--days 365".
BENCH_NATIONAL_ARGS ?= --air-days 30 --water-days 15 --hazwaste-days 30
.PHONY: bench-national
bench-national: install
	$(VENV)/bin/python -m benchmarks.national air water hazwaste $(BENCH_NATIONAL_ARGS)

# Airflow standalone over dags/ with the demo feeds (scripts/airflow_standalone.sh);
# its own AIRFLOW_HOME, whatever the shell's: `make airflow AIRFLOW_LOCAL_HOME=...`.
AIRFLOW_LOCAL_HOME ?= $(CURDIR)/var/airflow
airflow: install
	AIRFLOW_HOME=$(AIRFLOW_LOCAL_HOME) scripts/airflow_standalone.sh

clean:
	rm -rf var .pytest_cache
