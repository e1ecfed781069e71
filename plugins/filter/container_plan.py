# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import json

from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.ollama.plugins.filter.network_bridge import network_bridge

DOCUMENTATION = r"""
name: container_plan
short_description: Whether a container is as specified, from one read of the host's containers
version_added: 0.4.0
description:
  - The decision of the private C(llmops.ollama._container) role, in one place. It compares a container's
    specification with what M(llmops.ollama.container_state_info) read on the host and says whether anything must be
    done.
  - The container is current when it runs (and is not restarting in a loop), carries the hash of this specification in its C(llmops.spec) label, runs
    the image its reference names now (the image ID of the reference is the container's), and each of its bind mounts
    still has its source on the host (a directory removed under a running container holds what is written to it until
    the container goes).
  - The hash covers the specification, the memory limit as this host works it out (so a host given more memory gets
    its share) and the secret environment. It is the SHA-256 of their JSON with sorted keys, as C(to_json(sort_keys=True)
    | hash('sha256')) writes it, so containers created by an earlier release are recognised.
options:
  _input:
    description: The result of M(llmops.ollama.container_state_info).
    type: dict
    required: true
  spec:
    description: The container's specification (C(_container_spec) of the C(_container) role's C(run) entry point).
    type: dict
    required: true
  secret_env:
    description: The environment variables that hold secrets; only their hash is returned.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Decide whether the container must be (re-)created
  ansible.builtin.set_fact:
    __container_plan: "{{ __container_state | llmops.ollama.container_plan(_container_spec, _container_secret_env) }}"
  no_log: true
"""

RETURN = r"""
_value:
  description: The decision.
  type: dict
  contains:
    hash:
      description: The hash of the specification, the container's C(llmops.spec) label.
      type: str
    memory:
      description: The memory limit in the engine's words (a share such as V(90%) in megabytes of this host); empty for none.
      type: str
    missing_networks:
      description: The container's networks that are missing, or were made without the bridge name the collection gives them.
      type: list
      elements: str
    current:
      description: Whether the container runs, from this specification and the image its reference names now.
      type: bool
    run:
      description: Whether the container task must run (the engine is there and the container is not current).
      type: bool
    recreate:
      description:
        - Whether the container must be re-created although the engine would find it as specified (a bind-mount source
          has gone from the host; the engine compares the mount's path, not what is there), or because it is
          restarting in a loop (the engine would leave a container it sees running alone).
      type: bool
    repair:
      description:
        - Why a container that exists is not running as it should, in words for the run's output (V(restarting in a
          loop), V(exited), V(created but never started)); empty when it runs.
      type: str
    apply:
      description: Whether anything must be done (the engine is missing, a network is missing, or the container is not current).
      type: bool
    health:
      description: The engine's health status of the container as read; empty for none.
      type: str
    state:
      description:
        - The input without this container's entry (the read has answered), so that the next question about this
          container reads the host again.
      type: dict
"""


def spec_hash(spec, memory, secret_env):
    """What to_json(sort_keys=True) | hash('sha256') gives for the same dict (json.dumps' default separators)."""
    document = {"spec": spec, "memory": memory, "secret_env": secret_env}
    return hashlib.sha256(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()


def memory_limit(memory, memory_total_bytes):
    memory = str(memory)
    if not memory.endswith("%"):
        return memory
    try:
        share = float(memory[:-1])
        total = int(memory_total_bytes or 0)
    except (TypeError, ValueError):
        raise AnsibleFilterError("container_plan: memory %r is not a share such as 90%%" % memory)
    return "%dm" % int(total * share / 100 / 1048576)


def repair_reason(found):
    """Why an existing container is not running as it should, or an empty string (also for no container at all)."""
    if not found:
        return ""
    if found.get("restarting"):
        return "restarting in a loop"
    if found.get("running", False):
        return ""
    status = found.get("status") or "stopped"
    return "created but never started" if status == "created" else status


def container_plan(state, spec, secret_env=None):
    if not isinstance(state, dict) or "containers" not in state:
        raise AnsibleFilterError("container_plan: expected the result of container_state_info, got %r" % (state,))
    if not isinstance(spec, dict) or not spec.get("name") or not spec.get("networks"):
        raise AnsibleFilterError("container_plan: the specification needs a name and networks, got %r" % (spec,))
    secret_env = secret_env or {}
    name = spec["name"]
    containers = state.get("containers") or {}
    found = containers.get(name) or {}
    memory = memory_limit(spec.get("memory", ""), state.get("memory_total_bytes", 0))
    digest = spec_hash(spec, memory, secret_env)

    networks = state.get("networks") or {}
    missing = []
    for network in spec["networks"]:
        network_name = str(network["name"])
        if (networks.get(network_name) or {}).get("bridge") != network_bridge(network_name):
            missing.append(network_name)

    repair = repair_reason(found)
    current = bool(
        found.get("running", False)
        and not repair
        and found.get("spec", "") == digest
        and found.get("image", "") == spec.get("image")
        and found.get("current_image_id") == found.get("image_id", "")
        and not found.get("missing_mounts")
    )
    engine_present = bool(state.get("engine_present"))
    left = dict(state)
    left["containers"] = dict((key, value) for key, value in containers.items() if key != name)
    return {
        "hash": digest,
        "memory": memory,
        "missing_networks": missing,
        "current": current,
        "run": engine_present and not current,
        "recreate": engine_present and bool(found.get("missing_mounts") or found.get("restarting")),
        "repair": repair,
        "apply": not engine_present or not current or bool(missing),
        "health": found.get("health") or "",
        "state": left,
    }


class FilterModule:
    def filters(self):
        return {"container_plan": container_plan}
