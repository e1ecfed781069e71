# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Faults between the collection's fetch and Ollama's start-up pruning, for every version the double
claims (its pruning is written from Ollama's source: see lab/doubles/ollama/ollama_double/prune.py and
tests/contract/test_prune.py, which holds the double to it, planted blobs included).

- A mirror fetch of the ~300 MiB lab model breaks at about half of its model layer (the mirror stops
  answering), Ollama restarts, the run is repeated: the mirror serves at most 1.05 x the model in all.
- A listed model whose model blob was deleted is repaired by the next state=present run of
  ollama_mirror_fetch (from the mirror) and of ollama_model with models_dir (through Ollama's pull),
  changed=true, then changed=false.

The mirror is Debian's docker-registry answering blobs with 200, as a site's Harbor or distribution
does; a small proxy in front of it counts the blob bytes it serves and, on cue, cuts a transfer and
answers 503 until healed. The modules run in-process, as Ansible runs them on a host.
"""

from __future__ import annotations

import http.client
import http.server
import re
import subprocess
import sys
import threading
import urllib.parse

import pytest

from lab_processes import REPO, Double

sys.path.insert(0, subprocess.run([str(REPO / "tests" / "collection_path.sh")], check=True, capture_output=True,
                                  text=True).stdout.strip())

from ansible_collections.llmops.ollama.plugins.modules import ollama_mirror_fetch, ollama_model  # noqa: E402
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module  # noqa: E402

BIG = "qwen2.5:3b"
VERSIONS = ["0.17.1", "0.18.0", "0.21.0"]  # the lab's tags, and the first with the one-hour pruning grace
BLOB = re.compile(r"^/v2/.+/blobs/(sha256:[0-9a-f]{64})$")


class CuttingMirror:
    """A pass-through proxy to the registry that counts blob body bytes and can cut a blob at a byte count."""

    def __init__(self, registry_url):
        target = urllib.parse.urlsplit(registry_url)
        self.registry = (target.hostname, target.port)
        self.served = 0
        self.cut = None      # (digest, bytes): close that blob's transfer after so many bytes, then go down
        self.down = False
        self.lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if front.down:
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                conn = http.client.HTTPConnection(*front.registry, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, headers=headers)
                reply = conn.getresponse()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding"):
                        self.send_header(key, value)
                self.end_headers()
                match = BLOB.match(self.path.split("?", 1)[0])
                budget = None
                if match and front.cut and front.cut[0] == match.group(1):
                    budget = front.cut[1]
                while self.command != "HEAD":
                    chunk = reply.read(256 * 1024)
                    if not chunk:
                        break
                    if budget is not None:
                        chunk = chunk[:budget]
                        budget -= len(chunk)
                    self.wfile.write(chunk)
                    if match:
                        with front.lock:
                            front.served += len(chunk)
                    if budget == 0:
                        front.down = True
                        front.cut = None
                        self.close_connection = True
                        break
                conn.close()

            do_HEAD = do_GET

        return Handler

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def big_model(registry):
    import build
    import catalog
    import publish
    from oci import Registry

    model = build.build(BIG, catalog.MODELS[BIG])
    publish.publish(Registry(registry.url), model)
    return model


@pytest.fixture
def mirror(registry):
    front = CuttingMirror(registry.url)
    yield front
    front.stop()


def fetch(double, mirror, **args):
    args = dict({"name": BIG, "mirror": mirror.url, "api_url": double.url, "models_dir": str(double.models)}, **args)
    return run_module(ollama_mirror_fetch, args)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_fetch_broken_at_half_resumes_after_an_ollama_restart(tmp_path, upstream, mirror, big_model, version):
    model_bytes = big_model.config.size + sum(layer.size for layer in big_model.layers)
    body = big_model.layers[0]
    double = Double(tmp_path, upstream.url, {"OLLAMA_DOUBLE_VERSION": version})
    try:
        mirror.cut = (body.digest, body.size // 2)
        broken = fetch(double, mirror)
        assert broken["failed"] is True, broken
        assert BIG in broken["msg"] and "503" in broken["msg"], broken["msg"]
        staging = double.models / ".llmops-staging"
        partial = staging / ("partial-sha256-" + body.digest[7:])
        half = partial.stat().st_size
        assert 0.4 * body.size < half <= 0.5 * body.size + 1

        double.stop()  # an upgrade, a reboot, a crash: `ollama serve` starts again and prunes
        double = Double(tmp_path, upstream.url, {"OLLAMA_DOUBLE_VERSION": version})
        assert partial.stat().st_size == half, "the restart touched the partial download"
        assert not [p for p in (double.models / "blobs").iterdir() if "llmops" in p.name]

        mirror.down = False
        done = fetch(double, mirror)
        assert done["changed"] is True, done
        assert done["transfer"]["bytes_resumed"] == half
        assert done["model"]["digest"] == _digest(double, BIG)
        assert not staging.exists()
        ratio = mirror.served / model_bytes
        print("%s: mirror served %d bytes over both runs for a %d-byte model: %.3f" % (
            version, mirror.served, model_bytes, ratio))
        assert ratio <= 1.05

        double.stop()  # and the model survives the next start
        double = Double(tmp_path, upstream.url, {"OLLAMA_DOUBLE_VERSION": version})
        assert fetch(double, mirror)["changed"] is False
    finally:
        double.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_a_listed_model_that_lost_its_model_blob_is_repaired(tmp_path, upstream, mirror, published, version):
    double = Double(tmp_path, upstream.url, {"OLLAMA_DOUBLE_VERSION": version})
    small = "qwen2.5:0.5b"
    try:
        assert fetch(double, mirror, name=small)["changed"] is True
        body = _model_blob(double, small)
        body.unlink()
        assert small in _names(double)  # Ollama still lists it: it reads only the manifest and config

        repaired = fetch(double, mirror, name=small)
        assert repaired["changed"] is True and repaired["transfer"]["repair"] is True
        assert repaired["transfer"]["blobs_fetched"] == 1
        assert body.is_file()
        assert fetch(double, mirror, name=small)["changed"] is False

        # the same through Ollama's own pull, for hosts without a mirror
        body.unlink()
        args = {"name": small, "api_url": double.url, "models_dir": str(double.models)}
        pulled = run_module(ollama_model, args)
        assert pulled["changed"] is True and pulled["blobs_missing"] == ["sha256:" + body.name[7:]]
        assert body.is_file()
        assert run_module(ollama_model, args)["changed"] is False
    finally:
        double.stop()


def _names(double):
    import json
    import urllib.request
    with urllib.request.urlopen(double.url + "/api/tags", timeout=10) as reply:
        return [m["name"] for m in json.load(reply)["models"]]


def _digest(double, name):
    import json
    import urllib.request
    with urllib.request.urlopen(double.url + "/api/tags", timeout=10) as reply:
        return next(m["digest"] for m in json.load(reply)["models"] if m["name"] == name)


def _model_blob(double, name):
    import json
    model, tag = name.split(":")
    manifest = json.loads((double.models / "manifests/registry.ollama.ai/library" / model / tag).read_text())
    layer = next(entry for entry in manifest["layers"] if entry["mediaType"].endswith(".model"))
    return double.models / "blobs" / layer["digest"].replace(":", "-")
