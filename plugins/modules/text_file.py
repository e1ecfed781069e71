#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: text_file
short_description: Keep a configuration file's text, creating its directory, in one call to the host
version_added: 0.4.0
author: llmops.ollama maintainers (@llmops)
description:
  - Makes the file at O(path) hold exactly O(content) (text rendered on the controller, for example with the
    C(ansible.builtin.template) lookup), with O(mode), O(owner) and O(group); writes only when the bytes differ and fixes
    the mode and owner when only they differ.
  - Creates the missing directories above O(path) with mode C(0755) (O(create_parent)); an existing directory is never
    changed.
  - One call to the host, where C(ansible.builtin.template) makes two (a C(stat), then C(copy) or C(file)) and a
    C(file) task for the directory a third; a daily no-op run of the roles is faster for it.
extends_documentation_fragment:
  - llmops.ollama.attributes
  - llmops.ollama.host_file
  - llmops.ollama.host_file.writer
options:
  content:
    description:
      - The text the file holds, written as UTF-8.
    type: str
    required: true
seealso:
  - module: llmops.ollama.json_file
"""

EXAMPLES = r"""
- name: Write the front door's nginx configuration
  llmops.ollama.text_file:
    path: /etc/llmops/front-door/nginx.conf
    content: "{{ lookup('ansible.builtin.template', 'nginx.conf.j2') }}"
    mode: "0644"
  register: nginx_conf
"""

RETURN = r"""
created:
  description: Whether the file did not exist before this run (in check mode, whether it would be created).
  returned: success
  type: bool
  sample: false
path:
  description: The path of the file, as given.
  returned: always
  type: str
  sample: /etc/llmops/front-door/nginx.conf
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils._host_file import HostFileError, WRITER_ARGS, keep_content


def main():
    module = AnsibleModule(
        argument_spec={
            "content": {"type": "str", "required": True},
            **WRITER_ARGS,
        },
        supports_check_mode=True,
    )
    p = module.params
    new = p["content"].encode("utf-8")
    try:
        changed, created, before = keep_content(p["path"], new, p["mode"], p["owner"], p["group"],
                                                p["create_parent"], module.check_mode)
    except HostFileError as e:
        module.fail_json(msg=str(e), path=p["path"])
    result = {"changed": changed, "created": created, "path": p["path"]}
    if module._diff:
        result["diff"] = {"before_header": p["path"], "after_header": p["path"],
                          "before": before.decode("utf-8", "replace") if before is not None else "",
                          "after": p["content"]}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
