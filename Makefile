# The two commands a newcomer runs: `make demo` and `make test`. Nothing else is needed but Python 3.11.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast check setup lock upgrade bench screenshots clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found: install Python 3.11 (or run make PYTHON=/path/to/python3.11)" >&2; exit 2; }
	$(PYTHON) -m venv $(VENV)

# The exact tested set: requirements.lock pins every package, the transitive ones too.
$(STAMP): $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/deskterm demo

# The whole suite on TEST_WORKERS processes (pytest-xdist). The CI machine has 2 cores; on 2 workers they were busy
# 76 % of the time (pseudo-terminals, servers and subprocesses are waited for), so a third worker fills the gaps.
# Each worker has its own temporary directories and its own throwaway PostgreSQL server; README "Contributing"
# gives the layers. worksteal: a worker that has run out of tests takes half of what another still has queued.
TEST_WORKERS ?= 3
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=15

# The guardrails (CI runs them before the tests): lint, the import contracts between layers, types, formatting.
# Configured in pyproject.toml; README "Contributing" says what each one catches.
check: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy
	$(BIN)/ruff format --check src tests benchmarks scripts

# The edit loop: stops at the first failure, leaves out the multi-process stress tests and the real-terminal layer.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -x -m "not stress and not pty"

# Rewrites requirements.lock from the newest versions that pyproject.toml accepts (then run make test).
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/python -m pip install --quiet --upgrade pip
	.lockvenv/bin/python -m pip install --quiet -e '.[test]'
	{ echo "# The whole tested set (make lock rewrites it from a fresh venv). pip installs with -c requirements.lock."; \
	  .lockvenv/bin/python -m pip freeze --all --exclude-editable | grep -v '^setuptools=='; } > requirements.lock
	rm -rf .lockvenv

# Moves to the newest versions pyproject.toml accepts, reinstalls from the new lock, and runs the whole suite.
upgrade: lock
	$(MAKE) test

bench: $(STAMP)
	$(BIN)/python benchmarks/sla.py
	$(BIN)/python benchmarks/import.py
	$(BIN)/python benchmarks/queue.py
	$(BIN)/python benchmarks/held_lock.py

screenshots: $(STAMP)
	$(BIN)/python scripts/screenshots.py
	$(BIN)/python scripts/detail_screenshots.py
	$(BIN)/python scripts/place_screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
