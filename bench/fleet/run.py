#!/usr/bin/env python3
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fleet rollout figures, measured on the lab (lab/bin/lab up first):

(a) bytes of the model that left the upstream registry (llmops-lab-registry, the internet's
    stand-in) per rollout, divided by the model's size, for 1 and 3 hosts, with the lab mirror
    (llmops-lab-mirror) and without it (every host pulls from upstream);
(b) the rollout's wall time for 1 and 3 hosts (median of --runs), with the mirror, and the ratio.

Lab hosts llmops-bench-1..3 (Debian 12, 13, 12) are made once with `lab/bin/lab host up` and get
the container runtime from a first, unmeasured rollout. Before each measured run every host is
reset to a host that has its container engine and nothing else of ours: the ollama and lobechat
containers, their images and /var/lib/ollama are removed, and the mirror is emptied
(`lab/bin/lab mirror reset`). So each run pulls the images, fetches the model and starts the
containers; it does not re-install the engine package. Bytes come from the registries' access
logs, counting only GETs of the model's blobs by the bench hosts' addresses.

Usage: .venv/bin/python bench/fleet/run.py [--runs 3] [--model qwen2.5:3b] [--keep-hosts]
Writes RESULTS.md beside this file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "fleet"))
sys.path.insert(0, os.path.dirname(HERE))

import provenance  # noqa: E402  (bench/provenance.py)
from fleet_lab import (MIRROR_CONTAINER, UPSTREAM, UPSTREAM_CONTAINER, blob_gets, host_ip,  # noqa: E402
                       model_blobs, recap)

LAB = os.path.join(ROOT, "lab", "bin", "lab")
# The ansible-playbook of the environment running this script (.venv/bin/python bench/...), whatever PATH says.
_VENV_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
ANSIBLE_PLAYBOOK = _VENV_PLAYBOOK if os.access(_VENV_PLAYBOOK, os.X_OK) else "ansible-playbook"
HOSTS = [("llmops-bench-1", "12"), ("llmops-bench-2", "13"), ("llmops-bench-3", "12")]
MIRROR_URL = "http://10.213.0.3:5000"
SERIAL = [1, "100%"]
FORKS = 5
RUN_LIMIT_S = 900


def sh(*args, check=True, timeout=300):
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=timeout)


def ensure_hosts():
    have = sh("docker", "ps", "-a", "--format", "{{.Names}}").stdout.split()
    for name, ver in HOSTS:
        if name not in have:
            sh(LAB, "host", "up", name, "--debian", ver)
        # lab host up makes /proc/sys writable (Docker 26 on Debian 13 sets sysctls on container interfaces);
        # a host kept from an earlier run may predate that or have restarted since.
        sh("docker", "exec", name, "mount", "-o", "remount,rw", "/proc/sys")


def remove_hosts():
    for name, _ in HOSTS:
        sh(LAB, "host", "rm", name, check=False)


