"""A LAN neighbour of a lab host: a machine on the same network that routes the host's inner container subnets, and
127.0.0.1, through the host, and tries every container address and port (issue 11, moby#45610). Used by the fault
suite (tests/faults/test_2_exposure.py, with its probe host) and by the molecule scenarios on the other engines and
systems (molecule/default/tests for Docker and Podman, molecule/fleet/tests for Debian 13 with Docker), where the
neighbour is a one-shot container on the lab network: the routes live and die with it, nothing to undo.

Only the standard library: the molecule verifiers and the fault tests import it from their own virtual environment.
"""

import json
import subprocess

LAB_NETWORK = "llmops-lab"
# The lab's Debian 12 base image: iproute2 and python3, nothing listening.
NEIGHBOUR_IMAGE = "llmops-lab/debian:12"
# The collection's networks: Ollama's, and the UIs' and the front door's beside it.
NETWORKS = ("llmops", "llmops-ui")
# The ports the collection's containers listen on (Ollama and the guard 11434, LobeChat 3210, Open WebUI 8080, the
# front door 80 and 443), probed at every address beside the ports an image declares.
SERVICE_PORTS = {11434, 3210, 8080, 80, 443}
# The jump to the filter's chain, first in DOCKER-USER (Docker) or in mangle FORWARD (Podman); removing it shows the
# probe can fail, the unit puts it back.
REMOVE_FILTER_JUMP = ("iptables -D DOCKER-USER -j LLMOPS-FORWARD 2>/dev/null || "
                      "iptables -t mangle -D FORWARD -j LLMOPS-FORWARD")
RESTORE_FILTER = "systemctl restart llmops-forward-filter.service"
# Where the jump is read: Docker's DOCKER-USER, else mangle FORWARD (Podman; the engine itself runs no DOCKER-USER).
READ_JUMPS = "iptables -S DOCKER-USER 2>/dev/null; iptables -t mangle -S FORWARD"


def filter_in_place(run):
    """Whether the jump to the filter's chain is the first rule of DOCKER-USER (Docker) or of mangle FORWARD (Podman).
    `run(command)` runs a shell command in the host and returns its standard output."""
    rules = [line for line in run(READ_JUMPS).splitlines() if line.startswith("-A ")]
    return bool(rules) and rules[0] in ("-A DOCKER-USER -j LLMOPS-FORWARD", "-A FORWARD -j LLMOPS-FORWARD")


# TCP connects, in parallel, bounded: "open" (the handshake completed: the port answers), "refused" or "timeout" per
# address:port, as JSON.
CONNECT = r'''
import concurrent.futures, json, socket, sys
def probe(target):
    host, port = target.rsplit(":", 1)
    s = socket.socket(); s.settimeout(3)
    try:
        s.connect((host, int(port))); return target, "open"
    except ConnectionRefusedError:
        return target, "refused"
    except OSError as exc:
        return target, "timeout" if isinstance(exc, socket.timeout) else type(exc).__name__
    finally:
        s.close()
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    print(json.dumps(dict(pool.map(probe, sys.argv[1:]))))
'''

# The loopback route. Linux will not route 127.0.0.0/8 to a gateway while the `local` table answers for it first
# (rule 0), and drops replies from 127.0.0.1 arriving on eth0 as martians. As close as the kernel allows: the `local`
# rule moves behind a rule that sends TCP to 127.0.0.1 on the probed ports through the host (one rule per port, so the
# neighbour's own loopback keeps working), and eth0 accepts 127.0.0.1 as a source (route_localnet, rp_filter off: the
# sysctls below). The packets on the wire are what moby#45610 describes: destination 127.0.0.1, sent to the host's MAC
# address.
LOOPBACK_TABLE = 211
SYSCTLS = ("net.ipv4.conf.all.route_localnet=1", "net.ipv4.conf.eth0.route_localnet=1",
           "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.eth0.rp_filter=0")


def loopback_rules(host_ip, ports):
    """Shell lines: 127.0.0.1 on each port in `ports` routed through host_ip (the sysctls already set)."""
    lines = ["ip route replace 127.0.0.1/32 via %s dev eth0 onlink table %d" % (host_ip, LOOPBACK_TABLE)]
    lines += ["ip rule add pref %d to 127.0.0.1/32 ipproto 6 dport %d lookup %d" % (50 + i, port, LOOPBACK_TABLE)
              for i, port in enumerate(ports)]
    lines += ["ip rule add pref 100 lookup local", "ip rule del pref 0 lookup local"]
    return lines


UNDO_LOOPBACK_RULES = ("ip rule add pref 0 lookup local 2>/dev/null; ip rule del pref 100 lookup local 2>/dev/null; "
                       "for p in $(ip rule | sed -n 's/^\\(5[0-9]\\|6[0-9]\\):.*lookup %d$/\\1/p'); do ip rule del pref $p; done; "
                       "ip route flush table %d 2>/dev/null; true" % (LOOPBACK_TABLE, LOOPBACK_TABLE))


