#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: host_preflight_info
short_description: CPU, memory, GPUs, listening ports, installed packages and free disk of a host, in one call
version_added: 0.3.0
author: llmops.ollama maintainers (@llmops)
description:
  - Reads in one call what a preflight checks before anything is installed, without changing anything.
  - Always, the CPU cores this process may run on, whether the CPU has AVX2 (C(/proc/cpuinfo)), the memory
    (C(MemTotal) in C(/proc/meminfo)), the NVIDIA GPUs (C(nvidia-smi), when it is installed and answers) and whether
    an AMD GPU is usable (C(/dev/kfd) exists).
  - With O(ports), which of them a TCP socket listens on, over IPv4 and IPv6 (C(/proc/net/tcp), C(/proc/net/tcp6)),
    and the process that holds it (C(/proc/<pid>/fd), C(/proc/<pid>/comm)).
  - With O(packages), which of them are installed, asked of the host's package database (C(dpkg-query), else C(rpm)).
  - With O(path), the nearest existing directory at or above it, its mount point and its free space.
  - With O(sizing), the models sized as M(llmops.ollama.ollama_model_requirements) sizes them (the host's Ollama, its
    models directory, the registry, the tag, a default), so that a preflight learns in one call what the host has and
    what its models need.
extends_documentation_fragment:
  - llmops.ollama.attributes
  - llmops.ollama.attributes.info_module
  - llmops.ollama.host_probe
