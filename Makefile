# One place for every routine job. Each target builds the virtual environment when it is missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= demo-data

.PHONY: run test bench soak proto lint check-proto clean setup-browser screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cctns demo --data-dir $(DATA)

# Four pytest-xdist workers, whole files to each (module-scoped fixtures start their node processes
# once): most of the suite waits on node processes, so four workers fill two cores.
test: $(STAMP)
	$(BIN)/python -m pytest -n 4 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m simulations.bench
	$(BIN)/python -m simulations.bench_import
	$(BIN)/python -m simulations.bench_federation
	$(BIN)/python -m simulations.bench_web
	$(BIN)/python -m simulations.bench_register
	$(BIN)/python -m simulations.bench_sim
	$(BIN)/python -m simulations.bench_aggregate
	$(BIN)/python -m simulations.bench_mo
	$(BIN)/python -m simulations.bench_national_search --queries 100
	$(BIN)/python -m simulations.bench_person_search_pg
	$(BIN)/python -m simulations.bench_fingerprints
	$(BIN)/python -m simulations.bench_linkage
	$(BIN)/python -m simulations.bench_faces

# The long drills the suite runs short: 100 SIGKILLs of a writer mid-append, 50 of a replicator
# mid-batch, and the fuzzers (API, forms, gRPC) with 500 examples each.
soak: $(STAMP)
	CCTNS_DRILL_WRITER_KILLS=100 CCTNS_DRILL_REPLICATOR_KILLS=50 CCTNS_FUZZ_EXAMPLES=500 \
		$(BIN)/python -m pytest -p no:cacheprovider --timeout=3600 tests/ledger/test_crash.py tests/fuzz \
		"tests/federation/test_multiprocess.py::test_replication_survives_kill_9_of_either_side"

# Debian's Chromium (and a Malayalam font) for the browser tests; apt-get needs root.
setup-browser:
	(test -x /usr/bin/chromium && dpkg -s fonts-smc-manjari >/dev/null 2>&1) || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-smc-manjari)

# Full-page PNGs of the main pages, taken by the browser tests.
screenshots: $(STAMP)
	CCTNS_SCREENSHOTS=docs/screenshots $(BIN)/python -m pytest tests/web/test_browser.py

proto: $(STAMP)
	$(BIN)/python -m protos.generate

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DATA)
