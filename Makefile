# The set-up commands: `make demo` (meshview fed by a simulated mesh), `make run` and `make test`.
# Each builds what it needs first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TEST_DATA := $(CURDIR)/.test-data
POSTGRES_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/meshview
FRONTEND_SOURCES := $(shell find frontend/src frontend/index.html frontend/package.json frontend/vite.config.* -type f 2>/dev/null)

.PHONY: demo run test lint

demo: $(VENV)/.installed frontend/dist/index.html
	$(PY) manage.py serve --demo $(ARGS)

run: $(VENV)/.installed frontend/dist/index.html
	$(PY) manage.py serve $(ARGS)

# The whole suite on SQLite, then every database test again on PostgreSQL.
test: $(VENV)/.installed frontend/dist/index.html
	rm -rf $(TEST_DATA) && mkdir -p $(TEST_DATA)/sqlite $(TEST_DATA)/postgres
	MESHVIEW_DATA_DIR=$(TEST_DATA)/sqlite $(PY) -m pytest $(PYTEST_ARGS)
	MESHVIEW_DATA_DIR=$(TEST_DATA)/postgres DATABASE_URL=$(POSTGRES_TEST_URL) $(PY) -m pytest -m django_db $(PYTEST_ARGS)
	cd frontend && npm test

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy meshview

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

frontend/dist/index.html: frontend/package-lock.json $(FRONTEND_SOURCES)
	cd frontend && npm ci --no-audit --no-fund && npm run build

# The application's pinned dependencies with hashes, for the Dockerfile and the wheel's CI test.
requirements.lock: pyproject.toml
	$(VENV)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--custom-compile-command "make requirements.lock" --quiet -o $@
