#!/usr/bin/env python3
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The collection's mirror fetch against curl: the same ~300 MiB model, the same mirror, the same
machine and file system, runs interleaved (fetch, curl, fetch, curl, ...).

- fetch: bench/fetch/fetch.py in its own process, all the model's blobs (verified while written,
  fsynced and renamed into place) and the manifest into a fresh, empty models directory.
- curl: one `curl -sf -o FILE URL` process per blob, sequentially, from the same blob URLs
  (/v2/<repo>/blobs/sha256:<hex>); then, timed apart, one `sha256sum FILE` per blob.

Medians of --runs runs each, after one warm-up run each. Writes RESULTS.md beside this file and
docs/figures/fetch.json; prints the table. Run it through bench/fetch/run.sh, which makes sure the
lab's mirror is up.

Usage: .venv/bin/python bench/fetch/run.py [--runs 5] [--mirror http://127.0.0.1:5001]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import model  # noqa: E402  (bench/fetch/model.py)
import provenance  # noqa: E402  (bench/provenance.py)

GOAL = 0.8


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_fetch(mirror, repository, tag, work):
    """One fetch into work/models (absent before); the child's own figures plus its process wall and CPU."""
    cpu = children_cpu()
    started = time.monotonic()
    out = subprocess.run([sys.executable, os.path.join(HERE, "fetch.py"), mirror, repository, tag,
                          os.path.join(work, "models")], capture_output=True, text=True, check=False)
    process = time.monotonic() - started
    if out.returncode != 0:
        raise SystemExit("the fetch failed:\n%s%s" % (out.stdout, out.stderr))
    sample = json.loads(out.stdout)
    sample.update(process_s=process, process_cpu_s=children_cpu() - cpu)
    return sample


def run_curl(mirror, repository, blobs, work):
    """curl, one process per blob, sequentially; then, each timed apart, `sync FILE...` (an fsync of
    each file) and sha256sum, one process per file."""
    paths = []
    cpu = children_cpu()
    started = time.monotonic()
    for digest, _size in blobs:
        path = os.path.join(work, digest)
        subprocess.run(["curl", "-sSf", "-o", path, "%s/v2/%s/blobs/sha256:%s" % (mirror, repository, digest)],
                       check=True)
        paths.append(path)
    curl = time.monotonic() - started
    curl_cpu = children_cpu() - cpu
    started = time.monotonic()
    subprocess.run(["sync", "--"] + paths, check=True)  # fsync of each file, as the fetch does before its rename
    synced = time.monotonic() - started
    started = time.monotonic()
    for (digest, size), path in zip(blobs, paths):
        out = subprocess.run(["sha256sum", path], check=True, capture_output=True, text=True)
        if out.stdout.split()[0] != digest or os.path.getsize(path) != size:
            raise SystemExit("curl wrote %s, which is not the blob sha256:%s" % (path, digest))
    check = time.monotonic() - started
    return {"curl_s": curl, "sync_s": synced, "sha256sum_s": check, "curl_cpu_s": curl_cpu,
            "bytes": sum(os.path.getsize(p) for p in paths)}


def one(way, mirror, repository, tag, blobs, scratch):
    work = tempfile.mkdtemp(prefix=way + "-", dir=scratch)
    try:
        if way == "fetch":
            return run_fetch(mirror, repository, tag, work)
        return run_curl(mirror, repository, blobs, work)
    finally:
        shutil.rmtree(work)
        os.sync()  # neither way pays for the other's dirty pages


def mb_s(nbytes, seconds):
    return nbytes / 1e6 / seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mirror", default="http://127.0.0.1:5001")
    args = parser.parse_args()
    if not shutil.which("curl") or not shutil.which("sha256sum"):
        raise SystemExit("curl and sha256sum are needed (Debian: curl, coreutils)")

    repository, tag, raw = model.ensure(args.mirror)
    manifest = json.loads(raw)
    blobs = [(d["digest"].split(":", 1)[1], d["size"]) for d in [manifest["config"]] + manifest["layers"]]
    total = sum(size for _digest, size in blobs)
    scratch = os.path.join(ROOT, "build", "bench-fetch", "scratch")
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    samples = {"fetch": [], "curl": []}
    load = [os.getloadavg()[0]]
    try:
        for way in samples:  # warm-up: the mirror's page cache, the first process start
            one(way, args.mirror, repository, tag, blobs, scratch)
        for run in range(args.runs):
            for way in samples:  # interleaved, so drifting machine load hits both alike
                sample = one(way, args.mirror, repository, tag, blobs, scratch)
                if sample["bytes"] != total:
                    raise SystemExit("%s received %d bytes; the model has %d" % (way, sample["bytes"], total))
                samples[way].append(sample)
                print("run %d %s: %s" % (run + 1, way, ", ".join(
                    "%s %.3f" % (k, v) for k, v in sorted(sample.items()) if k.endswith("_s"))), file=sys.stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    load.append(os.getloadavg()[0])
    figures = figures_of(samples, blobs, repository, tag, raw, args)
    figures["load_average_1min"] = {"start": "%.2f" % load[0], "end": "%.2f" % load[1]}
    write_results(figures, args.runs)


def figures_of(samples, blobs, repository, tag, raw, args):
    def med(way, key):
        return statistics.median(s[key] for s in samples[way])

    fetch_s, fetch_process_s = med("fetch", "wall_s"), med("fetch", "process_s")
    curl_s = med("curl", "curl_s")
    curl_sha_s = statistics.median(s["curl_s"] + s["sha256sum_s"] for s in samples["curl"])
    curl_sync_s = statistics.median(s["curl_s"] + s["sync_s"] for s in samples["curl"])
    curl_all_s = statistics.median(s["curl_s"] + s["sync_s"] + s["sha256sum_s"] for s in samples["curl"])
    total = sum(size for _digest, size in blobs)
    gb = total / 1e9
    return {
        "runs": args.runs,
        "model": model.NAME,
        "repository": "%s:%s" % (repository, tag),
        "manifest_digest": hashlib.sha256(raw).hexdigest(),
        "model_bytes": total,
        "blobs": len(blobs),
        "largest_blob_bytes": max(size for _digest, size in blobs),
        "mirror": args.mirror,
        "fetch": {
            "median_s": "%.3f" % fetch_s,
            "mb_s": "%.0f" % mb_s(total, fetch_s),
            "median_download_s": "%.3f" % med("fetch", "download_s"),
            "download_mb_s": "%.0f" % mb_s(total, med("fetch", "download_s")),
            "median_install_s": "%.3f" % med("fetch", "install_s"),
            "download_cpu_s_per_gb": "%.2f" % statistics.median(s["download_cpu_s"] / gb for s in samples["fetch"]),
            "median_process_s": "%.3f" % fetch_process_s,
            "process_mb_s": "%.0f" % mb_s(total, fetch_process_s),
            "cpu_s_per_gb": "%.2f" % statistics.median((s["cpu_user_s"] + s["cpu_sys_s"]) / gb for s in samples["fetch"]),
            "process_cpu_s_per_gb": "%.2f" % statistics.median(s["process_cpu_s"] / gb for s in samples["fetch"]),
        },
        "curl": {
            "median_s": "%.3f" % curl_s,
            "mb_s": "%.0f" % mb_s(total, curl_s),
            "cpu_s_per_gb": "%.2f" % statistics.median(s["curl_cpu_s"] / gb for s in samples["curl"]),
            "median_with_sha256sum_s": "%.3f" % curl_sha_s,
            "with_sha256sum_mb_s": "%.0f" % mb_s(total, curl_sha_s),
            "median_sync_s": "%.3f" % med("curl", "sync_s"),
            "median_with_sync_s": "%.3f" % curl_sync_s,
            "with_sync_mb_s": "%.0f" % mb_s(total, curl_sync_s),
            "median_with_sync_sha256sum_s": "%.3f" % curl_all_s,
            "with_sync_sha256sum_mb_s": "%.0f" % mb_s(total, curl_all_s),
        },
        "ratio": "%.2f" % (curl_s / fetch_s),
        "ratio_vs_curl_sync": "%.2f" % (curl_sync_s / fetch_s),
        "ratio_vs_curl_sha256sum": "%.2f" % (curl_sha_s / fetch_s),
        "ratio_vs_curl_sync_sha256sum": "%.2f" % (curl_all_s / fetch_s),
        "goal": GOAL,
        "samples": {way: [{k: round(v, 4) if isinstance(v, float) else v for k, v in s.items()} for s in data]
                    for way, data in samples.items()},
    }


def write_results(fig, runs):
    f, c = fig["fetch"], fig["curl"]
    table = [
        "| | median (s) | MB/s | CPU s/GB |",
        "|---|---|---|---|",
        "| collection fetch (blobs verified and fsynced, manifest last) | %s | %s | %s |" % (
            f["median_s"], f["mb_s"], f["cpu_s_per_gb"]),
        "| of which `download_blob` alone (receive, hash, write) | %s | %s | %s |" % (
            f["median_download_s"], f["download_mb_s"], f["download_cpu_s_per_gb"]),
        "| the same fetch, whole process (Python start and imports included) | %s | %s | %s |" % (
            f["median_process_s"], f["process_mb_s"], f["process_cpu_s_per_gb"]),
        "| curl, one process per blob, no verification | %s | %s | %s |" % (c["median_s"], c["mb_s"], c["cpu_s_per_gb"]),
        "| curl, then `sync FILE...` (an fsync of each file, as the fetch does) | %s | %s | - |" % (
            c["median_with_sync_s"], c["with_sync_mb_s"]),
        "| curl, then sha256sum of each file | %s | %s | - |" % (c["median_with_sha256sum_s"], c["with_sha256sum_mb_s"]),
        "| curl, then `sync FILE...` and sha256sum (the fetch's guarantees) | %s | %s | - |" % (
            c["median_with_sync_sha256sum_s"], c["with_sync_sha256sum_mb_s"]),
    ]
    lines = [
        "# The collection's mirror fetch against curl",
        "",
        "The job: fetch `%s` (%d bytes in %d blobs, one of them %d MiB) from the lab's model mirror" % (
            fig["model"], fig["model_bytes"], fig["blobs"], fig["largest_blob_bytes"] // (1024 * 1024)),
        "(`llmops-lab-mirror`, a stock registry answering blobs with 200, at %s) into files on the same" % fig["mirror"],
        "file system. Runs interleaved (fetch, curl, fetch, curl, ...), median of %d runs after one warm-up" % runs,
        "run each; both start from an empty directory and the page cache is synced between runs.",
        "",
        "- fetch: `bench/fetch/fetch.py`, the steps of the collection's mirror fetch (the module",
        "  `ollama_mirror_fetch`) through the module_utils API (`RegistryClient.require_manifest`,",
        "  `ModelsDir.open_partial`, `RegistryClient.download_blob`, `ModelsDir.install_blob`, then",
        "  `install_model`, or `write_manifest` where ModelsDir has no staging): one HTTP stream per",
        "  blob, sha256 verified while writing, each blob fsynced before it is put in place, the",
        "  manifest last. Its time runs from the manifest request to the manifest written (%s s of" % f["median_download_s"],
        "  it in `download_blob`, %s s installing); CPU is the process's own (getrusage) over the" % f["median_install_s"],
        "  same span.",
        "- curl: `curl -sSf -o FILE <mirror>/v2/<repo>/blobs/sha256:<hex>`, one process per blob,",
        "  sequentially; no verification and no fsync in its time. `sync FILE...` (an fsync of each",
        "  file, median %s s) and `sha256sum` of each file are timed apart and added in the rows below it." % c["median_sync_s"],
        "  CPU is the curl processes' own (getrusage of children).",
        "",
    ] + table + [
        "",
        "Ratio fetch/curl (throughput): **%s** (goal >= %s); against curl+sync: %s; against" % (
            fig["ratio"], fig["goal"], fig["ratio_vs_curl_sync"]),
        "curl+sha256sum: %s; against curl+sync+sha256sum, the same guarantees as the fetch: %s." % (
            fig["ratio_vs_curl_sha256sum"], fig["ratio_vs_curl_sync_sha256sum"]),
        "",
        "Measured %s on %s, Python %s, %d CPUs; the mirror and its docker-proxy run on the same machine," % (
            datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), platform.platform(terse=True),
            platform.python_version(), os.cpu_count()),
        "1-minute load average %s at the start, %s at the end. Both ways are CPU-bound here (client, proxy" % (
            fig["load_average_1min"]["start"], fig["load_average_1min"]["end"]),
        "and registry share the CPUs), so other jobs on the machine move the figures; the runs are",
        "interleaved so that they move both alike, and every sample is in docs/figures/fetch.json.",
        "",
        "Reproduce: `flock /tmp/llmops-molecule.lock bench/fetch/run.sh %d`" % runs,
        "",
        "Measured at %s." % provenance.label_now(),
        "",
    ]
    with open(os.path.join(HERE, "RESULTS.md"), "w") as handle:
        handle.write("\n".join(lines))
    provenance.save("fetch", fig)
    print("\n".join(table + ["", "ratio fetch/curl %s (goal >= %s); vs curl+sync %s, curl+sha256sum %s, "
                                  "curl+sync+sha256sum %s; %s" % (
                                      fig["ratio"], fig["goal"], fig["ratio_vs_curl_sync"], fig["ratio_vs_curl_sha256sum"],
                                      fig["ratio_vs_curl_sync_sha256sum"], provenance.label_now())]))


if __name__ == "__main__":
    main()
