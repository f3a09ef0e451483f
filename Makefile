# Entry points: `make run` (the main job), `make test` (the whole suite, documentation included)
# and `make docs` (the documentation site). They create .venv on first use and install the
# package with its test and docs extras.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium
PG_INITDB := /usr/lib/postgresql/15/bin/initdb
# Installing a system package needs root; sudo is used when we are not.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint docs bench clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

run: $(STAMP)
	@echo "The editor: while this serves example.cdb, open another shell and run"
	@echo "    $(BIN)/commitdb editor --host 127.0.0.1 --port 54321"
	@echo "then open http://127.0.0.1:8642/ (or, with the server stopped: $(BIN)/commitdb editor example.cdb)"
	$(BIN)/python -m commitdb run-example --database example.cdb

# The editor's browser tests drive Debian's Chromium.
$(CHROMIUM):
	$(SUDO) apt-get install -y chromium || ($(SUDO) apt-get update && $(SUDO) apt-get install -y chromium)

# The PostgreSQL tests start a throwaway cluster of their own from these binaries: Debian's
# package, installed without creating (or starting) a cluster of its own.
$(PG_INITDB):
	$(SUDO) sh -c "mkdir -p /etc/postgresql-common && (grep -qs '^create_main_cluster' \
	  /etc/postgresql-common/createcluster.conf || echo 'create_main_cluster = false' \
	  >> /etc/postgresql-common/createcluster.conf)"
	$(SUDO) apt-get install -y postgresql || ($(SUDO) apt-get update && $(SUDO) apt-get install -y postgresql)

test: $(STAMP) $(CHROMIUM) $(PG_INITDB)
	$(BIN)/ruff check src tests tools bench examples docs
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests tools bench examples docs

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

bench: $(STAMP)
	$(BIN)/python bench/engine.py

clean:
	rm -rf $(VENV) build site *.egg-info src/*.egg-info
