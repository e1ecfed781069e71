# Everything a new user or CI needs starts here; each target sets up what it uses.
SHELL := /bin/bash
VENV := .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: help venv lint sanity units lab lab-down contract lab-check molecule faults test demo clean

help:
	@echo "make demo   - lab up, one lab host provisioned by site.yml, ends with a chat answer"
	@echo "make test   - every check: lint, sanity, unit, contract, lab and molecule tests"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	touch $@

lint: venv
	yamllint --strict .
	ansible-lint

sanity: venv
	command -v shellcheck >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck
	tests/sanity/run.sh

units: venv
	pytest -q tests/unit tests/roles/test_argument_specs.py

lab: venv
	lab/bin/lab up

lab-down:
	lab/bin/lab down

contract: lab
	pytest -q tests/contract

lab-check: lab
	pytest -q tests/lab

molecule: lab
	molecule test --scenario-name default
	molecule test --scenario-name podman
	molecule test --scenario-name fleet
	pytest -q tests/roles/test_preflight_refusals.py

faults: lab
	pytest -q tests/faults

test: venv
	tests/run_all.sh lint sanity units lab contract lab-check molecule faults

demo: venv
	lab/bin/demo

clean: lab-down
	rm -rf build
