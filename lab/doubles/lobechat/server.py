#!/usr/bin/env python3
"""LobeChat test double: stdlib only.

Reads the same environment variables as LobeChat (lobehub/lobe-chat) for its Ollama provider and
proves the wiring a deployment sets up: the access code, the model list and that Ollama is
reachable from the LobeChat container. See README.md next to this file for the endpoints.
"""
import hmac
import json
import os
import re
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = os.environ.get("LOBECHAT_DOUBLE_VERSION", "0.0.0-lab")
ACCESS_CODE_HEADER = "X-Lobe-Chat-Access-Code"
DEFAULT_PROXY_URL = "http://127.0.0.1:11434"
# The double's stand-in for LobeChat's built-in Ollama model cards (what the list shows
# unless OLLAMA_MODEL_LIST starts with -all).
BUILTIN_MODELS = ["llama3.1", "qwen2.5", "deepseek-r1", "gemma2", "mistral"]
CAPABILITIES = {"fc": "functionCall", "vision": "vision", "file": "files", "reasoning": "reasoning"}
ITEM_RE = re.compile(r"^(?P<id>[^=<]+?)\s*(?:=\s*(?P<name>[^<]*?))?\s*(?:<(?P<ext>[^>]*)>)?$")

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LobeChat (lab double)</title></head>
<body><h1>LobeChat</h1>
<p>Lab double of lobehub/lobe-chat {version}. Provider: Ollama at {proxy}.</p>
<p>Models offered: {models}</p>
<p>Access code required: {code}</p>
</body></html>
"""


def parse_model_list(spec, builtin=BUILTIN_MODELS):
    """Apply LobeChat's OLLAMA_MODEL_LIST syntax to the built-in list.

    Comma separated; `-all` hides everything so far, `-id` hides one, `+id` or `id` adds one,
    `id=Display Name<maxTokens:cap:cap>` names it and sets the context window and abilities.
    Returns a list of dicts {id, displayName, contextWindowTokens, abilities}.
    """
    models = {m: {"id": m, "displayName": m, "contextWindowTokens": None, "abilities": {}}
              for m in builtin}
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item:
            continue
        if item == "-all":
            models.clear()
            continue
        if item.startswith("-"):
            models.pop(item[1:].strip(), None)
            continue
        if item.startswith("+"):
            item = item[1:].strip()
        match = ITEM_RE.match(item)
        if not match:
            raise ValueError(f"OLLAMA_MODEL_LIST: cannot parse {raw!r}")
        model_id = match.group("id").strip()
        entry = {"id": model_id, "displayName": (match.group("name") or "").strip() or model_id,
                 "contextWindowTokens": None, "abilities": {}}
        ext = match.group("ext")
        if ext:
            parts = ext.split(":")
            if parts[0].strip():
                if not parts[0].strip().isdigit():
                    raise ValueError(f"OLLAMA_MODEL_LIST: max tokens must be a number in {raw!r}")
                entry["contextWindowTokens"] = int(parts[0])
            for cap in parts[1:]:
                cap = cap.strip()
                if cap not in CAPABILITIES:
                    raise ValueError(f"OLLAMA_MODEL_LIST: unknown capability {cap!r} in {raw!r}")
                entry["abilities"][CAPABILITIES[cap]] = True
        models[model_id] = entry
    return list(models.values())


def normalise(name):
    """Ollama's view of a model name: lower case, ':latest' when no tag."""
    name = name.strip().lower()
    last = name.rsplit("/", 1)[-1]
    return name if ":" in last else name + ":latest"


class Config:
    def __init__(self, env):
        self.proxy_url = (env.get("OLLAMA_PROXY_URL") or DEFAULT_PROXY_URL).rstrip("/")
        self.access_code = env.get("ACCESS_CODE", "")
        self.enabled = env.get("ENABLED_OLLAMA", "1") != "0"
        self.models = parse_model_list(env.get("OLLAMA_MODEL_LIST", ""))
        self.timeout = float(env.get("LOBECHAT_DOUBLE_TIMEOUT", "120"))


