# xseqd — two commands on a fresh machine:
#   make devnet   installs everything, then runs the devnet
#   make test     installs everything, then runs the whole test suite
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: install compose-tool browser postgres-tool devnet test fuzz lint typecheck contracts contracts-check bench bench-quick bench-features screenshots clean

install: $(STAMP) $(NODE_STAMP) compose-tool browser postgres-tool

# `docker compose config` validates docker-compose.yml in the tests (no engine needed);
# where the compose plugin is missing, Debian's docker-compose does the same job.
compose-tool:
	@docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null)

# the explorer's tests drive a real headless Chromium (Debian's package; CI runs as root)
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# the replica tests start a throwaway PostgreSQL cluster (initdb/pg_ctl, as a non-root user);
# Debian's postgresql package puts them in /usr/lib/postgresql/<version>/bin
postgres-tool:
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# constraints.txt pins every distribution to the versions the tests ran with
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

devnet: install
	$(VENV)/bin/xseqd devnet $(ARGS)

test: install
	$(PY) -m pytest tests

# the adversary property (random honest runs on a real anvil) with 60 examples, not 6, the
# L1 bridge conservation property with 25, not 3, and
# replica failover with 10 leader kills, not 2, and
# the hostile-input fuzzer with 100,000 requests, not 20,000 (it prints its count, slowest
# answer and mix of answers; XSEQD_FUZZ_SEED=n for another seed)
fuzz: install
	XSEQD_LONG=1 $(PY) -m pytest tests/adversary/test_honest_property.py
	XSEQD_LONG=1 $(PY) -m pytest tests/l1/test_bridge_conservation.py
	XSEQD_LONG=1 $(PY) -m pytest -s tests/replicas/test_failover.py
	XSEQD_FUZZ_REQUESTS=$${XSEQD_FUZZ_REQUESTS:-100000} $(PY) -m pytest -s tests/rpc/test_hostile_input.py

lint: install
	$(VENV)/bin/ruff format --check xseqd tests bench
	$(VENV)/bin/ruff check xseqd tests bench examples
	$(VENV)/bin/mypy xseqd

contracts: $(NODE_STAMP)
	node scripts/build-contracts.js

contracts-check: $(NODE_STAMP)
	node scripts/build-contracts.js --check

# every row of the speed table in one run (< 10 min); `make bench-quick` in < 2 min.
# The single benches (bench/rollup_rpc.py, bundles.py, ...) still run on their own.
bench: install
	$(PY) bench/all.py

bench-quick: install
	$(PY) bench/all.py --quick

# each feature's own bench (not the speed table): call limits, encryption, metrics and
# explorer, L1 bridge latency, replicas
bench-features: install
	$(PY) bench/call_limits.py
	$(PY) bench/encryption.py
	$(PY) bench/explorer_metrics.py
	$(PY) bench/bridge.py
	$(PY) bench/replicas.py

# the explorer screenshots the README shows (docs/img/), from a live devnet and Chromium
screenshots: install
	$(PY) scripts/screenshots.py

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache
