# The two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test prod-smoke install assets services bench lint messages clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed assets

assets: node_modules/.installed

## make demo: embedded SQLite, demo data, site on 127.0.0.1:8000 with Celery worker and beat.
demo: install
	DEBUG=1 $(PY) manage.py migrate --no-input -v 0
	DEBUG=1 $(PY) manage.py load_demo
	DEBUG=1 $(PY) manage.py serve_demo

## make test: lint, import contracts, types, then the whole suite on a throwaway PostgreSQL and Redis
## started here (the browser tests in a second run beside it), and again on SQLite (the demo's database)
## for the paths whose SQL differs by database and the demo's pages (tests/conftest.py SQLITE_TOO); then
## the production processes (prod-smoke).
test: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy
	.ci/services start
	eval "$$(.ci/services env)" && $(PY) manage.py makemigrations --check --dry-run -v 0 --settings=tests.settings
	@# Beside the PostgreSQL run, on the other core: the browser tests (their own database and Redis
	@# database, so neither run sees the other's rows, cache or queues), the SQLite run, prod-smoke.
	@mkdir -p .tmp; \
	( eval "$$(.ci/services env)"; \
	  DATABASE_URL=$${DATABASE_URL%/*}/jijiao_browser REDIS_URL=$${REDIS_URL%/*}/2 VAR_DIR=$(CURDIR)/.tmp/var-browser \
	    $(PY) -m pytest -q --durations=5 -m browser $(PYTEST_ARGS); browser=$$?; \
	  env -u DATABASE_URL -u REDIS_URL VAR_DIR=$(CURDIR)/.tmp/var-sqlite $(PY) -m pytest -q -m "sqlite and not browser and not celery" $(PYTEST_ARGS) \
	  && $(MAKE) --no-print-directory prod-smoke; [ $$? = 0 ] && [ $$browser = 0 ] ) > .tmp/test-beside.log 2>&1 & beside=$$!; \
	eval "$$(.ci/services env)" && $(PY) -m pytest --durations=15 -m "not browser" $(PYTEST_ARGS); postgres=$$?; \
	wait $$beside; others=$$?; \
	echo "----- the browser tests, the SQLite run, then make prod-smoke"; cat .tmp/test-beside.log; \
	[ $$postgres = 0 ] && [ $$others = 0 ]

## make prod-smoke: docker-compose.yml's processes (.ci/process) on loopback with production settings,
## driven end to end: /healthz, log in, select a course, a notice through the workers, Redis down -> 503.
prod-smoke: install
	$(PY) .ci/prod_smoke.py

services:
	.ci/services start

bench: install services
	eval "$$(.ci/services env)" && $(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/mypy

messages: install
	DEBUG=1 $(PY) manage.py makemessages -l en --ignore=.venv --ignore=node_modules --ignore=tests --ignore=bench --ignore=static/vendor
	DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv

clean:
	.ci/services stop
	rm -rf $(VENV) node_modules .tmp demo.sqlite3 var
