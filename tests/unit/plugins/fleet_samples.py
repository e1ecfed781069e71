# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the report role sends for a host (the registered results of its modules), for the report's tests."""

from __future__ import annotations

DIGEST_A = "a" * 64
DIGEST_B = "b" * 64
GIB = 2 ** 30


def model(name, digest, parameter_size="494.03M"):
    return {"name": name, "model": name, "digest": digest, "size": 397821319, "modified_at": "2026-11-29T21:00:00Z",
            "details": {"format": "gguf", "family": "qwen2", "parameter_size": parameter_size,
                        "quantization_level": "Q4_K_M"}}


def generation(name, tokens_per_second=127.23, total=900_000_000, evaluation=120_000_000):
    return {"changed": False, "response": "OK.", "tokens_per_second": tokens_per_second, "total_duration": total,
            "eval_duration": evaluation, "eval_count": 16, "__report_model": {"name": name},
            "ansible_loop_var": "__report_model"}


def host(models=None, version="0.17.1", available=5.31 * GIB, images=None, generate=True, ui_port="3210"):
    models = [model("qwen2.5:0.5b", DIGEST_A)] if models is None else models
    images = images or {"ollama": "10.213.0.2:5000/ollama/ollama:0.17.1",
                        "lobechat": "10.213.0.2:5000/lobehub/lobe-chat:1.143.2"}
    containers = [{"name": n, "image": i, "running": True, "status": "running", "health": "healthy",
                   "ports": [{"container_port": "3210/tcp", "host_ip": "0.0.0.0", "host_port": ui_port}]
                   if n == "lobechat" else [{"container_port": "11434/tcp", "host_ip": "127.0.0.1", "host_port": "11434"}]}
                  for n, i in sorted(images.items())]
    return {
        "reachable": True, "unreachable_msg": "", "address": "10.213.0.10",
        "host": {"changed": False, "memory": {"total_bytes": 16 * GIB, "available_bytes": available},
                 "disk": {"path": "/var/lib/ollama", "total_bytes": 100 * GIB + 12345, "available_bytes": 41.7 * GIB},
                 "gpus": [], "engine": "docker", "containers": containers},
        "ollama": {"changed": False, "version": version, "models": models, "running": []},
        "generate": [generation(m["name"]) for m in models] if generate else [],
        "ui": [{"name": "LobeChat", "container": "lobechat"}, {"name": "Open WebUI", "container": "open-webui"}],
    }


# Every container the collection runs on a host with LobeHub behind the front door, as host_report_info reads them.
DEPLOYED = {
    "ollama": "10.213.0.2:5000/ollama/ollama:0.32.15",
    "ollama-guard": "10.213.0.2:5000/library/nginx:1.30.8",
    "front-door": "10.213.0.2:5000/library/nginx:1.30.8",
    "lobechat": "10.213.0.2:5000/lobehub/lobehub:2.3.6",
    "lobechat-postgres": "10.213.0.2:5000/pgvector/pgvector:pg17",
    "lobechat-redis": "10.213.0.2:5000/library/redis:7.4.9",
}
# What the report role sends of its settings (roles/report/defaults/main.yml).
COMPONENTS = {"ollama": "ollama", "ollama-guard": "nginx", "front-door": "nginx", "lobechat": "lobehub",
              "lobechat-postgres": "paradedb", "lobechat-redis": "redis", "open-webui": "open_webui"}


def deployed(images=None, version="0.32.15", server_names=(), https_port=443, front_door_ui=""):
    """A host running everything the collection deploys (DEPLOYED, changed by images), as the report role sends it:
    LobeHub publishes no port, the front door 443 and 80 on every address."""
    raw = host(version=version, images=dict(DEPLOYED, **(images or {})))
    for container in raw["host"]["containers"]:
        if container["name"] == "front-door":
            container["ports"] = [{"container_port": "443/tcp", "host_ip": "0.0.0.0", "host_port": str(https_port)},
                                  {"container_port": "80/tcp", "host_ip": "0.0.0.0", "host_port": "80"}]
        elif container["name"] != "ollama":
            container["ports"] = []
        if container["name"] in ("lobechat-postgres", "lobechat-redis"):
            container["health"] = ""
    raw["front_door"] = {"container": "front-door", "server_names": list(server_names), "https_port": https_port,
                         "ui": front_door_ui}
    raw["components"] = dict(COMPONENTS)
    return raw


def unreachable(msg="Failed to connect to the host via docker: Error response from daemon: container is not running"):
    return {"reachable": False, "unreachable_msg": msg, "address": "x", "host": {"unreachable": True, "msg": msg},
            "ollama": {"skipped": True}, "generate": [], "ui": []}


def fleet():
    """Three hosts: f1 and f3 agree, f2 holds another digest of the model, f4 is stopped."""
    return {
        "f1": host(),
        "f2": host(models=[model("qwen2.5:0.5b", DIGEST_B)]),
        "f3": host(),
        "f4": unreachable(),
    }
