# make run  — set up .venv, build the sample site into public/ and serve it with live reload at http://127.0.0.1:8000/publicity/
# make test — set up .venv with test extras and run every test (the build tests twice: the second time
#             with EXEMPLAR_SITE_PORTABLE=1, the code paths Windows takes)
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

# the build tests a second time with the portable paths forced (spawned workers, no renameat2, the
# lock file): what Windows runs (src/exemplar_site/parallel.py)
PORTABLE_TESTS := tests/test_incremental.py tests/test_writer.py tests/test_e2e_site.py tests/test_sample_site.py

test: $(VENV)/.installed
	$(PY) -m pytest -q
	EXEMPLAR_SITE_PORTABLE=1 $(PY) -m pytest -q $(PORTABLE_TESTS)

lint: $(VENV)/.installed
	$(PY) -m ruff check src tests bench tools build.py
	$(PY) -m mypy src tests bench tools build.py

bundle: $(VENV)/.installed
	$(PY) tools/bundle.py

clean:
	rm -rf public reports .public.* .reports.* public-withdrawn.map sms-export $(VENV)
