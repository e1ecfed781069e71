#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: data_secrets_info
short_description: Find data whose secret is gone from the host, before a run makes a new secret that cannot read it
version_added: 0.9.0
author: llmops.ollama maintainers (@llmops)
description:
  - Some data can only be used with the secret it was made with. A Postgres volume accepts only the password it was
    created with, the provider keys LobeHub stores are encrypted with its C(KEY_VAULTS_SECRET), Open WebUI's users
    are signed in with its C(WEBUI_SECRET_KEY) and its admin exists with the password it was created with.
  - A host re-installed on its old data disk, or whose configuration directory was deleted, keeps the data and loses
    the secrets; the roles would then generate new secrets that do not fit the data. This module finds each pair of
    O(pairs) whose data (a named volume of the O(engine)) exists while its secret file is missing or empty and no
    value is given for it, so that preflight stops the run before anything changes.
  - Returns one message per such pair in RV(problems), naming the volume, the lost file, how to put it back, and the
    variable that asks for a new secret where one may be made, with what a new one costs.
extends_documentation_fragment:
  - llmops.ollama.attributes
  - llmops.ollama.attributes.info_module
options:
  engine:
    description: The container engine whose volumes are read. An engine that is not installed has no volumes.
    type: str
    choices: [docker, podman]
    required: true
  pairs:
    description: The data and the secret that belong together.
    type: list
    elements: dict
    required: true
    suboptions:
      volume:
        description: The named volume that holds the data.
        type: str
        required: true
      data:
        description: What the volume holds, in words, such as V(LobeHub's database).
        type: str
        required: true
      secret_file:
        description: The file on the host that keeps the secret.
        type: path
        required: true
      variable:
        description: The variable that gives the secret's value instead of the file (from a vault).
        type: str
        required: true
      given:
        description: Whether that variable holds a value; a given secret is never missing.
        type: bool
        default: false
      renew_variable:
        description:
          - The variable that asks for a new secret although the data exists; empty where a new secret cannot work
            (a database password the database does not know).
        type: str
        default: ""
      renew:
        description: Whether O(pairs[].renew_variable) is set to true; such a pair is not a problem.
        type: bool
        default: false
      renew_cost:
        description: What a new secret makes unusable, said when O(pairs[].renew_variable) is offered.
        type: str
        default: ""
  restore_hint:
    description: How to put the secret files back, such as the restore playbook's command; said in every problem.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Find LobeHub's data whose secrets are lost
  llmops.ollama.data_secrets_info:
    engine: docker
    pairs:
      - volume: lobechat-postgres
        data: LobeHub's database
        secret_file: /etc/llmops/lobechat/postgres-password
        variable: lobechat_postgres_password
        given: false
  register: lost

- name: Stop before anything changes
  ansible.builtin.fail:
    msg: "{{ lost.problems | join('; ') }}"
  when: lost.problems | length > 0
"""

RETURN = r"""
volumes:
  description: The volumes of O(pairs) that exist on the host.
  returned: always
  type: list
  elements: str
  sample: [lobechat-postgres]
lost:
  description: The secret files whose data exists while they are missing or empty, and no value is given.
  returned: always
  type: list
  elements: str
  sample: [/etc/llmops/lobechat/key-vaults-secret]
problems:
  description: One message per lost secret (not asked to be renewed), naming the volume, the file and the way out.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule


def volume_exists(module, engine, volume):
    binary = module.get_bin_path(engine)
    if not binary:
        return False
    rc, _out, _err = module.run_command([binary, "volume", "inspect", volume])
    return rc == 0


def secret_present(path):
    """A regular file with something in it; a link is not a kept secret (secret_file refuses it anyway)."""
    try:
        if os.path.islink(path) or not os.path.isfile(path):
            return False
        with open(path, "rb") as handle:
            return bool(handle.read(4096).strip())
    except OSError:
        return False


def problem(pair, restore_hint):
    text = ("the volume %s holds %s, but the secret it was made with is gone: %s is missing and %s is not given"
            % (pair["volume"], pair["data"], pair["secret_file"], pair["variable"]))
    ways = ["put the file back (%s)" % restore_hint if restore_hint else "put the file back from a backup",
            "give its value in %s" % pair["variable"]]
    if pair.get("renew_variable"):
        ways.append("set %s: true for a new one, which %s" % (pair["renew_variable"], pair.get("renew_cost") or "cannot read what the old one protected"))
    return "%s. Nothing was changed; %s" % (text, ", or ".join(ways))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            engine=dict(type="str", required=True, choices=["docker", "podman"]),
            pairs=dict(type="list", elements="dict", required=True, options=dict(
                volume=dict(type="str", required=True),
                data=dict(type="str", required=True),
                secret_file=dict(type="path", required=True),
                variable=dict(type="str", required=True),
                given=dict(type="bool", default=False),
                renew_variable=dict(type="str", default=""),
                renew=dict(type="bool", default=False),
                renew_cost=dict(type="str", default=""),
            )),
            restore_hint=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    engine = module.params["engine"]
    existing = {}
    lost, problems = [], []
    for pair in module.params["pairs"]:
        volume = pair["volume"]
        if volume not in existing:
            existing[volume] = volume_exists(module, engine, volume)
        if not existing[volume] or pair["given"] or secret_present(pair["secret_file"]):
            continue
        lost.append(pair["secret_file"])
        if not (pair["renew_variable"] and pair["renew"]):
            problems.append(problem(pair, module.params["restore_hint"]))
    module.exit_json(changed=False, volumes=sorted(v for v, there in existing.items() if there),
                     lost=lost, problems=problems)


if __name__ == "__main__":
    main()
