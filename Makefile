# The two commands a newcomer types are `make demo` and `make test` (see README.md).
# Everything else here is what they need: a virtualenv with the package and its test extras.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test test-core test-compat lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,demo]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/jupyter-lease demo

# tests/browser/test_lab3.py needs the older stacks' venvs: `make test-compat` builds and runs them.
test: $(BIN)/.installed
	$(BIN)/python -m pytest --ignore=tests/browser/test_lab3.py $(PYTEST_ARGS)

# The suite without the real-browser tests, the minute-long end-to-end runs and the real-Slurm
# tests (they run once, in `make test`; the Slurm parsers are pure and run here too): what CI
# also runs on the oldest and newest Python.
test-core: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not browser and not slow and not slurm" $(PYTEST_ARGS)

# The stacks ModelArts images ship: the core suite on Python 3.7 with the images' kernel pins, and
# the browser tests on JupyterLab 3.6 / jupyter_server 1.24 with that 3.7 kernel (ci/compat.sh).
COMPAT ?= all
test-compat: $(BIN)/.installed
	VENV=$(VENV) ci/compat.sh $(COMPAT)

LINTED := jupyter_lease tests $(wildcard benchmarks)

lint: $(BIN)/.installed
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-* build dist *.egg-info .pytest_cache
