# Two commands do everything: `make demo` and `make test` (see README.rst).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MODULES := crm_plus crm_plus_sale crm_plus_service crm_plus_finance
STAMP := $(VENV)/.installed

.PHONY: env system demo demo-mail test test-sqlite test-postgresql test-browser lint bench po-export clean

env: $(STAMP)

$(STAMP): setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,postgresql,dev,demo]'
	touch $@

system:
	bash tools/system_packages.sh

demo: env system
	$(PY) tools/demo.py

demo-mail: env
	$(PY) tools/demo.py --mail

test: env system
	$(PY) tools/run_tests.py

test-sqlite: env
	$(PY) tools/run_tests.py --backend sqlite

test-postgresql: env system
	$(PY) tools/run_tests.py --backend postgresql

lint: env
	$(VENV)/bin/ruff check .
	$(VENV)/bin/isort --check --diff $(MODULES) tools bench

bench: env system
	$(PY) bench/run.py
	$(PY) -O bench/funnel.py
	$(PY) bench/leads.py

po-export: env
	$(PY) tools/po_export.py $(MODULES)

clean:
	rm -rf var .cache
