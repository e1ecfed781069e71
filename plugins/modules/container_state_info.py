#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: container_state_info
short_description: The state of the containers and networks a deployment runs, read in one call
version_added: 0.4.0
author: llmops.ollama maintainers (@llmops)
description:
  - Reads, through the container engine's command line, every container that carries the label O(label),
    and the networks named in O(networks). A run of the collection's roles reads this once per host and
    leaves alone each container whose recorded specification, image and state are already what the role
    asks for, instead of asking the engine about each container in turn (as C(docker compose) does with
    its configuration-hash label).
  - For each container it returns whether it runs, whether it is restarting (in a crash loop Docker keeps C(running)
    true between the restarts), the engine's status word, its health, the value of O(label) (the specification's
    hash the role recorded when it created the container), the image reference it was created from, the image
    it runs, the image that reference names on the host now (so a re-pulled tag is noticed), and the sources of its
    bind mounts that are missing on the host (a directory removed under a running container).
  - An engine that is not installed is reported as such (RV(engine_present)), which check mode on a bare host needs.
  - Whether SELinux enforces on the host (RV(selinux)), in which case bind mounts need relabelling, and the host's
    memory (RV(memory_total_bytes)), against which a memory limit given as a share is worked out.
extends_documentation_fragment:
  - llmops.ollama.attributes
  - llmops.ollama.attributes.info_module
options:
  engine:
    description:
      - The container engine to ask.
    type: str
    choices: [docker, podman]
    required: true
  label:
    description:
      - The label whose containers are read; its value is returned as the C(spec) of each of RV(containers).
    type: str
    default: llmops.spec
  networks:
    description:
      - Networks to read; one that does not exist is left out of RV(networks).
    type: list
    elements: str
    default: []
  all_networks:
    description:
      - Read every network on the host as well, not only those of O(networks).
    type: bool
    default: false
notes:
  - A container changed behind the roles' back with C(docker update) keeps its label; the roles do not notice
    that change until their specification changes. Re-creating the container (C(docker rm -f)) is noticed.
"""

EXAMPLES = r"""
- name: Read the containers this collection runs on the host
  llmops.ollama.container_state_info:
    engine: docker
    all_networks: true
  register: state

- name: Say whether Ollama runs
  ansible.builtin.debug:
    msg: "{{ (state.containers.ollama | default({})).running | default(false) }}"
"""

RETURN = r"""
engine_present:
  description: Whether the engine's command is installed. When it is not, RV(containers) and RV(networks) are empty.
  returned: always
  type: bool
  sample: true
containers:
  description: The containers that carry O(label), by name.
  returned: always
  type: dict
  sample:
    ollama:
      running: true
      restarting: false
      status: running
      health: healthy
      spec: 3f0c9e4d1b2a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e
      image: 127.0.0.1:5000/ollama/ollama:0.21.0
      image_id: sha256:5b1c0ad0f2e3d4c5b6a7980f1e2d3c4b5a6978f0e1d2c3b4a5968778695a4b3c
      current_image_id: sha256:5b1c0ad0f2e3d4c5b6a7980f1e2d3c4b5a6978f0e1d2c3b4a5968778695a4b3c
      missing_mounts: []
memory_total_bytes:
  description: The host's memory (C(MemTotal) of C(/proc/meminfo)); 0 when it cannot be read.
  returned: always
  type: int
  sample: 16777216000
selinux:
  description: Whether SELinux is enforcing (C(/sys/fs/selinux/enforce) reads C(1)).
  returned: always
  type: bool
  sample: false
networks:
  description: The networks of O(networks) that exist, by name, with the name of their bridge interface on the host.
  returned: always
  type: dict
  sample: {"llmops": {"bridge": "llmops0"}}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule


def _json(module, argv):
    """The JSON list a command prints, or [] when it fails (a missing image or network)."""
    rc, out, _err = module.run_command(argv)
    if rc != 0:
        return []
    try:
        data = json.loads(out or "[]")
    except ValueError:
        return []
    return data if isinstance(data, list) else []


