# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: image_problem
short_description: Why a role's container image (repository, tag, digest) is refused, or an empty string
version_added: 0.3.0
description:
  - A role's image is three variables, C(<prefix>_repository), C(<prefix>_tag) and C(<prefix>_digest); the container
    engine gets C(repository:tag), or C(repository@sha256:...) when a digest pins the image.
  - Checks each part against the reference grammar Docker and Podman share, and names the variable at fault with its
    value. A digest must be V(sha256:<64 lower-case hex>). A repository that holds a tag or a digest, or a tag that
    holds a digest, is refused with where each part goes.
  - With O(min_version), the tag must be a version at or above it (a pre-release such as V(0.31.2-rc1) counts as below
    V(0.31.2)), unless O(allow_unsafe) is true. A digest alone says nothing about the version behind it, so a digest
    without a tag is refused when there is a floor; give the tag the digest belongs to as well.
  - Returns the problems joined with C(; ), or an empty string.
extends_documentation_fragment:
  - llmops.ollama.image
options:
  tag:
    description: The tag, such as V(0.32.15); may be empty when O(digest) is given and there is no O(min_version).
  min_version:
    description: The lowest version the tag may name, such as V(0.31.2); empty for no floor.
    type: str
    default: ""
  allow_unsafe:
    description: Let a tag below O(min_version), one that is not a version, or a digest without a tag through.
"""

EXAMPLES = r"""
- name: Refuse a malformed image, or one below the version floor
  ansible.builtin.fail:
    msg: "{{ inventory_hostname }}: {{ __ollama_image_problem }}"
  when: __ollama_image_problem | length > 0
  vars:
    __ollama_image_problem: >-
      {{ ollama_image_repository | llmops.ollama.image_problem('ollama_image', tag=ollama_image_tag,
           digest=ollama_image_digest, min_version=ollama_min_version,
           unsafe_option='ollama_allow_unsafe_version', allow_unsafe=ollama_allow_unsafe_version) }}
"""

RETURN = r"""
_value:
  description: An empty string, or every problem of the image, joined with C(; ).
  type: str
"""

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.llmops.ollama.plugins.module_utils._image_ref import check


def image_problem(repository, prefix, tag="", digest="", min_version="", unsafe_option="", allow_unsafe=False):
    return "; ".join(check(repository, "" if tag is None else tag, "" if digest is None else digest, prefix,
                           min_version=min_version or "", unsafe_option=unsafe_option or "",
                           allow_unsafe=boolean(allow_unsafe, strict=False)))


class FilterModule:
    def filters(self):
        return {"image_problem": image_problem}
