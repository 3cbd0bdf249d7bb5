# MyAfya: `make run` serves the app with demo data; `make test` runs the whole suite on PostgreSQL and Redis.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
PYTEST_ARGS ?=
PG_URL_BASE ?= postgresql+psycopg://postgres@127.0.0.1:5432
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: run test services chromium coturn install clean bench-weight bench-cold bench bench-chart bench-pharmacy bench-lab bench-room translations

$(BIN)/.installed: requirements.txt tests/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r tests/requirements.txt
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/flask --app wsgi migrate
	$(BIN)/flask --app wsgi seed-demo --if-empty
	@echo "MyAfya on http://127.0.0.1:$(PORT)  (demo accounts: patient@demo.test ... password demo-password)"
	PORT=$(PORT) $(BIN)/flask --app wsgi run --host 127.0.0.1 --port $(PORT) --with-threads --no-reload

services:
	@bash tests/services.sh

chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# coturn: the video room's TURN server, which a browser test starts on its own port.
coturn:
	@command -v turnserver >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq coturn >/dev/null; }

test: install services chromium coturn
	@db=myafya_test_$$$$; \
	psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $$db" postgres >/dev/null || exit 1; \
	trap 'psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $$db WITH (FORCE)" postgres >/dev/null' EXIT; \
	TEST_DATABASE_URL=$(PG_URL_BASE)/$$db TEST_REDIS_URL=$(TEST_REDIS_URL) \
	  $(BIN)/python -m pytest -c tests/pytest.ini --rootdir . $(PYTEST_ARGS)

bench-weight: install
	$(BIN)/python tests/perf/page_weight.py

bench-cold: install chromium
	$(BIN)/python tests/perf/cold_load.py

bench: install services
	$(BIN)/python tests/perf/load.py

bench-chart: install services
	$(BIN)/python tests/perf/chart_load.py

bench-pharmacy: install services
	$(BIN)/python tests/perf/pharmacy_load.py

bench-lab: install services
	$(BIN)/python tests/perf/lab_load.py

# The video room's budgets: the page with its JS under 50 KB gzipped (bench-weight measures it too),
# chat delivery p95 under 100 ms with 500 sockets over two web processes.
bench-room: install services
	$(BIN)/python tests/perf/page_weight.py
	$(BIN)/python tests/perf/room_chat_load.py

# After adding or changing strings: refresh the catalogues, then translate what is new (an empty
# msgstr) in translations/sw/LC_MESSAGES/messages.po. The app compiles them when it starts. No fuzzy
# matching: a guessed translation of a near-identical string can say something else entirely.
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --add-location=file --sort-output \
	  --project MyAfya --copyright-holder MyAfya --msgid-bugs-address "" -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --ignore-obsolete --no-fuzzy-matching --init-missing -l sw
	$(BIN)/pybabel update -i translations/messages.pot -d translations --ignore-obsolete --no-fuzzy-matching --init-missing -l en

clean:
	rm -rf $(VENV) instance .pytest_cache
	find static -name '*.br' -delete -o -name '*.gz' -delete
