# Two commands on a fresh machine: `make demo` and `make test`.
# Python: the pinned tensorflow-cpu 2.21.0 has wheels for 3.10-3.13 and pandas 3.1
# needs 3.11 or newer, so 3.11, 3.12 and 3.13 are supported. The first found on PATH
# and runnable (python3.11, then 3.12, 3.13, then python3) is used; choose one with
# `make PYTHON=python3.12 demo` (or a full path, e.g. a pyenv version's bin/python).
SUPPORTED_PYTHONS := 3.11 3.12 3.13
PYTHON ?= $(firstword $(foreach v,$(SUPPORTED_PYTHONS),$(shell python$(v) -c '' >/dev/null 2>&1 && echo python$(v))) python3)
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_ARGS ?= --seed 7
SQLITE_TEST_DB := sqlite://:memory:

.PHONY: venv demo serve test test-newer-python test-sqlite test-postgres lint format bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; ok = (3, 11) <= sys.version_info[:2] <= (3, 13); \
	  sys.exit(not ok and f"$(PYTHON) is Python {sys.version.split()[0]}; 3.11, 3.12 or 3.13 is needed: make PYTHON=python3.12 $(MAKECMDGOALS)")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: venv
	HOST=$(HOST) PORT=$(PORT) DEMO_ARGS="$(DEMO_ARGS)" scripts/demo.sh

# The deployment's process file (deploy/Procfile: web, two workers, beat) run locally
# against PostgreSQL and Redis; see docs/deployment.md. Override the URLs as needed.
serve: venv
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/ecomsite} \
	CELERY_BROKER_URL=$${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0} \
	PORT=$(PORT) scripts/serve.sh

test: venv lint
	$(MANAGE) makemigrations --check --dry-run --settings=ecomsite.settings.test
	$(MAKE) --no-print-directory test-sqlite
	@if [ -n "$$TEST_DATABASE_URL" ]; then $(MAKE) --no-print-directory test-postgres; \
	else echo "TEST_DATABASE_URL is not set: PostgreSQL-only tests were skipped."; fi

test-sqlite: venv
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
	  DATABASE_URL=$(SQLITE_TEST_DB) $(BIN)/pytest -m "not postgres_only" $(PYTEST_ARGS); \
	else DATABASE_URL=$(SQLITE_TEST_DB) $(BIN)/pytest $(PYTEST_ARGS); fi

test-postgres: venv
	DATABASE_URL=$$TEST_DATABASE_URL $(BIN)/pytest -m "postgres or postgres_only" \
	  -p no:cacheprovider $(PYTEST_ARGS)

# A newer supported Python in its own environment (.venv312 by default) and a fast
# subset of the suite: CI runs the whole suite on 3.11 and this on 3.12.
NEWER_PYTHON ?= python3.12
NEWER_VENV ?= .venv312
NEWER_PYTHON_TESTS ?= tests/test_startup_imports.py tests/test_importing.py \
  tests/forecasting/test_charts.py tests/catalog/test_demo_store.py \
  tests/accounts/test_customer_admin.py tests/mlops/test_dashboard.py \
  tests/catalog/test_image_kind.py

test-newer-python: $(NEWER_VENV)/.installed
	DATABASE_URL=$(SQLITE_TEST_DB) $(NEWER_VENV)/bin/pytest -q -p no:cacheprovider \
	  $(NEWER_PYTHON_TESTS) $(PYTEST_ARGS)

$(NEWER_VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(NEWER_VENV)/bin/python || $(NEWER_PYTHON) -m venv $(NEWER_VENV)
	$(NEWER_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: venv
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
