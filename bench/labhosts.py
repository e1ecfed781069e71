# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The lab hosts a bench runs playbooks on: made (or started again) with lab/bin/lab, an inventory
for them with the lab's group variables, and the ansible-playbook to run."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAB = os.path.join(ROOT, "lab", "bin", "lab")
# The ansible-playbook of the environment running the bench (.venv/bin/python bench/...), whatever PATH says.
_VENV_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ANSIBLE_PLAYBOOK = _VENV_PLAYBOOK if os.access(_VENV_PLAYBOOK, os.X_OK) else "ansible-playbook"


def sh(*args, check=True, timeout=600):
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=timeout)


def ensure_hosts(hosts):
    """hosts: [(name, debian version)]. A host kept from an earlier run is started again if it stopped;
    `lab host start` also makes /proc/sys writable again (the engines inside set sysctls)."""
    have = sh("docker", "ps", "-a", "--format", "{{.Names}}").stdout.split()
    for name, ver in hosts:
        if name in have:
            sh(LAB, "host", "start", name)
        else:
            sh(LAB, "host", "up", name, "--debian", ver)


def remove_hosts(hosts):
    for name, _ in hosts:
        sh(LAB, "host", "rm", name, check=False)


def write_inventory(tmp, hosts):
    """An inventory of the hosts in tmp (hosts.yml beside the lab's group_vars); returns its path."""
    os.makedirs(os.path.join(tmp, "group_vars"))
    os.symlink(os.path.join(ROOT, "lab", "inventory", "group_vars", "llm_servers.yml"),
               os.path.join(tmp, "group_vars", "llm_servers.yml"))
    with open(os.path.join(tmp, "hosts.yml"), "w", encoding="utf-8") as fh:
        json.dump({"llm_servers": {"hosts": {name: {} for name, _ in hosts}, "vars": {
            "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}}}, fh)
    return os.path.join(tmp, "hosts.yml")
