# Every step of the tutorial is a target here; `make` alone lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
PYPY ?= pypy3
CPYTHON_VENV := .venv/cpython
PYPY_VENV := .venv/pypy
CPYTHON := $(CPYTHON_VENV)/bin/python
PYPY_PYTHON := $(PYPY_VENV)/bin/python
PIP_INSTALL := -m pip install --quiet --disable-pip-version-check
CYTHON_DIR := cython-optimized
CYTHON_SOURCES := $(CYTHON_DIR)/fib_cython.pyx $(CYTHON_DIR)/fib_pure.py $(CYTHON_DIR)/setup.py \
	$(CYTHON_DIR)/cython_build_flags.py $(CYTHON_DIR)/build_timing.py
# What also runs under PyPy; the HTTP suite starts the PyPy servers from the CPython run.
PYPY_TESTS := tests/test_app_in_process.py tests/test_fib_cython.py tests/test_fib_pure.py \
	tests/test_fraud_engine.py tests/test_scoring_in_process.py tests/test_tcp_nodelay.py \
	tests/test_turn_budget.py

.PHONY: help setup system-packages run-baseline run-cython run-pypy run-pypy-cython \
	run-scoring run-scoring-cython run-scoring-cython-typed run-scoring-mypyc run-scoring-pypy \
	run-scoring-pypy-lean run-baseline-cpython3.12 run-baseline-cpython3.13 other-cpythons \
	build-scoring profile bench bench-quick bench-article soak docker-check test test-cpython \
	test-pypy lint clean

# Extra options for the harness, e.g. make bench BENCH_ARGS="--variants baseline,pypy --n 20,30"
BENCH_ARGS ?=

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9.-]+:.*## / {printf "  make %-26s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

SETUP_PARTS := system-packages $(CPYTHON_VENV)/.installed $(PYPY_VENV)/.installed \
	$(CPYTHON_VENV)/.import-paths $(PYPY_VENV)/.import-paths \
	$(CYTHON_DIR)/build/cpython.stamp $(CYTHON_DIR)/build/pypy.stamp build-scoring

setup: $(SETUP_PARTS) ## install everything: Debian packages, both environments, both builds

system-packages: ## install missing Debian packages (pypy3 pypy3-venv pypy3-dev wrk ...) as root
	@PYTHON=$(PYTHON) bash scripts/ensure-system-packages.sh

CPYTHON_REQUIREMENTS := $(CYTHON_DIR)/requirements.txt requirements-dev.txt benchmarks/requirements.txt \
	case-study/requirements.txt
PYPY_BUILD_REQUIREMENTS := pypy-deployment/requirements-build.txt
PYPY_REQUIREMENTS := pypy-deployment/requirements.txt pypy-deployment/requirements-dev.txt \
	benchmarks/requirements-pypy.txt

$(CPYTHON_VENV)/.installed: baseline/requirements.txt $(CPYTHON_REQUIREMENTS) | system-packages
	@$(PYTHON) scripts/check-python.py $(PYTHON)
	@echo "Creating the CPython environment in $(CPYTHON_VENV)"
	$(PYTHON) -m venv --clear $(CPYTHON_VENV)
	$(CPYTHON) $(PIP_INSTALL) $(addprefix -r ,$(CPYTHON_REQUIREMENTS))
	@touch $@

# httptools has no PyPy wheel: it is built from source with the pinned setuptools installed first
# (--no-build-isolation), not with whatever setuptools an isolated build would download.
$(PYPY_VENV)/.installed: $(PYPY_BUILD_REQUIREMENTS) $(PYPY_REQUIREMENTS) | system-packages
	@echo "Creating the PyPy environment in $(PYPY_VENV)"
	$(PYPY) -m venv --clear $(PYPY_VENV)
	$(PYPY_PYTHON) $(PIP_INSTALL) -r $(PYPY_BUILD_REQUIREMENTS)
	$(PYPY_PYTHON) $(PIP_INSTALL) --no-build-isolation $(addprefix -r ,$(PYPY_REQUIREMENTS))
	@touch $@

# One .pth file puts the repository and its module folders on each environment's import path, so
# `import baseline.baseline_app`, `import benchmarks`, `import variants`, `import cython_app` and
# `import docker_check` work from any directory, with no sys.path or PYTHONPATH edits (hyphenated
# folders cannot be packages). baseline/ is on it too, for the short `uvicorn baseline_app:app`.
IMPORT_PATHS := $(CURDIR)\n$(CURDIR)/baseline\n$(CURDIR)/cython-optimized\n$(CURDIR)/pypy-deployment\n$(CURDIR)/case-study\n
.venv/%/.import-paths: .venv/%/.installed Makefile
	.venv/$*/bin/python -c 'import pathlib, sysconfig; \
		pathlib.Path(sysconfig.get_paths()["purelib"], "fastapi_hot_paths.pth").write_text("$(IMPORT_PATHS)")'
	@touch $@

# Each interpreter gets its own build of the same sources (the file names differ by ABI suffix),
# in place as the apps import them; build_timing.py then builds them once more from scratch in a
# temporary folder and records how long Cython and the C compiler each took.
$(CYTHON_DIR)/build/%.stamp: $(CYTHON_SOURCES) .venv/%/.installed .venv/%/.import-paths
	@echo "Building fib_cython and fib_pure for $*"
	cd $(CYTHON_DIR) && ../.venv/$*/bin/python setup.py --quiet build_ext --inplace --build-temp build/temp-$*
	cd $(CYTHON_DIR) && ../.venv/$*/bin/python build_timing.py --interpreter ../.venv/$*/bin/python --out build/$*.timing.json
	@touch $@

