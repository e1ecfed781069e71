# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The LAN exposure filter's script (roles/container_runtime/files/llmops_forward_filter.py) and the
bridge names (filter network_bridge). The rules themselves are proven against real engines by
tests/faults/test_2_exposure.py."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import json
import os

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.llmops.ollama.plugins.filter.network_bridge import network_bridge

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
SCRIPT = os.path.join(ROOT, "roles", "container_runtime", "files", "llmops_forward_filter.py")


def load_script():
    loader = importlib.machinery.SourceFileLoader("llmops_forward_filter", SCRIPT)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


ff = load_script()


@pytest.mark.parametrize("name, bridge", [
    ("llmops", "llm-llmops"),
    ("a", "llm-a"),
    ("abcdefghijk", "llm-abcdefghijk"),        # 15 characters: fits
])
def test_short_names_keep_their_name(name, bridge):
    assert network_bridge(name) == bridge


def test_long_names_are_shortened_and_stay_distinct():
    one, two = network_bridge("abcdefghijkl"), network_bridge("abcdefghijkm")
    assert len(one) == len(two) == 15 and one != two
    assert one.startswith("llm-abcd-") and one == network_bridge("abcdefghijkl")


@pytest.mark.parametrize("name", ["", "-x", "a b", "a/b", "a:b", "x\n"])
def test_names_no_engine_accepts_are_refused(name):
    with pytest.raises(AnsibleFilterError, match="not a container network name"):
        network_bridge(name)


def test_rules_drop_direct_routes_and_loopback_publishes_only():
    specs = ff.rule_specs(["llm-llmops"])
    assert len(specs) == 2
    for spec in specs:
        text = " ".join(spec)
        # Only NEW connections into the bridge from another interface; replies and egress pass.
        assert text.startswith("-o llm-llmops ! -i llm-llmops -m conntrack --ctstate NEW ")
        assert spec[-2:] == ["-j", "DROP"]
    assert "--ctorigdst 127.0.0.0/8" in " ".join(specs[0])
    # Published ports (DNAT to a host address) are the one way in.
    assert "-m conntrack ! --ctstate DNAT" in " ".join(specs[1])


def test_restore_rebuilds_the_chain_and_puts_the_jump_first_once():
    specs = ff.rule_specs(["llm-llmops", "br-0123456789ab"])
    text = ff.restore_text("filter", specs, "filter", "DOCKER-USER", jumps=2, hook_exists=True)
    lines = text.splitlines()
    assert lines[0] == "*filter" and lines[-1] == "COMMIT" and lines.count("*filter") == 1
    assert ":LLMOPS-FORWARD - [0:0]" in lines
    assert len([line for line in lines if line.startswith("-A LLMOPS-FORWARD ")]) == 4
    assert lines.count("-D DOCKER-USER -j LLMOPS-FORWARD") == 2
    assert lines.index("-I DOCKER-USER 1 -j LLMOPS-FORWARD") > lines.index("-D DOCKER-USER -j LLMOPS-FORWARD")
    assert '"llmops.ollama: LAN exposure filter: direct route to a container"' in text


def test_podman_jumps_from_mangle_and_keeps_the_builtin_chain():
    text = ff.restore_text("mangle", ff.rule_specs(["llm-llmops"]), "mangle", "FORWARD", jumps=0, hook_exists=True)
    assert text.startswith("*mangle\n") and "-I FORWARD 1 -j LLMOPS-FORWARD" in text
    assert ":FORWARD" not in text


def test_a_missing_docker_user_chain_is_created():
    text = ff.restore_text("filter", [], "filter", "DOCKER-USER", jumps=0, hook_exists=False)
    assert ":DOCKER-USER - [0:0]" in text


