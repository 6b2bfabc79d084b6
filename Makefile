# Two entry points, both safe to run on a fresh machine and again and again:
#   make serve   install everything (default model included) and start the server
#   make test    install everything the tests need and run the whole suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
ZHIYAN := $(VENV)/bin/zhiyan
STAMP := $(VENV)/.installed

.PHONY: serve test lint system-deps models-test clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

serve: $(STAMP)
	$(ZHIYAN) model install default
	$(ZHIYAN) serve

system-deps:
	bash scripts/install-system-deps.sh

models-test: $(STAMP)
	$(ZHIYAN) model install tiny
	$(ZHIYAN) model install default

test: system-deps models-test
	$(VENV)/bin/ruff check src tests benchmarks
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) var .pytest_cache
