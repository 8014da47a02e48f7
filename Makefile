# pbxops: the two commands are `make lab` (a full rollout in the lab) and `make test` (every
# test and check). Both set the machine up first; a re-run with nothing to do takes seconds.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
COLLECTION_LINK := collections/ansible_collections/pbxops/wsfc
BUILD_DIR := build

export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# Tools the venv installs (ansible-lint, ansible-test) call each other by name.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help setup lab test bench lint typecheck unit integration manifest-check sanity ansible-lint artifact contract clean

help:
	@echo "make lab    set up, then run a full rollout in the lab (inventories/lab)"
	@echo "make test   set up, then run every test and check (what CI runs)"
	@echo "make setup  only set up: system packages, .venv, collection link"
	@echo "make bench  run the benchmarks and print their figures (not part of make test)"
	@echo "make compiled  build pbxd compiled with mypyc into $(COMPILED) (what the benchmarks run)"

# --- setup -------------------------------------------------------------------------------

setup: system-packages $(STAMP) $(COLLECTION_LINK)

.PHONY: system-packages
system-packages:
	@scripts/install-system-packages.sh

$(VENV)/bin/python:
	@python=$$(scripts/find-python.sh) && echo "creating $(VENV) with $$python" && "$$python" -m venv $(VENV)

$(STAMP): $(VENV)/bin/python requirements.txt pbx/pyproject.toml lab/pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e pbx -e lab
	@touch $@

$(COLLECTION_LINK):
	@mkdir -p $(dir $@) && ln -sfn ../../.. $@

# --- the main job ------------------------------------------------------------------------

# Both lab sites (inventories/lab), each in its own lab under .lab/<site>; ends with SIP calls
# through each PBX and across the trunks. The vault password file is the lab's, published on purpose.
LAB_ARTIFACTS := .lab-artifacts
LAB_VAULT := inventories/lab/LAB-ONLY-vault-password.txt
PBX_SOURCES := $(shell find pbx/src -type f -name '*.py' -o -type f -name '*.sql') pbx/pyproject.toml

lab: setup lab-artifacts
	@echo "make lab: rolling out sites A and B of inventories/lab (about 3-6 minutes on 2 cores)"
	$(BIN)/ansible-playbook -i inventories/lab --vault-password-file $(LAB_VAULT) playbooks/site.yml

# What the controller provides to the nodes: the pbxd wheel, built again only when pbx/ changed
# and reproducibly (a rebuilt wheel with the same sources is the same file, so a re-run of
# `make lab` copies nothing), and the lab's stand-in for python.org's installer.
.PHONY: lab-artifacts
lab-artifacts: $(LAB_ARTIFACTS)/wheels/.built $(LAB_ARTIFACTS)/python-3.12.10-amd64.exe

$(LAB_ARTIFACTS)/wheels/.built: $(PBX_SOURCES) $(STAMP)
	@rm -rf $(LAB_ARTIFACTS)/wheels && mkdir -p $(LAB_ARTIFACTS)/wheels
	SOURCE_DATE_EPOCH=1767225600 $(BIN)/pip wheel --quiet --disable-pip-version-check --no-deps -w $(LAB_ARTIFACTS)/wheels ./pbx
	@touch $@

# pbxd compiled with mypyc (PBXD_COMPILE=1, pbx/setup.py) for Linux hosts: what the benchmarks
# run by default, and `make test` runs pbxd's tests on it as well as on the Python source. It is
# built from a copy of pbx/, so that its build files never reach the lab's pure-Python wheel.
COMPILED := .pbxd-compiled
.PHONY: compiled
compiled: $(COMPILED)/.built

$(COMPILED)/.built: $(PBX_SOURCES) pbx/setup.py $(STAMP)
	@echo "compiling pbxd's SIP path with mypyc into $(COMPILED) (about 2 minutes on 2 cores)"
	@rm -rf $(COMPILED) && mkdir -p $(COMPILED)/source
	@cp -r pbx/src pbx/setup.py pbx/pyproject.toml $(COMPILED)/source/
	@find $(COMPILED)/source -name __pycache__ -prune -exec rm -rf {} + -o -name '*.egg-info' -prune -exec rm -rf {} +
	PBXD_COMPILE=1 $(BIN)/pip wheel --quiet --disable-pip-version-check --no-build-isolation --no-deps \
	  -w $(COMPILED)/wheel $(COMPILED)/source
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --target $(COMPILED)/lib $(COMPILED)/wheel/pbxd-*.whl
	@touch $@

$(LAB_ARTIFACTS)/python-3.12.10-amd64.exe:
	@mkdir -p $(LAB_ARTIFACTS)
	@printf 'wsfclab stand-in for python.org python-3.12.10-amd64.exe: the lab lays out CPython itself\n' > $@

