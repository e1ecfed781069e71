# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import re

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: network_bridge
short_description: The bridge interface name the collection gives a container network
version_added: 0.3.0
description:
  - The one place the collection works out the Linux bridge of a container network it creates, so that the
    network (created by the C(ollama) role) and the LAN exposure filter (installed earlier by the
    C(container_runtime) role, before the network exists) name the same interface.
  - V(llm-) and the network name when that fits in 15 characters (the kernel's limit); otherwise V(llm-), the
    first 4 characters of the name, V(-) and 6 hexadecimal digits of the name's SHA-256.
options:
  _input:
    description: The container network's name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The bridge of the collection's default network
  ansible.builtin.debug:
    msg: "{{ 'llmops' | llmops.ollama.network_bridge }}"  # llm-llmops
"""

RETURN = r"""
_value:
  description: The bridge name, 15 characters at most.
  type: str
"""

PREFIX = "llm-"
IFNAMSIZ = 15
# Docker's and Podman's rule for network names; every such name is also a valid interface name.
NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")


def network_bridge(name):
    name = str(name)
    if not NAME.fullmatch(name):
        raise AnsibleFilterError("network_bridge: %r is not a container network name" % name)
    if len(PREFIX) + len(name) <= IFNAMSIZ:
        return PREFIX + name
    return "%s%s-%s" % (PREFIX, name[:4], hashlib.sha256(name.encode()).hexdigest()[:6])


class FilterModule:
    def filters(self):
        return {"network_bridge": network_bridge}