def write_inventory(tmp):
    os.makedirs(os.path.join(tmp, "group_vars"))
    os.symlink(os.path.join(ROOT, "lab", "inventory", "group_vars", "llm_servers.yml"),
               os.path.join(tmp, "group_vars", "llm_servers.yml"))
    with open(os.path.join(tmp, "hosts.yml"), "w", encoding="utf-8") as fh:
        json.dump({"llm_servers": {"hosts": {name: {} for name, _ in HOSTS}, "vars": {
            "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}}}, fh)
    return tmp


def reset(names):
    """Each host back to engine-only; the mirror empty."""
    for name in names:
        sh("docker", "exec", name, "sh", "-c",
           "docker rm -f ollama lobechat >/dev/null 2>&1; "
           "docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '/(ollama/ollama|lobehub/lobe-chat):' "
           "| xargs -r docker rmi -f >/dev/null; rm -rf /var/lib/ollama", check=False)
    sh(LAB, "mirror", "reset")


def rollout(inventory, names, mirror, model):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, "build", "collections"))
    extra = {"rollout_serial": SERIAL, "ollama_models_mirror_url": MIRROR_URL if mirror else "", "ollama_models_mirror_allow_http": True,
             "ollama_models_list": [{"name": model}]}
    args = [ANSIBLE_PLAYBOOK, "-i", inventory, os.path.join(ROOT, "playbooks", "rollout.yml"),
            "--forks", str(FORKS), "--limit", ",".join(names), "-e", json.dumps(extra)]
    start = time.monotonic()
    proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd=ROOT, timeout=RUN_LIMIT_S)
    wall = time.monotonic() - start
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise SystemExit("rollout failed (rc %s):\n%s" % (proc.returncode, out[-4000:]))
    return wall, recap(out)


def measure(inventory, names, mirror, model, blobs):
    reset([n for n, _ in HOSTS])
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    wall, _ = rollout(inventory, names, mirror, model)
    ips = [host_ip(n) for n in names]
    upstream = sum(g["bytes"] for g in blob_gets(UPSTREAM_CONTAINER, ips, since) if g["digest"] in blobs)
    from_mirror = sum(g["bytes"] for g in blob_gets(MIRROR_CONTAINER, ips, since) if g["digest"] in blobs)
    return {"hosts": len(names), "mirror": mirror, "wall_s": round(wall, 1), "upstream_bytes": upstream,
            "mirror_bytes": from_mirror}


def rerun_cost(inventory, names, model):
    """A second rollout on the converged fleet: changed tasks and blob GETs on both registries."""
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    wall, hosts = rollout(inventory, names, True, model)
    ips = [host_ip(n) for n in names]
    gets = len(blob_gets(UPSTREAM_CONTAINER, ips, since)) + len(blob_gets(MIRROR_CONTAINER, ips, since))
    return {"wall_s": round(wall, 1), "changed": sum(h.get("changed", 0) for h in hosts.values()), "blob_gets": gets}


def report(model, size, runs, bytes_rows, time_rows, rerun, took):
    lines = ["# Fleet rollout: upstream bytes and wall time", "",
             "Generated by `bench/fleet/run.py` on %s (%s, %d CPUs); the whole bench took %.0f s." % (
                 datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), platform.machine(), os.cpu_count(), took),
             "", "Reproduce: `lab/bin/lab up && .venv/bin/python bench/fleet/run.py --runs %d`" % runs, "",
             "Model `%s`, %d bytes (config + layers). Rollout: `playbooks/rollout.yml`, serial `%s`, forks %d, "
             "lab hosts %s (Debian 12, 13, 12; Docker). Before each run every host is reset to its container engine "
             "alone (the ollama and lobechat containers, their images and `/var/lib/ollama` removed) and the mirror "
             "is emptied; the engine package stays installed." % (
                 model, size, json.dumps(SERIAL), FORKS, ", ".join(n for n, _ in HOSTS)), "",
             "## (a) Model bytes from upstream per rollout / model size", "",
             "Counted in `llmops-lab-registry`'s access log: GETs of the model's blobs by the rolled-out hosts. "
             "The bytes above the model size are the preflight role reading the model's config blob (metadata, "
             "a few hundred bytes) on each host that lacks the model, to size it.", "",
             "| hosts | mirror | upstream bytes | / model size | bytes from the mirror |", "|---|---|---|---|---|"]
    for r in bytes_rows:
        lines.append("| %d | %s | %d | %.2f | %d |" % (r["hosts"], "yes" if r["mirror"] else "no", r["upstream_bytes"],
                                                   r["upstream_bytes"] / size, r["mirror_bytes"]))
    lines += ["", "## (b) Rollout wall time, with the mirror (median of %d runs)" % runs, "",
              "| hosts | runs (s) | median (s) |", "|---|---|---|"]
    medians = {}
    for hosts in sorted(time_rows):
        walls = [r["wall_s"] for r in time_rows[hosts]]
        medians[hosts] = statistics.median(walls)
        lines.append("| %d | %s | %.1f |" % (hosts, ", ".join("%.1f" % w for w in walls), medians[hosts]))
    if 1 in medians and 3 in medians:
        lines += ["", "Ratio 3 hosts / 1 host: **%.2f** (serial %s: the canary host alone, then the other two "
                  "together; forks %d; all lab hosts share this machine's %d CPUs)." % (
                      medians[3] / medians[1], json.dumps(SERIAL), FORKS, os.cpu_count())]
    lines += ["", "## Re-run on the converged 3-host fleet", "",
              "changed tasks: %d; model blob GETs on both registries: %d; wall time %.1f s." % (
                  rerun["changed"], rerun["blob_gets"], rerun["wall_s"]), ""]
    lines += ["Measured at %s." % provenance.label_now(), ""]
    with open(os.path.join(HERE, "RESULTS.md"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    provenance.save("fleet", {
        "runs": runs, "model": model, "model_bytes": size, "serial": SERIAL, "forks": FORKS,
        "bytes": [dict(r, ratio="%.2f" % (r["upstream_bytes"] / size)) for r in bytes_rows],
        "wall_median_s": {str(h): "%.1f" % m for h, m in medians.items()},
        "ratio_3_to_1": "%.2f" % (medians[3] / medians[1]) if 1 in medians and 3 in medians else None,
        "rerun": rerun,
    })
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs per host count for the wall time")
    parser.add_argument("--model", default="qwen2.5:3b")
    parser.add_argument("--keep-hosts", action="store_true", help="leave the bench lab hosts up afterwards")
    args = parser.parse_args()
    t0 = time.monotonic()
    blobs = model_blobs(UPSTREAM, args.model)
    size = sum(blobs.values())
    names = [n for n, _ in HOSTS]
    ensure_hosts()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            inventory = write_inventory(tmp)
            print("warm-up: engine on every host (not measured)", flush=True)
            rollout(inventory, names, True, args.model)
            bytes_rows, time_rows = [], {1: [], 3: []}
            for mirror in (False, True):
                for count in (1, 3):
                    row = measure(inventory, names[:count], mirror, args.model, blobs)
                    print(json.dumps(row), flush=True)
                    bytes_rows.append(row)
                    if mirror:
                        time_rows[count].append(row)
            for count in (1, 3):
                while len(time_rows[count]) < args.runs:
                    row = measure(inventory, names[:count], True, args.model, blobs)
                    print(json.dumps(row), flush=True)
                    time_rows[count].append(row)
            rerun = rerun_cost(inventory, names, args.model)
            print(json.dumps(rerun), flush=True)
    finally:
        if not args.keep_hosts:
            remove_hosts()
    report(args.model, size, args.runs, bytes_rows, time_rows, rerun, time.monotonic() - t0)


if __name__ == "__main__":
    main()
