# CommonWatt: `make run` starts the whole platform, `make test` runs the test suite.
# Both install whatever is missing first (scripts/bootstrap.sh) on a fresh Debian machine.
SHELL := /bin/bash
PY := .venv/bin/python
export DJANGO_SETTINGS_MODULE := config.settings
# DEBUG is off unless set (config/settings.py): make's targets are development tools.
export DEBUG ?= 1
# make test runs the suite in this many processes (pytest-xdist), each with its own database
TEST_WORKERS ?= 2

.PHONY: run test lint bench setup setup-test migrate demo clean

setup:
	@scripts/bootstrap.sh

setup-test:
	@scripts/bootstrap.sh --test

migrate: setup
	@mkdir -p var
	@$(PY) manage.py migrate --noinput -v 0

demo: migrate
	@$(PY) manage.py seed_demo

run: demo
	@scripts/run.sh || [ $$? -eq 130 ]  # 130: stopped with Ctrl-C, the normal way out

test: setup-test
	@TESTING=1 $(PY) -m pytest --create-db -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: setup
	@.venv/bin/ruff check .
	@$(PY) manage.py makemigrations --check --dry-run

bench: migrate
	@$(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf .venv node_modules static/vendor var
