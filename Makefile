# Thin wrapper over the project virtualenv. Only python3 (3.11+) and make are assumed.
PYTHON ?= python3
UV_VERSION := 0.13.8
TOOLS := .tools
VENV := .venv
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export DAGSTER_HOME ?= $(abspath .dagster)

.PHONY: help setup demo test lint format refresh ui ui-quiet bench mutation clean

help: ## list targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: $(UV) uv.lock pyproject.toml Makefile
	$(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

setup: $(VENV)/.synced ## create .venv with the locked dependencies

demo: setup ## write demo extracts and run the full refresh
	@mkdir -p $(DAGSTER_HOME)
	$(VENV)/bin/scr-pipeline demo

refresh: setup ## refresh from the files in the landing dir
	@mkdir -p $(DAGSTER_HOME)
	$(VENV)/bin/scr-pipeline refresh

ui: setup ## start the Dagster UI on 127.0.0.1 with its sensors and schedules (listed at start)
	@mkdir -p $(DAGSTER_HOME)
	$(VENV)/bin/scr-pipeline ui

ui-quiet: setup ## start the Dagster UI without the daemon: no sensor or schedule runs
	@mkdir -p $(DAGSTER_HOME)
	$(VENV)/bin/scr-pipeline ui --no-automation

test: setup ## run the test suite
	$(VENV)/bin/python -m pytest -q -n auto --dist loadscope --durations=15

lint: setup ## ruff check, format check and the import layers (schemas <- assets <- pipelines)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup ## benchmarks (BENCH_ROWS=100000 for real volume, BENCH_PAIRS=n alternating pairs)
	$(VENV)/bin/python -m benchmarks.run

mutation: setup ## mutation testing (slow): mutmut + SQL mutants, prints the score last (docs/TESTING.md)
	nice -n 10 $(VENV)/bin/python tests/mutation/run.py

clean:
	rm -rf $(VENV) $(TOOLS) data .dagster