def _health(state):
    # Podman before 4.x called it Healthcheck; a container without a health check has neither.
    health = state.get("Health") or state.get("Healthcheck") or {}
    return health.get("Status") or ""


def missing_mounts(mounts):
    """The bind-mount sources that are gone from the host (the container still holds the removed directory)."""
    return sorted(set(mount["Source"] for mount in mounts or []
                      if mount.get("Type") == "bind" and mount.get("Source") and not os.path.lexists(mount["Source"])))


def describe(inspected, label):
    """Name -> what the roles compare, from `<engine> container inspect`."""
    found = {}
    for data in inspected:
        config = data.get("Config") or {}
        state = data.get("State") or {}
        name = (data.get("Name") or "").lstrip("/")
        if not name:
            continue
        found[name] = {
            "running": bool(state.get("Running")),
            # Docker keeps Running true while a crashing container waits for its next restart.
            "restarting": bool(state.get("Restarting")) or state.get("Status") == "restarting",
            "status": state.get("Status") or "",
            "health": _health(state),
            "spec": (config.get("Labels") or {}).get(label) or "",
            "image": config.get("Image") or data.get("ImageName") or "",
            "image_id": data.get("Image") or "",
            "current_image_id": None,
            "missing_mounts": missing_mounts(data.get("Mounts")),
        }
    return found


def bridge_name(network):
    # Docker keeps it among the driver's options; Podman (netavark) in network_interface.
    return ((network.get("Options") or network.get("options") or {}).get("com.docker.network.bridge.name")
            or network.get("network_interface") or "")


def memory_total(path="/proc/meminfo"):
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def selinux_enforcing(path="/sys/fs/selinux/enforce"):
    try:
        with open(path) as handle:
            return handle.read().strip() == "1"
    except OSError:
        return False


def read(module, engine, label, networks, all_networks=False):
    ids = [line for line in module.run_command(
        [engine, "ps", "--all", "--no-trunc", "--filter", "label=" + label, "--format", "{{.ID}}"],
        check_rc=True)[1].split() if line]
    containers = describe(_json(module, [engine, "container", "inspect"] + ids), label) if ids else {}
    images = {}
    for entry in containers.values():
        reference = entry["image"]
        if reference and reference not in images:
            found = _json(module, [engine, "image", "inspect", reference])
            images[reference] = (found[0].get("Id") if found else None) or None
        entry["current_image_id"] = images.get(reference)
    found_networks = {}
    if all_networks:
        listed = module.run_command([engine, "network", "ls", "--format", "{{.Name}}"], check_rc=True)[1].split()
        for data in _json(module, [engine, "network", "inspect"] + listed) if listed else []:
            found_networks[data.get("Name") or data.get("name") or ""] = {"bridge": bridge_name(data)}
        found_networks.pop("", None)
    for name in networks:
        if name in found_networks:
            continue
        data = _json(module, [engine, "network", "inspect", name])
        if data:
            found_networks[name] = {"bridge": bridge_name(data[0])}
    return containers, found_networks


def main():
    module = AnsibleModule(argument_spec={
        "engine": {"type": "str", "choices": ["docker", "podman"], "required": True},
        "label": {"type": "str", "default": "llmops.spec"},
        "networks": {"type": "list", "elements": "str", "default": []},
        "all_networks": {"type": "bool", "default": False},
    }, supports_check_mode=True)
    engine = module.get_bin_path(module.params["engine"])
    if not engine:
        module.exit_json(changed=False, engine_present=False, containers={}, networks={}, selinux=selinux_enforcing(),
                         memory_total_bytes=memory_total())
    containers, networks = read(module, engine, module.params["label"], module.params["networks"],
                                module.params["all_networks"])
    module.exit_json(changed=False, engine_present=True, containers=containers, networks=networks,
                     selinux=selinux_enforcing(), memory_total_bytes=memory_total())


if __name__ == "__main__":
    main()