@pytest.mark.parametrize("network", ["llmops", "=llm-llmops", "llmops=", "llmops=llm-this-is-far-too-long"])
def test_bad_network_arguments_fail_with_a_message(network, capsys, monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert ff.main(["--engine", "docker", "--network", network]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["failed"] and "NAME=BRIDGE" in out["msg"]


def test_check_mode_before_the_engine_is_installed_predicts_a_change(capsys, monkeypatch):
    monkeypatch.setenv("PATH", "")   # no engine, no iptables: a bare host in check mode
    assert ff.main(["--check", "--engine", "podman", "--network", "llmops=llm-llmops"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["changed"] is True and out["bridges"] == ["llm-llmops"] and out["rules"] == 2


def test_applying_without_iptables_fails_clearly(capsys, monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert ff.main(["--engine", "docker", "--network", "llmops=llm-llmops"]) == 1
    assert "iptables and iptables-restore are needed" in json.loads(capsys.readouterr().out)["msg"]


# --install: the script keeps itself and its unit on the host (the role's only task)


@pytest.fixture
def fake_systemctl(tmp_path, monkeypatch):
    """A systemctl on PATH that records its calls and keeps enabled/active state in files."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    state = tmp_path / "systemd-state"
    state.mkdir()
    calls = tmp_path / "calls"
    (bindir / "systemctl").write_text(
        "#!/bin/sh\n"
        'echo "$*" >> %s\n'
        'case "$1" in\n'
        '  is-enabled) [ -f %s/enabled ] && echo enabled || { echo disabled; exit 1; } ;;\n'
        '  is-active) [ -f %s/active ] && echo active || { echo inactive; exit 3; } ;;\n'
        "  reenable) touch %s/enabled ;;\n"
        "  start) touch %s/active ;;\n"
        "esac\n" % (calls, state, state, state, state))
    (bindir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", "%s:%s" % (bindir, os.environ["PATH"]))
    unit = tmp_path / "llmops-forward-filter.service"
    monkeypatch.setattr(ff, "UNIT_PATH", str(unit))
    return calls, unit


def test_install_writes_the_script_and_unit_once_and_then_changes_nothing(tmp_path, fake_systemctl):
    calls, unit = fake_systemctl
    target = tmp_path / "llmops-forward-filter"
    networks = ["llmops=llm-llmops"]
    predicted = ff.install(str(target), "docker", networks, check=True)
    assert predicted == ["script %s" % target, "unit %s" % unit, "enable llmops-forward-filter.service",
                         "start llmops-forward-filter.service"]
    assert not target.exists() and not unit.exists()
    assert ff.install(str(target), "docker", networks, check=False) == predicted
    assert target.read_text() == open(SCRIPT).read()
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    text = unit.read_text()
    assert "ExecStart=/usr/bin/python3 %s --engine docker --network llmops=llm-llmops\n" % target in text
    assert "PartOf=docker.service" in text and "WantedBy=multi-user.target docker.service" in text
    assert "daemon-reload" in calls.read_text()
    calls.write_text("")
    assert ff.install(str(target), "docker", networks, check=False) == []
    assert calls.read_text().split("\n")[:2] == ["is-enabled llmops-forward-filter.service",
                                                 "is-active llmops-forward-filter.service"]


def test_install_rewrites_the_unit_when_the_networks_change(tmp_path, fake_systemctl):
    _calls, unit = fake_systemctl
    target = tmp_path / "llmops-forward-filter"
    ff.install(str(target), "podman", ["llmops=llm-llmops"], check=False)
    assert "Before=podman-restart.service podman.service" in unit.read_text()
    changed = ff.install(str(target), "podman", ["llmops=llm-llmops", "ui=llm-ui"], check=False)
    assert changed == ["unit %s" % unit, "enable llmops-forward-filter.service"]
    assert "--network ui=llm-ui" in unit.read_text()


def test_install_refuses_a_link_in_place_of_the_script(tmp_path, fake_systemctl):
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    target = tmp_path / "llmops-forward-filter"
    target.symlink_to(victim)
    with pytest.raises(ff.FilterError, match="not a regular file"):
        ff.install(str(target), "docker", ["llmops=llm-llmops"], check=False)
    assert victim.read_text() == "keep me"
