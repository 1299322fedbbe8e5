# make run  — set up .venv, build the sample site into public/ and serve it with live reload at http://127.0.0.1:8000/publicity/
# make test — set up .venv with test extras and run every test
# make lint — ruff and mypy --strict, at the versions pinned in pyproject.toml
# make bundle — the offline install bundle for Windows and Linux: dist/exemplar-site-offline-<version>.zip
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run build test lint serve clean bundle

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(PY) build.py
	$(PY) build.py serve --port $(PORT)

build: $(VENV)/.installed
	$(PY) build.py

test: $(VENV)/.installed
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(PY) -m ruff check src tests bench tools build.py
	$(PY) -m mypy src tests bench tools build.py

bundle: $(VENV)/.installed
	$(PY) tools/bundle.py

clean:
	rm -rf public reports .public.* .reports.* public-withdrawn.map sms-export $(VENV)
