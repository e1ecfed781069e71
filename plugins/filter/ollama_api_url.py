# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: ollama_api_url
short_description: The URL a host reaches its own published Ollama API at
version_added: 0.3.0
description:
  - The one place the collection works out the API URL from the address and port Ollama is published on.
  - A wildcard address (V(0.0.0.0), V(::)) is reached on V(127.0.0.1); any other address as it is (IPv6 in brackets).
options:
  _input:
    description: The address the API is published on (C(ollama_publish_address)).
    type: str
    required: true
  port:
    description: The published port (C(ollama_port)).
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Where the modules reach Ollama
  ansible.builtin.debug:
    msg: "{{ '10.0.0.5' | llmops.ollama.ollama_api_url(11434) }}"  # http://10.0.0.5:11434
"""

RETURN = r"""
_value:
  description: The URL, without a trailing slash.
  type: str
"""


def ollama_api_url(publish_address, port):
    address = str(publish_address).strip()
    host = "127.0.0.1" if address in ("0.0.0.0", "::", "") else address
    if ":" in host:
        host = "[%s]" % host
    return "http://%s:%s" % (host, port)


class FilterModule:
    def filters(self):
        return {"ollama_api_url": ollama_api_url}
