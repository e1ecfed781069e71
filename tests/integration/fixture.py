"""The servers the integration targets talk to, started natively on loopback (no Docker).

- an upstream registry (Debian's docker-registry) holding the lab's small synthetic models,
  standing in for registry.ollama.ai, behind a front that answers every request with a 307 to
  the registry under another host name (localhost), as registry.ollama.ai sends blobs to its
  storage host: Ollama fetches a blob only from such a redirect (a registry that serves the blob
  itself fails its pull with "http: no Location header in response");
- an empty mirror registry, the site's private OCI registry for ollama_mirror_push and
  ollama_model's source;
- the lab's Ollama double, its models directory empty, pulling from the upstream registry.

It writes their addresses into the collection copy's tests/integration/integration_config.yml
(ansible-test passes that file's variables to every target), prints "ready", and stops everything
when its standard input closes or it gets SIGTERM.

Usage: python3 fixture.py WORKDIR CONFIG_PATH
"""

import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "contract"))
sys.path.insert(0, str(REPO / "lab" / "models"))

import build  # noqa: E402
import catalog  # noqa: E402
import oci  # noqa: E402
import publish  # noqa: E402
from lab_processes import Double, Registry  # noqa: E402

CONFIG = """---
# Written by tests/integration/fixture.py for one run of tests/integration/run.sh.
ollama_api_url: {api}
ollama_models_dir: {models}
ollama_upstream_url: {upstream}
ollama_mirror_url: {mirror}
"""


class RedirectFront:
    """127.0.0.1:<port> that sends every GET and HEAD on to http://localhost:<registry port>."""

    def __init__(self, registry_port):
        target = f"http://localhost:{registry_port}"

        class Handler(BaseHTTPRequestHandler):
            def redirect(self):
                self.send_response(307)
                self.send_header("Location", target + self.path)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_HEAD = redirect

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def main(workdir, config_path):
    workdir = Path(workdir)
    started = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        (workdir / "upstream").mkdir(parents=True)
        (workdir / "mirror").mkdir()
        (workdir / "double").mkdir()
        upstream = Registry.start(workdir / "upstream")
        started.append(upstream)
        client = oci.Registry(upstream.url)
        for name in catalog.SMALL_MODELS:
            publish.publish(client, build.build(name, catalog.MODELS[name]))
        front = RedirectFront(upstream.url.rsplit(":", 1)[1])
        started.append(front)
        mirror = Registry.start(workdir / "mirror")
        started.append(mirror)
        double = Double(workdir / "double", front.url)
        started.append(double)
        Path(config_path).write_text(CONFIG.format(api=double.url, models=double.models, upstream=front.url,
                                                   mirror=mirror.url))
        print("ready", flush=True)
        threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
        stop.wait()
    finally:
        for server in reversed(started):
            server.stop()


if __name__ == "__main__":
    main(*sys.argv[1:3])
