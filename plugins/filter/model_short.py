# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: model_short
short_description: A model name in the short form Ollama lists it in, lower case
version_added: 0.3.0
description:
  - Applies Ollama's naming rules (the ones the modules use) and returns the name as C(/api/tags) and C(/api/ps)
    report it, in lower case for comparisons; V(Qwen2.5) becomes V(qwen2.5:latest),
    V(registry.ollama.ai/library/llama3:8b) becomes V(llama3:8b).
  - An invalid name is an error that says which rule it breaks.
options:
  _input:
    description: The model name.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: The names to ask the health gate for
  ansible.builtin.set_fact:
    models_short: "{{ ['Qwen2.5', 'library/llama3:8b'] | map('llmops.ollama.model_short') | list }}"
"""

RETURN = r"""
_value:
  description: The short, lower-case name.
  type: str
"""

from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name


def model_short(name):
    try:
        return _model_name.parse(name).shortest().lower()
    except _model_name.InvalidName as exc:
        raise AnsibleFilterError(str(exc))


class FilterModule:
    def filters(self):
        return {"model_short": model_short}