run-baseline: setup ## serve the baseline (CPython, pure Python) on 127.0.0.1:8000
	@$(CPYTHON) serve.py baseline

run-cython: setup ## serve the Cython variant (CPython) on 127.0.0.1:8001
	@$(CPYTHON) serve.py cython

run-pypy: setup ## serve the baseline app under PyPy on 127.0.0.1:8002
	@$(CPYTHON) serve.py pypy

run-pypy-cython: setup ## serve the Cython app under PyPy on 127.0.0.1:8003
	@$(CPYTHON) serve.py pypy-cython

run-scoring: setup ## serve the case study's scoring service as written (CPython) on 127.0.0.1:8010
	@$(CPYTHON) serve.py scoring

run-scoring-cython: setup ## the scoring service, its engine compiled by Cython, on 127.0.0.1:8011
	@$(CPYTHON) serve.py scoring-cython

run-scoring-cython-typed: setup ## the same with the typed engine (Cython) on 127.0.0.1:8012
	@$(CPYTHON) serve.py scoring-cython-typed

run-scoring-mypyc: setup ## the same with the typed engine compiled by mypyc on 127.0.0.1:8013
	@$(CPYTHON) serve.py scoring-mypyc

run-scoring-pypy: setup ## the scoring service as written, under PyPy, on 127.0.0.1:8014
	@$(CPYTHON) serve.py scoring-pypy

run-scoring-pypy-lean: setup ## under PyPy, the request checked in plain Python, on 127.0.0.1:8015
	@$(CPYTHON) serve.py scoring-pypy-lean

# The baseline on newer CPythons, where they are installed (python3.12/3.13 on PATH or in pyenv):
# not part of setup, since a fresh machine has neither; the article check needs them.
other-cpythons: $(CPYTHON_VENV)/.import-paths ## environments for CPython 3.12 and 3.13 where installed
	@bash scripts/ensure-other-cpythons.sh

run-baseline-cpython3.12: setup other-cpythons ## the baseline on CPython 3.12 on 127.0.0.1:8020
	@$(CPYTHON) serve.py baseline-cpython3.12

run-baseline-cpython3.13: setup other-cpythons ## the baseline on CPython 3.13 on 127.0.0.1:8021
	@$(CPYTHON) serve.py baseline-cpython3.13

# The case study's compiled engine flavours (CPython only; the plain package needs no build).
# build_engines.py rebuilds only what changed (a run with nothing to do takes a fraction of a
# second), so make runs it every time.
build-scoring: $(CPYTHON_VENV)/.import-paths ## compile the case study's engine flavours
	$(CPYTHON) case-study/build_engines.py

build-scoring-%: $(CPYTHON_VENV)/.import-paths
	$(CPYTHON) case-study/build_engines.py --flavour $*

# Where one worker's CPU goes under the benchmark's load (benchmarks/profiling.py): py-spy on
# CPython, vmprof on PyPy; files in benchmarks/results/scratch/profiles/ unless PROFILE_ARGS says
# --out DIR (the case study's reference profile: PROFILE_ARGS="--out case-study/profiles").
VARIANT ?= scoring
PROFILE_ARGS ?=

profile: setup ## profile one variant under load: make profile VARIANT=scoring-pypy
	$(CPYTHON) -m benchmarks.profiling $(VARIANT) $(PROFILE_ARGS)

bench: setup ## verify and measure every variant; a complete run replaces the reference results
	$(CPYTHON) -m benchmarks run $(BENCH_ARGS)

bench-quick: setup ## a short smoke run; writes to benchmarks/results/scratch/, not the reference
	$(CPYTHON) -m benchmarks run --quick $(BENCH_ARGS)

# Extra options for the article check, e.g. make bench-article ARTICLE_ARGS="--quick"
ARTICLE_ARGS ?=

bench-article: setup other-cpythons ## measure the article's claims on this machine (README: Checking the article)
	$(CPYTHON) -m benchmarks.article $(ARTICLE_ARGS)

# Extra options for the reliability runs, e.g. make soak SOAK_ARGS="--quick --variants baseline"
SOAK_ARGS ?=

soak: setup ## reliability under sustained load on every variant (README: Reliability)
	$(CPYTHON) -m benchmarks.soak $(SOAK_ARGS)

docker-check: setup ## check the Docker files without an engine (and build them where one runs)
	$(CPYTHON) pypy-deployment/docker_check.py

lint: setup ## ruff: lint and formatting
	$(CPYTHON) -m ruff check .
	$(CPYTHON) -m ruff format --check .

test-pypy: setup ## the in-process tests under PyPy
	$(PYPY_PYTHON) -m pytest $(PYPY_TESTS)

test-cpython: setup other-cpythons ## every test under CPython, including real servers of every variant
	$(CPYTHON) -m pytest

test: lint docker-check test-pypy test-cpython ## everything: set-up, lint, Docker checks, both test runs

clean: ## remove the environments and everything the build made
	rm -rf .venv $(CYTHON_DIR)/build $(CYTHON_DIR)/fib_cython.c $(CYTHON_DIR)/fib_pure.c $(CYTHON_DIR)/*.so
	rm -rf .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
