# pbxguard.asterisk - two commands: `make demo` and `make test` (as root, fresh Debian).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= $(shell scripts/pick-python)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/.cache/collections
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
# not crun: it fails on cgroups here and becomes podman's default once installed
EE_DEB_PACKAGES := buildah runc podman umoci skopeo
DEB_PACKAGES := debootstrap sipsak sip-tester busybox sshpass openssl iproute2 util-linux procps rsync chromium
DEMO_PREFIX ?= pbxd
DEMO_NET ?= 10
TEST_PREFIX := $(or $(LAB_PREFIX),pbxt)
TEST_NET := $(or $(LAB_NET),20)
# the EE jobs' lab: its own prefix and net (the molecule slots use TEST_NET+0..3)
EE_LAB_PREFIX ?= $(shell echo $(TEST_PREFIX) | cut -c1-4)e
EE_LAB_NET ?= $(shell echo $$(( $(TEST_NET) + 9 )))

.PHONY: help deps venv collection image demo demo-down test unit sanity lint lab lab-down clean ee-context ee ee-jobs deps-ee docs docs-lint changelog-lint changelog matrix bench bench-fleet reliability-report

help:
	@echo "make demo       install everything, boot a lab PBX, apply playbooks/site.yml"
	@echo "make demo-down  remove the demo lab host and the demo's files under .cache/"
	@echo "make test       unit tests, sanity, lint, docs, EE jobs, lab scenarios + ansible-core matrix"
	@echo "make ee         the execution environment image (ansible-builder, podman)"
	@echo "make ee-jobs    audit + rollout through the EE as AWX runs them (transmit|worker|process)"
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

# the lab host, its namespaces and overlay, and what the demo made for it on the controller
# (its secrets, TOTP and softphone QR codes, lab PKI, reports, inventory)
demo-down:
	LAB_PREFIX=$(DEMO_PREFIX) python3 tests/lab/labctl.py down
	rm -rf .cache/credentials .cache/softphone-qr .cache/demo .cache/reports .cache/demo-inventory.yml

unit: venv collection
	@mkdir -p tests/output
	scripts/ansible-test-run units 2>&1 | tee tests/output/units.log

sanity: venv
	scripts/ansible-test-run sanity

lint: venv collection
	$(BIN)/yamllint -s .
	mkdir -p .cache/lint-home
	HOME=$(CURDIR)/.cache/lint-home $(BIN)/ansible-lint --offline -q
	$(MAKE) --no-print-directory docs-lint changelog-lint

# the plugins' DOCUMENTATION and role argument specs as the Ansible docsite renders them
# (schema, markup, every M()/O()/R() reference resolved) - on the installed copy, as
# antsibull-docs needs an ansible_collections/ path
docs-lint: collection
	cd $(ANSIBLE_COLLECTIONS_PATH)/ansible_collections/pbxguard/asterisk && \
	  $(BIN)/antsibull-docs lint-collection-docs --plugin-docs --validate-collection-refs all \
	  --disallow-unknown-collection-refs --check-extra-docs-refs .
	@echo "docs-lint: antsibull-docs lint-collection-docs clean"

changelog-lint: venv
	$(BIN)/antsibull-changelog lint
	@echo "changelog-lint: changelogs/ clean"

# the ansible-core range of meta/runtime.yml: unit tests + the ami scenario on each minor
# 2.16..2.20 (2.21: the project venv), alone; make test runs the same cells in its lab phase
matrix: deps venv collection image
	LAB_PREFIX=$(TEST_PREFIX) LAB_NET=$(TEST_NET) MATRIX="$(MATRIX)" $(BIN)/python scripts/matrix

# docs site: antsibull-docs sphinx-init + sphinx -> .cache/docs/build/html/index.html
docs: collection
	scripts/build-docs

# CHANGELOG.md from changelogs/changelog.yaml (after adding fragments or a release:
# antsibull-changelog release --version X.Y.Z)
changelog: collection
	$(BIN)/antsibull-changelog generate

# the collection as users get it (ansible-galaxy build): no development file, all of the
# plugins/roles/playbooks, ansible-builder's introspection finds only libpass, pyotp, segno
# --output-filename: without podman on PATH (a fresh machine: make ee installs it later)
# ansible-builder would name the file Dockerfile
ee-context: venv
	rm -rf .cache/ee-collection .cache/ee-context
	$(BIN)/ansible-galaxy collection build --output-path .cache/ee-collection --force . >/dev/null
	$(BIN)/python scripts/check-collection-tarball .cache/ee-collection/pbxguard-asterisk-*.tar.gz
	$(BIN)/ansible-builder create --output-filename Containerfile -f execution-environment.yml -c .cache/ee-context >/dev/null
	test -f .cache/ee-context/Containerfile
	@echo "ee-context: build context in .cache/ee-context (Containerfile + collection)"

