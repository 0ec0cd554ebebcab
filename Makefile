# Two commands matter: `make run` and `make test`. Both bootstrap what they need first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TOOLS := .tools/bin
export PATH := $(CURDIR)/$(TOOLS):$(PATH)
CONFIG ?= chain_config/local.toml

.PHONY: bootstrap build abis check-abis lint typecheck test test-py test-sol soak run bench clean

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	$(TOOLS)/forge build --quiet

abis: build
	$(PY) -m keeper.devchain.abi_export --out abis

check-abis: build
	$(PY) -m keeper.devchain.abi_export --out abis --check

lint: bootstrap
	$(VENV)/bin/ruff check keeper tests
	$(VENV)/bin/ruff format --check keeper tests

typecheck: bootstrap
	$(VENV)/bin/mypy --strict keeper

test-sol: build
	$(TOOLS)/forge test

test-py: build
	$(VENV)/bin/pytest

test: build check-abis lint typecheck test-sol test-py

# The fault suite's long mode (the quick mode runs inside `make test`): more kills, drops and longer outages.
soak: build
	KEEPER_SOAK=1 $(VENV)/bin/pytest -s tests/app/test_faults_local_venue.py tests/app/test_quoting_faults.py tests/app/test_faults_devnet.py

run: build
	$(PY) -m keeper run --config $(CONFIG)

bench: build
	$(PY) -m keeper bench

clean:
	rm -rf out cache .mypy_cache .ruff_cache .pytest_cache
