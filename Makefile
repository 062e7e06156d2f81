# Two commands do everything on a fresh machine:
#   make demo   -- install, then train a DQN on Breakout and serve the dashboard on 127.0.0.1:8050
#   make test   -- install (incl. Chromium for the browser tests), lint and type-check, then run the whole suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
ARGS   ?=
PYTEST_ARGS ?=

.PHONY: demo test lint install system-deps bench clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -c constraints.txt -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/neurodash demo $(ARGS)

system-deps:
	bash .ci/system-deps.sh

# ruff (lint + format) and mypy, configured in pyproject.toml
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(STAMP) system-deps lint
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) bench/throughput.py $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
