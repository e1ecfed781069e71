"""The HTTP server: routing, CORS, the DNS-rebinding guard, wire formats and request logs."""

import ipaddress
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import config, prune, routes
from .httpio import Body, go_json
from .streams import ApiError, Empty, Json, Stream, StreamError, Text

JSON_TYPE = "application/json; charset=utf-8"
NDJSON_TYPE = "application/x-ndjson"
CORS_HEADERS = ("Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, "
                "x-stainless-arch, x-stainless-async, x-stainless-custom-poll-interval, "
                "x-stainless-helper-method, x-stainless-lang, x-stainless-os, "
                "x-stainless-package-version, x-stainless-poll-helper, x-stainless-retry-count, "
                "x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout")
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"


def origin_allowed(origin, allowed):
    for pattern in allowed:
        if pattern == "*" or pattern == origin:
            return True
        if "*" in pattern:
            prefix, _, suffix = pattern.partition("*")
            if origin.startswith(prefix) and origin.endswith(suffix) \
                    and len(origin) >= len(prefix) + len(suffix):
                return True
    return False


def host_allowed(host_header):
    """allowedHostsMiddleware's rules, applied only when listening on loopback."""
    host = host_header
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.lower()
    if not host or host == "localhost" or host == socket.gethostname().lower():
        return True
    if host.endswith((".localhost", ".local", ".internal")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified \
        or address.is_link_local


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = ""
    sys_version = ""

    def version_string(self):
        return ""

    def log_message(self, *args):  # the gin-style line in _log replaces http.server's
        pass

    def do_GET(self):
        self._dispatch()

    do_POST = do_DELETE = do_HEAD = do_OPTIONS = do_PUT = do_PATCH = do_GET

    def _dispatch(self):
        started = time.monotonic()
        self.status = 0
        self.body = Body(self)
        path = self.path.split("?", 1)[0]
        try:
            reply = self._guarded(path)
            if reply is not None:
                self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            try:
                self.body.drain()
            except OSError:
                self.close_connection = True
            self._log(path, started)

    def _guarded(self, path):
        state = self.server.state
        if state.loopback and not host_allowed(self.headers.get("Host", "")):
            return Empty(403)
        origin = self.headers.get("Origin")
        self.cors_origin = None
        if origin and origin != f"http://{self.headers.get('Host', '')}":
            if not origin_allowed(origin, state.origins):
                return Empty(403)
            self.cors_origin = origin
            if self.command == "OPTIONS":
                return Empty(204)
        handler = routes.lookup(self.command, path)
        if handler is None:
            if routes.path_known(path):
                return Text("405 method not allowed", 405)
            return Text("404 page not found", 404)
        try:
            return handler(state, self, path)
        except ApiError as err:
            return Json({"error": err.message}, err.status)

    # --- writing ---------------------------------------------------------------------------

    def _start(self, status, content_type=None, length=None, chunked=False, extra=None):
        self.status = status
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        if self.cors_origin_header():
            self.send_header("Access-Control-Allow-Origin", self.cors_origin_header())
            self.send_header("Vary", "Origin")
            if self.command == "OPTIONS":
                self.send_header("Access-Control-Allow-Methods", CORS_METHODS)
                self.send_header("Access-Control-Allow-Headers", CORS_HEADERS)
                self.send_header("Access-Control-Max-Age", "43200")
        if content_type:
            self.send_header("Content-Type", content_type)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(length or 0))
        self.end_headers()

    def cors_origin_header(self):
        origin = getattr(self, "cors_origin", None)
        if origin and "*" in self.server.state.origins:
            return "*"
        return origin

    def _send_bytes(self, status, content_type, data, extra=None):
        self._start(status, content_type, len(data), extra=extra)
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _send(self, reply):
        if isinstance(reply, Json):
            self._send_bytes(reply.status, JSON_TYPE, go_json(reply.body))
        elif isinstance(reply, Text):
            self._send_bytes(reply.status, "text/plain; charset=utf-8", reply.text.encode())
        elif isinstance(reply, Empty):
            self._send_bytes(reply.status, None, b"")
        elif isinstance(reply, Stream):
            self._send_stream(reply)
        else:
            raise TypeError(reply)

    def _send_stream(self, reply):
        generator = reply.generator
        if not reply.stream:
            last = None
            try:
                for last in generator:
                    pass
            except StreamError as err:
                return self._send(Json({"error": err.message}, err.status or 500))
            return self._send(Json(last or {}))
        started = False
        try:
            for item in generator:
                if not started:
                    self._start(200, NDJSON_TYPE, chunked=True)
                    started = True
                self._write_chunk(go_json(item) + b"\n")
        except StreamError as err:
            if not started:
                return self._send(Json({"error": err.message}, err.status or 500))
            self._write_chunk(go_json({"error": err.message}) + b"\n")
        finally:
            generator.close()
        if not started:
            self._start(200, NDJSON_TYPE, chunked=True)
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _log(self, path, started):
        elapsed = time.monotonic() - started
        stamp = time.strftime("%Y/%m/%d - %H:%M:%S")
        client = self.client_address[0] if self.client_address else "-"
        print(f"[GIN] {stamp} | {self.status:3d} | {_latency(elapsed):>12} | {client:>15} | "
              f'{self.command:<8} "{path}"', file=sys.stderr, flush=True)


def _latency(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3f}µs"
    if seconds < 1:
        return f"{seconds * 1e3:.6g}ms"
    return f"{seconds:.6g}s"


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, state):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.state = state


def serve():
    from .state import State

    scheme, host, port = config.host()
    state = State()
    try:
        server = Server((host, port), state)
    except OSError as err:
        print(f"Error: listen tcp {host}:{port}: bind: {err.strerror.lower()}", file=sys.stderr)
        return 1
    state.loopback = _is_loopback(host)
    print(f'time={time.strftime("%Y-%m-%dT%H:%M:%S")} level=INFO source=routes.go msg="server config" '
          f'env="map[OLLAMA_HOST:{scheme}://{host}:{port} OLLAMA_KEEP_ALIVE:{state.keep_alive_ns // 10**9}s '
          f'OLLAMA_MAX_QUEUE:{state.max_queue} OLLAMA_MODELS:{state.store.root} '
          f'OLLAMA_ORIGINS:[{" ".join(state.origins)}]]"', file=sys.stderr, flush=True)
    try:
        prune.at_start(state.store.root, config.version(), config.noprune())
    except prune.StartFailed as err:
        server.server_close()
        print(f"Error: {err}", file=sys.stderr, flush=True)
        return 1
    print(f'time={time.strftime("%Y-%m-%dT%H:%M:%S")} level=INFO source=routes.go '
          f'msg="Listening on {host}:{port} (version {config.version()})"', file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
