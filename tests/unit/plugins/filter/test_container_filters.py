# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""selinux_relabel and tmpfs_mounts: the private _container role's volume and tmpfs options."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.llmops.ollama.plugins.filter.selinux_relabel import selinux_relabel
from ansible_collections.llmops.ollama.plugins.filter.tmpfs_mounts import tmpfs_mounts

VOLUMES = ["/var/lib/ollama:/root/.ollama", "/etc/llmops/front-door:/etc/llmops/front-door:ro",
           "open-webui-data:/app/backend/data", "/srv/shared:/data:z"]


def test_bind_mounts_get_the_private_label_when_selinux_enforces():
    assert selinux_relabel(VOLUMES, True) == [
        "/var/lib/ollama:/root/.ollama:Z", "/etc/llmops/front-door:/etc/llmops/front-door:ro,Z",
        "open-webui-data:/app/backend/data", "/srv/shared:/data:z"]


def test_nothing_changes_without_selinux():
    assert selinux_relabel(VOLUMES, False) == VOLUMES


def test_relabel_refuses_a_string():
    with pytest.raises(AnsibleFilterError):
        selinux_relabel("/a:/b", True)


def test_tmpfs_in_dockers_words():
    assert tmpfs_mounts({"/tmp": "rw,size=16m", "/run": ""}) == ["/run", "/tmp:rw,size=16m"]
    with pytest.raises(AnsibleFilterError):
        tmpfs_mounts(["/tmp"])
