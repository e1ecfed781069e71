#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: container_runtime_info
short_description: What the container runtime role keeps on a host, read in one call
version_added: 0.4.0
author: llmops.ollama maintainers (@llmops)
description:
  - Reads, without changing anything, what the C(container_runtime) role of this collection keeps on a host, so that
    a daily run that finds it all in place costs one call instead of one per thing kept, and the role's tasks that
    change the host run only for what this module finds out of place.
  - With O(packages), which of them are installed, asked of the host's package database (C(dpkg-query), else C(rpm)).
  - With O(units), whether each systemd unit is enabled and active, from one C(systemctl show).
  - With O(daemon_json), whether M(llmops.ollama.json_file) given the same options would change Docker's
    C(daemon.json) (its content, mode or owner), worked out by the same code in check mode.
  - With O(lan_filter), whether the role's LAN exposure filter task would change anything (its rules, the copy of its
    script, its systemd unit). When the copy of the script kept at O(lan_filter.path) is the version the role ships
    (O(lan_filter.sha256)), that copy is run with C(--check), which reads only; otherwise the task is reported as to be
    run, with the reason.
extends_documentation_fragment:
  - llmops.ollama.attributes
  - llmops.ollama.attributes.info_module
  - llmops.ollama.host_probe
options:
  units:
    description:
      - systemd units (such as V(docker.service)) whose state is read. On a host without C(systemctl) every state is
        empty.
    type: list
    elements: str
    default: []
  daemon_json:
    description:
      - The options M(llmops.ollama.json_file) is given for Docker's C(daemon.json); RV(daemon_json.changed) says
        whether it would change the file.
    type: dict
    suboptions:
      path:
        description:
          - The absolute path of the JSON file.
        type: path
        required: true
      settings:
        description:
          - The keys merged into the file's object.
        type: dict
        required: true
      list_merge:
        description:
          - How a list in O(daemon_json.settings) is merged with the file's list under the same key, as
            M(llmops.ollama.json_file) does.
        type: str
        choices: [replace, append_rp]
        default: append_rp
      mode:
        description:
          - The file's mode, in octal, such as V("0644").
        type: raw
        default: "0644"
      owner:
        description:
          - The user (name or number) that owns the file.
        type: str
        default: root
      group:
        description:
          - The group (name or number) of the file.
        type: str
        default: root
  lan_filter:
    description:
      - The LAN exposure filter the role applies, as its script is given it.
    type: dict
    suboptions:
      path:
        description:
          - Where the role keeps the copy of the filter's script that its systemd unit runs.
        type: path
        required: true
      sha256:
        description:
          - The SHA-256 of the script the role ships; a copy at O(lan_filter.path) with another digest is not run.
        type: str
        required: true
      engine:
        description:
          - The container engine whose networks are protected.
        type: str
        choices: [docker, podman]
        required: true
      networks:
        description:
          - The protected networks, each as C(NAME=BRIDGE) (the bridge the network is given when it is created).
        type: list
        elements: str
        required: true
notes:
  - The states are read before the role changes anything. A run that then installs packages, rewrites C(daemon.json)
    or restarts the engine cannot rely on them for what follows; the role's tasks then check for themselves.
seealso:
  - module: llmops.ollama.json_file
  - module: llmops.ollama.host_preflight_info
"""

EXAMPLES = r"""
- name: Read what the container runtime keeps on the host
  llmops.ollama.container_runtime_info:
    packages: [docker.io, python3-requests]
    units: [docker.service]
    daemon_json:
      path: /etc/docker/daemon.json
      settings:
        log-driver: json-file
        live-restore: true
  register: runtime

- name: Merge the daemon configuration only when it differs
  llmops.ollama.json_file:
    path: /etc/docker/daemon.json
    settings:
      log-driver: json-file
      live-restore: true
  when: runtime.daemon_json.changed

- name: Start Docker only when it is not enabled and running
  ansible.builtin.systemd_service:
    name: docker
    state: started
    enabled: true
  when: not (runtime.units['docker.service'].enabled and runtime.units['docker.service'].active)
"""

RETURN = r"""
packages_installed:
  description: The names of O(packages) that are installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [docker.io, python3-requests]
packages_missing:
  description: The names of O(packages) that are not installed, in the order given.
  returned: always
  type: list
  elements: str
  sample: []
package_manager:
  description: The package database that was asked, V(dpkg) or V(rpm).
  returned: when O(packages) is not empty
  type: str
  sample: dpkg
