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
import time
from urllib.error import HTTPError
from urllib.parse import urljoin, urlsplit, urlunsplit

from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.urls import Request, make_context

BODY_EXCERPT_CHARS = 200
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

    def follow(self, method, url, data=None, headers=None, credentials=None, credential_url=None, timeout=None):
        """Open url and follow up to MAX_REDIRECTS redirects of GET and HEAD by hand. `headers` go with
        every request (less any credential header once off the origin); `credentials` (default: the
        transport's own headers) only to the origin (scheme, host, port) of credential_url (default:
        base_url), so a redirect to another host, for example a registry's signed object storage,
        gets none. An HTTPError comes back with `final_url`, the URL that answered."""
        credentials = self.headers if credentials is None else credentials
        credential_url = credential_url or self.base_url
        for _hop in range(MAX_REDIRECTS + 1):
            if keeps_credentials(credential_url, url):
                send = dict(credentials)
                send.update(headers or {})
            else:
                send = {k: v for k, v in (headers or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
            try:
                return self._session().open(method, url, data=data, headers=send, timeout=timeout or self.timeout)
            except HTTPError as e:
                e.final_url = url
                location = e.headers.get("Location") if e.headers else None
                if e.code not in REDIRECT_CODES or method not in ("GET", "HEAD") or not location:
                    raise
                target = urljoin(url, e.filename or location)
                _read_quietly(e)
                e.close()
                if origin(target) is None or has_userinfo(target):
                    raise ApiError("%s %s was redirected to %s, which is not an http(s) URL without credentials; "
                                   "not following" % (method, url, without_query(target)),
                                   method=method, url=url, status=e.code)
                url = target
        raise ApiError("%s %s: more than %d redirects; not following further" % (method, url, MAX_REDIRECTS),
                       method=method, url=url)

    def open(self, method, path, body=None, timeout=None, retry_busy=False, accept="application/json"):
        """Send one request and return the open response (status < 400), else raise ApiError."""
        url = self.url(path)
        headers = {}
        if not any(key.lower() == "accept" for key in self.headers):
            headers["Accept"] = accept
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        attempt = 0
        while True:
            try:
                return self.follow(method, url, data=data, headers=headers, timeout=timeout)
            except HTTPError as e:
                raw = _read_quietly(e)
                if e.code == 503 and retry_busy and attempt < self.busy_retries:
                    self.sleep(self.busy_backoff * (2 ** attempt))
                    attempt += 1
                    continue
                raise self._status_error(method, url, e.code, raw, attempt, final_url=e.final_url)
            except (OSError, http.client.HTTPException) as e:  # URLError, refused, time-outs, TLS
                raise self._connection_error(method, url, e, timeout or self.timeout)

    def call_json(self, method, path, body=None, timeout=None, retry_busy=False, absent_ok=False):
        """Return the decoded JSON body (None for an empty one). With absent_ok, a 404 returns
        the marker ABSENT instead of raising."""
        try:
            resp = self.open(method, path, body=body, timeout=timeout, retry_busy=retry_busy)
        except ApiError as e:
            if absent_ok and e.status == 404:
                return ABSENT
            raise
        url = self.url(path)
        raw = self._read(resp, method, url, timeout)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ApiError(
                "%s %s answered HTTP %s with a body that is not JSON (Content-Type %s): %r"
                % (method, url, resp.status, resp.headers.get("Content-Type"), excerpt(raw)),
                method=method, url=url, status=resp.status)

    def stream_ndjson(self, method, path, body, timeout=None, retry_busy=False):
        """Yield each JSON object of an NDJSON reply. A line carrying "error" raises ApiError
        although HTTP said 200; so does a line that is not JSON."""
        resp = self.open(method, path, body=body, timeout=timeout, retry_busy=retry_busy,
                         accept="application/x-ndjson")
        url = self.url(path)
        while True:
            line = self._readline(resp, method, url, timeout)
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
                raise ApiError("%s %s failed during the stream (HTTP %s): %s" % (method, url, resp.status, obj["error"]),
                               method=method, url=url, status=resp.status, error=obj["error"])
            yield obj

    def _read(self, resp, method, url, timeout):
        try:
            return resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise self._connection_error(method, url, e, timeout or self.timeout)

    def _readline(self, resp, method, url, timeout):
        try:
            return resp.readline()
        except (OSError, http.client.HTTPException) as e:
            raise self._connection_error(method, url, e, timeout or self.timeout)

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


def _read_quietly(http_error):
    try:
        return http_error.read()
    except Exception:  # the error body is a courtesy; the status already tells the story
        return b""


class _Absent:
    def __repr__(self):
        return "ABSENT"


ABSENT = _Absent()
