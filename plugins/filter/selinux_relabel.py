# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: selinux_relabel
short_description: Bind mounts with SELinux's private label where SELinux enforces
version_added: 0.4.0
description:
  - Adds the V(Z) option (relabel for this container only) to each bind mount (a source that is an absolute path)
    of a list of C(source:target[:options]) volumes when O(enforcing) is true; named volumes and an
    option list that already has V(z) or V(Z) are left as they are.
  - Docker and Podman then relabel the directory, so that a confined container may use it.
options:
  _input:
    description: The volumes, C(source:target[:options]).
    type: list
    elements: str
    required: true
  enforcing:
    description: Whether SELinux enforces on the host.
    type: bool
    required: true
"""

EXAMPLES = r"""
- name: The Ollama data directory, relabelled on an SELinux host
  ansible.builtin.debug:
    msg: "{{ ['/var/lib/ollama:/root/.ollama', 'conf:/etc/nginx:ro'] | llmops.ollama.selinux_relabel(true) }}"
    # ['/var/lib/ollama:/root/.ollama:Z', 'conf:/etc/nginx:ro']
"""

RETURN = r"""
_value:
  description: The volumes, bind mounts relabelled when O(enforcing) is true.
  type: list
  elements: str
"""


def selinux_relabel(volumes, enforcing):
    if not isinstance(volumes, (list, tuple)):
        raise AnsibleFilterError("selinux_relabel: expected a list of volumes, got %r" % (volumes,))
    if not enforcing:
        return list(volumes)
    relabelled = []
    for volume in volumes:
        parts = str(volume).split(":")
        if len(parts) < 2 or not parts[0].startswith("/"):
            relabelled.append(str(volume))
            continue
        options = parts[2].split(",") if len(parts) > 2 and parts[2] else []
        if not {"z", "Z"} & set(options):
            options.append("Z")
        relabelled.append(":".join(parts[:2] + [",".join(options)]))
    return relabelled


class FilterModule:
    def filters(self):
        return {"selinux_relabel": selinux_relabel}
