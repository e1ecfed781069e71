# Everything a new user or CI needs starts here; each target sets up what it uses, on a fresh
# machine included: the virtual environment, the Debian packages (lab/bin/apt-ensure), the lab.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
# The one way the checkout becomes importable as llmops.ollama: build/collections holds a link
# to it (tests/collection_path.sh); nothing is installed into ~/.ansible.
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/build/collections
# -rs lists every skip with its reason; under CI=true the ci_strict plugin turns a skip into a
# failure unless the test marks it as one a machine may legitimately take (ci_may_skip).
PYTEST := PYTHONPATH=$(CURDIR)/tests/pytest_plugins pytest -q -rs -p ci_strict

.PHONY: help venv collection lint sanity units integration matrix metadata docs lab lab-down contract lab-check molecule faults \
	readme versions test demo clean

help:
	@echo "make demo       - lab up, one lab host provisioned by site.yml, ends with a chat answer and the UI's URL"
	@echo "make test       - every check below, three lanes at once after venv and lab, with each stage's time (tests/run_all.sh)"
	@echo "make lint       - yamllint and ansible-lint (production profile)"
	@echo "make sanity     - ansible-test sanity on the collection as shipped (ignore files empty)"
	@echo "make units      - unit tests, argument specs, README figures against the RESULTS files"
	@echo "make integration - ansible-test integration, one target per module, against the Ollama double (tests/integration/run.sh)"
	@echo "make matrix     - sanity and units on ansible-core 2.18 (Python 3.11) and 2.21 (Python 3.13, Debian 13 container)"
	@echo "make metadata   - changelog lint, execution environment, galaxy.yml vs requirements.yml, the tarball's contents"
	@echo "make docs       - the documentation site (antsibull-docs, Sphinx) in build/docs/html; fails on any warning"
	@echo "make lab        - the lab: Docker engine, base images, registry, doubles, models (lab/bin/lab up)"
	@echo "make contract   - the Ollama double against the official ollama client and a real registry"
	@echo "make lab-check  - the lab's own checks (docker-in-docker, the LobeChat and LobeHub stand-ins)"
	@echo "make molecule   - molecule scenarios default, podman, fleet, open_webui, ssh (tarball, SSH, sudo password) and the preflight refusals, in two lanes at once"
	@echo "make faults     - fault, bad-input and exposure tests; rewrites tests/faults/RESULTS.md"
	@echo "make readme     - re-render the README's figures from docs/figures/*.json (checked by make units)"
	@echo "make versions   - per image: default, floor, newest on record, open advisories (meta/advisories.yml); fails below a floor"
	@echo "make venv       - the virtual environment from requirements.txt (every target makes it first)"
	@echo "make collection - link the checkout into build/collections, the one collections path"
	@echo "make lab-down   - remove the lab's containers, network and volumes"
	@echo "make clean      - lab-down and remove build/"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	python3 -c 'import ensurepip, venv' 2>/dev/null || lab/bin/apt-ensure python3-venv
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

collection:
	@tests/collection_path.sh >/dev/null

lint: venv collection
	yamllint --strict .
	ansible-lint

sanity: venv
	lab/bin/apt-ensure shellcheck
	tests/sanity/run.sh

units: venv collection
	$(PYTEST) tests/unit tests/roles/test_argument_specs.py tests/roles/test_role_boundaries.py tests/roles/test_api_guard_config.py tests/roles/test_front_door_config.py tests/roles/test_container_role.py tests/roles/test_container_reload.py \
	  tests/readme tests/versions

metadata: venv
	tests/collection/run.sh

integration: venv
	tests/integration/run.sh

matrix: venv
	tests/matrix/run.sh

docs: venv
	docs/site/build.sh

lab: venv
	lab/bin/lab up

lab-down:
	lab/bin/lab down

contract: lab collection
	lab/bin/apt-ensure docker-registry
	$(PYTEST) tests/contract

lab-check: lab
	$(PYTEST) tests/lab lab/doubles/lobehub/tests

molecule: lab collection
	lab/bin/lab image open-webui
	tests/molecule/run.sh '$(PYTEST) tests/roles/test_preflight_refusals.py tests/roles/test_publish_address.py'

faults: lab collection
	$(PYTEST) tests/faults

readme: venv
	python3 tests/readme/render.py --write

versions: venv collection
	python3 tests/versions/versions.py

# The virtual environment is a stage of its own, so that the time a fresh machine spends installing is reported too.
# Then three lanes at once: the checks that need no lab host, the molecule scenarios (two lanes of their own) and
# the fault tests. The lab hosts spend much of their time waiting (systemd, inner engines, health checks), so the
# lanes fill both cores where one after the other left them half idle; they share the lab's registries and
# nothing else (the fault tests cut the registry off from their own host only). units goes early in its lane: it
# compares the README with tests/faults/RESULTS.md, which the fault lane rewrites when it ends.
test:
	tests/run_all.sh venv lab 'lint units sanity integration matrix metadata docs contract lab-check | molecule | faults'

demo: venv collection
	lab/bin/demo

clean: lab-down
	rm -rf build
