# Two commands for a newcomer: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
SITE_URL ?= http://127.0.0.1:$(PORT)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bankfeeds
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: demo test lint install services serve

$(BIN)/activate: requirements/base.txt requirements/dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements/dev.txt
	touch $(BIN)/activate

install: $(BIN)/activate

# `make demo PORT=8100`: everything on http://127.0.0.1:8100 (SITE_URL follows the port).
demo: install
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py demo_seed
	SITE_URL=$(SITE_URL) $(BIN)/python manage.py demo_serve

# What the suite needs besides the venv: Debian's Chromium for the browser tests, and
# PostgreSQL and Redis running (installed or started when missing).
services:
	.ci/services

# The suite in two pytest workers (pytest-xdist, a file's tests in one worker; each worker
# takes a PostgreSQL test database and a Redis database of its own: tests/conftest.py); then
# the checks of every answer the whole run recorded (`after_all`), which read what both
# workers saved to API_ANSWERS_DIR.
test: install services
	rm -rf var/api-answers
	export DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
		API_ANSWERS_DIR=var/api-answers && \
	$(BIN)/pytest -q -m "not after_all" -n 2 --dist loadfile && $(BIN)/pytest -q -m after_all

lint: install
	$(BIN)/ruff check .
