# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""_container_runtime: systemd unit states from one `systemctl show`, and the LAN filter's state asked of the copy of
its script kept on the host, only when that copy is the version the role ships."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._container_runtime import (
    RuntimeInfoError, lan_filter_argv, lan_filter_state, parse_systemctl_show, unit_states)

SHOW = ("Id=docker.service\nLoadState=loaded\nUnitFileState=enabled\nActiveState=active\n\n"
        "Id=podman-restart.service\nLoadState=not-found\nUnitFileState=\nActiveState=inactive\n")


def test_systemctl_show_blocks_in_the_units_order():
    blocks = parse_systemctl_show(SHOW, 2)
    assert blocks[0] == {"Id": "docker.service", "LoadState": "loaded", "UnitFileState": "enabled",
                         "ActiveState": "active"}
    assert blocks[1]["LoadState"] == "not-found" and blocks[1]["UnitFileState"] == ""


def test_systemctl_show_missing_blocks_are_empty():
    assert parse_systemctl_show("", 2) == [{}, {}]
    assert parse_systemctl_show("\n\nId=a.service\n\n\n", 1) == [{"Id": "a.service"}]


def test_unit_states_from_one_call():
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, SHOW, ""

    states = unit_states(lambda name: "/bin/" + name, run, ["docker.service", "podman-restart.service"])
    assert calls == [["/bin/systemctl", "show", "--property=Id", "--property=LoadState", "--property=UnitFileState",
                      "--property=ActiveState", "--", "docker.service", "podman-restart.service"]]
    assert states["docker.service"] == {"load_state": "loaded", "unit_file_state": "enabled", "active_state": "active",
                                        "enabled": True, "active": True}
    assert states["podman-restart.service"]["enabled"] is False
    assert states["podman-restart.service"]["active"] is False


def test_unit_states_ask_nothing_for_no_unit():
    assert unit_states(lambda name: pytest.fail("asked"), None, []) == {}


def test_unit_states_without_systemctl_are_empty():
    states = unit_states(lambda name: None, None, ["docker.service"])
    assert states["docker.service"] == {"load_state": "", "unit_file_state": "", "active_state": "",
                                        "enabled": False, "active": False}


def test_unit_states_fail_when_systemctl_fails():
    with pytest.raises(RuntimeInfoError, match="systemctl show failed .exit 1.: no bus"):
        unit_states(lambda name: "/bin/" + name, lambda argv: (1, "", "no bus\n"), ["docker.service"])


def test_lan_filter_argv_is_the_script_tasks_with_check():
    assert lan_filter_argv("/usr/bin/python3", "/usr/local/sbin/f", "docker", ["llmops=llm-llmops", "b=llm-b"]) == [
        "/usr/bin/python3", "/usr/local/sbin/f", "--check", "--install", "/usr/local/sbin/f", "--engine", "docker",
        "--network", "llmops=llm-llmops", "--network", "b=llm-b"]


SCRIPT = b"print('the filter')\n"
DIGEST = hashlib.sha256(SCRIPT).hexdigest()


def never(argv):
    raise AssertionError("ran %s" % argv)


def state(path, run=never, sha256=DIGEST):
    return lan_filter_state(run, "/usr/bin/python3", str(path), sha256, "docker", ["llmops=llm-llmops"])


def test_lan_filter_absent_script_is_a_change_without_running_anything(tmp_path):
    result = state(tmp_path / "filter")
    assert result["changed"] is True and result["current"] is False
    assert result["reasons"] == ["%s absent" % (tmp_path / "filter")]


def test_lan_filter_another_version_is_a_change_without_running_it(tmp_path):
    (tmp_path / "filter").write_bytes(b"print('older')\n")
    result = state(tmp_path / "filter")
    assert result["changed"] is True and result["current"] is False
    assert "is not the version the role ships" in result["reasons"][0]


def test_lan_filter_a_link_is_a_change_not_followed(tmp_path):
    (tmp_path / "real").write_bytes(SCRIPT)
    os.symlink(str(tmp_path / "real"), str(tmp_path / "filter"))
    result = state(tmp_path / "filter")
    assert result["changed"] is True and "symbolic link" in result["reasons"][0]


@pytest.mark.parametrize("answer, changed, reasons", [
    ({"changed": False, "reasons": [], "installed": [], "bridges": ["llm-llmops"], "rules": 2}, False, []),
    ({"changed": True, "reasons": ["chain LLMOPS-FORWARD absent"], "installed": ["start x"], "bridges": [], "rules": 2},
     True, ["chain LLMOPS-FORWARD absent"]),
])
def test_lan_filter_the_current_copy_answers_with_check(tmp_path, answer, changed, reasons):
    (tmp_path / "filter").write_bytes(SCRIPT)
    calls = []

    def run(argv):
        calls.append(argv)
        return 0, json.dumps(dict(answer, engine="docker")) + "\n", ""

    result = state(tmp_path / "filter", run, sha256=DIGEST.upper())
    assert calls == [lan_filter_argv("/usr/bin/python3", str(tmp_path / "filter"), "docker", ["llmops=llm-llmops"])]
    assert result == {"changed": changed, "current": True, "reasons": reasons, "installed": answer["installed"],
                      "bridges": answer["bridges"], "rules": 2}


@pytest.mark.parametrize("rc, out, err, reason", [
    (1, json.dumps({"changed": False, "failed": True, "msg": "iptables -S -> rc 4"}), "", "--check failed: iptables -S"),
    (1, "", "Traceback ...\nSyntaxError\n", "--check printed no result (exit 1): Traceback"),
    (0, "not json\n", "", "--check printed no result (exit 0)"),
])
def test_lan_filter_a_failing_check_is_a_change_so_the_task_runs_and_fails(tmp_path, rc, out, err, reason):
    (tmp_path / "filter").write_bytes(SCRIPT)
    result = state(tmp_path / "filter", lambda argv: (rc, out, err))
    assert result["changed"] is True and result["current"] is True
    assert reason in result["reasons"][0]
