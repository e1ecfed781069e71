# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: mirror_url_problem
short_description: Why a model mirror URL is refused, or an empty string
version_added: 0.3.0
description:
  - The check M(llmops.ollama.ollama_mirror_fetch) makes of its O(llmops.ollama.ollama_mirror_fetch#module:mirror),
    made by a role's preflight before anything changes on any host, plus the rule that a mirror is reached over
    HTTPS unless O(allow_http) says otherwise.
  - A URL with credentials in it (C(user:password@host)) is refused without quoting it, since it holds a password.
  - An empty O(_input) (no mirror) is fine.
options:
  _input:
    description: The mirror URL.
    type: str
    required: true
  option:
    description: The name of the variable the URL came from, for the message.
    type: str
    required: true
  allow_http:
    description: Accept a plain C(http://) mirror.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Refuse a mirror URL, and plain HTTP unless the inventory allows it
  ansible.builtin.fail:
    msg: "{{ inventory_hostname }}: {{ __mirror_problem }}"
  when: __mirror_problem | length > 0
  vars:
    __mirror_problem: >-
      {{ ollama_models_mirror_url | llmops.ollama.mirror_url_problem('ollama_models_mirror_url',
                                                                     allow_http=ollama_models_mirror_allow_http) }}
"""

RETURN = r"""
_value:
  description: An empty string, or why the URL is refused.
  type: str
"""

from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import InvalidMirror, mirror_url


def mirror_url_problem(url, option, allow_http=False):
    if url is None or url == "":
        return ""
    try:
        base = mirror_url(url, option)
    except InvalidMirror as e:
        return str(e)
    if base.startswith("http://") and not allow_http:
        return ("%s=%s must be an https:// URL (or http:// with %s_allow_http: true): plain HTTP carries the models "
                "and any credentials in clear text" % (option, base, option.rsplit("_url", 1)[0]))
    return ""


class FilterModule:
    def filters(self):
        return {"mirror_url_problem": mirror_url_problem}
