# The one command surface of lac-gateway. Needs only python3 (3.11+) and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 8080

.PHONY: help install run sandbox test test-fast unit lint typecheck imports fmt clean bench \
	bench-quick

help:
	@echo "make run        start Redis, the LAC sandbox and the gateway (demo)"
	@echo "make sandbox    start the LAC sandbox alone on port 8090"
	@echo "make test       install everything, lint, typecheck, check imports, run every test"
	@echo "make test-fast  the inner loop: every test but the slow and e2e ones (no lint)"
	@echo "make bench      measure the gateway against same-run baselines (under 10 min)"
	@echo "make bench-quick  the same, reduced (under a minute)"
	@echo "make lint | typecheck | imports | fmt | clean"
	@echo "make config-reference  regenerate config/REFERENCE.md from gateway/settings.py"
	@echo "make promtool-check    alert rules, their unit tests and a real /metrics scrape (promtool)"
	@echo "make container-test    build deploy/Dockerfile with podman and run it end to end"
	@echo "make docs-check        /docs in headless Chromium lists every /openapi.json route"

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/python -m gateway demo --port $(PORT)

sandbox: $(STAMP)
	$(BIN)/python -m gateway sandbox --port 8090

lint: $(STAMP)
	$(BIN)/ruff check gateway lacsandbox tests
	$(BIN)/ruff format --check gateway lacsandbox tests
	$(BIN)/ruff check deploy bench
	$(BIN)/ruff format --check deploy bench

# One run over gateway, lacsandbox, bench, tests and the deploy tools ([tool.mypy] files).
typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

test: lint typecheck imports
	$(BIN)/pytest

# Markers registered in pyproject.toml: e2e (tests/e2e, separate processes), slow (over ~5 s).
test-fast: $(STAMP)
	$(BIN)/pytest -m 'not slow and not e2e'

unit: $(STAMP)
	$(BIN)/pytest tests/unit

BENCH_STAMP := $(VENV)/.bench-stamp

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

# Load comes from wrk when installed (apt-get install wrk), else from bench/loadgen.py.
bench: $(BENCH_STAMP)
	$(BIN)/python -m bench.run

bench-quick: $(BENCH_STAMP)
	$(BIN)/python -m bench.run --quick

.PHONY: config-reference promtool-check container-test docs-check

config-reference: $(STAMP)
	$(BIN)/python deploy/tools/config_reference.py

# promtool comes from Debian's prometheus package; the script installs it when missing (root).
promtool-check: $(STAMP)
	PYTHON=$(BIN)/python bash deploy/promtool-check.sh

# Installs podman, runc and debootstrap when missing (root); storage under .cache/container.
container-test: $(STAMP)
	PYTHON=$(BIN)/python bash deploy/container-test.sh

# Chromium comes from Debian's chromium package; the script installs it when missing (root).
docs-check: $(STAMP)
	PYTHON=$(BIN)/python bash deploy/docs-check.sh

fmt: $(STAMP)
	$(BIN)/ruff format gateway lacsandbox tests deploy bench
	$(BIN)/ruff check --fix gateway lacsandbox tests deploy bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache build *.egg-info