def ollama_request(cfg, method, path, body=None, timeout=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(cfg.proxy_url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"} if data else {})
    return urllib.request.urlopen(req, timeout=timeout or cfg.timeout)


def ollama_status(cfg):
    out = {"url": cfg.proxy_url, "reachable": False, "version": None, "error": None}
    available = []
    try:
        with ollama_request(cfg, "GET", "/api/version", timeout=5) as resp:
            out["version"] = json.load(resp).get("version")
        with ollama_request(cfg, "GET", "/api/tags", timeout=5) as resp:
            available = [m.get("name") or m.get("model") for m in json.load(resp).get("models", [])]
        out["reachable"] = True
    except (urllib.error.URLError, OSError, ValueError) as exc:
        out["error"] = str(getattr(exc, "reason", exc))
    return out, available


class Handler(BaseHTTPRequestHandler):
    server_version = "LobeChatDouble/" + VERSION
    cfg = None  # set by make_server

    def log_message(self, fmt, *args):  # request line only; headers (the access code) never
        sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def authorised(self):
        code = self.cfg.access_code
        if not code:
            return True
        given = self.headers.get(ACCESS_CODE_HEADER, "")
        return hmac.compare_digest(given.encode(), code.encode())

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        path = self.path.split("?", 1)[0]
        if path in ("/", "/welcome", "/chat"):
            body = PAGE.format(version=VERSION, proxy=self.cfg.proxy_url,
                               models=", ".join(m["id"] for m in self.cfg.models) or "(none)",
                               code="yes" if self.cfg.access_code else "no").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        elif path == "/webapi/status":
            self.status()
        else:
            self.send_json(404, {"error": "not found"})

    def status(self):
        ollama, available = ollama_status(self.cfg)
        have = {normalise(n) for n in available if n}
        offered = [m["id"] for m in self.cfg.models]
        self.send_json(200, {
            "version": VERSION,
            "accessCodeRequired": bool(self.cfg.access_code),
            "authorised": self.authorised(),
            "ollamaEnabled": self.cfg.enabled,
            "ollama": ollama,
            "models": {
                "offered": self.cfg.models,
                "available": [m for m in offered if normalise(m) in have],
                "missing": [m for m in offered if normalise(m) not in have],
                "ollamaModels": sorted(n for n in available if n),
            },
        })

    def do_POST(self):
        path = self.path.split("?", 1)[0]
        if path not in ("/webapi/chat/ollama", "/api/chat/ollama"):
            self.send_json(404, {"error": "not found"})
            return
        if not self.authorised():
            self.send_json(401, {"errorType": "InvalidAccessCode",
                                 "error": "access code missing or wrong",
                                 "header": ACCESS_CODE_HEADER})
            return
        if not self.cfg.enabled:
            self.send_json(400, {"errorType": "ProviderDisabled", "error": "ENABLED_OLLAMA=0"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            req = json.loads(self.rfile.read(length) or b"{}")
            model = req["model"]
            messages = req["messages"]
            if not isinstance(model, str) or not isinstance(messages, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            self.send_json(400, {"errorType": "InvalidRequest",
                                 "error": "expected JSON {model: str, messages: [...], stream?: bool}"})
            return
        stream = bool(req.get("stream", False))
        body = {"model": model, "messages": messages, "stream": stream}
        if "options" in req:
            body["options"] = req["options"]
        try:
            resp = ollama_request(self.cfg, "POST", "/api/chat", body)
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read() or b"{}").get("error", "")
            except ValueError:
                detail = ""
            self.send_json(exc.code, {"errorType": "OllamaBizError", "status": exc.code,
                                      "error": detail or str(exc)})
            return
        except (urllib.error.URLError, OSError) as exc:
            self.send_json(502, {"errorType": "OllamaServiceUnavailable",
                                 "error": "please check whether your ollama service is available: "
                                          + str(getattr(exc, "reason", exc))})
            return
        with resp:
            if not stream:
                self.send_json(200, json.load(resp))
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            for line in resp:
                if line.strip():
                    self.wfile.write(line if line.endswith(b"\n") else line + b"\n")
                    self.wfile.flush()


def make_server(env=None, port=None):
    env = os.environ if env is None else env
    cfg = Config(env)
    handler = type("BoundHandler", (Handler,), {"cfg": cfg})
    port = int(env.get("PORT", "3210")) if port is None else port
    server = ThreadingHTTPServer((env.get("LOBECHAT_DOUBLE_BIND", "0.0.0.0"), port), handler)
    server.daemon_threads = True
    return server


def healthcheck():
    """`server.py healthcheck`: exit 0 when GET / answers 200 (for a container HEALTHCHECK)."""
    url = "http://127.0.0.1:%s/" % os.environ.get("PORT", "3210")
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return 0 if resp.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


def main():
    if sys.argv[1:2] == ["healthcheck"]:
        sys.exit(healthcheck())
    try:
        server = make_server()
    except ValueError as exc:
        sys.exit(f"lobechat double: {exc}")
    cfg = server.RequestHandlerClass.cfg
    print(f"lobechat double {VERSION} on :{server.server_address[1]}, ollama {cfg.proxy_url}, "
          f"{len(cfg.models)} models, access code {'set' if cfg.access_code else 'not set'}",
          file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
