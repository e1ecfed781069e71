#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_report_info
short_description: Memory, free disk at the models directory, GPUs and containers of an LLM server
version_added: 0.3.0
author: llmops.ollama maintainers (@llmops)
description:
  - Reads what a fleet report needs from the host itself, without the Ollama API
    (M(llmops.ollama.ollama_model_info) reads the API).
  - Memory from C(/proc/meminfo) (C(MemTotal), C(MemAvailable)); inside a container that is the machine's memory.
  - Free and total space of the file system that holds O(data_dir), or of its nearest existing parent.
  - GPUs from C(nvidia-smi) when it is installed, and AMD GPUs from C(/sys/class/drm).
  - The image and state of each container named in O(containers), through the container engine's C(inspect), that
    is whether it runs, the engine's status word, its health (when it has a health check), and the addresses and
    ports it publishes.
extends_documentation_fragment:
  - llmops.ollama.attributes
  - llmops.ollama.attributes.info_module
options:
  data_dir:
    description:
      - The directory whose file system's free space is reported (the Ollama data directory).
    type: path
    default: /var/lib/ollama
  engine:
    description:
      - The container engine to ask. V(auto) takes C(docker), else C(podman), whichever is installed.
    type: str
    choices: [auto, docker, podman]
    default: auto
  containers:
    description:
      - Containers to describe; one that does not exist is left out of RV(containers).
    type: list
    elements: str
    default: [ollama]
seealso:
  - module: llmops.ollama.ollama_model_info
"""

EXAMPLES = r"""
- name: Memory, disk and containers of this LLM server
  llmops.ollama.host_report_info:
    data_dir: /var/lib/ollama
    containers: [ollama, lobechat]
  register: server

- name: Warn when the models' disk is nearly full
  ansible.builtin.debug:
    msg: "{{ server.disk.available_bytes | human_readable }} free at {{ server.disk.path }}"
"""

RETURN = r"""
memory:
  description: Memory in bytes; empty when C(/proc/meminfo) cannot be read.
  returned: always
  type: dict
  sample: {"total_bytes": 16777216000, "available_bytes": 9126805504}
disk:
  description: The file system holding C(path) (O(data_dir) or its nearest existing parent), in bytes.
  returned: always
  type: dict
  sample: {"path": "/var/lib/ollama", "total_bytes": 107374182400, "available_bytes": 53687091200}
gpus:
  description: GPUs found, each with C(vendor), C(name) and C(memory_total_bytes) (null when unknown).
  returned: always
  type: list
  elements: dict
  sample: [{"vendor": "nvidia", "name": "NVIDIA L4", "memory_total_bytes": 24152899584}]
engine:
  description: The container engine asked, or null when none is installed.
  returned: always
  type: str
  sample: docker
containers:
  description:
    - The containers of O(containers) that exist, each with C(name), C(image) (the reference it was created from),
      C(running), C(status) (the engine's word, such as V(running), V(exited) or V(restarting)), C(health)
      (V(starting), V(healthy), V(unhealthy), or empty without a health check) and C(ports).
  returned: always
  type: list
  elements: dict
  sample:
    - name: lobechat
      image: docker.io/lobehub/lobe-chat:1.143.2
      running: true
      status: running
      health: healthy
      ports: [{"container_port": "3210/tcp", "host_ip": "0.0.0.0", "host_port": "3210"}]
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

_NVIDIA_QUERY = ["--query-gpu=name,memory.total", "--format=csv,noheader,nounits"]


def memory(path="/proc/meminfo"):
    values = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                key, sep, rest = line.partition(":")
                fields = rest.split() if sep else []
                if fields and fields[0].isdigit():
                    values[key] = int(fields[0]) * 1024
    except OSError:
        return {}
    if "MemTotal" not in values:
        return {}
    return {"total_bytes": values["MemTotal"], "available_bytes": values.get("MemAvailable", values.get("MemFree"))}


def disk(path):
    """statvfs of path, or of its nearest existing parent (the directory may not exist yet)."""
    probe = os.path.abspath(path)
    while not os.path.isdir(probe) and probe != os.path.dirname(probe):
        probe = os.path.dirname(probe)
    st = os.statvfs(probe)
    return {"path": probe, "total_bytes": st.f_blocks * st.f_frsize, "available_bytes": st.f_bavail * st.f_frsize}


def nvidia_gpus(module):
    binary = module.get_bin_path("nvidia-smi")
    if not binary:
        return []
    rc, out, _err = module.run_command([binary] + _NVIDIA_QUERY)
    if rc != 0:
        return []
    gpus = []
    for line in out.splitlines():
        if "," not in line:
            continue
        name, mib = (part.strip() for part in line.rsplit(",", 1))
        if name:
            gpus.append({"vendor": "nvidia", "name": name, "memory_total_bytes": int(mib) * 2 ** 20 if mib.isdigit() else None})
    return gpus


def amd_gpus(root="/sys/class/drm"):
    gpus = []
    try:
        cards = sorted(c for c in os.listdir(root) if c.startswith("card") and c[4:].isdigit())
    except OSError:
        return []
    for card in cards:
        device = os.path.join(root, card, "device")
        try:
            with open(os.path.join(device, "vendor"), encoding="utf-8") as handle:
                if handle.read().strip() != "0x1002":
                    continue
            with open(os.path.join(device, "mem_info_vram_total"), encoding="utf-8") as handle:
                vram = int(handle.read().strip())
        except (OSError, ValueError):
            continue
        gpus.append({"vendor": "amd", "name": card, "memory_total_bytes": vram})
    return gpus


def health(state):
    """The health check's status (starting, healthy, unhealthy); empty without a health check. Podman before 4.x
    called it Healthcheck."""
    found = state.get("Health") or state.get("Healthcheck") or {}
    return found.get("Status") or ""


def container(module, engine, name):
    """The container's image, state, health and published ports, or None when it does not exist."""
    rc, out, _err = module.run_command([engine, "container", "inspect", name])
    if rc != 0:
        return None
    try:
        data = json.loads(out)[0]
    except (ValueError, IndexError):
        return None
    ports = []
    for container_port, bindings in sorted(((data.get("NetworkSettings") or {}).get("Ports") or {}).items()):
        for binding in bindings or []:
            ports.append({"container_port": container_port, "host_ip": binding.get("HostIp") or "",
                          "host_port": binding.get("HostPort") or ""})
    state = data.get("State") or {}
    return {"name": name, "image": (data.get("Config") or {}).get("Image") or data.get("ImageName"),
            "running": bool(state.get("Running")), "status": state.get("Status") or "", "health": health(state),
            "ports": ports}


def find_engine(module, wanted):
    for name in (["docker", "podman"] if wanted == "auto" else [wanted]):
        path = module.get_bin_path(name)
        if path:
            return name, path
    return None, None


def main():
    module = AnsibleModule(argument_spec={
        "data_dir": {"type": "path", "default": "/var/lib/ollama"},
        "engine": {"type": "str", "choices": ["auto", "docker", "podman"], "default": "auto"},
        "containers": {"type": "list", "elements": "str", "default": ["ollama"]},
    }, supports_check_mode=True)
    name, path = find_engine(module, module.params["engine"])
    containers = []
    if path:
        for wanted in module.params["containers"]:
            found = container(module, path, wanted)
            if found:
                containers.append(found)
    module.exit_json(changed=False, memory=memory(), disk=disk(module.params["data_dir"]),
                     gpus=nvidia_gpus(module) + amd_gpus(), engine=name, containers=containers)


if __name__ == "__main__":
    main()
