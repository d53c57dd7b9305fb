# Two commands a newcomer needs: `make demo` and `make test`. Both set up what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test venv system lint typecheck unit bench bench-asterisk clean web

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

system:
	bash scripts/system-packages.sh

web: venv
	bash scripts/build-web.sh

demo: venv web
	mkdir -p var
	$(VENV)/bin/recobro db upgrade
	$(VENV)/bin/recobro demo seed
	$(VENV)/bin/recobro import accounts sample/accounts-demo.csv --campaign demo
	$(VENV)/bin/recobro serve --sim-agents 10

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: venv
	$(VENV)/bin/mypy

test: system venv web
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	RECOBRO_REQUIRE_SERVICES=1 $(VENV)/bin/pytest -q -p no:cacheprovider

bench: venv
	$(PY) bench/import_accounts.py
	$(PY) bench/pacing.py
	$(PY) bench/simulate_speed.py
	$(PY) bench/acd_routing.py
	$(PY) bench/ws_fanout.py
	$(PY) bench/tts.py

bench-asterisk: venv system
	$(PY) bench/asterisk.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
