# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
MANAGE := $(PY) manage.py
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_ARGS ?= --seed 7
SQLITE_TEST_DB := sqlite://:memory:

.PHONY: venv demo test test-sqlite test-postgres lint format bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

demo: venv
	HOST=$(HOST) PORT=$(PORT) DEMO_ARGS="$(DEMO_ARGS)" scripts/demo.sh

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
