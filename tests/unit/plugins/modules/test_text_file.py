# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""text_file: a new file and its directory, a second run that changes nothing, the mode fixed alone, a link or a
directory at the path refused and left as it is, check mode and diff mode."""

from __future__ import annotations

import grp
import os
import pwd
import stat

from ansible_collections.llmops.ollama.plugins.modules import text_file
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

ME = {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}
CONF = "events {}\nhttp { server { listen 443 ssl; } }\n"


def put(path, content=CONF, check_mode=False, diff=False, **args):
    return run_module(text_file, dict(ME, path=str(path), content=content, **args), check_mode=check_mode, diff=diff)


def mode(path):
    return stat.S_IMODE(os.lstat(str(path)).st_mode)


def test_a_new_file_and_its_directory_then_nothing_to_do(tmp_path):
    path = tmp_path / "front-door" / "nginx.conf"
    first = put(path)
    assert first["changed"] and first["created"]
    assert path.read_text() == CONF and mode(path) == 0o644 and mode(path.parent) == 0o755
    again = put(path)
    assert not again["changed"] and not again["created"]


def test_only_the_mode_differs(tmp_path):
    path = tmp_path / "nginx.conf"
    path.write_text(CONF)
    os.chmod(str(path), 0o600)
    result = put(path, mode="0644")
    assert result["changed"] and mode(path) == 0o644 and path.read_text() == CONF


def test_check_mode_and_diff_write_nothing(tmp_path):
    path = tmp_path / "nginx.conf"
    path.write_text("old\n")
    result = put(path, check_mode=True, diff=True)
    assert result["changed"]
    assert result["diff"]["before"] == "old\n" and result["diff"]["after"] == CONF
    assert path.read_text() == "old\n"
    assert put(tmp_path / "new" / "x.conf", check_mode=True)["changed"]
    assert not (tmp_path / "new").exists()


def test_a_link_at_the_path_is_refused_and_its_target_untouched(tmp_path):
    target = tmp_path / "passwd"
    target.write_text("root:x:0:0\n")
    link = tmp_path / "nginx.conf"
    link.symlink_to(target)
    result = put(link)
    assert result.get("failed") and str(link) in result["msg"]
    assert "root:x" not in result["msg"]
    assert target.read_text() == "root:x:0:0\n" and os.path.islink(str(link))


def test_a_directory_at_the_path_is_refused(tmp_path):
    (tmp_path / "nginx.conf").mkdir()
    result = put(tmp_path / "nginx.conf")
    assert result.get("failed") and "nginx.conf" in result["msg"]


def test_no_parent_without_create_parent_fails(tmp_path):
    result = put(tmp_path / "missing" / "nginx.conf", create_parent=False)
    assert result.get("failed") and "does not exist" in result["msg"]
