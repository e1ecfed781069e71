# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""container_state_info: the labelled containers and the named networks, read through the engine's CLI."""

from __future__ import annotations

import json

from ansible_collections.llmops.ollama.plugins.modules import container_state_info
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

DOCKER_CONTAINERS = [
    {"Name": "/ollama", "Image": "sha256:aaa",
     "Config": {"Image": "reg/ollama/ollama:0.21.0", "Labels": {"llmops.spec": "h1"}},
     "State": {"Running": True, "Health": {"Status": "healthy"}},
     # A named volume's source is the engine's business; a bind mount's must be on the host.
     "Mounts": [{"Type": "bind", "Source": "/"}, {"Type": "volume", "Source": "/nonexistent/volume/_data"}]},
    {"Name": "/lobechat", "Image": "sha256:old", "Config": {"Image": "reg/lobehub/lobe-chat:1.143.2", "Labels": {}},
     "State": {"Running": False}},
]
PODMAN_CONTAINERS = [
    {"Name": "ollama", "Image": "bbb", "ImageName": "reg/ollama/ollama:0.21.0",
     "Config": {"Labels": {"llmops.spec": "h2"}}, "State": {"Running": True, "Healthcheck": {"Status": "starting"}}},
]


def fake_engine(tmp_path, name, containers, images, networks):
    """An engine on PATH answering ps, container inspect, image inspect and network inspect from files; logs calls."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    data = tmp_path / "data"
    data.mkdir()
    (data / "ps").write_text("".join(c["Name"].lstrip("/") + "-id\n" for c in containers))
    (data / "containers.json").write_text(json.dumps(containers))
    for reference, image_id in images.items():
        (data / ("image-" + reference.replace("/", "_"))).write_text(json.dumps([{"Id": image_id}]))
    for network, body in networks.items():
        (data / ("network-" + network)).write_text(json.dumps([body]))
    script = bindir / name
    script.write_text(
        '#!/bin/sh\necho "$@" >> %(t)s/calls\nd=%(d)s\n'
        'case "$1 $2" in\n'
        '  "ps --all") cat $d/ps ;;\n'
        '  "container inspect") cat $d/containers.json ;;\n'
        '  "image inspect") f=$d/image-$(echo "$3" | tr / _); [ -f "$f" ] || { echo "no such image" >&2; exit 1; }; cat "$f" ;;\n'
        '  "network ls") ls $d | sed -n "s/^network-//p" ;;\n'
        '  "network inspect") shift 2; out=""; for n in "$@"; do f=$d/network-$n;\n'
        '    [ -f "$f" ] || { echo "no such network" >&2; exit 1; }\n'
        '    out="$out${out:+,}$(sed "s/^\\[//; s/\\]$//" "$f")"; done; echo "[$out]" ;;\n'
        '  *) exit 2 ;;\n'
        'esac\n' % {"t": tmp_path, "d": data})
    script.chmod(0o755)
    return str(bindir)


def test_docker_containers_images_and_networks(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_engine(
        tmp_path, "docker", DOCKER_CONTAINERS, {"reg/ollama/ollama:0.21.0": "sha256:aaa"},
        {"llmops": {"Options": {"com.docker.network.bridge.name": "llm-llmops"}}}) + ":/usr/bin:/bin")
    result = run_module(container_state_info, {"engine": "docker", "networks": ["llmops", "gone"]})
    assert not result.get("failed") and result["changed"] is False
    assert result["engine_present"] is True
    assert result["containers"] == {
        "ollama": {"running": True, "restarting": False, "status": "", "health": "healthy", "spec": "h1", "image": "reg/ollama/ollama:0.21.0",
                   "image_id": "sha256:aaa", "current_image_id": "sha256:aaa", "missing_mounts": []},
        # Its image reference names no image on the host any more: nothing to compare it with.
        "lobechat": {"running": False, "restarting": False, "status": "", "health": "", "spec": "", "image": "reg/lobehub/lobe-chat:1.143.2",
                     "image_id": "sha256:old", "current_image_id": None, "missing_mounts": []},
    }
    assert result["networks"] == {"llmops": {"bridge": "llm-llmops"}}
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[0] == "ps --all --no-trunc --filter label=llmops.spec --format {{.ID}}"
    # One inspect for every container, however many there are.
    assert calls[1] == "container inspect ollama-id lobechat-id"


def test_podman_names_and_old_health_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_engine(
        tmp_path, "podman", PODMAN_CONTAINERS, {"reg/ollama/ollama:0.21.0": "ccc"},
        {"llmops": {"network_interface": "llm-llmops"}}) + ":/usr/bin:/bin")
    result = run_module(container_state_info, {"engine": "podman", "networks": ["llmops"]})
    assert result["containers"]["ollama"] == {"running": True, "restarting": False, "status": "", "health": "starting",
                                              "spec": "h2",
                                              "image": "reg/ollama/ollama:0.21.0", "image_id": "bbb",
                                              "current_image_id": "ccc", "missing_mounts": []}
    assert result["networks"] == {"llmops": {"bridge": "llm-llmops"}}


def test_a_bind_mount_source_removed_from_the_host_is_reported(tmp_path, monkeypatch):
    kept = tmp_path / "kept"
    kept.mkdir()
    gone = tmp_path / "gone"
    # A dangling link is still something at the path: the role must not create a directory through it.
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    container = {"Name": "/ollama", "Image": "sha256:aaa",
                 "Config": {"Image": "reg/ollama/ollama:0.21.0", "Labels": {"llmops.spec": "h1"}},
                 "State": {"Running": True},
                 "Mounts": [{"Type": "bind", "Source": str(gone)}, {"Type": "bind", "Source": str(kept)},
                            {"Type": "bind", "Source": str(tmp_path / "dangling")}, {"Type": "bind", "Source": str(gone)}]}
    monkeypatch.setenv("PATH", fake_engine(tmp_path, "docker", [container], {}, {}) + ":/usr/bin:/bin")
    result = run_module(container_state_info, {"engine": "docker"})
    assert result["containers"]["ollama"]["missing_mounts"] == [str(gone)]


def test_no_labelled_container_asks_no_inspect(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_engine(tmp_path, "docker", [], {}, {}) + ":/usr/bin:/bin")
    result = run_module(container_state_info, {"engine": "docker"})
    assert result["containers"] == {} and result["networks"] == {}
    assert len((tmp_path / "calls").read_text().splitlines()) == 1


def test_a_missing_engine_is_reported_not_failed(tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    result = run_module(container_state_info, {"engine": "podman"})
    assert not result.get("failed")
    assert result["engine_present"] is False and result["containers"] == {}


def test_selinux_enforcing_is_read_from_its_file(tmp_path):
    enforce = tmp_path / "enforce"
    enforce.write_text("1\n")
    assert container_state_info.selinux_enforcing(str(enforce)) is True
    enforce.write_text("0\n")
    assert container_state_info.selinux_enforcing(str(enforce)) is False
    assert container_state_info.selinux_enforcing(str(tmp_path / "absent")) is False


def test_every_network_in_one_inspect(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", fake_engine(
        tmp_path, "docker", [], {},
        {"bridge": {"Name": "bridge", "Options": {"com.docker.network.bridge.name": "docker0"}},
         "llmops": {"Name": "llmops", "Options": {"com.docker.network.bridge.name": "llm-llmops"}}}) + ":/usr/bin:/bin")
    result = run_module(container_state_info, {"engine": "docker", "all_networks": True, "networks": ["gone"]})
    assert result["networks"] == {"bridge": {"bridge": "docker0"}, "llmops": {"bridge": "llm-llmops"}}
    calls = (tmp_path / "calls").read_text().splitlines()
    assert calls[1:3] == ["network ls --format {{.Name}}", "network inspect bridge llmops"]


def test_the_hosts_memory_is_read_from_meminfo(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       16384000 kB\nMemFree:         1000 kB\n")
    assert container_state_info.memory_total(str(meminfo)) == 16384000 * 1024
    assert container_state_info.memory_total(str(tmp_path / "absent")) == 0


def test_a_container_in_a_restart_loop_is_reported_restarting_although_docker_says_running(tmp_path, monkeypatch):
    container = {"Name": "/front-door", "Image": "sha256:aaa",
                 "Config": {"Image": "reg/library/nginx:1.30.8", "Labels": {"llmops.spec": "h1"}},
                 "State": {"Status": "restarting", "Running": True, "Restarting": True, "ExitCode": 1}}
    monkeypatch.setenv("PATH", fake_engine(tmp_path, "docker", [container], {}, {}) + ":/usr/bin:/bin")
    found = run_module(container_state_info, {"engine": "docker"})["containers"]["front-door"]
    assert found["running"] is True and found["restarting"] is True and found["status"] == "restarting"
