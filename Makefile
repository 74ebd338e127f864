# Both entry points bootstrap .venv from pyproject.toml on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench soak serve lint fmt clean
RUNS ?= 100
DB ?= sqlite

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) main.py run

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m bench

# the fault harness over many seeds: make soak RUNS=1000 DB=postgresql
soak: $(STAMP)
	$(PY) -m tests.fault.soak --runs $(RUNS) --db $(DB)

serve: $(STAMP)
	$(PY) main.py serve

lint: $(STAMP)
	$(VENV)/bin/ruff check app tests bench main.py
	$(VENV)/bin/ruff format --check app tests bench main.py

fmt: $(STAMP)
	$(VENV)/bin/ruff format app tests bench main.py
	$(VENV)/bin/ruff check --fix app tests bench main.py

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
