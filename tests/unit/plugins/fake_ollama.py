# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An in-process HTTP server that answers like Ollama (status codes, error texts and NDJSON as in
shared/reference/ollama-api-and-operations.md §0-§1) and records every request it gets.

Models live in memory. A test may script the next replies of one route with Reply objects to
inject faults (stalls, broken streams, 503, non-JSON bodies).
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass
from time import sleep as pause  # bound at import: tests may patch time.sleep for the client
from http.server import BaseHTTPRequestHandler

from ansible_collections.llmops.ollama.tests.unit.plugins.inprocess_server import InProcessServer

JSON = "application/json; charset=utf-8"
NDJSON = "application/x-ndjson"
BUSY = "server busy, please try again.  maximum pending requests exceeded"
MISSING_MANIFEST = "pull model manifest: file does not exist"


def canonical(name):
    """Ollama's short display form, lower-cased for matching (enough for the names tests use)."""
    name = name.strip()
    for prefix in ("registry.ollama.ai/library/", "registry.ollama.ai/"):
        if name.lower().startswith(prefix):
            name = name[len(prefix):]
    if ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return name.lower()


def go_value(value):
    """fmt's %#v for the JSON values a params layer holds."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        text = repr(float(value))
        return text[:-2] if text.endswith(".0") else text
    return json.dumps(value)


def show_parameters(params):
    lines = []
    for key, value in params.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append("%-30s %s" % (key, go_value(item)))
    return "\n".join(lines)


@dataclass(eq=False)
class Reply:
    """A scripted answer: a status and a JSON/text body, or NDJSON lines; optionally a delay before
    the head, or a stall after some lines."""

    status: int = 200
    body: object = None
    text: str | None = None
    lines: list | None = None
    content_type: str | None = None
    delay: float = 0.0
    stall_after: int | None = None
    stall: float = 0.0


@dataclass(eq=False)
class Model:
    name: str
    family: str = "qwen2"
    parameter_size: str = "494.03M"
    revision: int = 1
    parent: str = ""
    system: str = ""
    template: str = "{{ .Prompt }}"
    parameters: dict | None = None
    messages: list | None = None
    copied_digest: str = ""  # a copy keeps the digest of its source, as Ollama's (the same manifest bytes)

    def __post_init__(self):
        # Copies, so that a model made from another never shares its parameters or messages.
        self.parameters = dict(self.parameters or {})
        self.messages = list(self.messages or [])

    @property
    def manifest(self):
        return json.dumps({"name": canonical(self.name), "revision": self.revision, "system": self.system,
                           "template": self.template, "parameters": self.parameters,
                           "messages": self.messages, "parent": self.parent}, sort_keys=True).encode()

    @property
    def digest(self):
        return self.copied_digest or hashlib.sha256(self.manifest).hexdigest()

    def details(self):
        return {"parent_model": self.parent, "format": "gguf", "family": self.family, "families": [self.family],
                "parameter_size": self.parameter_size, "quantization_level": "Q4_K_M"}

    def tag_entry(self):
        return {"name": self.name, "model": self.name, "modified_at": "2025-05-04T17:37:44.706015396-07:00",
                "size": 397821319 + self.revision, "digest": self.digest, "details": self.details()}

    def show(self):
        return {"license": "Apache License 2.0", "modelfile": "FROM %s\n" % (self.parent or self.name),
                "parameters": show_parameters(self.parameters), "template": self.template, "system": self.system,
                "details": self.details(), "messages": self.messages, "model_info": {},
                "tensors": [{"name": "token_embd.weight", "type": "Q4_K", "shape": [896, 151936]}],
                "capabilities": ["completion"], "modified_at": "2025-05-04T17:37:44.706015396-07:00"}


class FakeOllama(InProcessServer):
    def __init__(self):
        self.local = {}      # canonical name -> Model
        self.registry = {}   # canonical name -> Model a pull would fetch
        self.requests = []   # (method, path, JSON body or None), in arrival order
        self.headers = []    # the request headers, in the same order
        self.scripted = {}   # (method, path) -> [Reply, ...], used before the default behaviour
        self.version = "0.12.11"
        self.models_dir = None  # when set, /api/tags also lists the models on disk there, as Ollama does
        super().__init__(self._handler_class())

    def add_local(self, name, **kwargs):
        self.local[canonical(name)] = Model(name, **kwargs)
        return self.local[canonical(name)]

    def add_remote(self, name, **kwargs):
        self.registry[canonical(name)] = Model(name, **kwargs)
        return self.registry[canonical(name)]

    def script(self, method, path, *replies):
        self.scripted.setdefault((method, path), []).extend(replies)

    def calls(self):
        """(method, path) of each request, the form most assertions need."""
        return [(method, path) for method, path, _body in self.requests]

    def disk_models(self):
        """/api/tags entries for the manifests under models_dir (manifests/*/*/*/*, re-read every time):
        the digest is the sha256 of the manifest bytes, the size the sum of the sizes it lists."""
        entries = []
        for path in sorted(glob.glob(os.path.join(self.models_dir or "/nonexistent", "manifests", "*", "*", "*", "*"))):
            host, namespace, model, tag = path.split(os.sep)[-4:]
            try:
                with open(path, "rb") as handle:
                    raw = handle.read()
                manifest = json.loads(raw)
                size = sum(layer["size"] for layer in [manifest["config"]] + manifest["layers"])
            except (OSError, ValueError, KeyError, TypeError):
                continue  # Ollama skips a manifest it cannot read when it lists models
            if host == "registry.ollama.ai":
                name = "%s:%s" % (model, tag) if namespace == "library" else "%s/%s:%s" % (namespace, model, tag)
            else:
                name = "%s/%s/%s:%s" % (host, namespace, model, tag)
            entries.append({"name": name, "model": name, "modified_at": "2025-05-04T17:37:44.706015396-07:00",
                            "size": size, "digest": hashlib.sha256(raw).hexdigest(),
                            "details": {"format": "gguf", "family": "qwen2"}})
        return entries

    # The default behaviour of each route, per the reference.

    def route(self, method, path, body):
        with self._lock:
            queue = self.scripted.get((method, path))
            if queue:
                return queue.pop(0)
            handler = {
                ("GET", "/api/version"): lambda b: Reply(body={"version": self.version}),
                ("GET", "/api/tags"): lambda b: Reply(body={"models": [m.tag_entry() for m in self.local.values()]
                                                            + self.disk_models()}),
                ("GET", "/api/ps"): lambda b: Reply(body={"models": []}),
                ("POST", "/api/show"): self._show,
                ("DELETE", "/api/delete"): self._delete,
                ("POST", "/api/copy"): self._copy,
                ("POST", "/api/pull"): self._pull,
                ("POST", "/api/create"): self._create,
                ("POST", "/api/generate"): self._generate,
                ("POST", "/api/chat"): self._generate,
            }.get((method, path))
            if handler is None:
                return Reply(404, text="404 page not found", content_type="text/plain")
            if body is None and method != "GET":
                return Reply(400, body={"error": "missing request body"})
            return handler(body)

    def _show(self, body):
        name = body.get("model") or body.get("name") or ""
        if not name:
            return Reply(400, body={"error": "model is required"})
        model = self.local.get(canonical(name))
        if model is None:
            return Reply(404, body={"error": "model '%s' not found" % name})
        return Reply(body=model.show())

    def _delete(self, body):
        name = body.get("model") or body.get("name") or ""
        if canonical(name) not in self.local:
            return Reply(404, body={"error": "model '%s' not found" % name})
        del self.local[canonical(name)]
        return Reply(200, text="", content_type="")

    def _copy(self, body):
        source, destination = body.get("source") or "", body.get("destination") or ""
        model = self.local.get(canonical(source))
        if model is None:
            return Reply(404, body={"error": 'model "%s" not found' % source})
        # the same manifest under another name: the same digest (only the name differs here)
        self.local[canonical(destination)] = Model(**dict(vars(model), name=destination, copied_digest=model.digest))
        return Reply(200, text="", content_type="")

    def _pull(self, body):
        name = body.get("model") or body.get("name") or ""
        model = self.registry.get(canonical(name))
        if model is None:
            if body.get("stream", True):
                return Reply(lines=[{"status": "pulling manifest"}, {"error": MISSING_MANIFEST}])
            return Reply(500, body={"error": MISSING_MANIFEST})
        self.local[canonical(name)] = Model(**vars(model))
        short = model.digest[:12]
        lines = [{"status": "pulling manifest"},
                 {"status": "pulling %s" % short, "digest": "sha256:" + model.digest, "total": 397821319},
                 {"status": "pulling %s" % short, "digest": "sha256:" + model.digest, "total": 397821319,
                  "completed": 397821319},
                 {"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
        return Reply(lines=lines) if body.get("stream", True) else Reply(body={"status": "success"})

    def _create(self, body):
        name = body.get("model") or ""
        base_name = body.get("from")
        if not base_name:
            return Reply(400, body={"error": "neither 'from' or 'files' was specified"})
        base = self.local.get(canonical(base_name))
        if base is None:
            return Reply(lines=[{"status": "pulling manifest"}, {"error": MISSING_MANIFEST}])
        params = dict(base.parameters)
        params.update(body.get("parameters") or {})
        self.local[canonical(name)] = Model(
            name, family=base.family, parameter_size=base.parameter_size, parent=base.name,
            system=body.get("system", base.system), template=body.get("template", base.template),
            parameters=params, messages=body.get("messages", base.messages))
        return Reply(lines=[{"status": "using existing layer sha256:%s" % base.digest},
                            {"status": "writing manifest"}, {"status": "success"}])

    def _generate(self, body):
        name = body.get("model") or ""
        if canonical(name) not in self.local:
            return Reply(404, body={"error": "model '%s' not found" % name})
        chat = "messages" in body
        words = ["Hello", " there", "."]
        final = {"model": name, "created_at": "2025-05-10T15:06:48.639712648Z", "done": True, "done_reason": "stop",
                 "total_duration": 900000000, "load_duration": 100000000, "prompt_eval_count": 12,
                 "prompt_eval_duration": 50000000, "eval_count": 30, "eval_duration": 600000000}
        lines = []
        for word in words:
            piece = {"model": name, "created_at": final["created_at"], "done": False}
            piece.update({"message": {"role": "assistant", "content": word}} if chat else {"response": word})
            lines.append(piece)
        final.update({"message": {"role": "assistant", "content": ""}} if chat else {"response": ""})
        return Reply(lines=lines + [final])

    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                fake.requests.append((self.command, self.path, body))
                fake.headers.append(dict(self.headers))
                reply = fake.route(self.command, self.path, body)
                try:
                    self._send(reply)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a time-out test); nothing to tell it

            def _send(self, reply):
                pause(reply.delay)
                self.send_response(reply.status)
                if reply.lines is not None:
                    self.send_header("Content-Type", reply.content_type or NDJSON)
                    self.end_headers()
                    for count, line in enumerate(reply.lines):
                        if reply.stall_after is not None and count == reply.stall_after:
                            pause(reply.stall)
                        self.wfile.write((line if isinstance(line, str) else json.dumps(line)).encode() + b"\n")
                        self.wfile.flush()
                    return
                payload = reply.text.encode() if reply.text is not None else json.dumps(reply.body).encode()
                content_type = reply.content_type if reply.content_type is not None else JSON
                if content_type:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_DELETE = do_HEAD = _serve

        return Handler
