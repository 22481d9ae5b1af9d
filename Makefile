# Cellar: `make run` serves the demo shop, `make test` runs the suite, both from a
# fresh clone. Everything the project needs is installed into .venv from here.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: run test lint format bench install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# axe-core, which the browser tests inject into pages (package-lock.json pins it)
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "test: install npm (apt-get install npm)"; exit 1; }
	npm ci --no-audit --no-fund --silent
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev node_modules/.installed

run: export SITE_URL ?= http://$(HOST):$(PORT)
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo_data
	@echo "Shop:  $(SITE_URL)/"
	@echo "Admin: $(SITE_URL)/admin/ (login printed above)"
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	DJANGO_SETTINGS_MODULE=cellar.settings.dev $(BIN)/python manage.py check
	DJANGO_SETTINGS_MODULE=cellar.settings.dev $(BIN)/python manage.py makemigrations --check --dry-run

# The load benchmark (bench/run.py): needs wrk (Debian's package) and, for the
# figures in the README, DATABASE_URL (PostgreSQL) and REDIS_URL.
bench: install
	@command -v wrk >/dev/null || { echo "bench: install wrk (apt-get install wrk)"; exit 1; }
	$(BIN)/python -m bench.run $(BENCH_ARGS)

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache node_modules
