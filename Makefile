# The entry point for everything: each target bootstraps its own .venv.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: demo test lint docs bench services system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,spark,docs]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/custodes demo

# Debian packages the tests need: PostgreSQL server and client tools, wrk for load tests,
# a Java runtime for the local-Spark detection test, Chromium for the browser tests
# (driven by Python Playwright through executable_path; never `playwright install`).
system-deps:
	@missing=""; \
	command -v pg_ctlcluster >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v pg_isready >/dev/null 2>&1 || missing="$$missing postgresql-client"; \
	command -v wrk >/dev/null 2>&1 || missing="$$missing wrk"; \
	command -v java >/dev/null 2>&1 || missing="$$missing openjdk-17-jre-headless"; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# PostgreSQL at 127.0.0.1:5432 (trust auth): start it when it is down.
services: system-deps
	@pg_isready -q -h 127.0.0.1 -p 5432 || \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n 1) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; \
	  echo "PostgreSQL did not start" >&2; exit 1

test: $(STAMP) services
	CUSTODES_REQUIRE_PG=1 $(BIN)/python -m pytest -n $(PYTEST_WORKERS) -p no:cacheprovider

# Lint is the contract of docs/architecture.md: style and format, strict types, the layering
# (import-linter) and the size rules (tools/shape.py).
lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python tools/shape.py src/custodes

# The documentation site: the dataset-format page is generated from the code first, so it cannot
# drift; strict mode turns every warning (a broken link, a page missing from nav) into a failure.
docs: $(STAMP)
	$(BIN)/python docs/gen_dataset_format.py docs/dataset-format.md
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

bench: $(STAMP) services
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .custodes .custodes-demo .pytest_cache .ruff_cache build/site
