# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format install install-dev migrate seed clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

## make run: set up and run copsite on the embedded default with demo data
run: seed
	./scripts/run-embedded.sh

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

## make test: set up, lint with ruff, type-check with mypy, run the whole test suite
test: lint
	$(PY) -m pytest -n auto --maxprocesses 4

clean:
	rm -rf $(VENV) var staticfiles

## make bench: copsite beside the peer forums in shared/perf (PostgreSQL, Redis, wrk; ~10 min; see bench/run.sh)
.PHONY: bench
bench: install
	bash bench/run.sh

## make load: 50 members reply, react and read for 2 minutes on gunicorn + PostgreSQL + Redis + a worker; fails if anything is lost (bench/load.py)
.PHONY: load
load: install-dev
	$(PY) bench/load.py
