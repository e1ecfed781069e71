# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Servers that attack the client: endless bodies, trickles, oversized blobs, on every reading path
(manifest, blob, error body, token, redirect, Ollama JSON and NDJSON). Each must fail, or stop at the
declared size, within seconds, and the process must not grow (DESIGN.md, "Inputs are hostile until bounded")."""

from __future__ import annotations

import hashlib
import resource
import socket
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._http import (
    MAX_ERROR_BODY_BYTES, MAX_LINE_BYTES, ApiError)
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import PartialFile
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import RegistryClient
from ansible_collections.llmops.ollama.plugins.module_utils._ollama import OllamaClient

MIB = 1024 * 1024
GROWTH_LIMIT = 100 * MIB
SPRAY = b"x" * (64 * 1024)
BLOB = b"model bytes " * 1000
BLOB_HEX = hashlib.sha256(BLOB).hexdigest()


class Hostile:
    """A loopback HTTP server whose routes are functions of the request handler; they may write forever."""

    def __init__(self, routes):
        self.routes = routes
        self.stop = threading.Event()
        hostile = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _serve(self):
                route = hostile.routes.get(self.path.split("?")[0])
                try:
                    if route is None:
                        self.send_response(404)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                    else:
                        route(self, hostile)
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass
                self.close_connection = True

            do_GET = do_POST = do_HEAD = do_PUT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()


def spray(status, headers=None):
    """An answer whose body never ends (no length: it would end only when the connection closes)."""
    def route(handler, hostile):
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Connection", "close")
        handler.end_headers()
        while not hostile.stop.is_set():
            handler.wfile.write(SPRAY)
    return route


def trickle(status, length, headers=None, byte=b"x", every=1.0):
    """An answer that promises length bytes and sends one per `every` seconds."""
    def route(handler, hostile):
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(length))
        handler.end_headers()
        for _sent in range(length):
            handler.wfile.write(byte)
            handler.wfile.flush()
            if hostile.stop.wait(every):
                return
    return route


def exact(status, body, headers=None):
    def route(handler, hostile):
        handler.send_response(status)
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    return route


class Bounds:
    """Time and memory of one hostile case: tracemalloc's peak and the growth of the process's peak RSS."""

    def __enter__(self):
        self.rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        tracemalloc.start()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.started
        self.peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        self.rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.rss
        print("%.2f s, traced peak %.1f MiB, RSS peak growth %.1f MiB"
              % (self.seconds, self.peak / MIB, self.rss_growth / MIB))

    def check(self, seconds):
        assert self.seconds < seconds
        assert self.peak < GROWTH_LIMIT
        assert self.rss_growth < GROWTH_LIMIT


def registry(server, timeout=1, **kwargs):
    return RegistryClient(server.url, timeout, **kwargs)


# (a) an error body that never ends

def test_a_manifest_answered_500_with_an_endless_body_fails_at_once_and_small():
    with Hostile({"/v2/library/qwen/manifests/1b": spray(500, {"Content-Type": "application/json"})}) as server:
        with Bounds() as bounds, pytest.raises(ApiError) as caught:
            registry(server, timeout=5).get_manifest("library/qwen", "1b")
    bounds.check(3)
    assert caught.value.status == 500
    assert caught.value.msg.startswith("GET %s/v2/library/qwen/manifests/1b answered HTTP 500: xxxx" % server.url)
    assert len(caught.value.msg) < 400


def test_an_ollama_error_with_an_endless_body_fails_at_once_and_small():
    with Hostile({"/api/tags": spray(500)}) as server:
        with Bounds() as bounds, pytest.raises(ApiError) as caught:
            OllamaClient(server.url, 5).tags()
    bounds.check(3)
    assert caught.value.status == 500


def test_a_redirect_with_an_endless_body_is_read_only_in_part_then_followed():
    with Hostile({"/v2/library/qwen/manifests/1b": spray(307, {"Location": "/elsewhere"}),
                  "/elsewhere": exact(404, b'{"errors": [{"code": "MANIFEST_UNKNOWN"}]}')}) as server:
        with Bounds() as bounds:
            assert registry(server, timeout=5).get_manifest("library/qwen", "1b") is None
    bounds.check(3)


def test_an_endless_json_reply_is_refused_past_its_cap():
    with Hostile({"/api/tags": spray(200, {"Content-Type": "application/json"})}) as server:
        with Bounds() as bounds, pytest.raises(ApiError, match="sent more than 8388608 bytes"):
            OllamaClient(server.url, 5).tags()
    bounds.check(5)


def test_an_endless_manifest_is_refused_past_its_cap():
    with Hostile({"/v2/library/qwen/manifests/1b": spray(200)}) as server:
        refused = "sent more than 4194304 bytes; that is not a model manifest"
        with Bounds() as bounds, pytest.raises(ApiError, match=refused):
            registry(server, timeout=5).get_manifest("library/qwen", "1b")
    bounds.check(5)


def test_an_endless_ndjson_line_is_refused_past_its_cap():
    with Hostile({"/api/pull": spray(200, {"Content-Type": "application/x-ndjson"})}) as server:
        with Bounds() as bounds, pytest.raises(ApiError) as caught:
            OllamaClient(server.url, 5).pull("qwen:1b", timeout=5)
    bounds.check(5)
    assert "sent a stream line longer than %d bytes" % MAX_LINE_BYTES in caught.value.msg


def test_an_endless_token_reply_is_refused_past_its_cap():
    challenge = 'Bearer realm="{url}/token",service="x",scope="repository:library/qwen:pull"'

    def unauthorised(handler, hostile):
        body = b'{"errors": [{"code": "UNAUTHORIZED"}]}'
        handler.send_response(401)
        handler.send_header("WWW-Authenticate", challenge.format(url=hostile.url))
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    with Hostile({"/v2/library/qwen/manifests/1b": unauthorised, "/token": spray(200)}) as server:
        with Bounds() as bounds, pytest.raises(ApiError) as caught:
            registry(server, timeout=5).get_manifest("library/qwen", "1b")
    bounds.check(3)
    assert "a token reply" in caught.value.msg


# (b) one byte a second

@pytest.mark.parametrize("path, status, read", [
    ("/v2/library/qwen/manifests/1b", 200, lambda s: registry(s, timeout=2).get_manifest("library/qwen", "1b")),
    ("/v2/library/qwen/manifests/1b", 500, lambda s: registry(s, timeout=2).get_manifest("library/qwen", "1b")),
    ("/api/tags", 200, lambda s: OllamaClient(s.url, 2).tags()),
], ids=["manifest", "registry error body", "ollama json"])
def test_a_trickle_fails_at_the_deadline(path, status, read):
    with Hostile({path: trickle(status, 100000)}) as server:
        with Bounds() as bounds, pytest.raises(ApiError) as caught:
            read(server)
    bounds.check(4.5)
    assert ("was not complete within 2 seconds" in caught.value.msg) or caught.value.status == status


def test_a_trickled_error_body_does_not_hold_the_status_back():
    with Hostile({"/api/tags": trickle(502, 100000)}) as server:
        with Bounds() as bounds, pytest.raises(ApiError) as caught:
            OllamaClient(server.url, 2).tags()
    bounds.check(4.5)
    assert caught.value.status == 502


def test_a_trickled_redirect_body_fails_at_the_deadline():
    with Hostile({"/v2/library/qwen/manifests/1b": trickle(307, 100000, {"Location": "/elsewhere"}),
                  "/elsewhere": exact(200, b"{}")}) as server:
        with Bounds() as bounds:
            try:
                registry(server, timeout=2).get_manifest("library/qwen", "1b")
            except ApiError as e:
                assert "within 2 seconds" in e.msg
    bounds.check(4.5)


def test_a_trickled_ndjson_line_fails_at_the_line_deadline():
    with Hostile({"/api/pull": trickle(200, 100000, {"Content-Type": "application/x-ndjson"}, byte=b"{")}) as server:
        with Bounds() as bounds, pytest.raises(ApiError) as caught:
            OllamaClient(server.url, 2).pull("qwen:1b", timeout=2)
    bounds.check(4.5)
    assert "no complete stream line within 2 seconds" in caught.value.msg


def test_a_trickled_token_reply_fails_at_the_deadline():
    def unauthorised(handler, hostile):
        handler.send_response(401)
        handler.send_header("WWW-Authenticate", 'Bearer realm="%s/token",service="x"' % hostile.url)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    with Hostile({"/v2/library/qwen/manifests/1b": unauthorised, "/token": trickle(200, 100000)}) as server:
        with Bounds() as bounds, pytest.raises(ApiError) as caught:
            registry(server, timeout=2).get_manifest("library/qwen", "1b")
    bounds.check(4.5)
    assert "within 2 seconds" in caught.value.msg and "the token for" in caught.value.msg


def test_a_trickled_blob_stalls_below_the_minimum_rate_and_keeps_its_bytes(tmp_path):
    path = "/v2/library/qwen/blobs/sha256:" + BLOB_HEX
    with Hostile({path: trickle(200, len(BLOB), byte=b"m", every=0.2)}) as server:
        client = registry(server, timeout=2, min_rate=1024)
        partial = str(tmp_path / "partial")
        with Bounds() as bounds, pytest.raises(ApiError) as caught:
            client.download_blob("library/qwen", BLOB_HEX, len(BLOB), partial)
    bounds.check(4.5)
    msg = caught.value.msg
    assert "the transfer from 127.0.0.1:%d stalled" % server.server.server_address[1] in msg
    assert "below the minimum rate of 1024 bytes per second (min_rate)" in msg
    assert "a re-run resumes from there" in msg
    kept = (tmp_path / "partial").stat().st_size
    assert 5 <= kept < 20
    assert "%d of %d bytes of sha256:%s had come" % (kept, len(BLOB), BLOB_HEX) in msg
    # a stall is not retried: retrying a trickle only makes it last longer
    assert caught.value.status is None


# (c) more bytes than the manifest gives

@pytest.mark.parametrize("route", [
    spray(200),
    exact(200, BLOB + b"and then some"),
], ids=["endless", "longer"])
def test_a_blob_longer_than_declared_stops_at_the_declared_size(tmp_path, route):
    path = "/v2/library/qwen/blobs/sha256:" + BLOB_HEX
    written = []
    original = PartialFile.write

    def counting(self, chunk):
        written.append(len(chunk))
        return original(self, chunk)

    with Hostile({path: route}) as server:
        PartialFile.write = counting
        try:
            with Bounds() as bounds, pytest.raises(ApiError, match="sent more than the %d bytes" % len(BLOB)):
                registry(server, timeout=5).download_blob("library/qwen", BLOB_HEX, len(BLOB), str(tmp_path / "p"))
        finally:
            PartialFile.write = original
    bounds.check(3)
    assert sum(written) == len(BLOB)  # never a byte past the declared size on disk
    assert not (tmp_path / "p").exists()


def test_a_small_blob_longer_than_declared_is_refused_in_memory():
    path = "/v2/library/qwen/blobs/sha256:" + BLOB_HEX
    with Hostile({path: spray(200)}) as server:
        with Bounds() as bounds, pytest.raises(ApiError, match="sent more than %d bytes" % len(BLOB)):
            registry(server, timeout=5).read_blob("library/qwen", BLOB_HEX, len(BLOB))
    bounds.check(3)


def test_the_error_body_cap_is_kilobytes():
    assert MAX_ERROR_BODY_BYTES == 64 * 1024


def test_a_silent_server_still_fails_after_the_per_read_time_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = "http://127.0.0.1:%d" % listener.getsockname()[1]
        with Bounds() as bounds, pytest.raises(ApiError, match="no answer within 1 seconds"):
            OllamaClient(url, 1).tags()
    bounds.check(3)
