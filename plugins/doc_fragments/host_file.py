# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The ownership options of the modules that write one file on the host (plugins/module_utils/_host_file.py).
    DOCUMENTATION = r"""
options:
  owner:
    description:
      - The user (name or number) that owns the file, and the parent directory when the module creates it.
    type: str
    default: root
  group:
    description:
      - The group (name or number) of the file, and of the parent directory when the module creates it.
    type: str
    default: root
"""

    # What the modules that keep a whole file's text (json_file, text_file) share: the path and file options, the
    # attributes' support, and how the file is written.
    WRITER = r"""
options:
  path:
    description:
      - The absolute path of the file.
    type: path
    required: true
  mode:
    description:
      - The file's mode, in octal, such as V("0644") (quote it in YAML). Symbolic modes are not supported.
    type: raw
    default: "0644"
  create_parent:
    description:
      - Create the parent directory (and the missing ones above it) with mode C(0755) when it is missing.
      - An existing directory is never changed.
      - When V(false), a missing parent directory fails.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the file's text before and after.
  idempotent:
    support: full
notes:
  - The file is never reached through a link. A symbolic link or anything but a regular file at O(path) fails, naming
    the path, and is left as it is. The file is replaced atomically (a temporary file created exclusively in the same
    directory, owner and mode set on its descriptor, synced, then renamed over O(path)).
  - Error messages name the path, never the file's content.
"""
