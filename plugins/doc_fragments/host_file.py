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

    # The options of the modules that keep a whole file's text (json_file, text_file).
    WRITER = r"""
options:
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
"""
