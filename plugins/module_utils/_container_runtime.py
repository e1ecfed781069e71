# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""What the container_runtime role keeps on a host, read without changing anything (container_runtime_info).

The systemd units' states come from one `systemctl show`; the LAN exposure filter's state from the copy of its
script the role keeps on the host, run with --check when it is the version the role ships (its own check, so the
prediction is the one the role's script task would make). The command hooks (find a binary, run an argv) are given
to each function, so tests run with fake commands.
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.llmops.ollama.plugins.module_utils._host_file import HostFile, HostFileError

SYSTEMCTL_PROPERTIES = ("Id", "LoadState", "UnitFileState", "ActiveState")


class RuntimeInfoError(Exception):
    pass


def parse_systemctl_show(text, count):
    """The `count` property blocks of `systemctl show -p ... UNIT...` (blank-line separated, in the units' order),
    each as {property: value}; a block systemctl left out is {}."""
    blocks = []
    current = {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    return (blocks + [{}] * count)[:count]


def unit_states(which, run, names):
    """{name: {load_state, unit_file_state, active_state, enabled, active}} of the systemd units `names`, from one
    `systemctl show`. Without systemctl (a host without systemd) every state is empty, so nothing looks enabled."""
    if not names:
        return {}
    systemctl = which("systemctl")
    blocks = [{}] * len(names)
    if systemctl:
        rc, out, err = run([systemctl, "show"] + ["--property=" + p for p in SYSTEMCTL_PROPERTIES] + ["--"]
                           + list(names))
        if rc != 0:
            raise RuntimeInfoError("systemctl show failed (exit %d): %s" % (rc, err.strip()[-500:]))
        blocks = parse_systemctl_show(out, len(names))
    states = {}
    for name, block in zip(names, blocks):
        unit_file_state = block.get("UnitFileState", "")
        active_state = block.get("ActiveState", "")
        states[name] = {
            "load_state": block.get("LoadState", ""),
            "unit_file_state": unit_file_state,
            "active_state": active_state,
            "enabled": unit_file_state == "enabled",
            "active": active_state == "active",
        }
    return states


def lan_filter_argv(python, path, engine, networks):
    """The argv that asks the script kept at `path` whether a run of the role's script task would change anything."""
    argv = [python, path, "--check", "--install", path, "--engine", engine]
    for network in networks:
        argv += ["--network", network]
    return argv


def lan_filter_state(run, python, path, sha256, engine, networks):
    """{changed, current, reasons, installed, bridges, rules}: what the role's LAN filter task would change.

    When the script kept at `path` is the one the role ships (its sha256 is `sha256`), that copy answers with --check
    (it reads the rules, its unit and its own text; it writes nothing). Otherwise the task must run: a missing or
    older copy, anything but a regular file there, or a check that fails (the task then fails with its own message)
    are reported as changed, with the reason."""
    result = {"changed": True, "current": False, "reasons": [], "installed": [], "bridges": [], "rules": 0}
    try:
        with HostFile(path) as script:
            data = script.read()[0]
    except HostFileError as e:
        result["reasons"].append(str(e))
        return result
    if data is None:
        result["reasons"].append("%s absent" % path)
        return result
    if hashlib.sha256(data).hexdigest() != sha256.lower():
        result["reasons"].append("%s is not the version the role ships" % path)
        return result
    result["current"] = True
    rc, out, err = run(lan_filter_argv(python, path, engine, networks))
    try:
        answer = json.loads(out.strip().splitlines()[-1]) if out.strip() else None
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        result["reasons"].append("%s --check printed no result (exit %d): %s" % (path, rc, err.strip()[-500:]))
        return result
    if rc != 0 or answer.get("failed"):
        result["reasons"].append("%s --check failed: %s" % (path, answer.get("msg") or err.strip()[-500:]))
        return result
    result.update(changed=bool(answer.get("changed")), reasons=list(answer.get("reasons") or []),
                  installed=list(answer.get("installed") or []), bridges=list(answer.get("bridges") or []),
                  rules=int(answer.get("rules") or 0))
    return result


def container_address(module, engine, container, network, error):
    """The address of a running container on one of its networks, read with `<engine> container inspect`; raises
    error (the calling module's exception class) naming what is wrong."""
    rc, out, err = module.run_command([engine, "container", "inspect", container])
    if rc != 0:
        raise error("%s container inspect %s failed: %s" % (engine, container, (err or out).strip()[:300]))
    try:
        data = json.loads(out)[0]
    except (ValueError, IndexError, TypeError, KeyError):
        raise error("%s container inspect %s gave no container" % (engine, container))
    if not (data.get("State") or {}).get("Running"):
        raise error("the container %s is not running" % container)
    networks = (data.get("NetworkSettings") or {}).get("Networks") or {}
    address = (networks.get(network) or {}).get("IPAddress") or ""
    if not address:
        raise error("the container %s has no address on the network %s (it is on: %s)"
                    % (container, network, ", ".join(sorted(networks)) or "none"))
    return address
