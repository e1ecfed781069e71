# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""JSON and NDJSON over HTTP with ansible.module_utils.urls, shared by the API clients.

Nothing here knows Ollama: the error body format is a parameter, so a registry
(OCI distribution) client can sit beside the Ollama client on the same transport.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from urllib.error import HTTPError
from urllib.parse import urljoin, urlsplit, urlunsplit

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import Request, make_context

BODY_EXCERPT_CHARS = 200
# What any reply may make this process hold (Inputs are hostile until bounded, DESIGN.md): an error body is a
# message, a JSON body a listing or a manifest, a stream line one progress report or one piece of an answer.
MAX_ERROR_BODY_BYTES = 64 * 1024
MAX_JSON_BODY_BYTES = 8 * 1024 * 1024
MAX_LINE_BYTES = 4 * 1024 * 1024
READ_CHUNK = 64 * 1024
REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))
MAX_REDIRECTS = 5
# Never sent to another origin, whoever set them.
CREDENTIAL_HEADERS = frozenset(("authorization", "proxy-authorization", "cookie"))
_DEFAULT_PORTS = {"http": 80, "https": 443}


class ApiError(Exception):
    """A failed API call: what was asked (method, URL), the HTTP status if one came back,
    and the server's own error text."""

    def __init__(self, msg, method=None, url=None, status=None, error=None):
        super().__init__(msg)
        self.msg = msg
        self.method = method
        self.url = url
        self.status = status
        self.error = error
        self.progress = None

    def result(self):
        """The facts for fail_json, next to msg."""
        facts = {"url": self.url, "method": self.method, "status": self.status, "api_error": self.error}
        if self.progress is not None:
            facts["last_progress"] = self.progress
        return facts


def excerpt(raw):
    text = to_text(raw, errors="surrogate_or_replace").strip()
    if len(text) > BODY_EXCERPT_CHARS:
        return text[:BODY_EXCERPT_CHARS] + "..."
    return text


def origin(url):
    """(scheme, host, port) of an http(s) URL, the port made explicit; None when it has no valid one."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        port = parts.port or _DEFAULT_PORTS.get(scheme)
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port


def keeps_credentials(credential_url, url):
    """True when a request to url may carry the credentials meant for credential_url: the same scheme,
    host and port. Another host, another port, or https turned into http, and they stay behind."""
    trusted = origin(credential_url)
    return trusted is not None and trusted == origin(url)


def has_userinfo(url):
    try:
        return "@" in urlsplit(url).netloc
    except ValueError:
        return False


def without_query(url):
    """A URL fit for a message: signed storage URLs carry their signature in the query."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _is_timeout(exc):
    reason = getattr(exc, "reason", exc)
    return isinstance(reason, (socket.timeout, TimeoutError)) or "timed out" in to_text(reason)


