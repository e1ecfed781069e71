# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One fetch of a model from a mirror into a models directory, the way the collection does it
(the module ollama_mirror_fetch, before it ollama_model with `source`), through the module_utils
API only: RegistryClient.require_manifest, Manifest, ModelsDir (missing_blobs, staged, create,
ensure_dirs, check_space, open_partial, install_blob, touch, install_model; or, before the staging
directory, write_manifest) and RegistryClient.download_blob.

Run as its own process by run.py, so that its CPU time is its own. Prints one JSON object:
seconds (wall, download, install, the rest), bytes, and the CPU seconds of this process spent
between the first request and the manifest written (getrusage, user and system).

Usage: python bench/fetch/fetch.py MIRROR_URL REPOSITORY TAG MODELS_DIR
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "build", "collections"))  # tests/collection_path.sh made it

from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import Manifest, ModelsDir  # noqa: E402
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import RegistryClient  # noqa: E402


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fetch(mirror_url, repository, tag, root):
    started = time.monotonic()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    mirror = RegistryClient(mirror_url, timeout=60)
    raw, _media_type = mirror.require_manifest(repository, tag)
    manifest = Manifest(raw, mirror.url("/v2/%s/manifests/%s" % (repository, tag)))
    models_dir = ModelsDir(root)
    models_dir.check_exists(creatable=True)
    missing = models_dir.missing_blobs(manifest)
    staged = models_dir.staged(missing) if hasattr(models_dir, "staged") else []
    fetch_list = [blob for blob in missing if blob not in staged]
    models_dir.create()
    models_dir.ensure_dirs()
    models_dir.check_space(fetch_list)
    download = install = download_cpu = 0.0
    received = 0
    for blob in fetch_list:
        with models_dir.open_partial(blob) as partial:
            mark, cpu = time.monotonic(), _cpu()
            got, _resumed = mirror.download_blob(repository, blob.digest, blob.size, partial)
            done = time.monotonic()
            download_cpu += _cpu() - cpu
            models_dir.install_blob(blob, partial)
            install += time.monotonic() - done
            download += done - mark
        received += got
    # The manifest goes last, under Ollama's layout (registry host of the mirror, namespace, model, tag).
    # A ModelsDir that stages verified blobs apart puts them into blobs/ with install_model; one that
    # renamed them straight into blobs/ (before the staging directory) had write_manifest only.
    name = (mirror_url.split("://", 1)[1],) + tuple(repository.split("/", 1)) + (tag,)
    mark = time.monotonic()
    if hasattr(models_dir, "install_model"):
        models_dir.touch([blob for blob in manifest.blobs if blob not in missing])
        models_dir.install_model(name, manifest)
    else:
        models_dir.write_manifest(name, manifest)
    install += time.monotonic() - mark
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    # Not timed: the model is whole where Ollama looks for it.
    if models_dir.missing_blobs(manifest) or getattr(models_dir.read_manifest(name), "raw", None) != raw:
        raise SystemExit("the fetch left %s without the whole model %s" % (root, "/".join(name)))
    return {
        "wall_s": wall, "download_s": download, "install_s": install, "other_s": wall - download - install,
        "bytes": received, "blobs": len(fetch_list), "download_cpu_s": download_cpu,
        "cpu_user_s": after.ru_utime - usage.ru_utime, "cpu_sys_s": after.ru_stime - usage.ru_stime,
    }


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__.split("\n\n")[-1])
    print(json.dumps(fetch(*sys.argv[1:])))
