# jamd: two commands do all set-up on a fresh Debian machine.
#   make run    create .venv, install jamd, start it with the default config
#   make test   install what the tests need, run the linters and the whole test suite
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export PYO_GUI_WX := 0

.PHONY: run test lint typecheck contracts pytest bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Until the live daemon exists, `make run` renders a demo song and reports it.
run: $(STAMP)
	$(VENV)/bin/jamd render --genre pop --duration 30 --seed 1 --out demo.wav --midi demo.mid

test: lint typecheck contracts pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

contracts: $(STAMP)
	$(VENV)/bin/lint-imports

pytest: $(STAMP)
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) bench/render.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache demo.wav demo.mid
