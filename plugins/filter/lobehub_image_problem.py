# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: lobehub_image_problem
short_description: Why a LobeHub image (repository, tag, digest) is refused, naming the advisories, or an empty string
version_added: 0.4.0
description:
  - The checks of P(llmops.ollama.image_problem#filter) (the reference grammar of each part), with the floor
    C(2.1.57), the first release with the fix for CVE-2026-54157.
  - A LobeChat 1.x tag is refused naming both of its advisories, CVE-2026-39411 (the access code can be forged) and
    CVE-2026-54157 (an open proxy); a 2.x tag below 2.1.57 naming CVE-2026-54157. O(allow_unsafe) lets them through.
  - Returns the problems joined with C(; ), or an empty string.
extends_documentation_fragment:
  - llmops.ollama.image
options:
  _input:
    description: The repository, such as V(docker.io/lobehub/lobehub).
  tag:
    description: The tag, such as V(2.2.19).
  allow_unsafe:
    description: Let a release below the floor, a tag that is not a version, or a digest without a tag through.
"""

EXAMPLES = r"""
- name: Refuse LobeChat 1.x and LobeHub releases with known advisories
  ansible.builtin.fail:
    msg: "{{ inventory_hostname }}: {{ __problem }}"
  when: __problem | length > 0
  vars:
    __problem: >-
      {{ lobechat_image_repository | llmops.ollama.lobehub_image_problem('lobechat_image', tag=lobechat_image_tag,
           digest=lobechat_image_digest, unsafe_option='lobechat_allow_unsafe_version',
           allow_unsafe=lobechat_allow_unsafe_version) }}
"""

RETURN = r"""
_value:
  description: An empty string, or every problem of the image, joined with C(; ).
  type: str
"""

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.llmops.ollama.plugins.module_utils._lobehub import image_problems


def lobehub_image_problem(repository, prefix, tag="", digest="", unsafe_option="", allow_unsafe=False):
    return "; ".join(image_problems(repository, "" if tag is None else tag, "" if digest is None else digest, prefix,
                                    unsafe_option=unsafe_option or "", allow_unsafe=boolean(allow_unsafe, strict=False)))


class FilterModule:
    def filters(self):
        return {"lobehub_image_problem": lobehub_image_problem}
