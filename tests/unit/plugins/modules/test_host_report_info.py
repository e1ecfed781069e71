# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""host_report_info: memory, disk at the models directory, GPUs, containers through the engine's CLI."""

from __future__ import annotations

import json
import os

from ansible_collections.llmops.ollama.plugins.modules import host_report_info
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

INSPECT = [{"Config": {"Image": "reg:5000/lobehub/lobe-chat:1.143.2"},
            "State": {"Running": True, "Status": "running", "Health": {"Status": "healthy", "FailingStreak": 0}},
            "NetworkSettings": {"Ports": {"3210/tcp": [{"HostIp": "0.0.0.0", "HostPort": "3210"}], "9/udp": None}}}]


def fake_engine(tmp_path, name="docker"):
    """A docker on PATH that knows one container, lobechat, and logs its arguments."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (tmp_path / "inspect.json").write_text(json.dumps(INSPECT))
    script = bindir / name
    script.write_text('#!/bin/sh\necho "$@" >> %s/calls\n[ "$3" = lobechat ] || { echo "no such container" >&2; exit 1; }\n'
                      'cat %s/inspect.json\n' % (tmp_path, tmp_path))
    script.chmod(0o755)
    return str(bindir)


def test_containers_disk_and_memory(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_engine(tmp_path) + ":/usr/bin:/bin")
    result = run_module(host_report_info, {"data_dir": str(tmp_path / "not" / "yet"), "containers": ["ollama", "lobechat"]})
    assert not result.get("failed") and result["changed"] is False
    assert result["engine"] == "docker"
    assert result["containers"] == [{"name": "lobechat", "image": "reg:5000/lobehub/lobe-chat:1.143.2", "running": True,
                                     "status": "running", "health": "healthy",
                                     "ports": [{"container_port": "3210/tcp", "host_ip": "0.0.0.0", "host_port": "3210"}]}]
    assert (tmp_path / "calls").read_text().split("\n")[:2] == ["container inspect ollama", "container inspect lobechat"]
    assert result["disk"]["path"] == str(tmp_path)
    st = os.statvfs(str(tmp_path))
    assert result["disk"]["total_bytes"] == st.f_blocks * st.f_frsize
    assert 0 < result["memory"]["available_bytes"] <= result["memory"]["total_bytes"]


def test_no_engine_no_containers(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setattr(host_report_info.AnsibleModule, "get_bin_path", lambda self, name, *a, **k: None)
    result = run_module(host_report_info, {"data_dir": str(tmp_path)})
    assert result["engine"] is None and result["containers"] == [] and result["gpus"] == []


def test_podman_when_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_engine(tmp_path, "podman") + ":/usr/bin:/bin")
    result = run_module(host_report_info, {"data_dir": str(tmp_path), "engine": "podman", "containers": ["lobechat"]})
    assert result["engine"] == "podman" and [c["name"] for c in result["containers"]] == ["lobechat"]


def test_health_of_docker_and_of_older_podman_and_none_without_a_check():
    assert host_report_info.health({"Health": {"Status": "unhealthy"}}) == "unhealthy"
    # Podman before 4.x called it Healthcheck.
    assert host_report_info.health({"Healthcheck": {"Status": "starting"}}) == "starting"
    assert host_report_info.health({"Running": False, "Status": "exited"}) == ""


def test_a_stopped_container_is_reported_with_the_engines_word(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_engine(tmp_path) + ":/usr/bin:/bin")
    (tmp_path / "inspect.json").write_text(json.dumps([{"Config": {"Image": "reg:5000/library/nginx:1.30.8"},
                                                        "State": {"Running": False, "Status": "exited"},
                                                        "NetworkSettings": {"Ports": {}}}]))
    result = run_module(host_report_info, {"data_dir": str(tmp_path), "containers": ["lobechat"]})
    assert result["containers"] == [{"name": "lobechat", "image": "reg:5000/library/nginx:1.30.8", "running": False,
                                     "status": "exited", "health": "", "ports": []}]


def test_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384000 kB\nMemFree:         1000 kB\nMemAvailable:    8192000 kB\n")
    assert host_report_info.memory(str(meminfo)) == {"total_bytes": 16384000 * 1024, "available_bytes": 8192000 * 1024}
    assert host_report_info.memory(str(tmp_path / "none")) == {}


def test_amd_gpu_from_sysfs(tmp_path):
    device = tmp_path / "card0" / "device"
    device.mkdir(parents=True)
    (device / "vendor").write_text("0x1002\n")
    (device / "mem_info_vram_total").write_text("17163091968\n")
    other = tmp_path / "card1" / "device"
    other.mkdir(parents=True)
    (other / "vendor").write_text("0x8086\n")
    (tmp_path / "card0-DP-1").mkdir()
    assert host_report_info.amd_gpus(str(tmp_path)) == [{"vendor": "amd", "name": "card0", "memory_total_bytes": 17163091968}]


def test_nvidia_gpu_from_nvidia_smi(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    smi = bindir / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'NVIDIA L4, 23034'\n")
    smi.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir) + ":/usr/bin:/bin")
    result = run_module(host_report_info, {"data_dir": str(tmp_path), "containers": []})
    assert {"vendor": "nvidia", "name": "NVIDIA L4", "memory_total_bytes": 23034 * 2 ** 20} in result["gpus"]
