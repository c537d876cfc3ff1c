# Two commands matter: `make run` (demo back office on SQLite) and `make test`.
# Both set everything up on a fresh machine: venv, pinned packages, .env, and the
# Debian packages a feature needs (installed when missing, or a clear message).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=
# The suite runs in parallel (pytest-xdist), one process per core up to four:
# each gets its own test database and Redis database. PYTEST_WORKERS=0 runs it
# in this process alone.
PYTEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -gt 4 ] && n=4; echo $$n)

.PHONY: run test bench lint format messages setup system-packages check-python clean

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Kameng back office: http://127.0.0.1:8000/admin/  (logins above)"
	$(PY) manage.py runstack

test: setup
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: setup
	$(PY) manage.py bench --list | cut -f1 | while read -r name; do \
		$(PY) manage.py bench "$$name" || exit 1; done

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/lint-imports

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# Re-extract and compile translations (needs gettext; `make system-packages`).
messages: setup
	$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=tests
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

setup: $(STAMP) .env system-packages

check-python:
	@test -n "$(PYTHON)" || { echo "Kameng needs Python 3.11 (python3.11 not found)."; exit 1; }
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "Kameng needs Python 3.11; $(PYTHON) is %d.%d. Set PYTHON=/path/to/python3.11." % v)'

$(STAMP): requirements.txt requirements-dev.txt | check-python
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

.env: | $(STAMP)
	$(PY) scripts/write_env.py .env

system-packages:
	@bash scripts/system-packages.sh

clean:
	rm -rf $(VENV) var staticfiles .pytest_cache