# The status report of the lab (status/status.html and status/status.md).
.PHONY: lab-status
lab-status: setup
	$(BIN)/ansible-playbook -i inventories/lab --vault-password-file $(LAB_VAULT) playbooks/status.yml

# The rollout against the lab, in `make test` (about 11 min on 2 quiet cores): the bad inventories,
# each refused with nothing changed; molecule's default scenario (fresh labs, site.yml, a second
# run that must change nothing, verify, then every operations playbook checked on those labs by
# tests/rollout/test_playbooks.py); its failover scenario (the PBX's node crashed).
.PHONY: rollout rollout-tests molecule
rollout: setup lab-artifacts
	$(BIN)/pytest -q -p no:cacheprovider -m integration tests/rollout/test_bad_inventories.py
	@$(MAKE) --no-print-directory molecule

# The same pytest modules on their own; test_playbooks.py then rolls out labs of its own.
rollout-tests: setup lab-artifacts
	$(BIN)/pytest -q -p no:cacheprovider -m integration tests/rollout

molecule: setup lab-artifacts
	@echo "molecule: scenario default (fresh labs, site.yml twice, verify, the operations playbooks), then failover"
	$(BIN)/molecule test -s default
	$(BIN)/molecule test -s failover

# --- benchmarks: they print figures; speed is never asserted by a test ----------------------

bench: setup lab-artifacts compiled
	PYTHONPATH=$(CURDIR)/$(COMPILED)/lib $(BIN)/python pbx/bench/sipbench.py
	$(BIN)/python pbx/bench/store_bench.py
	$(BIN)/python lab/bench/bench_pipelines.py
	$(BIN)/python lab/bench/bench_failover.py
	$(BIN)/python scripts/bench_rollout.py

# --- tests and checks --------------------------------------------------------------------

test: setup lint typecheck manifest-check unit integration-and-packaging rollout contract
	@echo "make test: every check passed"

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck:
	$(BIN)/mypy plugins pbx/src lab/src scripts

# The manifest is data generated from the help pages; fail if someone edited one without the other.
manifest-check:
	@if [ -d ../shared/reference/powershell-docs ]; then \
	  $(BIN)/python scripts/build_cmdlet_manifest.py --check; \
	else echo "manifest-check: ../shared/reference/powershell-docs is absent; the committed manifest is used as it is"; fi

# One pytest run per project: each has its own conftest and test module names. The compiled
# build is made while the first runs go (it takes one core for about two minutes), then
# pbx/tests runs again on it.
.PHONY: unit-source
unit: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=target unit-source compiled
	@echo "pbx/tests again, on pbxd compiled with mypyc ($(COMPILED))"
	PYTHONPATH=$(CURDIR)/$(COMPILED)/lib PBXD_EXPECT_BUILD=compiled $(BIN)/pytest -q -p no:cacheprovider pbx/tests

unit-source:
	$(BIN)/pytest -q tests/unit
	$(BIN)/pytest -q lab/tests
	$(BIN)/pytest -q pbx/tests

# The lab integration playbooks share no file, port or address with the packaging checks, and
# they assert no timing, so they run side by side (each target's output is shown when it ends).
.PHONY: integration-and-packaging
integration-and-packaging: setup
	@$(MAKE) --no-print-directory -j2 --output-sync=target integration sanity ansible-lint

# Real playbooks against a two-node lab (also under ansible-core 2.19 and 2.20).
integration: setup
	@scripts/contract-venvs.sh 2.19 2.20
	$(BIN)/pytest -q -m integration tests/integration

# ansible-test insists on running inside ansible_collections/<ns>/<name>: it runs on the
# installed artifact, which is also what users get.
sanity: artifact
	@scripts/sanity.sh $(BUILD_DIR)/pbxops-wsfc-*.tar.gz

LINTED := $(wildcard playbooks roles)
ansible-lint:
	@if [ -n "$(LINTED)" ]; then $(BIN)/ansible-lint --profile production $(LINTED); \
	else echo "ansible-lint: no playbooks or roles yet"; fi

artifact:
	@rm -rf $(BUILD_DIR) && mkdir -p $(BUILD_DIR)
	$(BIN)/ansible-galaxy collection build --force --output-path $(BUILD_DIR) .
	$(BIN)/ansible-galaxy collection install --offline --no-deps --force -p $(BUILD_DIR)/installed $(BUILD_DIR)/pbxops-wsfc-*.tar.gz
	@scripts/check-artifact-docs.sh $(BUILD_DIR)/installed

# The lab's decoding of the Windows wire, under ansible-core 2.19, 2.20 and 2.21 (one small venv each).
contract: setup
	@scripts/contract-tests.sh

clean:
	rm -rf $(BUILD_DIR) $(COMPILED) .lab .mypy_cache .ruff_cache .pytest_cache
