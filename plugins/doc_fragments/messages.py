# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The conversation option (plugins/module_utils/_common.py MESSAGES_ARG) of the modules that send one to Ollama.
    DOCUMENTATION = r"""
options:
  messages:
    description:
      - A conversation, in order, as Ollama's C(/api/chat) and C(/api/create) take it.
    type: list
    elements: dict
    suboptions:
      role:
        description: Who speaks.
        type: str
        required: true
        choices: [system, user, assistant, tool]
      content:
        description: What is said.
        type: str
        required: true
"""
