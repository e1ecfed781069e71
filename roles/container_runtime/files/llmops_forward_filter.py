# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""llmops_forward_filter.py: nothing but the published ports reaches the collection's container networks.

Drops NEW connections forwarded into a protected container network's bridge from any other
interface when they were not sent to a port published beyond loopback:

  * direct routing: a neighbour that routes the container subnet through the host and connects
    to a container's own address (Docker before 28 and Podman accept it);
  * loopback publishes: a neighbour that sends to 127.0.0.1 through the host, which the engine's
    DNAT for a port published on 127.0.0.1 turns into a forwarded connection.

Reply traffic, traffic inside the network, connections the containers open (egress) and the
host's own connections (loopback publish, docker-proxy: OUTPUT, not FORWARD) are untouched.

The rules live in one chain of their own, rebuilt atomically by iptables-restore, and jumped to
from DOCKER-USER (Docker: evaluated first in FORWARD, never flushed by Docker) or from the first
rule of the mangle table's FORWARD (Podman: netavark does not use mangle, and mangle comes before
every filter chain, netavark's nftables table included). Written by the container_runtime role of
llmops.ollama; run at boot by llmops-forward-filter.service. docs/lan-exposure.md says why.

  python3 llmops_forward_filter.py [--check] [--install PATH] --engine docker|podman --network NAME=BRIDGE ...

BRIDGE is the bridge the network is given when the engine creates it; when the network exists,
the bridge the engine reports is protected as well. With --install, the script also keeps a copy
of itself at PATH and the systemd unit that runs that copy with the same arguments at boot and
whenever the engine restarts, enabled and started: one run does the role's whole job. Prints one
JSON line: changed, bridges, rules, installed (what --install changed). Exit 0 on success (with
--check: nothing is changed, "changed" says what a run would do).
"""
import argparse
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

CHAIN = "LLMOPS-FORWARD"
COMMENT = "llmops.ollama: LAN exposure filter"
# Where the chain is jumped to from, per engine: (table, chain, create the chain when absent).
HOOKS = {
    "docker": ("filter", "DOCKER-USER"),
    "podman": ("mangle", "FORWARD"),
}
TIMEOUT = 30
UNIT_NAME = "llmops-forward-filter.service"
UNIT_PATH = "/etc/systemd/system/" + UNIT_NAME
UNIT_TEXT = """\
# Written by the container_runtime role of llmops.ollama: drops connections forwarded into the
# collection's container networks from outside them, except to ports published beyond loopback
# (docs/lan-exposure.md).
[Unit]
Description=llmops.ollama LAN exposure filter for container networks {networks}
{ordering}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/bin/python3 {script} {args}

[Install]
WantedBy={wanted_by}
"""
ORDERING = {
    # Docker creates DOCKER-USER and keeps it across restarts: apply once it runs, and again when it restarts.
    "docker": "After=docker.service\nPartOf=docker.service",
    # Podman has no daemon: apply before the containers come back after a reboot.
    "podman": "After=network-pre.target\nBefore=podman-restart.service podman.service",
}
WANTED_BY = {"docker": "multi-user.target docker.service", "podman": "multi-user.target"}


class FilterError(Exception):
    pass


def run(argv, check=True):
    try:
        res = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FilterError("%s: %s" % (" ".join(argv), exc)) from exc
    if check and res.returncode != 0:
        raise FilterError("%s -> rc %d: %s" % (" ".join(argv), res.returncode, res.stderr.strip()[-500:]))
    return res


def engine_bridge(engine, network):
    """The bridge of an existing network as the engine reports it; None when the network is absent."""
    if shutil.which(engine) is None:
        return None
    res = run([engine, "network", "inspect", network], check=False)
    if res.returncode != 0:
        return None
    try:
        data = json.loads(res.stdout)
        net = data[0] if isinstance(data, list) else data
    except (ValueError, IndexError) as exc:
        raise FilterError("%s network inspect %s: unreadable output (%s)" % (engine, network, exc)) from exc
    if engine == "podman":
        # podman 4+: network_interface; older CNI-backed podman kept it in the plugin list.
        return net.get("network_interface") or None
    options = net.get("Options") or {}
    return options.get("com.docker.network.bridge.name") or "br-" + net["Id"][:12]


def rule_specs(bridges):
    """The chain's rules, as iptables argument lists (without -A CHAIN)."""
    specs = []
    for bridge in bridges:
        base = ["-o", bridge, "!", "-i", bridge, "-m", "conntrack", "--ctstate", "NEW"]
        # A port published on 127.0.0.1, reached by a neighbour that sent to 127.0.0.1 through the host.
        specs.append(base + ["-m", "conntrack", "--ctorigdst", "127.0.0.0/8",
                             "-m", "comment", "--comment", COMMENT + ": loopback publish from outside",
                             "-j", "DROP"])
        # A container's own address, routed to by a neighbour (not a published port: no DNAT).
        specs.append(base + ["-m", "conntrack", "!", "--ctstate", "DNAT",
                             "-m", "comment", "--comment", COMMENT + ": direct route to a container",
                             "-j", "DROP"])
    return specs


