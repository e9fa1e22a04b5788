# EventViz — two commands: `make run` serves the product, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench-routing clean screens

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# exec: make's child is the supervisor itself, so make's SIGTERM reaches it directly
# (make passes SIGTERM on; a SIGINT sent to make alone is noticed by the supervisor).
run: $(STAMP)
	exec $(PY) manage.py runstack --port $(PORT)

test: $(STAMP)
	scripts/ensure-chromium
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

screens: $(STAMP)
	scripts/ensure-chromium
	$(PY) scripts/screens $(SCREENS_ARGS)

clean:
	rm -rf var/test .pytest_cache .ruff_cache
