# The two commands a newcomer runs: `make demo` and `make test`. Nothing else is needed but Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test setup bench screenshots clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found: install Python 3.11 (or run make PYTHON=/path/to/python3.11)" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/deskterm demo

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/sla.py
	$(BIN)/python benchmarks/import.py
	$(BIN)/python benchmarks/queue.py

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py
	$(BIN)/python scripts/detail_screenshots.py
	$(BIN)/python scripts/place_screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