def quote(arg):
    return '"%s"' % arg if " " in arg else arg


def chain_rule_count(iptables, table):
    res = run([iptables, "-w", "-t", table, "-S", CHAIN], check=False)
    if res.returncode != 0:
        return None
    return len([line for line in res.stdout.splitlines() if line.startswith("-A ")])


def state(iptables, table, specs, hook_table, hook_chain):
    """What differs from the wanted rules: a list of reasons (empty: in place)."""
    reasons = []
    count = chain_rule_count(iptables, table)
    if count is None:
        reasons.append("chain %s absent" % CHAIN)
    else:
        missing = [s for s in specs
                   if run([iptables, "-w", "-t", table, "-C", CHAIN] + s, check=False).returncode != 0]
        if missing or count != len(specs):
            reasons.append("chain %s holds %d rules, %d of the %d wanted missing" % (CHAIN, count, len(missing), len(specs)))
    hook = run([iptables, "-w", "-t", hook_table, "-S", hook_chain], check=False)
    rules = [line for line in hook.stdout.splitlines() if line.startswith("-A ")] if hook.returncode == 0 else []
    jumps = [line for line in rules if line == "-A %s -j %s" % (hook_chain, CHAIN)]
    if hook.returncode != 0:
        reasons.append("chain %s absent in table %s" % (hook_chain, hook_table))
    elif not rules or rules[0] != "-A %s -j %s" % (hook_chain, CHAIN) or len(jumps) != 1:
        reasons.append("%s/%s does not jump to %s first, once" % (hook_table, hook_chain, CHAIN))
    return reasons, len(jumps), hook.returncode == 0


def restore_text(table, specs, hook_table, hook_chain, jumps, hook_exists):
    """One iptables-restore --noflush transaction per table: the chain rebuilt, the jump first."""
    tables = {}
    lines = tables.setdefault(table, [])
    lines.append(":%s - [0:0]" % CHAIN)   # declared: created, or flushed when it exists
    lines += ["-A %s %s" % (CHAIN, " ".join(quote(a) for a in spec)) for spec in specs]
    hook_lines = tables.setdefault(hook_table, [])
    if not hook_exists:
        hook_lines.append(":%s - [0:0]" % hook_chain)
    hook_lines += ["-D %s -j %s" % (hook_chain, CHAIN)] * jumps
    hook_lines.append("-I %s 1 -j %s" % (hook_chain, CHAIN))
    out = []
    for name, body in tables.items():
        out += ["*" + name] + body + ["COMMIT"]
    return "\n".join(out) + "\n"


def unit_text(script, engine, networks):
    args = " ".join(["--engine", engine] + [arg for item in networks for arg in ("--network", item)])
    return UNIT_TEXT.format(networks=", ".join(item.partition("=")[0] for item in networks),
                            ordering=ORDERING[engine], script=script, args=args, wanted_by=WANTED_BY[engine])


