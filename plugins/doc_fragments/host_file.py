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
