# Sangam: `make run` starts the console with its workers; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test install browser migrate seed lint bench bench-full bench-quick clean
comma := ,

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $@

# The workflow-engine peers of the benchmarks (SpiffWorkflow, DBOS): never runtime dependencies.
$(VENV)/.bench-installed: $(VENV)/.installed pyproject.toml
	$(PY) -m pip install --quiet -e ".[test,bench]"
	@touch $@

# Front-end libraries (the journey canvas) from the npm registry, pinned in package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

migrate: install
	$(PY) manage.py migrate --noinput -v0

seed: migrate
	$(PY) manage.py seed_demo

run: seed
	$(PY) manage.py run_console --host $(HOST) --port $(PORT)

# Debian's Chromium drives the browser tests (Playwright cannot download browsers here).
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "The browser tests need /usr/bin/chromium: run 'sudo apt-get install chromium'."; exit 1; \
	  fi; \
	fi

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

# Benchmarks: each script prints a table and writes JSON to bench/results/ (docs/benchmarks.md).
# `make bench` runs every workload at sizes that finish in about an hour on a 2-core machine;
# `make bench-full` at the issue's largest sizes (several hours). Each size is a variable:
#   make bench BENCH_SIZES=10000,100000 BENCH_LAG_RUNS=1000000 BENCH_DBS=sqlite
BENCH_PG ?= postgresql://postgres@127.0.0.1:5432/sangam_bench
BENCH_DBS ?= sqlite,$(BENCH_PG)
BENCH_SIZES ?= 10000
BENCH_WORKERS ?= 1,2
BENCH_REPEATS ?= 3
BENCH_LAG_RUNS ?= 100000
BENCH_LAG_HOUR_S ?= 120
BENCH_LIST_CUSTOMERS ?= 200000
BENCH_DASH_RUNS ?= 100000
BENCH_DASH_MESSAGES ?= 500000
BENCH_DASH_EVENTS ?= 200000
BENCH_PEER_SIZES ?= 1000
BENCH_NAIVE_SIZES ?= 1000
BENCH_LOAD_PG ?= postgresql://postgres@127.0.0.1:5432/sangam_bench_load

bench: install $(VENV)/.bench-installed
	$(PY) bench/db_limit.py --database sqlite
	$(PY) bench/db_limit.py --database $(BENCH_PG)
	$(PY) bench/engine_throughput.py --customers $(BENCH_SIZES) --workers $(BENCH_WORKERS) --database $(BENCH_DBS) --repeats $(BENCH_REPEATS)
	$(PY) bench/peers.py --customers $(BENCH_PEER_SIZES) --workers 1 --database $(BENCH_DBS) --repeats $(BENCH_REPEATS)
	$(PY) bench/naive.py --customers $(BENCH_NAIVE_SIZES) --workers 2 --database $(BENCH_DBS)
	@for db in $(subst $(comma), ,$(BENCH_DBS)); do \
	  $(PY) bench/timer_lag.py --runs $(BENCH_LAG_RUNS) --hour-seconds $(BENCH_LAG_HOUR_S) --database $$db || exit 1; \
	  $(PY) bench/builder_save.py --nodes 200 --database $$db || exit 1; \
	  $(PY) bench/dashboards.py --runs $(BENCH_DASH_RUNS) --messages $(BENCH_DASH_MESSAGES) --events $(BENCH_DASH_EVENTS) --absorb-runs 3000 --database $$db || exit 1; \
	done
	$(PY) bench/customer_list.py --customers $(BENCH_LIST_CUSTOMERS) --database $(BENCH_PG)
	$(PY) bench/ingest_http.py --database sqlite,$(BENCH_LOAD_PG)
	$(PY) bench/webhooks_http.py --database sqlite,$(BENCH_LOAD_PG)
	$(PY) bench/live_push.py --database sqlite,$(BENCH_LOAD_PG) --transport embedded,redis

bench-full:
	$(MAKE) bench BENCH_SIZES=10000,100000 BENCH_LAG_RUNS=1000000 BENCH_LAG_HOUR_S=1200 \
	  BENCH_LIST_CUSTOMERS=1000000 BENCH_DASH_RUNS=1000000 BENCH_DASH_MESSAGES=5000000 \
	  BENCH_DASH_EVENTS=2000000 BENCH_PEER_SIZES=1000,10000 BENCH_NAIVE_SIZES=2000

# A smoke run of every benchmark at tiny sizes (SQLite only); asserts nothing about speed.
bench-quick: install $(VENV)/.bench-installed
	$(PY) bench/db_limit.py --seconds 0.5 --repeats 1
	$(PY) bench/engine_throughput.py --customers 300 --workers 1 --database sqlite --limit-seconds 0.3
	$(PY) bench/timer_lag.py --runs 3000 --hour-seconds 10
	$(PY) bench/customer_list.py --customers 20000 --repeats 5
	$(PY) bench/builder_save.py --nodes 200 --repeats 5
	$(PY) bench/dashboards.py --repeats 3 --absorb-runs 100
	$(PY) bench/naive.py --customers 100 --workers 1
	$(PY) bench/peer_spiff.py --customers 200 --workers 1
	$(PY) bench/peer_dbos.py --customers 200 --workers 1
	$(PY) bench/ingest_http.py --customers 200 --batches 2 --singles 100 --rate 50 --rate-seconds 1 --repeats 1
	$(PY) bench/webhooks_http.py --messages 30 --repeats 1
	$(PY) bench/live_push.py --transport embedded --commits 4 --repeats 1

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

clean:
	rm -rf $(VENV) var staticfiles node_modules
