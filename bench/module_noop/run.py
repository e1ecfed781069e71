#!/usr/bin/env python3
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What a no-op llmops.ollama.ollama_model run costs, next to a plain ansible.builtin.uri POST
/api/pull doing the same job (making sure a model that is already there is there).

Both run as real ansible-playbook processes (localhost, connection local) against the same
in-process Ollama look-alike from the unit tests, which counts every request. Writes RESULTS.md
beside this file.

Usage: .venv/bin/python bench/module_noop/run.py [--runs 7]
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
sys.path.insert(0, os.path.dirname(HERE))
import provenance  # noqa: E402  (bench/provenance.py)


def collections_path():
    out = subprocess.run([os.path.join(ROOT, "tests", "collection_path.sh")], check=True, capture_output=True, text=True)
    return out.stdout.strip()


# The unit tests' fake, imported the way the tests import it (with the helper it shares with the registry fake).
sys.path.insert(0, collections_path())
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_ollama import FakeOllama  # noqa: E402

MODEL = "qwen2.5:0.5b"

PLAYS = {
    "ollama_model": """
- name: No-op ollama_model
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: The model is present
      llmops.ollama.ollama_model:
        name: {model}
        api_url: {url}
""",
    "uri": """
- name: The same job with ansible.builtin.uri
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Pull the model
      ansible.builtin.uri:
        url: {url}/api/pull
        method: POST
        body_format: json
        body:
          model: {model}
          stream: false
        timeout: 600
""",
}


def run_once(playbook, env):
    """Wall time of the whole ansible-playbook process, the task's own duration, and its result."""
    started = time.monotonic()
    out = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook],
                         env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if out.returncode != 0:
        raise SystemExit("ansible-playbook failed:\n%s\n%s" % (out.stdout, out.stderr))
    report = json.loads(out.stdout)
    task = report["plays"][0]["tasks"][0]
    host = task["hosts"]["localhost"]
    duration = task["task"]["duration"]
    task_seconds = (_ts(duration["end"]) - _ts(duration["start"]))
    return wall, task_seconds, host.get("changed", False)


def _ts(text):
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
    env.pop("OLLAMA_HOST", None)
    samples = {name: {"wall": [], "task": [], "requests": [], "changed": []} for name in PLAYS}
    with FakeOllama() as fake, tempfile.TemporaryDirectory() as tmp:
        fake.add_local(MODEL)
        fake.add_remote(MODEL)
        books = {}
        for name, text in PLAYS.items():
            books[name] = os.path.join(tmp, name + ".yml")
            with open(books[name], "w") as handle:
                handle.write("---" + text.format(model=MODEL, url=fake.url))
        for name in PLAYS:  # warm-up: first runs pay for cold caches
            run_once(books[name], env)
        for _ in range(args.runs):
            for name in PLAYS:  # interleaved, so drifting machine load hits both alike
                before = len(fake.requests)
                wall, task, changed = run_once(books[name], env)
                samples[name]["wall"].append(wall)
                samples[name]["task"].append(task)
                samples[name]["changed"].append(changed)
                samples[name]["requests"].append(["%s %s" % (m, p) for m, p, _b in fake.requests[before:]])

    write_results(samples, args.runs)


def write_results(samples, runs):
    lines = [
        "# No-op `ollama_model` against `ansible.builtin.uri` POST /api/pull",
        "",
        "The job: make sure `%s`, already on the server, is there. Same server (the unit tests'" % MODEL,
        "Ollama look-alike on loopback, which counts requests), same machine, runs interleaved;",
        "median of %d runs after one warm-up run each. `task` is the task's own duration from the" % runs,
        "`ansible.posix.json` callback; `ansible-playbook` is the whole process.",
        "",
        "| | requests per run | changed | median task (s) | median ansible-playbook (s) |",
        "|---|---|---|---|---|",
    ]
    figures = {"runs": runs, "model": MODEL, "ways": {}}
    for name, data in samples.items():
        distinct = sorted(set(tuple(r) for r in data["requests"]))
        way = figures["ways"][name] = {
            "requests": len(data["requests"][0]),
            "request_list": " / ".join(", ".join(r) for r in distinct),
            "changed": ", ".join(sorted(set(str(c).lower() for c in data["changed"]))),
            "median_task_s": "%.3f" % statistics.median(data["task"]),
            "median_playbook_s": "%.2f" % statistics.median(data["wall"]),
        }
        lines.append("| `%s` | %d: %s | %s | %s | %s |" % (
            name, way["requests"], way["request_list"], way["changed"], way["median_task_s"], way["median_playbook_s"]))
    lines += [
        "",
        "What the figures leave out: the look-alike answers a pull at once. A real Ollama answers",
        "`POST /api/pull` by fetching the manifest from the registry and checking every layer, so",
        "the `uri` way also costs a registry round trip per host and run, fails when the registry",
        "is unreachable although the model is there, and cannot report `changed`. The module's",
        "one request is a local `GET /api/tags`.",
        "",
        "Measured %s on %s, Python %s, %d CPUs." % (
            datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), platform.platform(terse=True),
            platform.python_version(), os.cpu_count()),
        "",
        "Reproduce: `.venv/bin/python bench/module_noop/run.py --runs %d`" % runs,
        "",
    ]
    lines.append("Measured at %s." % provenance.label_now())
    lines.append("")
    with open(os.path.join(HERE, "RESULTS.md"), "w") as handle:
        handle.write("\n".join(lines))
    provenance.save("module_noop", figures)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
