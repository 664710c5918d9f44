# Developer entry points. Every target works on a fresh clone by itself: the
# first one run creates .venv and installs the project (Python package, npm
# dependencies, built JupyterLab extension); later runs skip that step until
# pyproject.toml or package.json change.
#
#   make test    lint (ruff, black --check) and the pytest suites
#   make demo    export the example project in a temp copy, import it, run its tests
#   make lab     JupyterLab with the extension, on a temp copy of the example
#   make bench   every benchmarks/bench_*.py
#   make lint    ruff, black --check, mypy

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.nbprod-installed
# pytest workers: the machines have two cores; PYTEST_WORKERS=0 runs in one process
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
LINT_PATHS := nbprod tests benchmarks

# Children (hatch-jupyter-builder's jlpm, `jupyter labextension`, subprocesses
# started by the tests) find the venv's tools first, with or without activation.
export PATH := $(abspath $(BIN)):$(PATH)
export PIP_DISABLE_PIP_VERSION_CHECK := 1

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
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/black --check --quiet $(LINT_PATHS)
	$(MAKE) --no-print-directory test-python
	$(MAKE) --no-print-directory test-ui

test-python: $(STAMP)
	$(BIN)/python -m pytest $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS)) $(PYTEST_ARGS)

# Browser tests go here (jest + Galata on Debian's /usr/bin/chromium, installed
# with `apt-get install -y chromium` when missing). Not part of the suite yet.
test-ui: $(STAMP)
	@true

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/black --check $(LINT_PATHS)
	$(BIN)/mypy nbprod

demo: $(STAMP)
	VENV=$(abspath $(VENV)) scripts/demo.sh

lab: $(STAMP)
	VENV=$(abspath $(VENV)) scripts/lab.sh

bench: $(STAMP)
	@shopt -s nullglob; benches=(benchmarks/bench_*.py); \
	if [ $${#benches[@]} -eq 0 ]; then echo "no benchmarks/bench_*.py yet"; fi; \
	for bench in "$${benches[@]}"; do \
		echo "== $$bench"; \
		$(BIN)/python "$$bench"; \
	done

clean-venv:
	rm -rf $(VENV)
