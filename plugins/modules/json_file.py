#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: json_file
short_description: Merge settings into a JSON object file, keeping the keys set by others
version_added: 0.3.0
author: llmops.ollama maintainers (@llmops)
description:
  - Reads the JSON object in O(path) (such as Docker's C(/etc/docker/daemon.json)), merges O(settings) into it and
    writes the result back; the keys that O(settings) does not name are kept as they are.
  - Objects merge key by key, recursively. A list in O(settings) meeting a list in the file is merged as
    O(list_merge) says; any other value in O(settings) replaces the file's.
  - A missing file, or an empty one, counts as an empty object. A file that is not a JSON object fails with a message
    naming the path and where the problem is, never what the file holds.
  - The file is written as C(json.dumps(merged, indent=2) + newline), keys in their order, and only when those bytes
    differ from the file's; its mode and owner are fixed when they differ.
extends_documentation_fragment:
  - llmops.ollama.attributes
  - llmops.ollama.host_file
  - llmops.ollama.host_file.writer
options:
  settings:
    description:
      - The keys to set, merged into the file's object.
    type: dict
    required: true
  list_merge:
    description:
      - How a list in O(settings) is merged with a list the file holds under the same key.
      - V(append_rp) keeps the file's items that are not in the new list, followed by the new list, as Ansible's
        C(combine(recursive=true, list_merge='append_rp')) does; so a re-run adds nothing.
      - V(replace) replaces the file's list with the new one.
    type: str
    choices: [replace, append_rp]
    default: append_rp
"""

EXAMPLES = r"""
- name: Docker's daemon settings, keeping what others set there
  llmops.ollama.json_file:
    path: /etc/docker/daemon.json
    settings:
      log-driver: json-file
      log-opts:
        max-size: 10m
      insecure-registries:
        - 10.213.0.3:5000
  register: daemon_json
  notify: Restart docker

- name: Replace a list instead of adding to it
  llmops.ollama.json_file:
    path: /etc/docker/daemon.json
    settings:
      dns: [10.0.0.2]
    list_merge: replace
"""

RETURN = r"""
config:
  description: The merged object, as written (or as it would be written, in check mode).
  returned: success
  type: dict
  sample: {"log-driver": "json-file", "insecure-registries": ["10.213.0.3:5000"]}
created:
  description: Whether the file did not exist before this run (in check mode, whether it would be created).
  returned: success
  type: bool
  sample: false
path:
  description: The path of the file, as given.
  returned: always
  type: str
  sample: /etc/docker/daemon.json
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils._host_file import HostFileError, WRITER_ARGS
from ansible_collections.llmops.ollama.plugins.module_utils._json_file import LIST_MERGES, JsonFileError, keep_merged


def update(params, check_mode):
    """(result, diff) for the file; writes nothing in check mode."""
    path = params["path"]
    kept = keep_merged(path, params["settings"], params["list_merge"], params["mode"], params["owner"], params["group"],
                       params["create_parent"], check_mode)
    diff = {
        "before_header": path,
        "after_header": path,
        "before": kept["before"].decode("utf-8") if kept["before"] is not None else "",
        "after": kept["after"].decode("utf-8"),
    }
    return {"changed": kept["changed"], "created": kept["created"], "config": kept["config"], "path": path}, diff


def main():
    module = AnsibleModule(
        argument_spec={
            "settings": {"type": "dict", "required": True},
            "list_merge": {"type": "str", "choices": list(LIST_MERGES), "default": "append_rp"},
            **WRITER_ARGS,
        },
        supports_check_mode=True,
    )
    try:
        result, diff = update(module.params, module.check_mode)
    except (HostFileError, JsonFileError) as e:
        module.fail_json(msg=str(e), path=module.params["path"])
    if module._diff:
        result["diff"] = diff
    module.exit_json(**result)


if __name__ == "__main__":
    main()
