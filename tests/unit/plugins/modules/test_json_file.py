# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""json_file: a fresh file, a merge that keeps the keys others set, lists merged append_rp or replaced, a second run
that changes no byte, an invalid or non-object file refused by position, a link or special file refused, the mode
fixed, check mode and diff mode."""

from __future__ import annotations

import grp
import json
import os
import pwd
import stat

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._json_file import merge
from ansible_collections.llmops.ollama.plugins.modules import json_file
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

ME = {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}

FOREIGN = {
    "data-root": "/srv/docker",
    "insecure-registries": ["old.example:5000", "10.213.0.3:5000"],
    "log-opts": {"max-file": "3", "max-size": "50m"},
    "runtimes": {"nvidia": {"path": "nvidia-container-runtime"}},
}


def put(path, settings, check_mode=False, diff=False, **args):
    return run_module(json_file, dict(ME, path=str(path), settings=settings, **args), check_mode=check_mode, diff=diff)


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def write(path, text, file_mode=0o644):
    path.write_text(text)
    os.chmod(str(path), file_mode)


def test_a_fresh_file_and_its_directory(tmp_path):
    path = tmp_path / "docker" / "daemon.json"
    result = put(path, {"log-driver": "json-file", "insecure-registries": ["10.213.0.3:5000"]})
    assert result["changed"] is True and result["created"] is True
    assert result["config"] == {"log-driver": "json-file", "insecure-registries": ["10.213.0.3:5000"]}
    assert path.read_text() == json.dumps(result["config"], indent=2) + "\n"
    assert mode(path) == 0o644 and mode(path.parent) == 0o755
    assert [p.name for p in path.parent.iterdir()] == ["daemon.json"]


def test_the_keys_others_set_are_kept(tmp_path):
    path = tmp_path / "daemon.json"
    write(path, json.dumps(FOREIGN))
    result = put(path, {"log-opts": {"max-size": "10m"}, "live-restore": True})
    assert result["changed"] is True and result["created"] is False
    expected = {
        "data-root": "/srv/docker",
        "insecure-registries": ["old.example:5000", "10.213.0.3:5000"],
        "log-opts": {"max-file": "3", "max-size": "10m"},
        "runtimes": {"nvidia": {"path": "nvidia-container-runtime"}},
        "live-restore": True,
    }
    assert result["config"] == expected
    assert json.loads(path.read_text()) == expected
    assert list(json.loads(path.read_text())) == list(expected)  # existing keys keep their order


def test_lists_append_rp_and_replace(tmp_path):
    path = tmp_path / "daemon.json"
    write(path, json.dumps(FOREIGN))
    result = put(path, {"insecure-registries": ["10.213.0.3:5000", "new.example:5000"]})
    assert result["config"]["insecure-registries"] == ["old.example:5000", "10.213.0.3:5000", "new.example:5000"]
    assert put(path, {"insecure-registries": ["10.213.0.3:5000", "new.example:5000"]})["changed"] is False

    result = put(path, {"insecure-registries": ["only.example:5000"]}, list_merge="replace")
    assert result["changed"] is True
    assert json.loads(path.read_text())["insecure-registries"] == ["only.example:5000"]


def test_merge_is_ansibles_combine_recursive():
    existing = {"a": [1, 2, 3], "b": {"c": [1], "d": 1}, "e": "x", "f": {"g": 1}}
    new = {"a": [3, 4], "b": {"c": [2], "h": 2}, "e": {"now": "a dict"}, "f": "now a string"}
    assert merge(existing, new) == {"a": [1, 2, 3, 4], "b": {"c": [1, 2], "d": 1, "h": 2},
                                    "e": {"now": "a dict"}, "f": "now a string"}
    assert merge(existing, new, "replace")["a"] == [3, 4]
    assert existing["a"] == [1, 2, 3]  # the inputs are not changed


def test_a_second_run_changes_no_byte(tmp_path):
    path = tmp_path / "daemon.json"
    write(path, json.dumps(FOREIGN))
    settings = {"log-opts": {"max-size": "10m"}, "insecure-registries": ["10.213.0.3:5000"], "features": {"cdi": True}}
    put(path, settings)
    first = path.read_bytes()
    inode = os.stat(str(path)).st_ino
    again = put(path, settings)
    assert again["changed"] is False
    assert path.read_bytes() == first and os.stat(str(path)).st_ino == inode  # not even rewritten


def test_an_empty_file_counts_as_an_empty_object(tmp_path):
    path = tmp_path / "daemon.json"
    write(path, "  \n")
    result = put(path, {"debug": False})
    assert result["changed"] is True and result["created"] is False
    assert result["config"] == {"debug": False}


@pytest.mark.parametrize("text, expected", [
    ('{"debug": true,\n  "secret-token": "hunter2-abc"\n  "x": 1}', "line 3 column 3"),
    # Python 3.13 reports the trailing comma one column earlier than 3.11.
    ('{"secret-token": "hunter2-abc",}', "line 1 column "),
])
def test_invalid_json_fails_by_position_not_content(tmp_path, text, expected):
    path = tmp_path / "daemon.json"
    write(path, text)
    result = put(path, {"debug": True})
    assert result["failed"] is True
    assert str(path) in result["msg"] and expected in result["msg"]
    assert "hunter2" not in json.dumps(result)
    assert path.read_text() == text


@pytest.mark.parametrize("text, kind", [('["hunter2-abc"]', "an array"), ('"hunter2-abc"', "a string"), ("42", "a number")])
def test_a_file_that_is_not_an_object_fails(tmp_path, text, kind):
    path = tmp_path / "daemon.json"
    write(path, text)
    result = put(path, {"debug": True})
    assert result["failed"] is True and kind in result["msg"] and str(path) in result["msg"]
    assert "hunter2" not in json.dumps(result)


def test_a_symlink_is_refused_and_its_target_untouched(tmp_path):
    victim = tmp_path / "victim.json"
    write(victim, '{"keep": "me"}', 0o600)
    path = tmp_path / "daemon.json"
    path.symlink_to(victim)
    result = put(path, {"debug": True})
    assert result["failed"] is True and str(path) in result["msg"] and "symbolic link" in result["msg"]
    assert victim.read_text() == '{"keep": "me"}' and mode(victim) == 0o600 and path.is_symlink()


def test_a_dangling_symlink_is_refused_and_nothing_is_created(tmp_path):
    path = tmp_path / "daemon.json"
    path.symlink_to(tmp_path / "planted.json")
    result = put(path, {"debug": True})
    assert result["failed"] is True and "symbolic link" in result["msg"]
    assert not (tmp_path / "planted.json").exists()


def test_a_fifo_is_refused(tmp_path):
    path = tmp_path / "daemon.json"
    os.mkfifo(str(path))
    result = put(path, {"debug": True})
    assert result["failed"] is True and "a FIFO" in result["msg"]


def test_mode_fixed_with_the_content_kept(tmp_path):
    path = tmp_path / "daemon.json"
    put(path, {"debug": True})
    os.chmod(str(path), 0o600)
    before = path.read_bytes()
    assert put(path, {"debug": True}, check_mode=True)["changed"] is True and mode(path) == 0o600
    assert put(path, {"debug": True})["changed"] is True
    assert mode(path) == 0o644 and path.read_bytes() == before
    assert put(path, {"debug": True}, mode="0640")["changed"] is True and mode(path) == 0o640
    assert put(path, {"debug": True}, mode=0o640)["changed"] is False
    result = put(path, {"debug": True}, mode="rw-r--r--")
    assert result["failed"] is True and "octal" in result["msg"]


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "docker" / "daemon.json"
    result = put(path, {"debug": True}, check_mode=True)
    assert result["changed"] is True and result["created"] is True and result["config"] == {"debug": True}
    assert not path.parent.exists()

    path.parent.mkdir()
    write(path, json.dumps(FOREIGN))
    result = put(path, {"debug": True}, check_mode=True)
    assert result["changed"] is True and result["config"]["debug"] is True
    assert path.read_text() == json.dumps(FOREIGN)


def test_diff_shows_the_text_before_and_after(tmp_path):
    path = tmp_path / "daemon.json"
    result = put(path, {"debug": True}, diff=True)
    assert result["diff"]["before"] == "" and result["diff"]["after"] == '{\n  "debug": true\n}\n'
    result = put(path, {"log-level": "warn"}, diff=True, check_mode=True)
    assert result["diff"]["before"] == '{\n  "debug": true\n}\n'
    assert result["diff"]["after"] == '{\n  "debug": true,\n  "log-level": "warn"\n}\n'
    assert result["diff"]["before_header"] == str(path)
    assert "diff" not in put(path, {"debug": True})


def test_an_existing_parent_is_never_changed_and_a_missing_one_may_be_refused(tmp_path):
    parent = tmp_path / "etc"
    parent.mkdir()
    os.chmod(str(parent), 0o700)
    put(parent / "daemon.json", {"debug": True})
    assert mode(parent) == 0o700
    result = put(tmp_path / "missing" / "daemon.json", {"debug": True}, create_parent=False)
    assert result["failed"] is True and "create_parent" in result["msg"]
    assert not (tmp_path / "missing").exists()


@pytest.mark.ci_may_skip("only root can give a file to another user")
def test_owner_fixed_with_the_content_kept(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("not root")
    path = tmp_path / "daemon.json"
    put(path, {"debug": True})
    os.chown(str(path), 1, 1)
    before = path.read_bytes()
    assert put(path, {"debug": True}, check_mode=True)["changed"] is True and os.stat(str(path)).st_uid == 1
    assert put(path, {"debug": True})["changed"] is True
    assert (os.stat(str(path)).st_uid, os.stat(str(path)).st_gid) == (os.getuid(), os.getgid())
    assert path.read_bytes() == before
    result = put(path, {"debug": True}, owner="1", group="1")
    assert result["changed"] is True and os.stat(str(path)).st_uid == 1
