# The two commands a newcomer needs: `make run` and `make test`. Each sets up what it needs itself.
SHELL := /bin/bash
PY := .venv/bin/python
PORT ?= 7071
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup system-deps browser-deps bench-deps run test check lint typecheck unit integration e2e faults bench smoke clean conformance config-doc

setup: .venv/.stamp node_modules/.stamp system-deps browser-deps

.venv/.stamp: requirements.txt requirements-dev.txt requirements-worker.txt
	test -x $(PY) || python3 -m venv .venv
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# checkov pins its own dependency tree, so it lives in a venv of its own.
.venv-checkov/.stamp: requirements-checkov.txt
	test -x .venv-checkov/bin/python || python3 -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install -q --disable-pip-version-check -r requirements-checkov.txt
	touch $@

node_modules/.stamp: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# unixODBC + the SQLite ODBC driver: pyodbc is tested through a real driver. Installed when root.
system-deps:
	@if ! odbcinst -q -d 2>/dev/null | grep -q SQLite3; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq unixodbc libsqliteodbc >/dev/null; \
	  else echo "note: install unixodbc and libsqliteodbc for the ODBC tests (they skip without them)"; fi; \
	fi

# Debian's chromium + its driver: the browser tests of /explorer and /v1/docs (selenium). Installed when root.
browser-deps:
	@if ! { [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; }; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else echo "note: install chromium and chromium-driver for the browser tests (they skip without them)"; fi; \
	fi

# devhost judges the app with the real worker's indexing checks when ../shared/tools has the worker.
run: .venv/.stamp
	@$(PY) -m devhost.real_worker >/dev/null 2>&1 || true
	PORT=$(PORT) $(PY) -m devhost

lint: .venv/.stamp
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: .venv/.stamp
	$(PY) -m mypy function_app.py api orchestrations activities core domain stores devhost localdev ops bench tests

# Two xdist workers, each test file whole on one; what all share is built once (tests/support/xdist_once.py).
test: setup .venv-checkov/.stamp lint typecheck
	$(PY) -m pytest -n 2 --dist loadfile

# The fast tier: lint, types and tests/unit (no process, server or socket there). Under a minute.
check: lint typecheck
	$(PY) -m pytest tests/unit -q

unit: setup
	$(PY) -m pytest tests/unit

integration: setup
	$(PY) -m pytest tests/integration

e2e: setup
	$(PY) -m pytest tests/e2e

# The real Azure Functions Python worker against devhost (needs ../shared/tools; `make test` runs it too).
conformance: .venv/.stamp
	$(PY) -m devhost.real_worker
	$(PY) -m pytest tests/conformance

# The fault matrix (faults x stores x read/materialize), printed; `make test` runs the same cells.
faults: setup
	$(PY) -m tests.faults

# wrk is the load client of choice (C, light on the shared cores); without it the bench uses aiohttp.
bench-deps:
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; } || echo "note: no wrk, using aiohttp"

bench: .venv/.stamp bench-deps
	$(PY) -m bench

# Post-deploy check of a running instance through its public API: make smoke URL=https://... KEY=<reader key>
smoke: .venv/.stamp
	@test -n "$(URL)" -a -n "$(KEY)" || { echo "usage: make smoke URL=<base url> KEY=<reader API key>"; exit 2; }
	$(PY) -m ops.smoke --url="$(URL)" --key="$(KEY)"

# docs/configuration.md from the descriptions of core/settings.py (tests/unit/localdev fails when it is stale).
config-doc:
	$(PY) -m localdev.configuration_doc

clean:
	rm -rf .data .bench .conformance .pytest_cache .mypy_cache .ruff_cache