def engine_targets(run, engine):
    """The subnets of the collection's networks on a host, and every container's address and ports on them, read from
    the containers themselves (Podman's network inspect does not list containers). `run(command)` runs a shell
    command in the host and returns its standard output; `engine` is docker or podman."""
    subnets = []
    for network in NETWORKS:
        net = json.loads(run("%s network inspect %s" % (engine, network)))[0]
        config = (net.get("IPAM") or {}).get("Config") or net.get("subnets") or []
        subnets.append(config[0].get("Subnet") or config[0].get("subnet"))
    containers = {}
    for name in run("%s ps --format '{{.Names}}'" % engine).split():
        data = json.loads(run("%s inspect %s" % (engine, name)))[0]
        ports = set(data["Config"].get("ExposedPorts") or {}) | set(data["HostConfig"].get("PortBindings") or {})
        published = [(b.get("HostIp") or "0.0.0.0", int(b["HostPort"]))
                     for bindings in (data["HostConfig"].get("PortBindings") or {}).values() for b in bindings or []]
        for network, info in (data["NetworkSettings"].get("Networks") or {}).items():
            containers["%s@%s" % (name, network)] = {
                "ip": info["IPAddress"], "published": published,
                "ports": sorted({int(p.split("/")[0]) for p in ports if p.endswith("/tcp")} | SERVICE_PORTS)}
    return subnets, containers


def plan(containers, host_ip):
    """What to probe: every container address and port (none may answer), 127.0.0.1 through the host on each published
    port (none may answer), and the host's own address on what is published beyond loopback (the front door: must)."""
    direct = sorted({"%s:%d" % (c["ip"], p) for c in containers.values() for p in c["ports"]})
    published = sorted({port for c in containers.values() for _addr, port in c["published"]})
    loopback = ["127.0.0.1:%d" % p for p in published]
    beyond = sorted({"%s:%d" % (host_ip, port) for c in containers.values() for addr, port in c["published"]
                     if not addr.startswith("127.")})
    return direct, published, loopback, beyond


def probe_from_a_neighbour(host_ip, subnets, loopback_ports, targets, timeout=120):
    """A one-shot container on the lab network routes `subnets`, and 127.0.0.1 on `loopback_ports`, through host_ip,
    checks that the kernel really sends 127.0.0.1 there, and tries each target; {target: open|refused|timeout|...}."""
    lines = ["set -e"] + ["ip route replace %s via %s" % (subnet, host_ip) for subnet in subnets]
    lines += loopback_rules(host_ip, loopback_ports)
    if loopback_ports:
        lines += ["ip route get 127.0.0.1 ipproto 6 dport %d | grep -q 'via %s' || "
                  "{ echo 'the neighbour does not route 127.0.0.1 through %s' >&2; exit 3; }"
                  % (loopback_ports[0], host_ip, host_ip)]
    lines += ['exec python3 -c "$0" "$@"']
    sysctls = [arg for s in SYSCTLS for arg in ("--sysctl", s)]
    proc = subprocess.run(["docker", "run", "--rm", "--network", LAB_NETWORK, "--cap-add", "NET_ADMIN", *sysctls,
                           "--entrypoint", "sh", NEIGHBOUR_IMAGE, "-c", "\n".join(lines), CONNECT, *targets],
                          capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise AssertionError("the neighbour's probe failed (rc %d): %s" % (proc.returncode, proc.stderr[-2000:]))
    return json.loads(proc.stdout)


def neighbour_finds(run, engine, host_ip):
    """The whole check against one converged host: what answers a neighbour with the filter in place, and without it
    (the jump removed, then put back by the filter's unit, whatever happens). Returns a dict of findings."""
    subnets, containers = engine_targets(run, engine)
    direct, published, loopback, beyond = plan(containers, host_ip)
    try:
        seen = probe_from_a_neighbour(host_ip, subnets, published, direct + loopback + beyond)
        run(REMOVE_FILTER_JUMP)
        unfiltered = probe_from_a_neighbour(host_ip, subnets, published, direct + loopback)
    finally:
        run(RESTORE_FILTER)
    return {
        "containers": containers, "direct": direct, "loopback": loopback, "beyond": beyond,
        "answering": sorted(t for t in direct + loopback if seen[t] == "open"),
        "beyond_open": {t: seen[t] for t in beyond},
        "unfiltered_open": sorted(t for t in direct + loopback if unfiltered[t] == "open"),
    }


def assert_only_the_front_door_answers(found, where):
    """What neighbour_finds must find on every host: no container port and no 127.0.0.1 port answers, what is published
    beyond loopback (the front door) does, and without the filter Ollama's 127.0.0.1:11434 answers (the check can
    fail)."""
    assert found["answering"] == [], "ports that answered a neighbour routing through %s: %s" % (where, found["answering"])
    assert found["beyond_open"] and set(found["beyond_open"].values()) == {"open"}, found["beyond_open"]
    assert "127.0.0.1:11434" in found["unfiltered_open"], found["unfiltered_open"]
