"""The HTTP side: routing, the request/response plumbing, the access log (request line and status
only: never a header, a cookie or a body, so no password or token reaches `docker logs`)."""

import json
import re
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import chat, util
from .auth import ApiError, Auth
from .trpc import Lambda

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>LobeHub</title></head>
<body><div id="root">LobeHub (lab stand-in {version}): sign in at <code>/api/auth</code>,
chat through <code>/trpc/lambda</code> and <code>/webapi/chat/ollama</code>.</div></body></html>
"""
CHAT_RE = re.compile(r"^/webapi/chat/([^/]+)$")
MODELS_RE = re.compile(r"^/webapi/models/([^/]+)$")
PULL_RE = re.compile(r"^/webapi/models/([^/]+)/pull$")


class Request:
    def __init__(self, handler, body):
        self.method = handler.command
        path, _, query = handler.path.partition("?")
        self.path, self.query = path, query
        self.headers = handler.headers
        self.body = body


class App:
    def __init__(self, settings, pool, redis):
        self.s = settings
        self.pool = pool
        self.auth = Auth(settings, pool, redis)
        self.trpc = Lambda(settings, pool)

    def route(self, req):
        """-> (status, headers, body bytes | iterator of bytes)."""
        path = req.path
        if path.startswith("/api/auth/"):
            status, obj, headers = self.auth.handle(req, path[len("/api/auth"):])
            headers = [("Content-Type", "application/json")] + headers if status != 404 else headers
            return status, headers, (util.dumps(obj) if status != 404 else b"")
        if path.startswith("/trpc/lambda/"):
            found = self.auth.current(req)
            status, obj = self.trpc.handle(req, path[len("/trpc/lambda/"):],
                                           found[1] if found else None)
            return status, [("Content-Type", "application/json")], util.dumps(obj)
        match = CHAT_RE.match(path)
        if match:
            if req.method != "POST":
                return 405, [], b""
            return self.chat(req, match.group(1))
        match = PULL_RE.match(path) or MODELS_RE.match(path)
        if match:
            return self.models(req, match.group(1), pull=path.endswith("/pull"))
        if req.method in ("GET", "HEAD") and not path.startswith(("/api/", "/webapi/", "/trpc/")):
            return 200, [("Content-Type", "text/html; charset=utf-8")], \
                PAGE.format(version=self.s.version).encode()
        return 404, [("Content-Type", "text/plain; charset=utf-8")], b"Not Found"

    def _check_auth(self, req, provider):
        """checkAuth: Better Auth session, else Unauthorized (the Oidc-Auth JWT path is not
        implemented; the 1.x X-lobe-chat-auth header authenticates nothing)."""
        found = None if req.headers.get("Oidc-Auth") else self.auth.current(req)
        if not found:
            return None, chat.error_response("Unauthorized", {
                "error": {"errorType": "Unauthorized"}, "provider": provider})
        return found[1], None

    def chat(self, req, provider):
        user, refused = self._check_auth(req, provider)
        if refused:
            return refused
        if provider != "ollama":
            return chat.error_response("InvalidProviderAPIKey", {
                "error": {"message": f"the lab stand-in has no runtime for provider {provider}"},
                "provider": provider})
        try:
            payload = json.loads(req.body or b"{}")
        except ValueError:
            return chat.error_response("InternalServerError", {
                "error": {"message": "Unexpected end of JSON input", "name": "SyntaxError"},
                "provider": provider})
        return chat.relay(self.s, payload)

    def models(self, req, provider, pull):
        user, refused = self._check_auth(req, provider)
        if refused:
            return refused
        if provider != "ollama":
            return 404, [], b""
        if not pull:
            if req.method != "GET":
                return 405, [], b""
            return chat.list_models(self.s)
        if req.method != "POST":
            return 405, [], b""
        return chat.pull(self.s, json.loads(req.body or b"{}"))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LobeHubStandIn"
    sys_version = ""
    app = None  # set by serve()

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):  # noqa: A003 - the base class's name
        pass

    def _log(self, status):
        line = self.requestline.split(" ")
        path = line[1].split("?")[0] if len(line) > 1 else "-"
        sys.stdout.write(f"{self.command} {path} {status}\n")
        sys.stdout.flush()

    def _read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(length) if length else b""

    def _handle(self):
        body = self._read_body()
        try:
            status, headers, payload = self.app.route(Request(self, body))
        except ApiError as err:
            status, headers, payload = err.status, [("Content-Type", "application/json")], \
                util.dumps({"code": err.code, "message": err.message})
        except Exception:  # noqa: BLE001 - a 500 as Next.js answers it, the trace to the log
            traceback.print_exc(file=sys.stderr)
            status, headers, payload = 500, [("Content-Type", "application/json")], \
                util.dumps({"message": "Internal Server Error"})
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if isinstance(payload, (bytes, bytearray)):
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        else:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in payload:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
        self._log(status)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle  # noqa: N815


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(settings, pool, redis):
    Handler.app = App(settings, pool, redis)
    httpd = Server((settings.hostname, settings.port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd
