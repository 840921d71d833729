# Two commands on a fresh clone: `make run` and `make test`. Both honour DATABASE_URL.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000
export DJANGO_SETTINGS_MODULE ?= config.settings

.PHONY: install run test test-browser test-cluster messages migrate lint bench mutants

# --no-compile: pip would byte-compile every module of every package, one at a time (about
# 45 s of CPU for this set); Python compiles the ones a run imports, once, as it imports them.
$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check --no-compile -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed

# Translations are committed compiled; recompile when gettext is present.
messages: install
	@if command -v msgfmt >/dev/null 2>&1; then \
		DEBUG=1 $(PY) manage.py compilemessages --ignore=.venv -v 0; \
	else echo "msgfmt not found: using the committed .mo files"; fi

migrate: install
	mkdir -p var
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput -v 0

run: install messages migrate
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) bin/run

# The browser journeys (tests/browser/) are part of `make test` when Chromium is installed
# (Debian: apt-get install chromium chromium-driver), skipped otherwise.
# In parallel, one process per core (pytest-xdist; each has its own test database):
# `make test TEST_JOBS=0` runs in one process (for -x or --pdb).
TEST_JOBS ?= auto
test: install messages
	DJANGO_SETTINGS_MODULE=config.test_settings $(PY) -m pytest -n $(TEST_JOBS) --dist worksteal $(PYTEST_ARGS)

test-browser: install messages
	DJANGO_SETTINGS_MODULE=config.test_settings $(PY) -m pytest tests/browser $(PYTEST_ARGS)

# Two web servers and two task clusters on PostgreSQL and Redis (tests/cluster/harness.py):
# needs psql, a PostgreSQL server (HARNESS_PG) and redis-server.
test-cluster: install
	$(PY) -m tests.cluster.harness

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: install
	$(PY) bench/roster.py

# Mutation testing (mutmut) of the rule layer, escalations, call routing, feeds and swaps, each
# with the fast subset of its tests; not part of `make test`. See docs/testing.md.
# `make mutants MODULES="rules feeds"` runs some of them.
mutants: install
	$(PY) bin/mutants.py $(MODULES)
