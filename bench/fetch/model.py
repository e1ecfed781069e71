# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fetch bench's model: a synthetic ~300 MiB model built with lab/models, on demand, and
pushed to the mirror when the mirror lacks it.

It is not in lab/models/catalog.MODELS (so `lab up` does not build it for everyone): its spec is
the catalog's `qwen2.5:3b` under another name, so its bytes are its own (the body's seed is the
name) and the same on every machine. Building it means generating and hashing 300 MiB (a few
seconds); the resulting manifest is kept in build/bench-fetch/, and while the mirror holds exactly
that manifest nothing is generated at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "lab", "models"))
import build  # noqa: E402  (lab/models/build.py)
import catalog  # noqa: E402
import oci  # noqa: E402
import publish  # noqa: E402

NAME = "llmops-bench-fetch:300m"
CACHE = os.path.join(ROOT, "build", "bench-fetch")


def spec():
    return dict(catalog.MODELS["qwen2.5:3b"], display="llmops.ollama fetch bench 300 MiB",
                body_bytes=300 * 1024 * 1024)


def _key():
    """What the model's bytes depend on: its name, its spec and the lab's builder."""
    digest = hashlib.sha256(json.dumps([NAME, spec()], sort_keys=True).encode())
    for module in (build, catalog, sys.modules["gguf_writer"]):
        with open(module.__file__, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:16]


def ensure(mirror_url, log=print):
    """Make sure the mirror holds the bench model; return (repository, tag, manifest bytes)."""
    registry = oci.Registry(mirror_url, timeout=300)
    repository, tag = oci.split_model(NAME)
    cached = os.path.join(CACHE, "manifest-%s.json" % _key())
    if os.path.exists(cached):
        with open(cached, "rb") as handle:
            raw = handle.read()
        if registry.get_manifest(repository, tag) == raw:
            log("model: %s on %s (%s), cached" % (NAME, mirror_url, hashlib.sha256(raw).hexdigest()[:12]))
            return repository, tag, raw
    model = build.build(NAME, spec())
    publish.publish(registry, model)
    os.makedirs(CACHE, exist_ok=True)
    with open(cached + ".tmp", "wb") as handle:
        handle.write(model.manifest)
    os.replace(cached + ".tmp", cached)
    return repository, tag, model.manifest


if __name__ == "__main__":
    ensure(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5001")
