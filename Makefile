PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8037
DATA ?= ./data
# Test processes: a test spends much of its time waiting on servers and subprocesses, so
# four share two cores well (4 min 20 s against 4 min 50 s with three), and an idle one
# takes queued tests from a busy one (--dist worksteal: the long tests left no tail);
# make test TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 4

.PHONY: install serve test lint bench schema clean

# --no-compile: pip would compile every installed module to bytecode (half the install's
# time: 54 s against 23 s here), most of them never imported; the first import of a module
# writes its bytecode instead (the targets below allow it where the environment does not).
$(BIN)/agentloom: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-compile -e '.[dev]'
	touch $(BIN)/agentloom

# GraphiQL's browser files (served at /graphql), pinned by explorers/web/package-lock.json.
explorers/web/node_modules: explorers/web/package.json explorers/web/package-lock.json
	cd explorers/web && npm ci --no-audit --no-fund --silent
	touch explorers/web/node_modules

tests/js/node_modules: tests/js/package.json tests/js/package-lock.json
	cd tests/js && npm ci --no-audit --no-fund --silent
	touch tests/js/node_modules

install: $(BIN)/agentloom explorers/web/node_modules tests/js/node_modules

# Seed 003's front end (a local single-user app that sends no login, README "local mode"):
#   make serve PORT=5200 LOCAL_USER=me CORS_ORIGINS=http://localhost:5173
# LOCAL_USER lets credential-less loopback requests act as that user: never on a shared host.
serve: $(BIN)/agentloom explorers/web/node_modules
	PYTHONDONTWRITEBYTECODE= \
	$(if $(LOCAL_USER),AGENTLOOM_LOCAL_USER=$(LOCAL_USER)) \
	$(if $(CORS_ORIGINS),AGENTLOOM_CORS_ORIGINS=$(CORS_ORIGINS)) \
	$(BIN)/agentloom serve --host $(HOST) --port $(PORT) --data-dir $(DATA)

# mypy runs beside the tests (they leave part of the two cores idle while they wait on
# servers); its report follows theirs, and either failing fails the target. Bytecode is
# written even where the environment says not to (PYTHONDONTWRITEBYTECODE=1 here): every
# server and worker process a test starts would compile the app again (0.6 s of CPU each).
test: install
	$(BIN)/ruff check .
	@report=$$(mktemp); $(BIN)/mypy > $$report 2>&1 & checker=$$!; \
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=25; \
	tests=$$?; wait $$checker; types=$$?; echo "$(BIN)/mypy"; cat $$report; rm -f $$report; \
	test $$tests -eq 0 -a $$types -eq 0

lint: $(BIN)/agentloom
	$(BIN)/ruff check .

# Each benchmark checks its runs completed with the right output; figures go to the README.
bench: install
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/fanout_floor.py
	$(BIN)/python bench/knowledge.py
	$(BIN)/python bench/request_log.py
	$(BIN)/python bench/recovery.py

schema: $(BIN)/agentloom
	$(BIN)/agentloom export-schema > schema.graphql

clean:
	rm -rf $(VENV) tests/js/node_modules explorers/web/node_modules
