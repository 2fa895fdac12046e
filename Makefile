# pbxguard.asterisk - two commands: `make demo` and `make test` (as root, fresh Debian).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= $(shell scripts/pick-python)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.cache/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
DEB_PACKAGES := debootstrap sipsak sip-tester busybox sshpass openssl iproute2 util-linux procps rsync chromium
DEMO_PREFIX := pbxd
DEMO_NET := 10
TEST_PREFIX := $(or $(LAB_PREFIX),pbxt)
TEST_NET := $(or $(LAB_NET),20)

.PHONY: help deps venv collection image demo demo-down test unit sanity lint lab lab-down clean ee-context bench bench-fleet reliability-report

help:
	@echo "make demo       install everything, boot a lab PBX, apply playbooks/site.yml"
	@echo "make demo-down  remove the demo lab host"
	@echo "make test       unit tests, ansible-test sanity, lint, lab scenarios (molecule)"
	@echo "make reliability-report  docs/reliability.md from the last reliability run"

deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "apt-get install$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

$(VENV)/.stamp: requirements.txt
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	touch $@

venv: $(VENV)/.stamp

# install this checkout as pbxguard.asterisk where ansible-playbook finds it
collection: venv
	PYTHON=$(BIN)/python scripts/install-collection "$(ANSIBLE_COLLECTIONS_PATH)"

image: deps
	python3 tests/lab/labctl.py image

demo: deps venv collection image
	LAB_PREFIX=$(DEMO_PREFIX) LAB_NET=$(DEMO_NET) python3 tests/lab/labctl.py up --hosts pbx1 --reuse --inventory .cache/demo-inventory.yml
	scripts/demo-report .cache/demo-inventory.yml

demo-down:
	LAB_PREFIX=$(DEMO_PREFIX) python3 tests/lab/labctl.py down

unit: venv collection
	@mkdir -p tests/output
	scripts/ansible-test-run units 2>&1 | tee tests/output/units.log

sanity: venv
	scripts/ansible-test-run sanity

lint: venv collection
	$(BIN)/yamllint -s .
	mkdir -p .cache/lint-home
	HOME=$(CURDIR)/.cache/lint-home $(BIN)/ansible-lint --offline -q

ee-context: venv
	rm -rf .cache/ee-collection .cache/ee-context
	$(BIN)/ansible-galaxy collection build --output-path .cache/ee-collection --force . >/dev/null
	$(BIN)/ansible-builder create -f execution-environment.yml -c .cache/ee-context >/dev/null
	test -f .cache/ee-context/Containerfile -o -f .cache/ee-context/Dockerfile
	test -f .cache/ee-context/_build/pbxguard-asterisk-0.1.0.tar.gz -a -f .cache/ee-context/_build/requirements.txt
	@echo "ee-context: build context in .cache/ee-context (Containerfile + collection + requirements)"

# docs/reliability.md from the last run of tests/reliability (molecule scenario reliability)
reliability-report: venv
	$(BIN)/python scripts/reliability-report

bench: deps venv collection image
	$(BIN)/python tests/bench/bench_extension.py 10000

# the baseline on 20 lab hosts: first converge, no-op rerun vs one ping task (heavy: run it alone)
bench-fleet: deps venv collection image
	LAB_PREFIX=$${LAB_PREFIX:-pbxf} LAB_NET=$${LAB_NET:-35} $(BIN)/python tests/bench/bench_fleet.py 20

lab: deps venv collection image
	LAB_PREFIX=$(TEST_PREFIX) LAB_NET=$(TEST_NET) scripts/molecule-all

# scripts/molecule-all runs MOLECULE_JOBS scenarios side by side on labs $(TEST_PREFIX)0, $(TEST_PREFIX)1, ...
lab-down:
	for p in $(TEST_PREFIX) $(TEST_PREFIX)0 $(TEST_PREFIX)1 $(TEST_PREFIX)2 $(TEST_PREFIX)3; do LAB_PREFIX=$$p python3 tests/lab/labctl.py down; done

test: deps venv image
	@rm -f tests/output/units.log tests/output/lab-summary.txt; rc=0; \
	$(MAKE) --no-print-directory unit sanity lint ee-context lab || rc=$$?; \
	$(MAKE) --no-print-directory lab-down >/dev/null 2>&1 || true; \
	scripts/test-summary $$rc; exit $$rc

clean: demo-down lab-down
	rm -rf $(VENV) .cache tests/output