class Deadline:
    """A point in time a whole request must be done by (time.monotonic); None: no such point."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.at = None if seconds is None else time.monotonic() + seconds

    def remaining(self):
        return None if self.at is None else self.at - time.monotonic()

    def passed(self):
        return self.at is not None and time.monotonic() >= self.at


class _Watchdog:
    """Shuts the socket under a response down when its deadline passes, so that no read, however the server
    trickles its bytes (chunk-size lines included), outlives it. One thread per response, started on the first
    deadline; `at` may move (a stream gives each line its own)."""

    def __init__(self, sock):
        self.sock = sock
        self.at = None
        self.fired = False
        self._done = threading.Event()
        self._thread = None

    def arm(self, at):
        self.at = at
        if self._thread is None and self.sock is not None and at is not None:
            self._thread = threading.Thread(target=self._watch, name="llmops-http-deadline", daemon=True)
            self._thread.start()

    def _watch(self):
        while not self._done.is_set():
            at = self.at
            now = time.monotonic()
            if at is not None and now >= at:
                self.fired = True
                try:
                    # the plain socket's shutdown, also under TLS: SSLSocket.shutdown would unwrap it under the reader
                    socket.socket.shutdown(self.sock, socket.SHUT_RDWR)
                except (OSError, TypeError):
                    pass
                return
            self._done.wait(max(0.01, at - now) if at is not None else 1.0)

    def stop(self):
        self._done.set()


def _socket_of(resp):
    """The socket under an http.client response (its file's raw SocketIO), or None."""
    sock = getattr(getattr(getattr(resp, "fp", None), "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


class BodyReader:
    """Reads one response's body within bounds: at most `limit` bytes for a whole body, at most MAX_LINE_BYTES
    per line, each read waiting at most `per_read` seconds, all of it done by `deadline` (a Deadline; a line
    may have its own). Every failure is an ApiError naming the method and URL."""

    def __init__(self, resp, method, url, per_read, deadline=None, what="the reply"):
        # an HTTPError carries its response in fp
        self.resp = resp.fp if isinstance(resp, HTTPError) and getattr(resp, "fp", None) is not None else resp
        self.status = getattr(resp, "status", None) or getattr(resp, "code", None)
        self.method, self.url, self.per_read, self.what = method, url, per_read, what
        self.deadline = deadline or Deadline(None)
        self.sock = _socket_of(self.resp)
        self.watchdog = _Watchdog(self.sock)
        self.watchdog.arm(self.deadline.at)
        self._buffer = b""
        self._eof = False

    def close(self):
        self.watchdog.stop()
        try:
            self.resp.close()
        except Exception:  # closing is a courtesy
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _late(self, deadline):
        return deadline.passed() or self.watchdog.fired

    def deadline_error(self, deadline, got):
        return ApiError("%s %s failed: %s was not complete within %s seconds (%d bytes had come; the limit is for the "
                        "whole reply, however slowly the server sends it)"
                        % (self.method, self.url, self.what, _seconds(deadline.seconds), got),
                        method=self.method, url=self.url, status=self.status if self.status and self.status >= 400 else None)

    def read1(self, amount, deadline=None):
        """Up to amount bytes, from one read of the connection; b"" at the end of the body."""
        deadline = deadline or self.deadline
        if self._buffer:
            chunk, self._buffer = self._buffer[:amount], self._buffer[amount:]
            return chunk
        if self._eof or amount <= 0:
            return b""
        if self._late(deadline):
            raise self.deadline_error(deadline, 0)
        remaining = deadline.remaining()
        wait = self.per_read if remaining is None else max(0.001, min(self.per_read, remaining))
        if self.sock is not None:
            try:
                self.sock.settimeout(wait)
            except OSError:
                pass
        try:
            chunk = self.resp.read1(amount) if hasattr(self.resp, "read1") else self.resp.read(amount)
        except (OSError, http.client.HTTPException, ValueError) as e:
            if self._late(deadline):
                raise self.deadline_error(deadline, 0)
            if _is_timeout(e):
                raise ApiError("%s %s failed: no answer within %s seconds (the time-out applies to each read)"
                               % (self.method, self.url, _seconds(wait)), method=self.method, url=self.url)
            raise ApiError("%s %s failed: %s" % (self.method, self.url, to_text(getattr(e, "reason", e))),
                           method=self.method, url=self.url)
        if not chunk:
            if self._late(deadline):  # the watchdog shut the socket: that is why the body ended
                raise self.deadline_error(deadline, 0)
            self._eof = True
        return chunk

    def read(self, limit, too_long=None):
        """The whole body, or its first limit bytes when it is longer: with too_long (a text naming what the body
        was to be), a longer body is an ApiError instead."""
        parts, got = [], 0
        while got <= limit:
            try:
                chunk = self.read1(min(READ_CHUNK, limit + 1 - got))
            except ApiError as e:
                if "was not complete within" in e.msg:
                    e.msg = e.msg.replace("(0 bytes had come", "(%d bytes had come" % got)
                raise
            if not chunk:
                break
            parts.append(chunk)
            got += len(chunk)
        raw = b"".join(parts)
        if len(raw) > limit:
            if too_long is not None:
                raise ApiError("%s %s sent more than %d bytes; that is not %s; not read further"
                               % (self.method, self.url, limit, too_long), method=self.method, url=self.url,
                               status=self.status, error="reply too large")
            raw = raw[:limit]
        return raw

    def readline(self, deadline=None, limit=MAX_LINE_BYTES):
        """One line (with its newline; the last may lack it), b"" at the end. A line longer than limit, or one
        not complete by deadline (default: the reader's), is an ApiError."""
        deadline = deadline or self.deadline
        if self.deadline.at is not None and (deadline.at is None or self.deadline.at < deadline.at):
            deadline = self.deadline  # the whole body's limit comes first
        self.watchdog.arm(deadline.at)
        data = self._buffer
        self._buffer = b""
        while True:
            end = data.find(b"\n")
            if end >= 0:
                self._buffer = data[end + 1:]
                return data[:end + 1]
            if len(data) > limit:
                raise ApiError("%s %s sent a stream line longer than %d bytes; not read further"
                               % (self.method, self.url, limit), method=self.method, url=self.url,
                               status=self.status, error="line too long")
            try:
                chunk = self.read1(READ_CHUNK, deadline)
            except ApiError as e:
                if "was not complete within" in e.msg:
                    why = ("no answer within %s seconds (the time-out applies to each read)" if not data else
                           "no complete stream line within %%s seconds (%d bytes of it had come)" % len(data))
                    raise ApiError("%s %s failed: %s" % (self.method, self.url, why % _seconds(deadline.seconds)),
                                   method=self.method, url=self.url)
                raise
            if not chunk:
                return data
            data += chunk


def _seconds(value):
    return ("%g" % value) if isinstance(value, float) else value


class HttpTransport:
    """One base URL, one set of headers and TLS settings, and a per-read time-out.

    ``error_text(body_bytes)`` turns an error body into the server's message (or None);
    ``busy_retries``/``busy_backoff`` retry idempotent calls answered with 503.
    """

    def __init__(self, base_url, timeout, validate_certs=True, headers=None, error_text=None,
                 busy_retries=3, busy_backoff=1.0, sleep=None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.headers = dict(headers or {})
        self.error_text = error_text or (lambda body: None)
        self.busy_retries = busy_retries
        self.busy_backoff = busy_backoff
        self.sleep = sleep if sleep is not None else time.sleep
        self._request = None

    def _session(self):
        # One TLS context per transport: building it loads the CA bundle, which costs more than
        # a whole request to a local API.
        if self._request is None:
            # Redirects are followed by hand (follow()), so that credentials stay with their origin.
            self._request = Request(validate_certs=self.validate_certs, follow_redirects="none",
                                    context=make_context(validate_certs=self.validate_certs))
        return self._request

    def url(self, path):
        return self.base_url + path

    def follow(self, method, url, data=None, headers=None, credentials=None, credential_url=None, timeout=None,
               deadline=None):
        """Open url and follow up to MAX_REDIRECTS redirects of GET and HEAD by hand. `headers` go with
        every request (less any credential header once off the origin); `credentials` (default: the
        transport's own headers) only to the origin (scheme, host, port) of credential_url (default:
        base_url), so a redirect to another host, for example a registry's signed object storage,
        gets none. An HTTPError comes back with `final_url`, the URL that answered. With a deadline (a
        Deadline), no connection waits past it, and a redirect's body is read only within it (and at most
        MAX_ERROR_BODY_BYTES)."""
        credentials = self.headers if credentials is None else credentials
        credential_url = credential_url or self.base_url
        per_read = timeout or self.timeout
        for _hop in range(MAX_REDIRECTS + 1):
            if keeps_credentials(credential_url, url):
                send = dict(credentials)
                send.update(headers or {})
            else:
                send = {k: v for k, v in (headers or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
            wait = per_read
            if deadline is not None and deadline.at is not None:
                remaining = deadline.remaining()
                if remaining <= 0:
                    raise ApiError("%s %s failed: no reply within %s seconds, the limit for the whole request"
                                   % (method, url, _seconds(deadline.seconds)), method=method, url=url)
                wait = max(0.001, min(per_read, remaining))
            try:
                return self._session().open(method, url, data=data, headers=send, timeout=wait)
            except HTTPError as e:
                e.final_url = url
                location = e.headers.get("Location") if e.headers else None
                if e.code not in REDIRECT_CODES or method not in ("GET", "HEAD") or not location:
                    raise
                target = urljoin(url, e.filename or location)
                read_error_body(e, method, url, per_read, deadline)
                if origin(target) is None or has_userinfo(target):
                    raise ApiError("%s %s was redirected to %s, which is not an http(s) URL without credentials; "
                                   "not following" % (method, url, without_query(target)),
                                   method=method, url=url, status=e.code)
                url = target
        raise ApiError("%s %s: more than %d redirects; not following further" % (method, url, MAX_REDIRECTS),
                       method=method, url=url)

    def open(self, method, path, body=None, timeout=None, retry_busy=False, accept="application/json", total=None):
        """Send one request and return the open response (status < 400), else raise ApiError. With total
        (seconds), each attempt must be answered within it, error body included; the response then carries
        that Deadline as `llmops_deadline`, for the body."""
        url = self.url(path)
        headers = {}
        if not any(key.lower() == "accept" for key in self.headers):
            headers["Accept"] = accept
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        attempt = 0
        per_read = timeout or self.timeout
        while True:
            deadline = Deadline(total)
            try:
                resp = self.follow(method, url, data=data, headers=headers, timeout=timeout, deadline=deadline)
                resp.llmops_deadline = deadline
                return resp
            except HTTPError as e:
                raw = read_error_body(e, method, url, per_read, deadline)
                if e.code == 503 and retry_busy and attempt < self.busy_retries:
                    self.sleep(self.busy_backoff * (2 ** attempt))
                    attempt += 1
                    continue
                raise self._status_error(method, url, e.code, raw, attempt, final_url=e.final_url)
            except (OSError, http.client.HTTPException) as e:  # URLError, refused, time-outs, TLS
                raise self._connection_error(method, url, e, per_read)

    def call_json(self, method, path, body=None, timeout=None, retry_busy=False, absent_ok=False):
        """Return the decoded JSON body (None for an empty one). With absent_ok, a 404 returns
        the marker ABSENT instead of raising. The whole request, body included, must be done within the
        time-out (the per-read one), and the body must be at most MAX_JSON_BODY_BYTES."""
        per_read = timeout or self.timeout
        try:
            resp = self.open(method, path, body=body, timeout=timeout, retry_busy=retry_busy, total=per_read)
        except ApiError as e:
            if absent_ok and e.status == 404:
                return ABSENT
            raise
        url = self.url(path)
        with BodyReader(resp, method, url, per_read, resp.llmops_deadline) as reader:
            raw = reader.read(MAX_JSON_BODY_BYTES, too_long="a reply of this API")
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(
                "%s %s answered HTTP %s with a body that is not JSON (Content-Type %s): %r"
                % (method, url, resp.status, resp.headers.get("Content-Type"), excerpt(raw)),
                method=method, url=url, status=resp.status)

    def stream_ndjson(self, method, path, body, timeout=None, retry_busy=False, total=None):
        """Yield each JSON object of an NDJSON reply. A line carrying "error" raises ApiError
        although HTTP said 200; so does a line that is not JSON. Each line must be complete within the
        time-out and at most MAX_LINE_BYTES long; with total, the whole stream must end within total seconds."""
        per_read = timeout or self.timeout
        resp = self.open(method, path, body=body, timeout=timeout, retry_busy=retry_busy,
                         accept="application/x-ndjson", total=per_read)
        url = self.url(path)
        with BodyReader(resp, method, url, per_read, Deadline(total), what="the stream") as reader:
            while True:
                line = reader.readline(Deadline(per_read))
                if not line:
                    return
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except ValueError:
                    raise ApiError("%s %s sent a stream line that is not JSON: %r" % (method, url, excerpt(line)),
                                   method=method, url=url, status=resp.status)
                if isinstance(obj, dict) and obj.get("error"):
                    raise ApiError("%s %s failed during the stream (HTTP %s): %s"
                                   % (method, url, resp.status, obj["error"]),
                                   method=method, url=url, status=resp.status, error=obj["error"])
                yield obj

    def _status_error(self, method, url, status, raw, retried, final_url=None):
        error = self.error_text(raw)
        detail = error if error is not None else excerpt(raw) or "(empty body)"
        where = url if final_url in (None, url) else "%s (redirected to %s)" % (url, without_query(final_url))
        msg = "%s %s answered HTTP %s: %s" % (method, where, status, detail)
        if retried:
            msg += " (after %d retries)" % retried
        return ApiError(msg, method=method, url=url, status=status, error=error)

    @staticmethod
    def _connection_error(method, url, exc, timeout):
        reason = getattr(exc, "reason", exc)
        if _is_timeout(exc):
            why = "no answer within %s seconds (the time-out applies to each read)" % timeout
        elif isinstance(reason, ConnectionRefusedError):
            why = "connection refused: is the API running and listening at that address?"
        else:
            why = to_text(reason)
        return ApiError("%s %s failed: %s" % (method, url, why), method=method, url=url)


def read_error_body(http_error, method, url, per_read, deadline=None):
    """The first MAX_ERROR_BODY_BYTES of an error reply's body, read within the deadline (when one is given);
    b"" when it cannot be read in time. The connection is closed after it: an endless body is never drained."""
    if method == "HEAD" or getattr(http_error, "fp", None) is None:
        return b""
    if deadline is None or deadline.at is None:
        deadline = Deadline(per_read)
    reader = BodyReader(http_error, method, url, per_read, deadline, what="the error body")
    try:
        return reader.read(MAX_ERROR_BODY_BYTES)
    except ApiError:  # the error body is a courtesy; the status already tells the story
        return b""
    finally:
        reader.close()


class _Absent:
    def __repr__(self):
        return "ABSENT"


ABSENT = _Absent()
