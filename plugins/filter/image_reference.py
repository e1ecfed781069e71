# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: image_reference
short_description: The image reference a role gives the container engine, from its repository, tag and digest
version_added: 0.3.0
description:
  - Without a digest, C(repository:tag) followed by O(tag_suffix) (such as the C(-rocm) of Ollama's AMD image).
  - With a digest, C(repository@sha256:...). The tag then only tells people, and the role's version check, what the
    digest is; the engine pulls and runs exactly the digest. (community.docker cannot find an image again that was
    pulled as C(name:tag@digest), so that form is not given to the engine.)
  - The parts are not checked here; the filter P(llmops.ollama.image_advisories#filter) does that in the roles' preflight.
options:
  _input:
    description: The repository, such as V(docker.io/ollama/ollama).
    type: str
    required: true
  tag:
    description: The tag.
    type: str
    default: ""
  digest:
    description: V(sha256:<64 hex>) or empty.
    type: str
    default: ""
  tag_suffix:
    description: Appended to the tag when there is no digest.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: The image the engine runs
  ansible.builtin.debug:
    msg: "{{ ollama_image_repository | llmops.ollama.image_reference(ollama_image_tag, ollama_image_digest) }}"
"""

RETURN = r"""
_value:
  description: The reference, such as V(docker.io/ollama/ollama:0.32.15) or V(docker.io/ollama/ollama@sha256:...).
  type: str
"""

from ansible_collections.llmops.ollama.plugins.module_utils._image_ref import reference


def image_reference(repository, tag="", digest="", tag_suffix=""):
    return reference(repository, tag or "", digest or "", tag_suffix or "")


class FilterModule:
    def filters(self):
        return {"image_reference": image_reference}