options:
  ports:
    description:
      - TCP ports to look for listening sockets on.
    type: list
    elements: int
    default: []
  path:
    description:
      - A path whose file system is measured; it need not exist yet (its nearest existing parent is measured). Links are
        followed, as C(findmnt) does.
    type: path
  sizing:
    description:
      - The models to size and how, with the options of M(llmops.ollama.ollama_model_requirements), which documents them.
      - Every name and option is checked before anything is probed or sent; an invalid one fails the task, naming it
        (V(sizing.models), V(sizing.registry_url), ...).
      - Not set, no model is sized and RV(sizing) is not returned.
    type: dict
    version_added: 0.4.0
    suboptions:
      models:
        description: The models to size, as Ollama names them; one result per item, in the same order.
        type: list
        elements: str
        required: true
      models_dir:
        description: Ollama's models directory on the host, read without following any link; not set, not read.
        type: path
      registry_url:
        description: Base URL of the registry of models named without a host or on V(registry.ollama.ai).
        type: str
        default: https://registry.ollama.ai
      registry_timeout:
        description: Seconds to wait for a registry's connection and for each read of its reply.
        type: int
        default: 10
      default_params_b:
        description: Parameter count (billions) assumed when neither the host, the registry nor the tag tells.
        type: float
        default: 7
      disk_gb_per_params_b:
        description: GB on disk per billion parameters when no manifest gives the model's size.
        type: float
        default: 0.6
      api_url:
        description:
          - The host's Ollama API, asked for the models it has (C(GET /api/tags)); without it, E(OLLAMA_HOST) as
            Ollama reads it, else V(http://127.0.0.1:11434).
        type: str
      timeout:
        description: Seconds to wait for the host's Ollama.
        type: int
        default: 60
      validate_certs:
        description: Whether the host's Ollama's certificate is verified (an V(https://) O(sizing.api_url)).
        type: bool
        default: true
      headers:
        description: HTTP headers sent to the host's Ollama only (an authenticating proxy's); never to a registry.
        type: dict
notes:
  - The process that holds a socket is known only when this module may read that process's C(/proc/<pid>/fd), that is
    as root or as the same user; otherwise RV(listeners[].pid) and RV(listeners[].process) are V(null).
  - Inside a container, C(/proc/meminfo) shows the machine's memory, not the container's limit.
  - O(sizing) sends requests to the host's Ollama and to registries (a manifest and a config blob, never a layer), as
    M(llmops.ollama.ollama_model_requirements) does; a source that does not answer is skipped and listed in
    RV(sizing.failures).
seealso:
  - module: llmops.ollama.ollama_model_requirements
"""

EXAMPLES = r"""
- name: What this host has
  llmops.ollama.host_preflight_info:
    ports: [443, 11434]
    packages: [docker.io, podman, containerd]
    path: /var/lib/ollama
  register: host

- name: What this host has, and what its models need, in one call
  llmops.ollama.host_preflight_info:
    ports: [11434]
    path: /var/lib/ollama
    sizing:
      models: [qwen2.5:0.5b, llama3:70b]
      models_dir: /var/lib/ollama/models
      timeout: 5
  register: host

- name: Refuse a host that has too little disk for the models
  ansible.builtin.assert:
    that: host.path_free_bytes >= 100 * 1024 ** 3
    fail_msg: "{{ host.path_existing }} ({{ host.path_mount }}) has {{ host.path_free_bytes | human_readable }} free"

- name: Refuse a port someone else listens on
  ansible.builtin.assert:
    that: host.listeners | selectattr('port', 'equalto', 443) | rejectattr('process', 'equalto', 'nginx') | list | length == 0
"""

RETURN = r"""
cpu_cores:
  description: The CPU cores this process may run on (its affinity), else the machine's count.
  returned: always
  type: int
  sample: 16
cpu_flags_avx2:
  description: Whether C(/proc/cpuinfo) lists C(avx2) among the CPU flags.
  returned: always
  type: bool
ram_bytes:
  description: C(MemTotal) from C(/proc/meminfo), in bytes; V(null) when it cannot be read.
  returned: always
  type: int
  sample: 67430866944
gpus_nvidia:
  description: The NVIDIA GPUs C(nvidia-smi) lists; empty when it is not installed or fails.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The GPU's name.
      type: str
      sample: NVIDIA H100 80GB HBM3
    memory_mib:
      description: Its memory in MiB; V(null) when C(nvidia-smi) does not say.
      type: int
      sample: 81559
gpu_amd:
  description: Whether C(/dev/kfd) exists (the device of AMD's ROCm driver).
  returned: always
  type: bool
listeners:
  description: The TCP sockets in LISTEN state on any of O(ports), sorted by port and address.
  returned: always
  type: list
  elements: dict
  contains:
    port:
      description: The port.
      type: int
      sample: 443
    address:
      description: The local address it listens on (V(0.0.0.0) and V(::) are every address).
      type: str
      sample: 0.0.0.0
    pid:
      description: The lowest process ID that holds the socket; V(null) when unknown.
      type: int
      sample: 812
    process:
      description: That process's name (C(/proc/<pid>/comm)); V(null) when unknown.
      type: str
      sample: nginx
ports_in_use:
  description: The ports of O(ports) that something listens on, sorted.
  returned: always
  type: list
  elements: int
  sample: [443]
packages_installed:
  description: The names of O(packages) that are installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [docker.io]
package_manager:
  description: The package database that was asked, V(dpkg) or V(rpm).
  returned: when O(packages) is not empty
  type: str
  sample: dpkg
path_existing:
  description: The nearest existing path at or above O(path).
  returned: when O(path) is given
  type: str
  sample: /var/lib
path_mount:
  description: The mount point of the file system that holds RV(path_existing).
  returned: when O(path) is given
  type: str
  sample: /
path_free_bytes:
  description: The space available to unprivileged users there, in bytes (what C(df) calls C(Avail)).
  returned: when O(path) is given
  type: int
  sample: 107374182400
sizing:
  description:
    - The models of O(sizing.models) sized, and the sources that could not be read, as RV(llmops.ollama.ollama_model_requirements#module:models)
      and RV(llmops.ollama.ollama_model_requirements#module:failures) return them.
  returned: when O(sizing) is given
  type: dict
  version_added: 0.4.0
  contains:
    models:
      description: One entry per item of O(sizing.models), in the same order (name, params_b, parameter_size, params_from, bytes, bytes_from, on_host, layers).
      type: list
      elements: dict
      sample:
        - name: qwen2.5:0.5b
          params_b: 0.494
          parameter_size: 494.03M
          params_from: host
          bytes: 397821319
          bytes_from: host
          on_host: true
          layers: []
    failures:
      description: The sources that could not be read and were skipped ({source, model, msg}). Not an error.
      type: list
      elements: dict
      sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._common import InvalidOption
from ansible_collections.llmops.ollama.plugins.module_utils._host_probe import HostProbe, PACKAGES_ARG, ProbeError
from ansible_collections.llmops.ollama.plugins.module_utils._model_size import SIZING_ARGS, size_models, sizer_from_params
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import InvalidMirror


def probe_host(probe, ports, packages, path):
    result = {
        "changed": False,
        "cpu_cores": probe.cpu_cores(),
        "cpu_flags_avx2": probe.cpu_flags_avx2(),
        "ram_bytes": probe.ram_bytes(),
        "gpus_nvidia": probe.gpus_nvidia(),
        "gpu_amd": probe.gpu_amd(),
    }
    result["listeners"] = probe.listeners(ports)
    result["ports_in_use"] = sorted({entry["port"] for entry in result["listeners"]})
    result.update(probe.package_result(packages))
    if path is not None:
        result.update(probe.path_space(path))
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "ports": {"type": "list", "elements": "int", "default": []},
            "packages": PACKAGES_ARG,
            "path": {"type": "path"},
            "sizing": {"type": "dict", "options": SIZING_ARGS},
        },
        supports_check_mode=True,
    )
    for port in module.params["ports"]:
        if not 0 < port < 65536:
            module.fail_json(msg="ports: %d is not a TCP port (1-65535)" % port)
    sizer = None
    if module.params["sizing"] is not None:
        try:
            sizer = sizer_from_params(module.params["sizing"], warn=module.warn, prefix="sizing.")
        except (_model_name.InvalidName, InvalidOption, InvalidMirror) as e:
            module.fail_json(msg=str(e))

    def run(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C"})

    probe = HostProbe(which=module.get_bin_path, run=run)
    try:
        result = probe_host(probe, module.params["ports"], module.params["packages"], module.params["path"])
    except (ProbeError, OSError) as e:
        module.fail_json(msg=str(e))
    if sizer is not None:
        result["sizing"] = size_models(sizer, module.params["sizing"]["models"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
