# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An in-process OCI distribution registry (the /v2/ API subset that stock registries serve and the
collection uses), recording every request.

Faults a test can ask for: a blob served with a flipped byte (`corrupt`), a blob transfer that
drops the connection after some bytes (`drops`), a registry that ignores Range (`honour_range`),
Bearer-token authentication (`require_token`, with the realm on another server: `token_realm`),
and blob downloads redirected to signed object storage (`redirect_blobs_to`, a FakeStorage that
refuses any request carrying Authorization, as S3 does). Also helpers to build Ollama manifests
and to lay models out in a models directory the way Ollama does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import uuid
from urllib.parse import parse_qs, urlsplit

from ansible_collections.llmops.ollama.tests.unit.plugins.inprocess_server import InProcessServer, QuietHandler

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
MODEL_TYPE = "application/vnd.ollama.image.model"
TEMPLATE_TYPE = "application/vnd.ollama.image.template"
TOKEN = "fake-registry-token"

_MANIFEST = re.compile(r"^/v2/(?P<repo>.+)/manifests/(?P<ref>[^/]+)$")
_BLOB = re.compile(r"^/v2/(?P<repo>.+)/blobs/sha256:(?P<hex>[0-9a-f]{64})$")
_UPLOAD_START = re.compile(r"^/v2/(?P<repo>.+)/blobs/uploads/$")
_UPLOAD = re.compile(r"^/v2/(?P<repo>.+)/blobs/uploads/(?P<id>[0-9a-f-]+)$")


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def ollama_manifest(layers, family="qwen2", model_type="494.03M"):
    """(raw manifest bytes, {hex: bytes} of every blob) for an Ollama model whose layers are
    [(media type, bytes), ...]; the config blob comes first, as Ollama writes it."""
    config = json.dumps({"model_format": "gguf", "model_family": family, "model_families": [family],
                         "model_type": model_type, "file_type": "Q4_K_M", "architecture": "amd64",
                         "os": "linux"}).encode()
    blobs = {sha256(config): config}
    entries = []
    for media_type, data in layers:
        blobs[sha256(data)] = data
        entries.append({"mediaType": media_type, "digest": "sha256:" + sha256(data), "size": len(data)})
    raw = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_V2,
                      "config": {"mediaType": CONFIG_TYPE, "digest": "sha256:" + sha256(config), "size": len(config)},
                      "layers": entries}, indent=2).encode()
    return raw, blobs


