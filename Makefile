# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DB ?= claimwatch-demo.db
DEMO_CLAIMS ?= 3000

.PHONY: demo test venv lint clean

# uv resolves and installs the pinned set in seconds where pip took about 40 (the test command's budget).
# --compile-bytecode: uv, unlike pip, leaves the packages uncompiled; each process would compile what it imports
# (about 7 s of CPU for the app's imports), and where PYTHONDONTWRITEBYTECODE is set, every process again.
$(BIN)/claimwatch: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==0.13.9
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[test]'
	touch $@

venv: $(BIN)/claimwatch

## make demo: venv, migrate an SQLite file, load the demo data set, run the web app and the worker on http://127.0.0.1:8000
demo: venv
	@scripts/system-deps.sh --runtime || echo "(PDF letters stay off until those packages are installed; everything else runs)"
	CLAIMWATCH_DATABASE_URL=sqlite:///$(DEMO_DB) $(BIN)/claimwatch demo setup --claims $(DEMO_CLAIMS) --seed 7
	scripts/demo-run.sh $(DEMO_DB)

## make test: venv, PostgreSQL and Chromium (apt, as root) if missing, lint, types, whole suite on both databases
test: venv
	scripts/test.sh

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm demo-mail
