# Two commands do all the set-up: `make demo` (a tour of the package) and `make test` (everything CI checks).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)

.PHONY: demo test lint types unit bench standin notebooks clean

$(STAMP): pyproject.toml constraints.txt
	scripts/ensure_redis.sh  # the Redis tests and benchmark start a real redis-server
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

demo: $(STAMP)  ## a short tour: real AIsa when AISA_API_KEY is set, otherwise the stand-in gateway
	$(PY) -m aisa_core.cli.demo

test: lint types unit  ## the whole suite: ruff, mypy --strict, pytest (incl. executed notebooks)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

types: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest

bench: $(STAMP)  ## the benchmark: writes bench/results.md
	$(PY) bench/run.py

standin: $(STAMP)  ## run the stand-in gateway in the foreground
	$(VENV)/bin/aisa standin

notebooks: $(STAMP)  ## run every notebook offline against the stand-in and save its outputs, charts included
	$(PY) scripts/run_notebooks.py

clean:
	rm -rf $(VENV) build *.egg-info
