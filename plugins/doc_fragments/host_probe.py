# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The packages option (plugins/module_utils/_host_probe.py PACKAGES_ARG) of the info modules that report which
    # packages a host has installed.
    DOCUMENTATION = r"""
options:
  packages:
    description:
      - Package names to look for in the host's package database. A host with neither C(dpkg-query) nor C(rpm) fails
        when this is not empty.
    type: list
    elements: str
    default: []
"""
