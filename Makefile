# The two set-up commands of the README: `make serve` and `make test`. Both create the virtual
# environment on first use (Python 3.11+), so a fresh machine needs nothing else.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: serve test lint bench soak drill clean

$(VENV)/.installed: pyproject.toml $(wildcard src/gondwana/*/_*.c)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

# Byte-compiled as an installed package is (an editable install is not; with
# PYTHONDONTWRITEBYTECODE set, every start would compile the whole package again).
serve: $(VENV)/.installed
	$(PY) -m compileall -q src
	$(VENV)/bin/gondwana serve

# The JavaScript SDK clients the tests drive (skipped, with a message, where node is absent).
tests/js/node_modules/.installed: tests/js/package-lock.json
	if command -v npm >/dev/null; then npm ci --prefix tests/js --no-audit --no-fund --loglevel=error && touch $@; fi

test: $(VENV)/.installed tests/js/node_modules/.installed
	$(PY) -m ruff check $(wildcard src tests benchmarks soak)
	$(PY) -m pytest

lint: $(VENV)/.installed
	$(PY) -m ruff check $(wildcard src tests benchmarks soak)
	$(PY) -m ruff format --check $(wildcard src tests benchmarks soak)

bench: $(VENV)/.installed
	$(PY) benchmarks/run.py

# The durability soak (README): kill -9 under load, again and again, and check every acknowledged
# operation. Options: make soak SOAK_ARGS="--minutes 30 --kills-per-minute 6 --seed 7".
SOAK_ARGS ?= --minutes 5
soak: $(VENV)/.installed
	$(PY) soak/run.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .gondwana .pytest_cache .ruff_cache

# The disaster-recovery drill of article 3, end to end: a throwaway server (in memory, port 4599),
# a global table in two regions, an outage of the primary, failover, heal, and the report
# (drill-report.json, drill-lag.png).
drill: $(VENV)/.installed
	@$(VENV)/bin/gondwana serve --port 4599 --in-memory --log-level warning & pid=$$!; \
	trap "kill $$pid" EXIT; \
	for i in $$(seq 50); do $(PY) -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:4599/_gondwana/health')" 2>/dev/null && break; sleep 0.1; done; \
	$(VENV)/bin/gondwana drill dynamodb-global-table --endpoint http://127.0.0.1:4599 --json drill-report.json --plot drill-lag.png
