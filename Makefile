# The two commands a newcomer types are `make demo` and `make test` (see README.md).
# Everything else here is what they need: a virtualenv with the package and its test extras.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

# Parallel by default: the suite is mostly waiting (servers, kernels, browsers, a hub, Slurm), so
# six workers on two cores (measured: 4 workers 5 min 30 s, 6 workers 4 min 25 s in one CI run's
# conditions); a test module stays on one worker with its module-scoped servers and clusters.
# `make test XDIST=` runs it in one process.
XDIST ?= -n 6 --dist loadfile

.PHONY: demo test test-core test-compat lint bench clean labextension i18n

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[test,demo]"
	touch $@

# The JupyterLab extension and the cell widget's bundle (jupyter_lease/static/widget.js, from the
# same TypeScript), rebuilt whenever their sources change, and the venv's copy of the extension
# replaced by links into the checkout: JupyterLab, the demo and the browser tests load what
# src/ says now, never an earlier build the editable install copied.
LABEXT := jupyter_lease/labextension
LABEXT_SOURCES := package.json package-lock.json tsconfig.json $(wildcard src/*.ts src/widget/* \
  schema/*.json style/*) $(filter-out jupyter_lease/static/widget.js,$(wildcard jupyter_lease/static/*.js))
VENV_LABEXT := $(VENV)/share/jupyter/labextensions/jupyter-lease

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

$(LABEXT)/package.json: $(LABEXT_SOURCES) node_modules/.package-lock.json
	npm run build --silent
	touch $@

$(VENV_LABEXT)/.linked: $(LABEXT)/package.json $(BIN)/.installed
	mkdir -p $(VENV_LABEXT)
	for entry in $(LABEXT)/*; do rm -rf "$(VENV_LABEXT)/$${entry##*/}"; \
	  ln -s "$(CURDIR)/$$entry" "$(VENV_LABEXT)/$${entry##*/}"; done
	cp install.json $(VENV_LABEXT)/install.json
	touch $@

labextension: $(VENV_LABEXT)/.linked

demo: $(BIN)/.installed labextension
	$(BIN)/jupyter-lease demo

# tests/browser/test_lab3.py needs the older stacks' venvs: `make test-compat` builds and runs them.
test: $(BIN)/.installed labextension
	$(BIN)/python -m pytest --ignore=tests/browser/test_lab3.py $(XDIST) $(PYTEST_ARGS)

# The suite without the real-browser tests, the minute-long end-to-end runs, the real-Slurm and
# the real-JupyterHub tests (they run once, in `make test`; the Slurm parsers and the hub's
# model are pure and run here too): what CI also runs on the oldest and newest Python.
test-core: $(BIN)/.installed
	$(BIN)/python -m pytest -m "not browser and not slow and not slurm and not hub" $(XDIST) $(PYTEST_ARGS)

# The stacks ModelArts images ship: the core suite on Python 3.7 with the images' kernel pins, and
# the browser tests on JupyterLab 3.6 / jupyter_server 1.24 with that 3.7 kernel (ci/compat.sh).
COMPAT ?= all
test-compat: $(BIN)/.installed
	VENV=$(VENV) ci/compat.sh $(COMPAT)

LINTED := jupyter_lease tests $(wildcard benchmarks)

lint: $(BIN)/.installed
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

# The zh_CN catalogue, .po -> .mo (Python) and .json (JupyterLab); the compiled files are
# committed and tests/test_i18n.py checks they match the .po.
i18n: $(BIN)/.installed
	$(BIN)/python ci/catalogue.py

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .venv-* build dist *.egg-info .pytest_cache
