# Two commands do all the set-up:  `make run`  and  `make test`.
# Each creates .venv and installs the project the first time (llama.cpp compiles
# from source then: about 6 minutes on 2 cores, once per environment).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

Q ?= What did Karpathy say about Tesla and Waymo?

.PHONY: run ask test test-fast install bench clean chromium

# The main job on the embedded defaults (no key, no server): the web chat on
# http://127.0.0.1:7860, indexing seeds/ first when the store is empty.
run: $(STAMP)
	$(BIN)/rag serve

ask: $(STAMP)
	$(BIN)/rag ingest
	$(BIN)/rag ask "$(Q)"

# The browser tests drive Debian's Chromium; install it when missing (needs root).
test: $(STAMP) chromium
	$(BIN)/python -m pytest

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "chromium is missing: run 'sudo apt-get install chromium' for the browser tests"; fi; }

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not integration"

bench: $(STAMP)
	$(BIN)/rag bench ingest
	$(BIN)/rag bench retrieval

install: $(STAMP)

# torch is installed first and by exact version: that takes the CPU build, where
# a bare `torch` requirement would pull several GB of CUDA packages.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/python -m pip install --disable-pip-version-check -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) .rag .pytest_cache
