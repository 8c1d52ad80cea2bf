# `make run` sets up and serves the app; `make test` lints, then runs the whole
# suite on SQLite and again on PostgreSQL.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
DEV := AGENCYAPP_ENV=development

.PHONY: install run lint format test test-sqlite test-postgres migrate seed clean bench docs

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(DEV) $(BIN)/flask --app wsgi db upgrade

seed: migrate
	$(DEV) $(BIN)/flask --app wsgi seed-demo

# The task queue's consumer (mail, reminders) runs beside the web server and stops with it.
run: seed
	$(DEV) $(BIN)/huey_consumer agencyapp.tasks.huey -w 1 -q & consumer=$$!; \
	trap 'kill $$consumer 2>/dev/null' EXIT INT TERM; \
	$(DEV) $(BIN)/flask --app wsgi run --host 127.0.0.1 --port 5000

# Lint and format check (ruff, configured in pyproject.toml); `make test` runs it first.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint test-sqlite test-postgres

test-sqlite: install
	$(BIN)/pytest

# Skipped with a message on a machine without PostgreSQL; CI (CI=true) never skips.
test-postgres: install
	@if $(BIN)/python -m tests.pg_available "$(PG_TEST_URL)"; then \
		TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest; \
	elif [ "$$CI" = "true" ]; then \
		echo "PostgreSQL at $(PG_TEST_URL) does not answer: CI requires it" >&2; exit 1; \
	else \
		echo "SKIPPED: PostgreSQL at $(PG_TEST_URL) does not answer; the suite ran on SQLite only."; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache

# Every role's main pages, the autosave and the exports under gunicorn, as ratios to /healthz, with SQL
# counts (needs wrk): make bench [SCALE=2000x10] [DB=postgres] [DURATION=5s]; see docs/performance.md.
bench: install
	bash tests/bench/run.sh

# docs/workflows.md from the lifecycle tables (agencyapp/lifecycles.py); tests/test_workflow_docs.py fails when it is stale.
docs: install
	$(BIN)/python -m agencyapp.workflow_docs