def current_text(path):
    """The text of the regular file at path, None when absent; a link or anything else is refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise FilterError("%s: not a regular file we can read (%s); refusing to replace it" % (path, exc)) from exc
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise FilterError("%s is not a regular file; refusing to replace it" % path)
        return handle.read().decode("utf-8", "replace")


def write_text(path, text):
    """Replace path with text atomically, root-owned, mode 0644."""
    directory = os.path.dirname(path)
    fd, temp = tempfile.mkstemp(dir=directory, prefix=".llmops-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fchmod(handle.fileno(), 0o644)
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        if os.path.lexists(temp):
            os.unlink(temp)
        raise


def install(path, engine, networks, check):
    """Keep this script at path and its unit enabled and started; the list of what changed (or would)."""
    with open(os.path.abspath(__file__), encoding="utf-8") as handle:
        source = handle.read()
    changes = []
    if current_text(path) != source:
        changes.append("script " + path)
        if not check:
            write_text(path, source)
    unit = unit_text(path, engine, networks)
    unit_changed = current_text(UNIT_PATH) != unit
    if unit_changed:
        changes.append("unit " + UNIT_PATH)
        if not check:
            write_text(UNIT_PATH, unit)
            run(["systemctl", "daemon-reload"])
    enabled = run(["systemctl", "is-enabled", UNIT_NAME], check=False).stdout.strip() == "enabled"
    active = run(["systemctl", "is-active", UNIT_NAME], check=False).stdout.strip() == "active"
    if not enabled or unit_changed:
        changes.append("enable " + UNIT_NAME)
        if not check:
            run(["systemctl", "reenable", UNIT_NAME])
    if not active:
        changes.append("start " + UNIT_NAME)
        if not check:
            run(["systemctl", "start", UNIT_NAME])
    return changes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--engine", choices=sorted(HOOKS), required=True)
    parser.add_argument("--network", action="append", default=[], metavar="NAME=BRIDGE", required=True)
    parser.add_argument("--check", action="store_true", help="change nothing; say whether a run would")
    parser.add_argument("--install", metavar="PATH", help="keep a copy at PATH and its systemd unit, enabled")
    args = parser.parse_args(argv)

    result = {"changed": False, "engine": args.engine, "bridges": [], "reasons": [], "installed": []}
    try:
        bridges = []
        for item in args.network:
            name, sep, bridge = item.partition("=")
            if not sep or not name or not bridge or len(bridge) > 15:
                raise FilterError("--network %r: want NAME=BRIDGE (a bridge name of 15 characters at most)" % item)
            for candidate in (bridge, engine_bridge(args.engine, name)):
                if candidate and candidate not in bridges:
                    bridges.append(candidate)
        result["bridges"] = bridges
        specs = rule_specs(bridges)
        result["rules"] = len(specs)
        table = hook_table = HOOKS[args.engine][0]
        hook_chain = HOOKS[args.engine][1]
        iptables = shutil.which("iptables")
        restore = shutil.which("iptables-restore")
        if iptables is None or restore is None:
            if args.check:
                # The engine's packages (which bring iptables) are not installed yet in check mode.
                result.update(changed=True, reasons=["iptables not installed yet"])
                print(json.dumps(result))
                return 0
            raise FilterError("iptables and iptables-restore are needed (the engine's packages install them)")
        reasons, jumps, hook_exists = state(iptables, table, specs, hook_table, hook_chain)
        result["reasons"] = reasons
        if reasons:
            result["changed"] = True
            if not args.check:
                text = restore_text(table, specs, hook_table, hook_chain, jumps, hook_exists)
                res = subprocess.run([restore, "-w", "--noflush"], input=text, capture_output=True, text=True,
                                     timeout=TIMEOUT, check=False)
                if res.returncode != 0:
                    raise FilterError("iptables-restore failed (rc %d): %s\n%s"
                                      % (res.returncode, res.stderr.strip()[-800:], text))
                left = state(iptables, table, specs, hook_table, hook_chain)[0]
                if left:
                    raise FilterError("the rules are not in place after applying them: %s" % "; ".join(left))
        if args.install:
            result["installed"] = install(args.install, args.engine, args.network, args.check)
            result["changed"] = result["changed"] or bool(result["installed"])
    except FilterError as exc:
        result["failed"] = True
        result["msg"] = str(exc)
        print(json.dumps(result))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
