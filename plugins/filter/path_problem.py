# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: path_problem
short_description: Why a path cannot be given to a role as its own directory, or an empty string
version_added: 0.2.0
description:
  - The roles create, bind-mount into containers and set the mode of the directories they are given
    (a data directory, the directory of a secret file). A system directory such as C(/), C(/etc) or
    C(/var/lib) given by mistake would be mounted read-write into a container or made 0700.
  - Returns an empty string when O(_input) is an absolute path, with no C(..) component, that is not
    one of the system directories; otherwise a message naming O(option) and the value.
options:
  _input:
    description: The path to check.
    type: path
    required: true
  option:
    description: The name of the variable the path came from, for the message.
    type: str
    required: true
  kind:
    description:
      - V(directory) checks the path itself; V(file) checks the directory the file is kept in.
    type: str
    default: directory
    choices: [directory, file]
"""

EXAMPLES = r"""
- name: Refuse a data directory, or a secret file's directory, that is a system directory
  ansible.builtin.fail:
    msg: "{{ inventory_hostname }}: {{ __path_problems | join('; ') }}"
  when: __path_problems | length > 0
  vars:
    __path_problems: >-
      {{ [ollama_data_dir | llmops.ollama.path_problem('ollama_data_dir'),
          api_token_file | llmops.ollama.path_problem('api_token_file', kind='file')] | select | list }}
"""

RETURN = r"""
_value:
  description: An empty string, or why the path is refused.
  type: str
"""

import posixpath

from ansible.errors import AnsibleFilterError

# Directories that belong to the system: never a role's own data or secrets directory.
SYSTEM_DIRECTORIES = frozenset((
    "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt",
    "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/lib",
    "/usr/local", "/usr/sbin", "/usr/share", "/var", "/var/cache", "/var/lib", "/var/log", "/var/run",
    "/var/tmp", "/var/spool", "/var/mail", "/var/opt", "/snap",
))


def path_problem(path, option, kind="directory"):
    if kind not in ("directory", "file"):
        raise AnsibleFilterError("path_problem: kind must be directory or file, got %r" % (kind,))
    text = "%s=%s" % (option, _quoted(path))
    if not isinstance(path, str) or not path.startswith("/"):
        return "%s must be an absolute path" % text
    if ".." in path.split("/"):
        return "%s must not contain a '..' component" % text
    normal = posixpath.normpath(path)
    if normal.startswith("//"):
        normal = "/" + normal.lstrip("/")
    checked = posixpath.dirname(normal) if kind == "file" else normal
    if kind == "file" and normal == checked:
        return "%s names no file" % text
    if checked in SYSTEM_DIRECTORIES:
        what = "is the system directory" if kind == "directory" else "would keep the file directly in the system directory"
        return "%s %s %s; give a directory of its own, such as %s" % (
            text, what, checked, posixpath.join(checked if checked != "/" else "/srv", "llmops"))
    return ""


def _quoted(value):
    return '"%s"' % value if isinstance(value, str) else repr(value)


class FilterModule:
    def filters(self):
        return {"path_problem": path_problem}
