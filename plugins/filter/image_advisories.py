# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: image_advisories
short_description: A role's container image judged against the collection's advisories data
version_added: 0.4.0
description:
  - A role's image is three variables, C(<prefix>_repository), C(<prefix>_tag) and C(<prefix>_digest); the container
    engine gets C(repository:tag), or C(repository@sha256:...) when a digest pins the image.
  - Checks each part against the reference grammar Docker and Podman share, and names the variable at fault with its
    value. A digest must be V(sha256:<64 lower-case hex>). A repository that holds a tag or a digest, or a tag that
    holds a digest, is refused with where each part goes.
  - The floor and the advisories of O(component) come from the collection's C(meta/advisories.yml), which
    C(docs/supply-chain.md) and C(make versions) show. A tag below the floor (a pre-release such as V(0.35.1-rc1)
    counts as below V(0.35.1)) is refused naming the advisories it is affected by, unless O(allow_unsafe) is true.
    With a floor, a tag that is not a version and a digest without its tag are refused too (the version behind a
    digest cannot be judged).
  - An advisory that no release at or above the floor fixes is never a refusal; it is returned in RV(_value.warnings),
    naming what stands in for a fix.
extends_documentation_fragment:
  - llmops.ollama.image
options:
  component:
    description: The component of C(meta/advisories.yml) the image is, such as V(ollama), V(lobehub), V(open_webui),
      V(nginx), V(paradedb) or V(redis).
    type: str
    required: true
  tag:
    description: The tag, such as V(0.40.2); may be empty when O(digest) is given and the component has no floor.
  min_version:
    description: A floor that replaces the data's (a role's override variable, such as V(ollama_min_version)); empty
      for the data's.
    type: str
    default: ""
  allow_unsafe:
    description: Let a tag below the floor, one that is not a version, or a digest without a tag through.
"""

EXAMPLES = r"""
- name: Refuse a malformed image, or one below the floor, naming its advisories
  ansible.builtin.fail:
    msg: "{{ inventory_hostname }}: {{ __ollama_image.problems | join('; ') }}"
  when: __ollama_image.problems | length > 0
  vars:
    __ollama_image: >-
      {{ ollama_image_repository | llmops.ollama.image_advisories('ollama_image', component='ollama',
           tag=ollama_image_tag, digest=ollama_image_digest, min_version=ollama_min_version,
           unsafe_option='ollama_allow_unsafe_version', allow_unsafe=ollama_allow_unsafe_version) }}
"""

RETURN = r"""
_value:
  description: What is wrong with the image, and what to know about it.
  type: dict
  contains:
    problems:
      description: Every refusal, each naming the variable, its value and, below the floor, the advisories.
      type: list
      elements: str
    warnings:
      description: Each advisory affecting the tag that no release the role lets through fixes, naming what stands in.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.llmops.ollama.plugins.module_utils._advisories import problems, warnings


def image_advisories(repository, prefix, component, tag="", digest="", min_version="", unsafe_option="",
                     allow_unsafe=False):
    tag = "" if tag is None else tag
    try:
        found = problems(component, repository, tag, "" if digest is None else digest, prefix,
                         min_version=min_version or "", unsafe_option=unsafe_option or "",
                         allow_unsafe=boolean(allow_unsafe, strict=False))
        warned = [] if found else warnings(component, tag, prefix)
    except KeyError as err:
        raise AnsibleFilterError(str(err.args[0]))
    return {"problems": found, "warnings": warned}


class FilterModule:
    def filters(self):
        return {"image_advisories": image_advisories}
