# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_json_file.keep_merged: the merge json_file writes and container_runtime_info predicts, from one read."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._json_file import JsonFileError, keep_merged

OWNER = pwd.getpwuid(os.getuid()).pw_name
GROUP = grp.getgrgid(os.getgid()).gr_name


def keep(path, settings, check_mode, mode="0644"):
    return keep_merged(str(path), settings, "append_rp", mode, OWNER, GROUP, True, check_mode)


def test_check_mode_predicts_and_writes_nothing(tmp_path):
    path = tmp_path / "docker" / "daemon.json"
    kept = keep(path, {"live-restore": True}, check_mode=True)
    assert kept["changed"] is True and kept["created"] is True and kept["before"] is None
    assert kept["config"] == {"live-restore": True}
    assert kept["after"] == b'{\n  "live-restore": true\n}\n'
    assert not path.parent.exists()


def test_a_write_then_nothing_to_do(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"data-root": "/srv", "insecure-registries": ["a:5000"]}))
    os.chmod(str(path), 0o644)
    assert keep(path, {"insecure-registries": ["b:5000"]}, check_mode=False)["changed"] is True
    assert json.loads(path.read_text()) == {"data-root": "/srv", "insecure-registries": ["a:5000", "b:5000"]}
    again = keep(path, {"insecure-registries": ["b:5000"]}, check_mode=True)
    assert again["changed"] is False and again["created"] is False and again["before"] == again["after"]


def test_a_mode_alone_is_a_change(tmp_path):
    path = tmp_path / "daemon.json"
    keep(path, {"a": 1}, check_mode=False)
    assert keep(path, {"a": 1}, check_mode=True, mode="0600")["changed"] is True
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o644


def test_an_invalid_file_is_refused_by_position(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("{secret")
    with pytest.raises(JsonFileError, match="is not valid JSON") as e:
        keep(path, {"a": 1}, check_mode=True)
    assert "secret" not in str(e.value)
