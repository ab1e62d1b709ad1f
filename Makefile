# Two commands do everything on a machine with only python3 (3.11+):
#   make serve   - the API on the embedded SQLite database, with a demo store
#   make test    - lint, types, import contracts, drift checks, the whole test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: serve test bench lint typecheck contracts drift pytest schema migrations clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Ladder needs Python 3.11 or newer")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

serve: $(STAMP)
	$(BIN)/ladder serve --demo --open

test: lint typecheck contracts drift pytest

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

drift: $(STAMP)
	$(BIN)/ladder schema export --check
	$(BIN)/ladder migrations check

pytest: $(STAMP)
	$(BIN)/pytest

# The benchmark suite against the local PostgreSQL (LADDER_BENCH_DATABASE_URL);
# seeds a kept `ladder_bench` database on first use. See docs/performance.md.
bench: $(STAMP)
	$(BIN)/python -m bench

# Helpers for developers.
schema: $(STAMP)
	$(BIN)/ladder schema export

migrations: $(STAMP)
	$(BIN)/tortoise -c api.db.TORTOISE_ORM makemigrations

clean:
	rm -rf $(VENV) .ladder .pytest_cache .mypy_cache .ruff_cache