def sample_model(seed="qwen", body_size=300000):
    """A model with a body of body_size bytes and a small template; different seeds, different blobs."""
    body = (hashlib.sha256(seed.encode()).digest() * (body_size // 32 + 1))[:body_size]
    return ollama_manifest([(MODEL_TYPE, body), (TEMPLATE_TYPE, ("{{ .Prompt }} %s" % seed).encode())])


def install_local(models_dir, parts, raw, blobs):
    """Lay a model out as Ollama does: blobs/sha256-<hex> and manifests/<host>/<ns>/<model>/<tag>."""
    os.makedirs(os.path.join(models_dir, "blobs"), exist_ok=True)
    for hexdigest, data in blobs.items():
        with open(os.path.join(models_dir, "blobs", "sha256-" + hexdigest), "wb") as out:
            out.write(data)
    path = os.path.join(models_dir, "manifests", *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(raw)
    return path


def _errors(code, message, detail=None):
    return {"errors": [{"code": code, "message": message, "detail": detail}]}


class FakeRegistry(InProcessServer):
    def __init__(self):
        self.blobs = {}        # hex -> bytes
        self.links = {}        # repository -> set of hex it may serve (distribution links blobs per repository)
        self.manifests = {}    # (repository, tag) -> raw bytes
        self.requests = []     # (method, path, headers), in arrival order
        self.corrupt = set()   # hex of blobs served with their first byte flipped
        self.drops = {}        # hex -> [bytes to send before dropping the connection, ...], one per GET
        self.honour_range = True
        self.require_token = False
        self.read_only = False  # uploads and manifest PUTs are denied, as for a pull-only account
        self.token_realm = None  # the realm a Bearer challenge names; None: this registry's own /token
        self.redirect_blobs_to = None  # a FakeStorage: blob GETs answer 307 to a signed URL there
        self.uploads = {}      # upload id -> repository
        self.sent = {}         # hex -> blob bytes sent in GET bodies
        super().__init__(self._handler_class())

    def add_model(self, repository, tag, raw, blobs):
        """Store a model as a push would; return its manifest digest."""
        for hexdigest, data in blobs.items():
            self.blobs[hexdigest] = data
            self.links.setdefault(repository, set()).add(hexdigest)
        self.manifests[(repository, tag)] = raw
        return sha256(raw)

    def count_sent(self, hexdigest, count):
        with self._lock:
            self.sent[hexdigest] = self.sent.get(hexdigest, 0) + count

    def calls(self):
        return [(method, path) for method, path, _headers in self.requests]

    def blob_gets(self):
        return [path for method, path, _h in self.requests if method == "GET" and "/blobs/sha256:" in path]

    # routes

    def route(self, method, path, headers, body):
        """(status, headers dict, body bytes, blob hex or None, bytes before a drop or None)."""
        with self._lock:
            if self.require_token and path.split("?")[0] != "/token":
                if headers.get("Authorization") != "Bearer " + TOKEN:
                    challenge = 'Bearer realm="%s",service="fake",scope="repository:%s:pull"' % (
                        self.token_realm or self.url + "/token", path.split("/")[2] if path.count("/") > 2 else "")
                    return self._json(401, _errors("UNAUTHORIZED", "authentication required"),
                                      {"WWW-Authenticate": challenge})
            split = urlsplit(path)
            route = split.path
            if route == "/token":
                return self._json(200, {"token": TOKEN})
            if route == "/v2/":
                return self._json(200, {})
            if self.read_only and method in ("POST", "PUT"):
                return self._json(403, _errors("DENIED", "requested access to the resource is denied"))
            match = _MANIFEST.match(route)
            if match:
                return self._manifest(method, match.group("repo"), match.group("ref"), headers, body)
            match = _BLOB.match(route)
            if match and method == "GET" and self.redirect_blobs_to is not None \
                    and match.group("hex") in self.links.get(match.group("repo"), set()):
                storage = self.redirect_blobs_to
                storage.put(match.group("hex"), self.blobs[match.group("hex")])
                return (307, {"Location": "%s/bucket/%s?X-Amz-Signature=s1gn3d" % (storage.url, match.group("hex")),
                              "Content-Length": "0"}, b"", None, None)
            if match and method in ("GET", "HEAD"):
                return self._blob(method, match.group("repo"), match.group("hex"), headers)
            match = _UPLOAD_START.match(route)
            if match and method == "POST":
                upload = str(uuid.uuid4())
                self.uploads[upload] = match.group("repo")
                return (202, {"Location": "/v2/%s/blobs/uploads/%s?_state=opaque" % (match.group("repo"), upload),
                              "Docker-Upload-UUID": upload, "Content-Length": "0"}, b"", None, None)
            match = _UPLOAD.match(route)
            if match and method == "PUT":
                return self._finish_upload(match.group("repo"), match.group("id"), parse_qs(split.query), body)
            return self._json(404, _errors("UNSUPPORTED", "the operation is unsupported"))

    @staticmethod
    def _json(status, body, headers=None):
        payload = json.dumps(body).encode()
        out = {"Content-Type": "application/json; charset=utf-8", "Content-Length": str(len(payload))}
        out.update(headers or {})
        return status, out, payload, None, None

    def _manifest(self, method, repo, ref, headers, body):
        if method == "PUT":
            try:
                manifest = json.loads(body)
            except ValueError:
                return self._json(400, _errors("MANIFEST_INVALID", "manifest invalid"))
            for entry in [manifest.get("config")] + manifest.get("layers", []):
                hexdigest = entry["digest"].split(":", 1)[1]
                if hexdigest not in self.links.get(repo, set()):
                    return self._json(400, _errors("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", entry["digest"]))
            self.manifests[(repo, ref)] = body
            return (201, {"Docker-Content-Digest": "sha256:" + sha256(body), "Content-Length": "0",
                          "Location": "/v2/%s/manifests/sha256:%s" % (repo, sha256(body))}, b"", None, None)
        if method not in ("GET", "HEAD"):
            return self._json(405, _errors("UNSUPPORTED", "the operation is unsupported"))
        raw = self.manifests.get((repo, ref))
        if raw is None:
            if not any(r == repo for r, _t in self.manifests):
                return self._json(404, _errors("NAME_UNKNOWN", "repository name not known to registry", {"name": repo}))
            return self._json(404, _errors("MANIFEST_UNKNOWN", "manifest unknown", {"Tag": ref}))
        content_type = json.loads(raw).get("mediaType") or MANIFEST_V2
        return (200, {"Content-Type": content_type, "Content-Length": str(len(raw)),
                      "Docker-Content-Digest": "sha256:" + sha256(raw)}, raw if method == "GET" else b"", None, None)

    def _blob(self, method, repo, hexdigest, headers):
        if hexdigest not in self.links.get(repo, set()):
            return self._json(404, _errors("BLOB_UNKNOWN", "blob unknown to registry", "sha256:" + hexdigest))
        data = self.blobs[hexdigest]
        if hexdigest in self.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        out = {"Content-Type": "application/octet-stream", "Docker-Content-Digest": "sha256:" + hexdigest,
               "Accept-Ranges": "bytes"}
        status = 200
        wanted = re.match(r"^bytes=(\d+)-$", headers.get("Range") or "")
        if wanted and self.honour_range and method == "GET":
            start = int(wanted.group(1))
            if start >= len(data):
                return self._json(416, _errors("RANGE_INVALID", "invalid content range"))
            out["Content-Range"] = "bytes %d-%d/%d" % (start, len(data) - 1, len(data))
            data = data[start:]
            status = 206
        out["Content-Length"] = str(len(data))
        drop = None
        if method == "GET" and self.drops.get(hexdigest):
            drop = self.drops[hexdigest].pop(0)
        return status, out, data if method == "GET" else b"", hexdigest, drop

    def _finish_upload(self, repo, upload, query, body):
        if self.uploads.pop(upload, None) != repo:
            return self._json(404, _errors("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry"))
        digest = (query.get("digest") or [""])[0]
        if query.get("_state") != ["opaque"]:
            return self._json(400, _errors("BLOB_UPLOAD_INVALID", "the upload state was lost"))
        if digest != "sha256:" + sha256(body):
            return self._json(400, _errors("DIGEST_INVALID", "provided digest did not match uploaded content"))
        self.blobs[sha256(body)] = body
        self.links.setdefault(repo, set()).add(sha256(body))
        return (201, {"Location": "/v2/%s/blobs/%s" % (repo, digest), "Docker-Content-Digest": digest,
                      "Content-Length": "0"}, b"", None, None)

    def _handler_class(self):
        fake = self

        class Handler(QuietHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append((self.command, self.path, dict(self.headers)))
                status, headers, payload, blob, drop = fake.route(self.command, self.path, dict(self.headers), body)
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    if drop is not None:
                        payload = payload[:drop]
                    # Counted before the write: the client may finish reading, and the test assert,
                    # before this thread runs again.
                    if blob is not None:
                        fake.count_sent(blob, len(payload))
                    self.wfile.write(payload)
                    self.wfile.flush()
                    if drop is not None:
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_HEAD = do_POST = do_PUT = _serve

        return Handler


class FakeStorage(InProcessServer):
    """Signed object storage a registry redirects blob downloads to (S3, GCS): it serves
    /bucket/<hex>?<signature> and, as S3 does, answers 400 to any request that also carries an
    Authorization header ("only one auth mechanism allowed"). Every request's headers are recorded.
    Its url names the host `localhost`, so that it is another host than the registry's 127.0.0.1."""

    def __init__(self):
        self.objects = {}
        self.requests = []  # (method, path, headers)
        super().__init__(self._handler_class())

    @property
    def url(self):
        return "http://localhost:%d" % self._server.server_address[1]

    def put(self, hexdigest, data):
        with self._lock:
            self.objects[hexdigest] = data

    def _handler_class(self):
        fake = self

        class Handler(QuietHandler):
            def do_GET(self):
                fake.requests.append((self.command, self.path, dict(self.headers)))
                split = urlsplit(self.path)
                data = fake.objects.get(split.path.rsplit("/", 1)[-1])
                if self.headers.get("Authorization") is not None:
                    status, body = 400, (b"<Error><Code>InvalidArgument</Code><Message>Only one auth mechanism "
                                         b"allowed</Message></Error>")
                elif "X-Amz-Signature=" not in split.query or data is None:
                    status, body = 403, b"<Error><Code>AccessDenied</Code></Error>"
                else:
                    status, body = 200, data
                self.reply(status, "application/octet-stream" if status == 200 else "application/xml", body)

            do_HEAD = do_GET

        return Handler


class FakeTokenService(InProcessServer):
    """A Bearer token service on its own server (host `localhost`, the registry is 127.0.0.1):
    GET /token answers the token the registry accepts, and every request is recorded."""

    def __init__(self):
        self.requests = []
        super().__init__(self._handler_class())

    @property
    def url(self):
        return "http://localhost:%d" % self._server.server_address[1]

    def _handler_class(self):
        fake = self

        class Handler(QuietHandler):
            def do_GET(self):
                fake.requests.append((self.command, self.path, dict(self.headers)))
                self.reply(200, "application/json", json.dumps({"token": TOKEN}).encode())

        return Handler