# the EE image (ansible-builder build, podman + runc, local Debian base image cached in
# /var/cache/pbxguard-lab): rebuilt only when its inputs changed (content hash in the tag)
ee: deps-ee venv
	@mkdir -p .cache; t0=$$SECONDS; $(BIN)/python scripts/ee build >.cache/ee-image; \
	echo "ee: $$(cat .cache/ee-image) ready in $$((SECONDS - t0)) s"

deps-ee:
	@missing=""; for p in $(EE_DEB_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "apt-get install --no-install-recommends$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

# audit.yml and rollout.yml through AWX's work-unit protocol on 2 lab hosts:
# ansible-runner transmit | podman run EE ansible-runner worker | ansible-runner process
ee-jobs: ee image
	LAB_PREFIX=$(EE_LAB_PREFIX) LAB_NET=$(EE_LAB_NET) $(BIN)/python tests/ee/ee_jobs.py "$$(cat .cache/ee-image)"

# docs/reliability.md from the last run of tests/reliability (molecule scenario reliability)
reliability-report: venv
	$(BIN)/python scripts/reliability-report

# 10,000 and 50,000 extensions: the module against a template + reload; report in docs/bench-extension.txt
bench: deps venv collection image
	BENCH_OUT=docs/bench-extension.txt $(BIN)/python tests/bench/bench_extension.py 10000 50000

# the baseline on 20 lab hosts: first converge, no-op rerun vs one ping task (heavy: run it alone)
bench-fleet: deps venv collection image
	LAB_PREFIX=$${LAB_PREFIX:-pbxf} LAB_NET=$${LAB_NET:-35} $(BIN)/python tests/bench/bench_fleet.py 20

lab: deps venv collection image
	LAB_PREFIX=$(TEST_PREFIX) LAB_NET=$(TEST_NET) MOLECULE_MATRIX="$(LAB_MATRIX)" scripts/molecule-all

# scripts/molecule-all runs MOLECULE_JOBS scenarios side by side on labs $(TEST_PREFIX)0, $(TEST_PREFIX)1, ...
lab-down:
	for p in $(TEST_PREFIX) $(EE_LAB_PREFIX) $(TEST_PREFIX)0 $(TEST_PREFIX)1 $(TEST_PREFIX)2 $(TEST_PREFIX)3; do LAB_PREFIX=$$p python3 tests/lab/labctl.py down; done

# the ansible-core minors scripts/matrix tests beside the project venv's own (2.21): make
# test runs them in the lab phase (MATRIX="" leaves them out, MATRIX="2.16" narrows them)
MATRIX ?= 2.16 2.17 2.18 2.19 2.20
# lab slots in make test: 3, as before the matrix (4 made the CPU-bound phases crawl, and a
# loaded machine is where timing-sensitive suites such as the SIP flood would flake)
TEST_JOBS ?= 3

# The lab phase (scenarios + matrix) starts at once in the background, beside the other
# phases: sanity, lint and docs use one core of two, the lab's resolver timeouts, bans and
# daemon restarts leave CPU idle, so each fills the other's gaps. Its lines are printed at
# the end, prefixed "[lab]". Every phase runs even when an earlier one failed; each
# prints its wall time.
test: deps venv image
	@rm -f tests/output/units.log tests/output/lab-summary.txt tests/output/matrix-summary.txt tests/output/phases.txt; \
	mkdir -p tests/output; rc=0; t00=$$SECONDS; \
	$(MAKE) --no-print-directory collection || exit $$?; \
	( t0=$$SECONDS; lrc=0; LAB_PREFIX=$(TEST_PREFIX) LAB_NET=$(TEST_NET) MOLECULE_MATRIX="$(MATRIX)" \
	    MOLECULE_JOBS=$${MOLECULE_JOBS:-$(TEST_JOBS)} \
	    scripts/molecule-all >tests/output/lab.log 2>&1 || lrc=$$?; \
	  echo "lab $$((SECONDS - t0)) s (rc $$lrc)" >>tests/output/phases.txt; exit $$lrc ) & lab=$$!; \
	for t in unit sanity lint docs ee-context ee-jobs; do t0=$$SECONDS; prc=0; \
	  $(MAKE) --no-print-directory $$t || { prc=$$?; rc=$$prc; }; \
	  echo "$$t $$((SECONDS - t0)) s (rc $$prc)" >>tests/output/phases.txt; done; \
	echo "make test: waiting for the lab phase"; wait $$lab || rc=$$?; \
	{ sed 's/^/[lab] /' tests/output/lab.log | grep -v '^\[lab\]   *[|│]' | tail -n 120; } || true; \
	$(MAKE) --no-print-directory lab-down >/dev/null 2>&1 || true; \
	echo "total $$((SECONDS - t00)) s" >>tests/output/phases.txt; \
	scripts/test-summary $$rc; exit $$rc

clean: demo-down lab-down
	rm -rf $(VENV) .cache tests/output
