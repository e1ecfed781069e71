# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: preflight_verdict
short_description: Compare what a host has with what the roles of a deployment need of it
version_added: 0.3.0
description:
  - Used by the C(llmops.ollama.preflight) role. Each role states in its C(tasks/preflight.yml) what it needs of the
    host (ports, packages that must not be installed, a GPU, a data directory, models);
    M(llmops.ollama.host_preflight_info) says what the host has; M(llmops.ollama.ollama_model_requirements) sizes the
    models. This filter returns the figures and every shortfall of the host, each naming the variable to change.
options:
  _input:
    description: The result of M(llmops.ollama.host_preflight_info).
    type: dict
    required: true
  sizing:
    description: The C(models) list of M(llmops.ollama.ollama_model_requirements).
    type: list
    elements: dict
    required: true
  needs:
    description: The needs the roles stated (C(llmops_preflight_needs)).
    type: list
    elements: dict
    required: true
  settings:
    description:
      - The preflight role's thresholds; keys C(min_cpu_cores), C(ram_gb_per_size), C(disk_margin),
        C(disk_headroom_gb), C(port_owners_ok), C(supported_os).
    type: dict
    required: true
  os:
    description: The host's C(distribution), C(distribution_version) and C(distribution_major_version) facts.
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Work out the verdict
  ansible.builtin.set_fact:
    verdict: "{{ host_info | llmops.ollama.preflight_verdict(sizing.models, llmops_preflight_needs, settings, os) }}"
"""

RETURN = r"""
_value:
  description: C(result) (the host's figures and what the deployment needs) and C(shortfalls) (a list of messages).
  type: dict
"""

GB = 1000 ** 3


def _all(needs, key):
    values = []
    for need in needs:
        for value in need.get(key) or []:
            if value not in values:
                values.append(value)
    return values


def _first(needs, key, default=None):
    for need in needs:
        if need.get(key) not in (None, ""):
            return need[key]
    return default


def _ram_needed_gb(largest, brackets):
    if not largest:
        return 0.0
    brackets = sorted(brackets, key=lambda b: float(b["max_params_b"]))
    params = float(largest["params_b"])
    for bracket in brackets:
        if params <= float(bracket["max_params_b"]):
            return float(bracket["ram_gb"])
    last = brackets[-1]
    return params * float(last["ram_gb"]) / float(last["max_params_b"])


def preflight_verdict(host, sizing, needs, settings, os):
    gpu_vendor = _first(needs, "gpu_vendor", "none")
    data_dir = _first(needs, "data_dir", "")
    ports = sorted(set(int(p) for p in _all(needs, "ports")))
    owners_ok = set(settings.get("port_owners_ok") or [])
    busy = [listener for listener in host.get("listeners") or []
            if int(listener["port"]) in ports and listener.get("process") not in owners_ok]
    conflicts = [p for p in _all(needs, "conflicting_packages") if p in (host.get("packages_installed") or [])]
    largest = max(sizing, key=lambda m: float(m["params_b"])) if sizing else {}
    ram_gb = round(int(host["ram_bytes"]) / GB, 1)
    ram_needed = round(_ram_needed_gb(largest, settings["ram_gb_per_size"]), 1)
    disk_free = round(int(host.get("path_free_bytes") or 0) / GB, 1)
    new_bytes = sum(int(m["bytes"]) for m in sizing if not m.get("on_host"))
    disk_needed = round(new_bytes * float(settings["disk_margin"]) / GB + float(settings["disk_headroom_gb"]), 1)
    supported = settings.get("supported_os") or {}
    os_ok = str(os.get("distribution_major_version")) in [str(v) for v in supported.get(os.get("distribution"), [])]
    result = {
        "cpu_cores": int(host["cpu_cores"]),
        "avx2": bool(host.get("cpu_flags_avx2")),
        "ram_gb": ram_gb,
        "ram_needed_gb": ram_needed,
        "largest_model": largest,
        "models": sizing,
        "data_dir": data_dir,
        "data_dir_mount": host.get("path_mount") or "",
        "disk_free_gb": disk_free,
        "disk_needed_gb": disk_needed,
        "gpu": {"vendor": gpu_vendor, "nvidia": bool(host.get("gpus_nvidia")), "nvidia_gpus": host.get("gpus_nvidia") or [],
                "amd": bool(host.get("gpu_amd"))},
        "ports": ports,
        "ports_busy": busy,
        "conflicting_packages": conflicts,
        "os": "%s %s" % (os.get("distribution"), os.get("distribution_version")),
        "os_supported": os_ok,
    }

    shortfalls = []
    if result["cpu_cores"] < int(settings["min_cpu_cores"]):
        shortfalls.append("CPU: needs %s cores, the host has %s (preflight_min_cpu_cores)"
                          % (settings["min_cpu_cores"], result["cpu_cores"]))
    if ram_gb < ram_needed:
        shortfalls.append("RAM: %s (%s parameters, from the %s) needs %s GB, the host has %s GB (choose a smaller model"
                          " in ollama_models_list, or change preflight_ram_gb_per_size)"
                          % (largest.get("name"), largest.get("parameter_size"), largest.get("params_from"),
                             ram_needed, ram_gb))
    if disk_free < disk_needed:
        shortfalls.append("disk: the models need %s GB free at %s (on %s, models x %s + %s GB headroom), the host has %s GB"
                          " (free space there, or change ollama_data_dir or preflight_disk_headroom_gb)"
                          % (disk_needed, data_dir, result["data_dir_mount"], settings["disk_margin"],
                             settings["disk_headroom_gb"], disk_free))
    if not os_ok:
        shortfalls.append("OS: %s is not supported; supported: %s (preflight_supported_os)"
                          % (result["os"], ", ".join("%s %s" % (k, "/".join(map(str, v))) for k, v in sorted(supported.items()))))
    if busy:
        shortfalls.append("ports: %s must be free, but another program listens: %s (stop it, or change ollama_port,"
                          " front_door_https_port or front_door_http_port)" % (", ".join(map(str, ports)), " | ".join(
                              "%s:%s by %s" % (b.get("address"), b["port"],
                                               "%s (pid %s)" % (b["process"], b["pid"]) if b.get("process") else "an unknown process")
                              for b in busy)))
    if conflicts:
        shortfalls.append("container runtime: %s installed, which conflicts with %s (remove them, or change"
                          " container_runtime_engine / container_runtime_docker_source)"
                          % (", ".join(conflicts), _first(needs, "conflicts_with", "the chosen engine")))
    if gpu_vendor == "nvidia" and not result["gpu"]["nvidia"]:
        shortfalls.append("GPU: ollama_gpu_vendor=nvidia but nvidia-smi finds no GPU (install the NVIDIA driver, or set"
                          " ollama_gpu_vendor: none)")
    if gpu_vendor == "amd" and not result["gpu"]["amd"]:
        shortfalls.append("GPU: ollama_gpu_vendor=amd but /dev/kfd is missing (install the ROCm driver, or set"
                          " ollama_gpu_vendor: none)")
    return {"result": result, "shortfalls": shortfalls}


class FilterModule:
    def filters(self):
        return {"preflight_verdict": preflight_verdict}
