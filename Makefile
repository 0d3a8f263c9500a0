# LeadFlow developer commands. `make run` and `make test` are the README's quick start.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

# The embedded default: SQLite file, Celery tasks in-process, development mode.
RUN_ENV := DEBUG=true
# Tests run on PostgreSQL and Redis (a real Celery worker for the tests that need one).
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
TEST_ENV := DATABASE_URL=$(TEST_DATABASE_URL) TEST_CELERY_BROKER_URL=redis://127.0.0.1:6379/15
PYTEST_ARGS ?=
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run setup test lint format migrations-check deploy-check worker beat clean

run: setup  ## Set up (venv, install, migrate, demo data) and serve on http://127.0.0.1:8000
	$(RUN_ENV) $(PY) manage.py runserver $(HOST):$(PORT)

setup: $(VENV)/.installed
	$(RUN_ENV) $(PY) manage.py migrate --no-input
	$(RUN_ENV) $(PY) manage.py seed_demo

test: $(VENV)/.installed-dev  ## The whole test suite on PostgreSQL + Redis, with browser tests
	bash scripts/system-deps.sh
	bash scripts/services.sh
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev  ## ruff, migrations in step with models
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(RUN_ENV) $(PY) manage.py makemigrations --check --dry-run

format: $(VENV)/.installed-dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

worker: setup  ## A Celery worker (needs CELERY_BROKER_URL)
	$(PY) -m celery -A leadflow worker --loglevel=INFO

beat: setup  ## Celery beat, the periodic scheduler (needs CELERY_BROKER_URL)
	$(PY) -m celery -A leadflow beat --loglevel=INFO

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "LeadFlow needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PIP) install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles test-artifacts .pytest_cache .ruff_cache
