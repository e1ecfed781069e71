# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.llmops.ollama.plugins.filter.preflight_verdict import preflight_verdict

GB = 1000 ** 3
SETTINGS = {"min_cpu_cores": 2, "disk_margin": 1.1, "disk_headroom_gb": 10,
            "ram_gb_per_size": [{"max_params_b": 7, "ram_gb": 8}, {"max_params_b": 70, "ram_gb": 64}],
            "port_owners_ok": ["docker-proxy"], "supported_os": {"Debian": ["12", "13"]}}
DEBIAN = {"distribution": "Debian", "distribution_version": "12.8", "distribution_major_version": "12"}
NEEDS = [{"role": "container_runtime", "conflicting_packages": ["docker-ce", "podman-docker"],
          "conflicts_with": "docker from distribution"},
         {"role": "ollama", "ports": [11434], "data_dir": "/var/lib/ollama", "gpu_vendor": "none"},
         {"role": "ollama_models", "models": ["qwen2.5:0.5b"], "data_dir": "/var/lib/ollama"},
         {"role": "lobechat", "ports": [3210]}]
SMALL = [{"name": "qwen2.5:0.5b", "params_b": 0.494, "parameter_size": "494.03M", "params_from": "registry",
          "bytes": 397821319, "bytes_from": "registry", "on_host": False}]


def host(**changes):
    base = {"cpu_cores": 4, "cpu_flags_avx2": True, "ram_bytes": 16 * GB, "gpus_nvidia": [], "gpu_amd": False,
            "listeners": [], "packages_installed": [], "path_existing": "/var/lib", "path_mount": "/",
            "path_free_bytes": 50 * GB}
    base.update(changes)
    return base


def test_a_host_that_has_enough_passes_with_its_figures():
    verdict = preflight_verdict(host(), SMALL, NEEDS, SETTINGS, DEBIAN)
    assert verdict["shortfalls"] == []
    result = verdict["result"]
    assert result["ports"] == [3210, 11434]
    assert (result["ram_gb"], result["ram_needed_gb"], result["disk_needed_gb"]) == (16.0, 8.0, 10.4)
    assert result["largest_model"]["name"] == "qwen2.5:0.5b" and result["os_supported"]


def test_every_shortfall_is_reported_at_once_naming_what_to_change():
    big = [{"name": "llama3:70b", "params_b": 70.6, "parameter_size": "70.6B", "params_from": "registry",
            "bytes": 40 * GB, "bytes_from": "registry", "on_host": False}]
    busy = [{"port": 3210, "address": "0.0.0.0", "pid": 42, "process": "node"},
            {"port": 11434, "address": "127.0.0.1", "pid": 7, "process": "docker-proxy"}]
    needs = NEEDS[:1] + [dict(NEEDS[1], gpu_vendor="nvidia")] + NEEDS[2:]
    verdict = preflight_verdict(host(cpu_cores=1, ram_bytes=8 * GB, listeners=busy, packages_installed=["docker-ce"],
                                     path_free_bytes=5 * GB), big, needs, SETTINGS,
                                dict(DEBIAN, distribution="Fedora"))
    text = "\n".join(verdict["shortfalls"])
    assert len(verdict["shortfalls"]) == 7, text
    assert "CPU: needs 2 cores, the host has 1 (preflight_min_cpu_cores)" in text
    assert "RAM: llama3:70b (70.6B parameters, from the registry) needs 64.5 GB, the host has 8.0 GB" in text
    assert "disk: the models need 54.0 GB free at /var/lib/ollama (on /, models x 1.1 + 10 GB headroom), the host has 5.0 GB" in text
    assert "OS: Fedora 12.8 is not supported" in text
    assert "0.0.0.0:3210 by node (pid 42)" in text and "docker-proxy" not in text
    assert "container runtime: docker-ce installed, which conflicts with docker from distribution" in text
    assert "GPU: ollama_gpu_vendor=nvidia but nvidia-smi finds no GPU" in text


def test_models_the_host_has_need_no_disk():
    on_host = [dict(SMALL[0], on_host=True, bytes=100 * GB)]
    assert preflight_verdict(host(path_free_bytes=11 * GB), on_host, NEEDS, SETTINGS, DEBIAN)["shortfalls"] == []
