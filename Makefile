# PMM Workbench: every set-up step lives here so that a fresh clone needs only Python 3.11+, git and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
REGION ?= AMS
CYCLE  ?= 2024
PORT   ?= 8888
KEY_FILE ?= $(HOME)/.config/pmm/pseudonym.key

.PHONY: setup bytecode run key test lab docs typecheck system-deps lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,docs,dask]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (pmm)" >/dev/null
	$(BIN)/pmm workshop assets || echo "workshop browser assets not installed (needs npm): the browser tests will install or skip"
	touch $(STAMP)

setup: $(STAMP)

## The package's bytecode (__pycache__, git-ignored), brought up to date: where PYTHONDONTWRITEBYTECODE
## is set (CI, this machine) every fresh process (the runner, each kernel) compiled pmm_lib's 29k lines
## again, 0.6 s of CPU per process. Python still checks each file's source stamp: an edit is never stale.
bytecode: setup
	$(PY) -m compileall -q pmm_lib >/dev/null

## The main job: the Americas and Caribbean methodology run, 2024 cycle, on the bundled data.
run: bytecode key
	PMM_PSEUDONYM_KEY_FILE=$${PMM_PSEUDONYM_KEY_FILE:-$(KEY_FILE)} $(BIN)/pmm run --region $(REGION) --cycle $(CYCLE)

## The secret key of the pseudonyms that public and wco runs need: created once (random, mode 0600)
## outside the repository; set PMM_PSEUDONYM_KEY or PMM_PSEUDONYM_KEY_FILE to use another.
key: setup
	@$(PY) -c "from pmm_lib.reporting.disclosure import create_key_file; create_key_file('$(KEY_FILE)')"

## The whole test suite (also what CI runs): lint, type check, then pytest (tests, the library's
## doctests, the docs site in strict mode).
test: bytecode system-deps
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile

## Debian's chromium for the browser tests (skipped when already there or apt is unavailable).
system-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if command -v apt-get >/dev/null 2>&1; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	    (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null); \
	  else echo "apt-get not found: install chromium by hand for the browser tests"; fi; }

## JupyterLab in the project environment: `make lab PORT=8890`. Notebooks open as .ipynb; the
## jupytext extension saves each one together with its notebooks/NN_*.py source.
lab: bytecode
	$(BIN)/jupyter lab --port=$(PORT) --ServerApp.port_retries=0

## The API reference site (MkDocs Material + mkdocstrings) into site/; strict: a warning fails.
docs: setup
	$(BIN)/mkdocs build --strict --site-dir site

## Static type check of the library (configuration in pyproject.toml [tool.mypy]).
typecheck: setup
	$(BIN)/mypy

lint: setup
	$(BIN)/ruff check .

bench: bytecode
	for b in benchmarks/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) outputs/* data/processed/*
