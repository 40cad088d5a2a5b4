# Everything runs inside .venv, created on first use; nothing is installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
AUGUR := $(VENV)/.augur

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# augur (Nextstrain), for tests/test_nextstrain.py; installed once, beside the dev extras
$(AUGUR): $(STAMP)
	$(PY) -m pip install --quiet -e '.[augur]'
	touch $(AUGUR)

demo: $(STAMP)
	$(PY) examples/demo.py

test: $(STAMP) $(AUGUR)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q

# the benchmark of docs/performance.md: peers installed, a ~700 MB package generated once
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	test -f benchmarks/out/bench.zip || $(PY) benchmarks/generate.py --genomic-mb 300 \
		--report-mb 400 --seed 1 --out benchmarks/out/bench
	$(PY) benchmarks/run.py --repeat 7 --json benchmarks/out/results.json

lint: $(STAMP)
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info demo-out
