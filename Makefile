# The two set-up commands of the README: `make serve` and `make test`. Both create the virtual
# environment on first use (Python 3.11+), so a fresh machine needs nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: serve test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

serve: $(VENV)/.installed
	$(VENV)/bin/gondwana serve

# The JavaScript SDK clients the tests drive (skipped, with a message, where node is absent).
tests/js/node_modules/.installed: tests/js/package-lock.json
	if command -v npm >/dev/null; then npm ci --prefix tests/js --no-audit --no-fund --loglevel=error && touch $@; fi

test: $(VENV)/.installed tests/js/node_modules/.installed
	$(PY) -m ruff check $(wildcard src tests benchmarks)
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check $(wildcard src tests benchmarks)
	$(PY) -m ruff format --check $(wildcard src tests benchmarks)

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py

clean:
	rm -rf $(VENV) .gondwana .pytest_cache .ruff_cache
