# Developer entry points. Every target works on a fresh clone by itself: the
# first one run creates .venv and installs the project (Python package, npm
# dependencies, built JupyterLab extension); later runs skip that step until
# pyproject.toml or package.json change.
#
#   make test    lint (ruff, black --check, mypy, the layer contract), the pytest
#                suites, jest and the browser tests
#   make demo    export the example project in a temp copy, import it, run its tests
#   make lab     JupyterLab with the extension, on a temp copy of the example
#   make bench   every benchmarks/bench_*.py
#   make lint    ruff, black --check, mypy, the layer contract (lint-imports)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.nbprod-installed
# pytest workers (pytest-xdist): two, for the two cores (the whole suite: 86 s with
# -n 2, 149 s in one process); PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
LINT_PATHS := nbprod tests benchmarks scripts

# Children (hatch-jupyter-builder's jlpm, `jupyter labextension`, subprocesses
# started by the tests) find the venv's tools first, with or without activation.
export PATH := $(abspath $(BIN)):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# npm installs (also the one pip's build hook runs) never download a browser
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: help install test test-python test-ui lint demo lab bench clean-venv

help:
	@echo "make test | demo | lab | bench | lint   (the first run installs into $(VENV))"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# `pip install -e` runs hatch-jupyter-builder, which runs `jlpm install` and the
# extension build with the jlpm of the isolated build environment (jupyterlab is
# a build requirement); `labextension develop` links the built assets into the venv.
# jupyterlab itself is only a build requirement of the package, so it is installed
# here for `labextension develop`, `make lab` and the server tests.
$(STAMP): pyproject.toml package.json | $(BIN)/python
	$(BIN)/python -m pip install -e '.[test]' 'jupyterlab>=4.2,<5'
	@# `develop` needs nbprod._jupyter_labextension_paths(); until the package has
	@# it, the editable wheel's shared-data copy of the built extension is what lab loads.
	if $(BIN)/python -c "import nbprod, sys; sys.exit(not hasattr(nbprod, '_jupyter_labextension_paths'))"; then \
		$(BIN)/jupyter labextension develop --overwrite . ; \
	else \
		echo "note: nbprod has no _jupyter_labextension_paths(); skipped 'jupyter labextension develop'"; \
	fi
	touch $@

install: $(STAMP)

test: $(STAMP)
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory test-ui

# The run tests press Ctrl-C on the runs they start. A shell that starts make in the
# background without job control (nohup, `cmd &` in a script, some CI runners) leaves
# SIGINT ignored, every child inherits that, and a Python started that way never sees
# a KeyboardInterrupt; so pytest starts with SIGINT's default handler back in place.
PYTEST := $(BIN)/python -c "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); import pytest; sys.exit(pytest.main())"

# The history tests run against a real PostgreSQL server as well as SQLite
# (tests/helpers/postgres.py starts one on a temporary folder): Debian's
# postgresql comes from apt when it is missing (its default cluster is not used).
POSTGRES_INITDB ?= $(firstword $(wildcard /usr/lib/postgresql/*/bin/initdb))
POSTGRES_STAMP := $(if $(POSTGRES_INITDB),,postgres-install)

.PHONY: postgres-install
postgres-install:
	@echo "== installing Debian's postgresql for the history tests"
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq --no-install-recommends postgresql

test-python: $(STAMP) $(POSTGRES_STAMP)
	$(PYTEST) $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS)) $(PYTEST_ARGS)

# The extension's tests: jest (TypeScript logic) and Galata browser tests on
# Debian's Chromium against a real `jupyter lab` serving a temp copy of
# examples/churn (tests/ui/). Nothing downloads a browser: Playwright's download
# is off and Chromium comes from apt when it is missing.
CHROMIUM ?= /usr/bin/chromium
NODE_STAMP := node_modules/.nbprod-installed
EXT_BUILT := nbprod/labextension/package.json
EXT_SOURCES := $(wildcard labextension/src/*.ts labextension/style/* labextension/schema/*) package.json tsconfig.json
UI_ARGS ?=

$(CHROMIUM):
	@echo "== installing Debian's chromium for the browser tests"
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(if $(filter 0,$(shell id -u)),,sudo) apt-get install -y -qq chromium

$(NODE_STAMP): package.json yarn.lock | $(STAMP)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(BIN)/jlpm install
	touch $@

$(EXT_BUILT): $(EXT_SOURCES) | $(NODE_STAMP)
	$(BIN)/jlpm build
	touch $@

test-ui: $(STAMP) $(NODE_STAMP) $(EXT_BUILT) | $(CHROMIUM)
	$(BIN)/jlpm test
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 CHROMIUM=$(CHROMIUM) VENV=$(abspath $(VENV)) \
		$(BIN)/jlpm test:ui $(UI_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/black --check --quiet $(LINT_PATHS)
	$(BIN)/mypy nbprod
	$(BIN)/lint-imports

demo: $(STAMP)
	VENV=$(abspath $(VENV)) scripts/demo.sh

lab: $(STAMP)
	VENV=$(abspath $(VENV)) scripts/lab.sh

# nbdev is what bench_export compares against; only the benchmarks need it.
bench: $(STAMP)
	$(BIN)/python -c "import nbdev" 2>/dev/null || $(BIN)/python -m pip install -q 'nbdev>=2.3'
	@shopt -s nullglob; benches=(benchmarks/bench_*.py); \
	for bench in "$${benches[@]}"; do \
		echo "== $$bench"; \
		$(BIN)/python "$$bench"; \
	done

clean-venv:
	rm -rf $(VENV)
