# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: tmpfs_mounts
short_description: Temporary file systems in Docker's words
version_added: 0.4.0
description:
  - Turns a mapping of mount point to mount options (Podman's C(tmpfs) option) into the C(path[:options])
    list of C(community.docker.docker_container)'s C(tmpfs), sorted by path.
options:
  _input:
    description: Mount point to mount options (empty for the engine's defaults).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: A small /tmp for nginx
  ansible.builtin.debug:
    msg: "{{ {'/tmp': 'rw,noexec,size=16m'} | llmops.ollama.tmpfs_mounts }}"  # ['/tmp:rw,noexec,size=16m']
"""

RETURN = r"""
_value:
  description: C(path[:options]) entries.
  type: list
  elements: str
"""


def tmpfs_mounts(mounts):
    if not isinstance(mounts, dict):
        raise AnsibleFilterError("tmpfs_mounts: expected a mapping of path to options, got %r" % (mounts,))
    return ["%s:%s" % (path, options) if options else str(path) for path, options in sorted(mounts.items())]


class FilterModule:
    def filters(self):
        return {"tmpfs_mounts": tmpfs_mounts}
