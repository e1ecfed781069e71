# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""container_runtime_info: packages from dpkg-query, units from systemctl, daemon.json predicted as json_file would
write it, the LAN filter asked of the copy of its script kept on the host; the same in check mode, nothing written."""

from __future__ import annotations

import grp
import hashlib
import json
import os
import pwd

from ansible_collections.llmops.ollama.plugins.modules import container_runtime_info, json_file
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

ME = {"owner": pwd.getpwuid(os.getuid()).pw_name, "group": grp.getgrgid(os.getgid()).gr_name}
SETTINGS = {"log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}, "live-restore": True,
            "insecure-registries": ["10.213.0.2:5000"]}
# A stand-in for the filter's script: answers --check with the JSON line the real one prints, and logs its argv.
FILTER = """import json, sys
open(sys.argv[0] + ".calls", "a").write(" ".join(sys.argv[1:]) + "\\n")
print(json.dumps({"changed": False, "engine": "docker", "bridges": ["llm-llmops"], "reasons": [], "installed": [],
                  "rules": 2}))
"""


def fake_commands(tmp_path):
    """dpkg-query (docker.io installed, python3-requests not) and systemctl (docker enabled and active) on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "dpkg-query").write_text(
        '#!/bin/sh\necho "dpkg-query $*" >> %s/calls\n'
        'printf "docker.io\\tinstall ok installed\\n"\n'
        'echo "dpkg-query: no packages found matching python3-requests" >&2; exit 1\n' % tmp_path)
    (bindir / "systemctl").write_text(
        '#!/bin/sh\necho "systemctl $*" >> %s/calls\n'
        'printf "Id=docker.service\\nLoadState=loaded\\nUnitFileState=enabled\\nActiveState=active\\n"\n' % tmp_path)
    for name in ("dpkg-query", "systemctl"):
        os.chmod(str(bindir / name), 0o755)
    return str(bindir) + ":/usr/bin:/bin"


def args(tmp_path, **more):
    script = tmp_path / "llmops-forward-filter"
    return dict({
        "packages": ["docker.io", "python3-requests"],
        "units": ["docker.service"],
        "daemon_json": dict(ME, path=str(tmp_path / "docker" / "daemon.json"), settings=SETTINGS),
        "lan_filter": {"path": str(script), "sha256": hashlib.sha256(FILTER.encode()).hexdigest(),
                       "engine": "docker", "networks": ["llmops=llm-llmops"]},
    }, **more)


def test_everything_in_one_call(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_commands(tmp_path))
    result = run_module(container_runtime_info, args(tmp_path))
    assert not result.get("failed") and result["changed"] is False
    assert result["packages_installed"] == ["docker.io"]
    assert result["packages_missing"] == ["python3-requests"]
    assert result["package_manager"] == "dpkg"
    assert result["units"]["docker.service"]["enabled"] and result["units"]["docker.service"]["active"]
    assert result["daemon_json"] == {"path": str(tmp_path / "docker" / "daemon.json"), "changed": True,
                                     "created": True}
    assert result["lan_filter"]["changed"] is True and result["lan_filter"]["current"] is False
    calls = (tmp_path / "calls").read_text().splitlines()
    # One dpkg-query (its format holds a newline, so it logs two lines) and one systemctl show.
    assert [c.split()[0] for c in calls if c.startswith(("dpkg-query", "systemctl"))] == ["dpkg-query", "systemctl"]
    assert calls[-1].startswith("systemctl show ")
    # Nothing was written.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "calls"]


def test_in_place_after_json_file_and_the_script_ran(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_commands(tmp_path))
    written = run_module(json_file, dict(ME, path=str(tmp_path / "docker" / "daemon.json"), settings=SETTINGS))
    assert written["changed"] is True
    (tmp_path / "llmops-forward-filter").write_text(FILTER)
    for check_mode in (False, True):
        result = run_module(container_runtime_info, args(tmp_path), check_mode=check_mode)
        assert result["daemon_json"]["changed"] is False
        assert result["lan_filter"] == {"changed": False, "current": True, "reasons": [], "installed": [],
                                        "bridges": ["llm-llmops"], "rules": 2}
    script = str(tmp_path / "llmops-forward-filter")
    assert (tmp_path / "llmops-forward-filter.calls").read_text().splitlines() == [
        "--check --install %s --engine docker --network llmops=llm-llmops" % script] * 2


def test_a_broken_daemon_json_is_left_to_json_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_commands(tmp_path))
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "daemon.json").write_text("[1, 2]")
    result = run_module(container_runtime_info, args(tmp_path))
    assert not result.get("failed")
    assert result["daemon_json"]["changed"] is True
    assert "not a JSON object" in result["daemon_json"]["problem"]


def test_nothing_asked_reads_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_commands(tmp_path))
    result = run_module(container_runtime_info, {})
    assert result == {"changed": False, "packages_installed": [], "packages_missing": [], "units": {}}
    assert not (tmp_path / "calls").exists()


def test_bad_arguments_are_refused(tmp_path):
    result = run_module(container_runtime_info, {"lan_filter": {"path": "/x", "sha256": "0", "engine": "lxc",
                                                                "networks": []}})
    assert result["failed"] and "lxc" in result["msg"]


def test_real_script_check_on_this_machine_writes_nothing(tmp_path, monkeypatch):
    """The real filter script, kept at a path of its own: without iptables in PATH its --check says what it would do."""
    source = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "container_runtime", "files",
                          "llmops_forward_filter.py")
    with open(source, "rb") as handle:
        data = handle.read()
    kept = tmp_path / "llmops-forward-filter"
    kept.write_bytes(data)
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run_module(container_runtime_info, {"lan_filter": {
        "path": str(kept), "sha256": hashlib.sha256(data).hexdigest(), "engine": "docker",
        "networks": ["llmops=llm-llmops"]}})
    assert result["lan_filter"]["current"] is True and result["lan_filter"]["changed"] is True
    assert result["lan_filter"]["reasons"] == ["iptables not installed yet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "llmops-forward-filter"]
    assert json.loads(json.dumps(result["lan_filter"]))["bridges"] == ["llm-llmops"]
