# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""selinux_relabel, tmpfs_mounts and container_plan: the private _container role's options and its decision."""

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import get_hash, to_json
from ansible_collections.llmops.ollama.plugins.filter.container_plan import container_plan
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


# container_plan: the _container role's decision.

SPEC = {"name": "ollama", "image": "reg/ollama/ollama:0.21.0", "networks": [{"name": "llmops"}],
        "published_ports": ["127.0.0.1:11434:11434"], "env": {"OLLAMA_HOST": "0.0.0.0", "TZ": "Europe/Zürich"},
        "memory": "90%", "cpus": 1.5, "pids_limit": 512, "healthcheck": {"test": ["ollama", "list"], "retries": 3}}
GIB16 = 16 * 1024 ** 3


def state(containers=None, networks=None, engine_present=True):
    return {"engine_present": engine_present, "containers": containers or {}, "selinux": False,
            "networks": {"llmops": {"bridge": "llm-llmops"}} if networks is None else networks,
            "memory_total_bytes": GIB16}


def running(spec_hash, **changes):
    entry = {"running": True, "health": "healthy", "spec": spec_hash, "image": SPEC["image"],
             "image_id": "sha256:aa", "current_image_id": "sha256:aa", "missing_mounts": []}
    entry.update(changes)
    return {"ollama": entry, "other": {"running": True}}


def test_the_hash_is_the_one_to_json_and_hash_wrote():
    # Containers created by an earlier release carry the label the Jinja expression wrote.
    secret = {"POSTGRES_PASSWORD": "s3cret"}
    expected = get_hash(to_json({"spec": SPEC, "memory": "14745m", "secret_env": secret}, sort_keys=True), "sha256")
    plan = container_plan(state(), SPEC, secret)
    assert plan["hash"] == expected
    assert plan["memory"] == "14745m"
    assert "s3cret" not in repr(plan)


def test_a_running_container_from_this_spec_and_image_is_left_alone():
    digest = container_plan(state(), SPEC)["hash"]
    plan = container_plan(state(running(digest)), SPEC)
    assert plan["current"] and not plan["apply"] and not plan["run"]
    assert plan["missing_networks"] == []
    assert plan["health"] == "healthy"
    # The answer is used: the entry leaves the cached state, the others stay.
    assert plan["state"]["containers"] == {"other": {"running": True}}
    assert plan["state"]["memory_total_bytes"] == GIB16


@pytest.mark.parametrize("changes", [{"running": False}, {"spec": "0" * 64}, {"image": "reg/ollama/ollama:0.20.0"},
                                     {"current_image_id": "sha256:bb"}, {"current_image_id": None},
                                     {"missing_mounts": ["/var/lib/ollama"]}])
def test_anything_else_re_creates_it(changes):
    digest = container_plan(state(), SPEC)["hash"]
    plan = container_plan(state(running(digest, **changes)), SPEC)
    assert not plan["current"] and plan["apply"] and plan["run"]


def test_a_bind_mount_source_gone_from_the_host_re_creates_the_container():
    digest = container_plan(state(), SPEC)["hash"]
    plan = container_plan(state(running(digest, missing_mounts=["/var/lib/ollama"])), SPEC)
    # The engine would compare the mount's path and find nothing to do: the role must ask for it.
    assert plan["recreate"] and plan["run"]
    assert not container_plan(state(running(digest, running=False)), SPEC)["recreate"]
    assert not container_plan(state(running(digest, missing_mounts=["/x"]), engine_present=False), SPEC)["recreate"]


def test_a_container_restarting_in_a_loop_is_re_created_and_the_plan_says_why():
    digest = container_plan(state(running("x")), SPEC)["hash"]
    # Docker keeps Running true between the restarts of a crashing container.
    plan = container_plan(state(running(digest, restarting=True, status="restarting")), SPEC)
    assert plan["run"] and plan["recreate"] and plan["apply"] and not plan["current"]
    assert plan["repair"] == "restarting in a loop"


@pytest.mark.parametrize("status, reason", [("exited", "exited"), ("created", "created but never started"),
                                            ("", "stopped")])
def test_a_stopped_container_is_started_and_the_plan_says_what_it_was(status, reason):
    digest = container_plan(state(running("x")), SPEC)["hash"]
    plan = container_plan(state(running(digest, running=False, status=status)), SPEC)
    assert plan["run"] and not plan["recreate"] and plan["repair"] == reason


def test_a_running_container_and_a_missing_one_need_no_repair():
    digest = container_plan(state(running("x")), SPEC)["hash"]
    assert container_plan(state(running(digest, status="running")), SPEC)["repair"] == ""
    missing = container_plan(state({}), SPEC)
    assert missing["repair"] == "" and missing["run"] and not missing["current"]


def test_a_new_memory_share_or_secret_changes_the_hash():
    digest = container_plan(state(), SPEC)["hash"]
    assert container_plan(state(), dict(SPEC, memory="80%"))["hash"] != digest
    assert container_plan(state(), SPEC, {"KEY": "x"})["hash"] != digest
    more = dict(state(), memory_total_bytes=2 * GIB16)
    assert container_plan(more, SPEC)["memory"] == "29491m"


def test_a_missing_network_or_one_with_another_bridge_is_created():
    digest = container_plan(state(), SPEC)["hash"]
    assert container_plan(state(running(digest), networks={}), SPEC)["missing_networks"] == ["llmops"]
    plan = container_plan(state(running(digest), networks={"llmops": {"bridge": "br-0123"}}), SPEC)
    assert plan["current"] and plan["apply"] and plan["missing_networks"] == ["llmops"]


def test_without_the_engine_everything_is_to_do():
    plan = container_plan(state(engine_present=False, networks={}), SPEC)
    assert plan["apply"] and not plan["current"] and not plan["run"] and plan["health"] == ""


def test_plain_memory_limits_pass_unchanged():
    assert container_plan(state(), dict(SPEC, memory="8g"))["memory"] == "8g"
    assert container_plan(state(), {k: v for k, v in SPEC.items() if k != "memory"})["memory"] == ""


@pytest.mark.parametrize("args", [("not a state", SPEC), (state(), {"name": "x"}), (state(), dict(SPEC, memory="a%"))])
def test_plan_refuses_what_it_cannot_read(args):
    with pytest.raises(AnsibleFilterError):
        container_plan(*args)
