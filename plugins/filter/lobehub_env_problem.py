# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: lobehub_env_problem
short_description: Why extra environment variables for LobeHub 2.x are refused, or an empty string
version_added: 0.4.0
description:
  - LobeHub 2.x exits at start when any ACCESS_CODE-era variable is set (C(ACCESS_CODE), C(NEXT_PUBLIC_SERVICE_MODE),
    C(NEXTAUTH_*) and C(NEXT_AUTH_*), Clerk's, C(AUTH_URL), C(OIDC_JWKS_KEY), the old Azure AD, ZITADEL and Entra ID
    names, as its C(checkDeprecatedAuth.js) lists them). Each one found is refused, saying what replaces it in 2.x.
  - Names in O(managed), which the role sets itself, are refused too.
  - Returns the problems joined with C(; ), or an empty string.
options:
  _input:
    description: The environment variables, a mapping.
    type: dict
    required: true
  option:
    description: The name of the variable the mapping came from, for the messages.
    type: str
    required: true
  managed:
    description: The names the role sets itself.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Refuse ACCESS_CODE and the other 1.x variables in the extra environment
  ansible.builtin.fail:
    msg: "{{ inventory_hostname }}: {{ lobechat_extra_env | llmops.ollama.lobehub_env_problem('lobechat_extra_env') }}"
  when: lobechat_extra_env | llmops.ollama.lobehub_env_problem('lobechat_extra_env') | length > 0
"""

RETURN = r"""
_value:
  description: An empty string, or every problem, joined with C(; ).
  type: str
"""

from ansible_collections.llmops.ollama.plugins.module_utils._lobehub import env_problems


def lobehub_env_problem(env, option, managed=None):
    return "; ".join(env_problems(env, option, managed or ()))


class FilterModule:
    def filters(self):
        return {"lobehub_env_problem": lobehub_env_problem}