units:
  description: The units of O(units), by the name given.
  returned: always
  type: dict
  contains:
    load_state:
      description: systemd's C(LoadState) (V(loaded), V(not-found), ...).
      type: str
      sample: loaded
    unit_file_state:
      description: systemd's C(UnitFileState) (V(enabled), V(disabled), V(static), empty for a unit that does not exist).
      type: str
      sample: enabled
    active_state:
      description: systemd's C(ActiveState) (V(active), V(inactive), V(failed), ...).
      type: str
      sample: active
    enabled:
      description: Whether RV(units.unit_file_state) is V(enabled).
      type: bool
      sample: true
    active:
      description: Whether RV(units.active_state) is V(active).
      type: bool
      sample: true
  sample: {"docker.service": {"load_state": "loaded", "unit_file_state": "enabled", "active_state": "active",
                              "enabled": true, "active": true}}
daemon_json:
  description: What M(llmops.ollama.json_file) would do with O(daemon_json).
  returned: when O(daemon_json) is given
  type: dict
  contains:
    path:
      description: The path, as given.
      type: str
      sample: /etc/docker/daemon.json
    changed:
      description: Whether it would change the file (its content, mode or owner).
      type: bool
      sample: false
    created:
      description: Whether the file does not exist.
      type: bool
      sample: false
    problem:
      description: >-
        Why the file cannot be merged (not valid JSON, not a JSON object, a link, a user that does not exist), naming
        the path, never the content; M(llmops.ollama.json_file) fails with this message. RV(daemon_json.changed) is
        then V(true).
      type: str
      returned: when the file cannot be merged
      sample: "/etc/docker/daemon.json is not valid JSON: Expecting value at line 1 column 1 (char 0); fix or remove it"
lan_filter:
  description: What the role's LAN exposure filter task would change.
  returned: when O(lan_filter) is given
  type: dict
  contains:
    changed:
      description: Whether the task would change anything (or must run to find out).
      type: bool
      sample: false
    current:
      description: Whether the copy of the script at O(lan_filter.path) is the version the role ships.
      type: bool
      sample: true
    reasons:
      description: Why the rules are not in place, or why the task must run.
      type: list
      elements: str
      sample: []
    installed:
      description: What the task would change of the script's copy and its unit.
      type: list
      elements: str
      sample: []
    bridges:
      description: The bridges the filter protects (those named, and those the engine reports for existing networks).
      type: list
      elements: str
      sample: [llm-llmops]
    rules:
      description: The number of rules the filter keeps.
      type: int
      sample: 2
"""

import sys

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils._container_runtime import (
    RuntimeInfoError, lan_filter_state, unit_states)
from ansible_collections.llmops.ollama.plugins.module_utils._host_file import OWNER_ARGS, HostFileError
from ansible_collections.llmops.ollama.plugins.module_utils._host_probe import HostProbe, PACKAGES_ARG, ProbeError
from ansible_collections.llmops.ollama.plugins.module_utils._json_file import LIST_MERGES, JsonFileError, keep_merged


def read_runtime(which, run, params, python=sys.executable):
    """The module's result for `params`; changes nothing."""
    result = {"changed": False}
    result.update(HostProbe(which=which, run=run).package_result(params["packages"]))
    result["packages_missing"] = [name for name in params["packages"] if name not in result["packages_installed"]]
    result["units"] = unit_states(which, run, params["units"])
    daemon_json = params["daemon_json"]
    if daemon_json is not None:
        result["daemon_json"] = {"path": daemon_json["path"]}
        try:
            kept = keep_merged(daemon_json["path"], daemon_json["settings"], daemon_json["list_merge"],
                               daemon_json["mode"], daemon_json["owner"], daemon_json["group"], True, check_mode=True)
        except (HostFileError, JsonFileError) as e:
            # json_file fails on it with this message, where the role runs it.
            result["daemon_json"].update(changed=True, created=False, problem=str(e))
        else:
            result["daemon_json"].update(changed=kept["changed"], created=kept["created"])
    lan_filter = params["lan_filter"]
    if lan_filter is not None:
        result["lan_filter"] = lan_filter_state(run, python, lan_filter["path"], lan_filter["sha256"],
                                                lan_filter["engine"], lan_filter["networks"])
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "packages": PACKAGES_ARG,
            "units": {"type": "list", "elements": "str", "default": []},
            "daemon_json": {"type": "dict", "options": {
                "path": {"type": "path", "required": True},
                "settings": {"type": "dict", "required": True},
                "list_merge": {"type": "str", "choices": list(LIST_MERGES), "default": "append_rp"},
                "mode": {"type": "raw", "default": "0644"},
                **OWNER_ARGS,
            }},
            "lan_filter": {"type": "dict", "options": {
                "path": {"type": "path", "required": True},
                "sha256": {"type": "str", "required": True},
                "engine": {"type": "str", "choices": ["docker", "podman"], "required": True},
                "networks": {"type": "list", "elements": "str", "required": True},
            }},
        },
        supports_check_mode=True,
    )

    def run(argv):
        return module.run_command(argv, environ_update={"LC_ALL": "C"})

    try:
        result = read_runtime(module.get_bin_path, run, module.params)
    except (ProbeError, RuntimeInfoError, OSError) as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
