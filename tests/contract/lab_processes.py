"""Starts and stops the real registry (Debian's docker-registry) and the Ollama double natively."""

import http.client
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOUBLE = REPO / "lab" / "doubles" / "ollama" / "ollama"
DOCKER_REGISTRY = "/usr/bin/docker-registry"
ACCESS_LINE = re.compile(r'"(?P<method>[A-Z]+) (?P<uri>\S+) HTTP/[\d.]+" (?P<status>\d+) (?P<bytes>\d+)')

REGISTRY_CONFIG = """version: 0.1
log:
  level: info
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url, timeout=15.0, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


class Registry:
    """A registry: ours (storage and access log readable) or an external one (LAB_REGISTRY_URL)."""

    def __init__(self, url, storage=None, access_log=None, process=None):
        self.url, self.storage, self.access_log, self.process = url, storage, access_log, process

    @classmethod
    def start(cls, workdir):
        if not os.access(DOCKER_REGISTRY, os.X_OK):
            raise RuntimeError(f"{DOCKER_REGISTRY} is missing: apt-get install docker-registry, "
                               "or set LAB_REGISTRY_URL to a running registry")
        port = free_port()
        storage = workdir / "storage"
        config = workdir / "config.yml"
        config.write_text(REGISTRY_CONFIG.format(root=storage, port=port))
        access_log = workdir / "access.log"
        process = subprocess.Popen(
            [DOCKER_REGISTRY, "serve", str(config)],
            stdout=access_log.open("wb"), stderr=(workdir / "registry.log").open("wb"))
        url = f"http://127.0.0.1:{port}"
        wait_http(url + "/v2/", process=process)
        return cls(url, storage, access_log, process)

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(10)

    @property
    def host(self):
        return self.url.split("://", 1)[1]

    def blob_data_path(self, digest):
        hexdigest = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"

    def log_mark(self):
        return len(self._access_lines())

    def requests_since(self, mark, settle=0.3):
        """[(method, uri, status, bytes)] the registry logged after log_mark() returned mark."""
        time.sleep(settle)  # a line is logged just after its response is complete
        found = []
        for line in self._access_lines()[mark:]:
            match = ACCESS_LINE.search(line)
            if match:
                found.append((match["method"], match["uri"], int(match["status"]), int(match["bytes"])))
        return found

    def _access_lines(self):
        if self.access_log is None:
            return []
        return self.access_log.read_text(errors="replace").splitlines()


class BlobRedirector:
    """registry.ollama.ai's behaviour in front of the registry, as the lab's nginx gives it
    (lab/registry/front.conf): blob GETs are answered 307 to another host name (`localhost`
    instead of `127.0.0.1`, the registry's own port), everything else is passed to the registry."""

    BLOB = re.compile(r"^/v2/.+/blobs/sha256:[0-9a-f]{64}$")

    def __init__(self, registry_url):
        target = urllib.parse.urlsplit(registry_url)
        self.registry = (target.hostname, target.port)
        self.redirect_base = f"http://localhost:{target.port}"
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _handler(self):
        front = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.command == "GET" and front.BLOB.match(self.path.split("?", 1)[0]):
                    self.send_response(307)
                    self.send_header("Location", front.redirect_base + self.path)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._pass()

            do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

            def _pass(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                conn = http.client.HTTPConnection(*front.registry, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

        return Handler

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


class Double:
    """One `ollama serve` of the double, with its own models directory and log."""

    def __init__(self, workdir, upstream, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.models = workdir / "models"
        self.log = workdir / "ollama.log"
        environment = {key: value for key, value in os.environ.items() if not key.startswith("OLLAMA_")}
        environment.update({
            "OLLAMA_HOST": f"127.0.0.1:{self.port}",
            "OLLAMA_MODELS": str(self.models),
            "OLLAMA_DOUBLE_UPSTREAM": upstream,
            "OLLAMA_DOUBLE_VERSION": "0.17.1",
            "OLLAMA_DOUBLE_TOKEN_DELAY": "0",
        })
        environment.update(env or {})
        self.env = environment
        self.process = subprocess.Popen([sys.executable, str(DOUBLE), "serve"], env=environment,
                                        stdout=self.log.open("wb"), stderr=subprocess.STDOUT)
        wait_http(self.url + "/", process=self.process)

    def stop(self):
        self.process.terminate()
        self.process.wait(10)

    def run_cli(self, *args, env=None):
        environment = dict(self.env, **(env or {}))
        return subprocess.run([sys.executable, str(DOUBLE), *args], env=environment,
                              capture_output=True, text=True, timeout=30)
