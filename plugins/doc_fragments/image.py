# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The options of the filter that checks a role's image, image_advisories, shared with its documentation.
    DOCUMENTATION = r"""
options:
  _input:
    description: The repository, such as V(docker.io/ollama/ollama).
    type: str
    required: true
  prefix:
    description: The variables' common prefix, such as V(ollama_image) or V(lobechat_image), for the messages.
    type: str
    required: true
  tag:
    type: str
    default: ""
  digest:
    description: The digest that pins the image, V(sha256:<64 hex>), or empty.
    type: str
    default: ""
  unsafe_option:
    description: The variable that lets a tag below the floor through, named in the messages.
    type: str
    default: ""
  allow_unsafe:
    type: bool
    default: false
"""
