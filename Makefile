# The two commands of the README:
#   make serve   install, then run the server embedded (SQLite + in-process live state)
#   make test    install, then every check and every test (what .ci/run calls)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install serve test bench generate clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml clients/python/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ./clients/python -e '.[dev]'
	touch $@

serve: install
	$(VENV)/bin/rtc-console serve

test: install
	scripts/check.sh

bench: install
	$(PY) -m bench

generate: install
	$(PY) scripts/generate.py

clean:
	rm -rf $(VENV) *.egg-info
