# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""A client for the OCI distribution API (a stock registry: CNCF distribution, Harbor, Zot),
on the same transport as the Ollama client.

It moves Ollama models: manifests as exact bytes (their sha256 is the model's digest), blobs
streamed to and from files with sha256 verification, resumable downloads.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import time
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin, urlsplit

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.llmops.ollama.plugins.module_utils._http import (
    MAX_ERROR_BODY_BYTES, ApiError, BodyReader, Deadline, HttpTransport, has_userinfo, keeps_credentials, origin,
    read_error_body)
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import MAX_MANIFEST_BYTES, PartialFile

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT_MANIFEST = "%s, %s" % (MANIFEST_V2, OCI_MANIFEST)
CHUNK = 1024 * 1024
DOWNLOAD_ATTEMPTS = 3
# A token service answers {"token": ...}: a few kilobytes.
MAX_TOKEN_BODY_BYTES = 256 * 1024
# The slowest a blob download may be, in bytes per second, averaged over each window of the per-read time-out
# (ollama_mirror_fetch's min_rate): below it the transfer is abandoned; the bytes so far stay for the next run.
DEFAULT_MIN_RATE = 100 * 1024

_MIRROR_URL = re.compile(r"(https?)://([^/?#\s@]+)/?", re.IGNORECASE)  # used with fullmatch
_BEARER_PARAM = re.compile(r'(\w+)="([^"]*)"')
_AUTH_HOST = re.compile(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?")  # used with fullmatch
_TOKEN = re.compile(r"[\x21-\x7e]+")  # one header-safe word


class InvalidMirror(ValueError):
    pass


_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")  # used with fullmatch


def _hex_digest(digest):
    """A digest names a URL only when it is 64 lower-case hex characters, whole."""
    if not isinstance(digest, str) or not _HEX_DIGEST.fullmatch(digest):
        raise ApiError("refusing a blob digest that is not 64 lower-case hex characters", error="invalid digest")
    return digest


def mirror_url(value, option):
    """A registry base URL: http(s)://host[:port], nothing after it, and no credentials in it."""
    if isinstance(value, str) and has_userinfo(value.strip()):
        # the value is not quoted back: it holds a password
        raise InvalidMirror("%s: the URL carries credentials (user:password@); they are refused there, where they "
                            "would be logged and sent on; give the URL without them and put the credentials in an "
                            "Authorization header instead" % option)
    match = _MIRROR_URL.fullmatch(value.strip()) if isinstance(value, str) else None
    if not match or origin(match.group(0)) is None:
        raise InvalidMirror("%s: %r is not a registry URL; give http://host:port or https://host[:port] "
                            "(plain HTTP only when the URL says http://)" % (option, value))
    return "%s://%s" % (match.group(1).lower(), match.group(2))


def auth_hosts(values, option):
    """The hosts (host or host:port, lower case) a registry's Bearer realm may be on to receive credentials."""
    hosts = []
    for value in values or []:
        match = _AUTH_HOST.fullmatch(value.strip()) if isinstance(value, str) else None
        if not match or (match.group(2) and not 0 < int(match.group(2)) < 65536):
            raise InvalidMirror("%s: %r is not a host name or host:port (no scheme, no path)" % (option, value))
        hosts.append((match.group(1).strip("[]").lower(), int(match.group(2)) if match.group(2) else None))
    return hosts


def repository_of(name):
    """The mirror repository of a model: <namespace>/<model>, lower case (registries require it)."""
    return ("%s/%s" % (name.namespace, name.model)).lower()


def registry_error_text(raw):
    """Registries answer {"errors": [{"code": ..., "message": ..., "detail": ...}]}."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return None
    texts = []
    for error in errors:
        if isinstance(error, dict):
            text = ": ".join(str(error[key]) for key in ("code", "message") if error.get(key))
            texts.append(text or json.dumps(error, sort_keys=True))
    return "; ".join(texts) or None


class _Transport(HttpTransport):
    """HttpTransport plus raw bodies, per-request headers and the Bearer-token challenge that
    Harbor and token-authenticated registries answer with 401.

    Credentials (the headers given, then the token) go only to the registry's origin; on a redirect
    elsewhere (signed object storage) they stay behind. The given headers go to a token realm only on
    the registry's own host or on a host listed in auth_hosts; elsewhere the request fails."""

    def __init__(self, *args, **kwargs):
        self.auth_hosts = kwargs.pop("auth_hosts", None) or []
        self.headers_option = kwargs.pop("headers_option", "headers")
        self.auth_hosts_option = kwargs.pop("auth_hosts_option", "auth_hosts")
        super().__init__(*args, **kwargs)
        self.token = None
        self.token_tried = set()

    def send(self, method, url, data=None, headers=None, timeout=None, total=None):
        """The open response (status < 400), or ApiError naming method, URL, status and the registry's error.
        The answer (each redirect and token request included, an error body too) must come within total seconds
        (default: the per-read time-out); the response carries that Deadline as `llmops_deadline` for its body."""
        timeout = timeout or self.timeout
        deadline = Deadline(total or timeout)
        while True:
            credentials = dict(self.headers)
            if self.token:
                credentials["Authorization"] = "Bearer %s" % self.token
            try:
                resp = self.follow(method, url, data=data, headers=headers, credentials=credentials, timeout=timeout,
                                   deadline=deadline)
                resp.llmops_deadline = deadline
                return resp
            except HTTPError as e:
                challenge = e.headers.get("WWW-Authenticate", "") if e.headers else ""
                # only the registry itself may ask for a token, not a host it redirected to
                if (e.code == 401 and challenge.lower().startswith("bearer ")
                        and keeps_credentials(self.base_url, e.final_url) and self._fetch_token(challenge, url, deadline)):
                    e.close()
                    if hasattr(data, "seek"):
                        data.seek(0)
                    continue
                raw = read_error_body(e, method, url, timeout, deadline)
                raise self._status_error(method, url, e.code, raw, 0, final_url=e.final_url)
            except (OSError, http.client.HTTPException) as e:
                raise self._connection_error(method, url, e, timeout)

    def connection_error(self, method, url, exc):
        return self._connection_error(method, url, exc, self.timeout)

    def small_body(self, resp, method, url, limit=MAX_ERROR_BODY_BYTES, too_long=None):
        """The body of an answer that carries little (an upload's, a manifest PUT's): at most limit bytes,
        within the request's deadline."""
        with BodyReader(resp, method, url, self.timeout, getattr(resp, "llmops_deadline", None)) as reader:
            return reader.read(limit, too_long=too_long)

    def realm_allowed(self, realm):
        """True when the credentials may go to the token realm: the registry's own host (any port, but
        not https turned into http), or a host the user listed (host matches any port, host:port that one)."""
        realm_origin = origin(realm)
        registry = origin(self.base_url)
        if realm_origin is None or registry is None:
            return False
        scheme, host, port = realm_origin
        if registry[0] == "https" and scheme != "https":
            return False
        if host == registry[1]:
            return True
        return any(host == listed and (listed_port is None or listed_port == port)
                   for listed, listed_port in self.auth_hosts)

    def _fetch_token(self, challenge, url, deadline=None):
        """Ask the realm for a token once per scope (anonymous, or with the headers given when the realm
        may have them); True when one came back."""
        params = dict(_BEARER_PARAM.findall(challenge))
        realm = params.pop("realm", None)
        key = (realm, params.get("scope"))
        if not realm or key in self.token_tried:
            return False
        self.token_tried.add(key)
        if origin(realm) is None or has_userinfo(realm):
            raise ApiError("%s asked for a token from the realm %r, which is not an http(s) URL without credentials"
                           % (url, realm), method="GET", url=url, status=401)
        realm_host = urlsplit(realm).netloc
        if self.headers and not self.realm_allowed(realm):
            raise ApiError(
                "the registry %s wants a Bearer token from %s (the realm of its challenge), a host other than its own%s; "
                "the credentials in %s are not sent there. If %s is the registry's token service, list its host in %s"
                % (self.base_url, realm_host,
                   " or over plain HTTP" if origin(realm)[0] == "http" and origin(self.base_url)[0] == "https" else "",
                   self.headers_option, realm_host, self.auth_hosts_option),
                method="GET", url=realm, status=401, error="token realm on another host")
        token_url = realm + ("&" if "?" in realm else "?") + urlencode(sorted(params.items()))
        deadline = deadline or Deadline(self.timeout)
        try:
            resp = self.follow("GET", token_url, headers={"Accept": "application/json"}, credentials=self.headers,
                               credential_url=realm, timeout=self.timeout, deadline=deadline)
            with BodyReader(resp, "GET", token_url, self.timeout, deadline, what="the token reply") as reader:
                body = json.loads(reader.read(MAX_TOKEN_BODY_BYTES, too_long="a token reply"))
        except ApiError as e:
            e.msg = "%s (the token for %s)" % (e.msg, url)
            raise
        except HTTPError as e:
            e.close()
            raise ApiError("GET %s (the token for %s) answered HTTP %s" % (token_url, url, e.code),
                           method="GET", url=token_url, status=e.code)
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise ApiError("GET %s (the token for %s) failed: %s" % (token_url, url, to_text(e)),
                           method="GET", url=token_url)
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if token is not None and not (isinstance(token, str) and _TOKEN.fullmatch(token)):
            raise ApiError("GET %s (the token for %s) answered with a token that is not one printable word"
                           % (token_url, url), method="GET", url=token_url)
        self.token = token
        return bool(self.token)


class RegistryClient:
    """One registry; repositories are <namespace>/<model>, tags are model tags, digests are 64 hex."""

    def __init__(self, base_url, timeout, validate_certs=True, headers=None, attempts=DOWNLOAD_ATTEMPTS,
                 auth_hosts=None, headers_option="headers", auth_hosts_option="auth_hosts", min_rate=DEFAULT_MIN_RATE,
                 rate_window=None, min_rate_option="min_rate"):
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.timeout = timeout
        # a blob must come at min_rate bytes/s at least, over each rate_window seconds (default: the time-out)
        self.min_rate = min_rate
        self.rate_window = rate_window or timeout
        self.min_rate_option = min_rate_option
        self.http = _Transport(self.base_url, timeout, validate_certs=validate_certs, headers=headers,
                               error_text=registry_error_text, busy_retries=0, auth_hosts=auth_hosts,
                               headers_option=headers_option, auth_hosts_option=auth_hosts_option)

    def url(self, path):
        return self.http.url(path)

    def _blob_url(self, repository, digest):
        return self.url("/v2/%s/blobs/sha256:%s" % (repository, digest))

    def _manifest_url(self, repository, tag):
        return self.url("/v2/%s/manifests/%s" % (repository, tag))

    # manifests

    def _read_manifest(self, repository, tag, accept=ACCEPT_MANIFEST):
        url = self._manifest_url(repository, tag)
        resp = self.http.send("GET", url, headers={"Accept": accept})
        with BodyReader(resp, "GET", url, self.timeout, resp.llmops_deadline, what="the manifest") as reader:
            raw = reader.read(MAX_MANIFEST_BYTES, too_long="a model manifest")
        media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
        return raw, media_type or MANIFEST_V2

    def get_manifest(self, repository, tag, accept=ACCEPT_MANIFEST):
        """(raw bytes, media type) of repository:tag, or None when the registry has no such manifest (404).
        `accept` is the Accept header (by default both the Docker v2 and the OCI manifest types)."""
        try:
            return self._read_manifest(repository, tag, accept=accept)
        except ApiError as e:
            if e.status == 404:
                return None
            raise

    def require_manifest(self, repository, tag):
        """Like get_manifest, but a missing manifest is an ApiError naming the mirror, repository and tag."""
        try:
            return self._read_manifest(repository, tag)
        except ApiError as e:
            if e.status == 404:
                e.msg = "the mirror %s has no %s:%s: %s" % (self.base_url, repository, tag, e.msg)
            raise

    def put_manifest(self, repository, tag, raw, media_type=MANIFEST_V2):
        """Store the exact bytes under repository:tag; return the digest the registry reports (or None)."""
        url = self._manifest_url(repository, tag)
        resp = self.http.send("PUT", url, data=raw, headers={"Content-Type": media_type})
        self.http.small_body(resp, "PUT", url)
        reported = resp.headers.get("Docker-Content-Digest") or ""
        return reported.split(":", 1)[1] if reported.startswith("sha256:") else None

    # blobs

    def has_blob(self, repository, digest, size=None):
        """HEAD the blob: True when the registry holds it (with that size, when a size is given)."""
        url = self._blob_url(repository, digest)
        try:
            resp = self.http.send("HEAD", url)
        except ApiError as e:
            if e.status == 404:
                return False
            raise
        length = resp.headers.get("Content-Length")
        resp.close()
        return size is None or length is None or not length.isdigit() or int(length) == size

    def upload_blob(self, repository, digest, body, size):
        """A monolithic upload of the open binary file body: POST /blobs/uploads/ then PUT it to the
        Location with ?digest=. The credentials go with the PUT only when the Location is on the
        registry's own origin."""
        start = self.url("/v2/%s/blobs/uploads/" % repository)
        resp = self.http.send("POST", start, data=b"", headers={"Content-Length": "0"})
        self.http.small_body(resp, "POST", start)
        location = resp.headers.get("Location")
        if not location:
            raise ApiError("POST %s answered HTTP %s without a Location header for the upload"
                           % (start, resp.status), method="POST", url=start, status=resp.status)
        target = urljoin(start, location)
        if origin(target) is None or has_userinfo(target):
            raise ApiError("POST %s answered with an upload Location that is not an http(s) URL without credentials"
                           % start, method="POST", url=start, status=resp.status)
        target += ("&" if urlsplit(target).query else "?") + urlencode({"digest": "sha256:" + digest})
        # the upload may take as long as the bytes need at min_rate, beyond the time-out
        resp = self.http.send("PUT", target, data=body, headers={
            "Content-Type": "application/octet-stream", "Content-Length": str(size)},
            total=self.timeout + size / float(self.min_rate or 1))
        self.http.small_body(resp, "PUT", target)

    def read_blob(self, repository, digest, size, limit=MAX_MANIFEST_BYTES):
        """The bytes of a small blob (a model's config), read into memory and verified: exactly `size`
        bytes (at most `limit`) whose sha256 is `digest`, else ApiError. The blob is never written anywhere."""
        url = self._blob_url(repository, _hex_digest(digest))
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= limit:
            raise ApiError("GET %s: not read: the manifest gives it %r bytes, and a metadata blob is read only up to %d"
                           % (url, size, limit), method="GET", url=url, error="blob too large")
        resp = self.http.send("GET", url, headers={"Accept": "application/octet-stream"})
        with BodyReader(resp, "GET", url, self.timeout, resp.llmops_deadline, what="the blob") as reader:
            raw = reader.read(size + 1)  # one byte more than the manifest gives tells a longer blob; no further
        if len(raw) != size:
            got = "more than %d" % size if len(raw) > size else "%d" % len(raw)
            raise ApiError("GET %s sent %s bytes; the manifest gives %d" % (url, got, size),
                           method="GET", url=url, status=resp.status, error="size mismatch")
        if hashlib.sha256(raw).hexdigest() != digest:
            raise ApiError("GET %s: the %d bytes received do not have the sha256 the manifest gives" % (url, size),
                           method="GET", url=url, status=resp.status, error="digest mismatch")
        return raw

    def download_blob(self, repository, digest, size, partial):
        """Make `partial` (a PartialFile, or a path for one) hold the blob, verified: resume from the
        bytes it already has (Range), retry a broken transfer, and restart once from zero when resumed
        bytes turn out wrong. A wrong digest removes the file and raises ApiError.
        Return (bytes received, bytes resumed)."""
        if isinstance(partial, str):
            with PartialFile.at(partial) as handle:
                return self.download_blob(repository, digest, size, handle)
        received = 0
        resumed = min(partial.size(), size)
        restarted = False
        failures = 0
        while True:
            try:
                offset, got, hexdigest = self._fetch_into(repository, digest, size, partial)
            except ApiError as e:
                received += getattr(e, "received", 0)
                failures += 1
                if e.status is not None or failures >= self.attempts or getattr(e, "final", False):
                    if partial.file is not None:
                        e.msg += " (%d of %d bytes of sha256:%s are kept in %s for the next try)" % (
                            partial.size(), size, digest, partial.path)
                    raise
                continue
            received += got
            if hexdigest == digest:
                return received, resumed
            if offset > 0 and not restarted:  # the bytes kept from before were wrong: start over once
                partial.rewrite_from(0)
                restarted = True
                resumed = 0
                continue
            partial.discard()
            url = self._blob_url(repository, digest)
            raise ApiError("GET %s: the %d bytes received have the sha256 %s, not %s; the file was removed"
                           % (url, size, hexdigest, digest), method="GET", url=url, status=200,
                           error="digest mismatch")

    def _fetch_into(self, repository, digest, size, partial):
        url = self._blob_url(repository, digest)
        offset = partial.size()
        if offset > size:
            partial.rewrite_from(0)
            offset = 0
        if offset == size:
            return offset, 0, partial.sha256().hexdigest()
        headers = {"Accept": "application/octet-stream"}
        if offset:
            headers["Range"] = "bytes=%d-" % offset
        # The whole transfer may take what its bytes need at min_rate, plus one time-out; each window of
        # rate_window seconds must bring min_rate * rate_window bytes, else it is a stall.
        total = self.timeout + (size - offset) / float(self.min_rate) if self.min_rate else None
        try:
            resp = self.http.send("GET", url, headers=headers, total=total)
        except ApiError as e:
            if e.status == 416:  # the partial file is longer than the blob
                partial.discard()
            raise
        if offset and (resp.status != 206 or not (resp.headers.get("Content-Range") or "").startswith(
                "bytes %d-" % offset)):
            offset = 0  # the registry ignored the Range: it sends everything
        hasher = partial.sha256(limit=offset) if offset else hashlib.sha256()
        partial.rewrite_from(offset)
        got = 0
        reader = BodyReader(resp, "GET", url, self.timeout, resp.llmops_deadline, what="the blob")
        window_start, window_got = time.monotonic(), 0
        try:
            while offset + got < size:
                # never more than the manifest gives: the file stops at the declared size
                chunk = reader.read1(min(CHUNK, size - offset - got))
                if not chunk:
                    break
                partial.write(chunk)
                hasher.update(chunk)
                got += len(chunk)
                window_got += len(chunk)
                now = time.monotonic()
                if self.min_rate and now - window_start >= self.rate_window:
                    if window_got < self.min_rate * (now - window_start):
                        raise self._stall(url, now - window_start, window_got, offset + got, size, digest)
                    window_start, window_got = now, 0
            extra = reader.read1(1) if offset + got == size else b""
        except ApiError as e:
            e.received = got
            if "was not complete within" in e.msg:
                e.msg += "; %d of %d bytes of sha256:%s came from %s, below min_rate" % (
                    offset + got, size, digest, urlsplit(url).netloc)
                e.final = True
            raise
        finally:
            reader.close()
            if partial.file is not None:
                partial.file.flush()
        if offset + got < size:
            error = ApiError("GET %s: the connection closed after %d of %d bytes" % (url, offset + got, size),
                             method="GET", url=url)
            error.received = got
            raise error
        if extra:
            partial.discard()
            raise ApiError("GET %s sent more than the %d bytes the manifest gives for sha256:%s; the file was removed"
                           % (url, size, digest), method="GET", url=url, status=resp.status, error="size mismatch")
        return offset, got, hasher.hexdigest()

    def _stall(self, url, seconds, window_got, have, size, digest):
        error = ApiError(
            "GET %s: the transfer from %s stalled: %d bytes in the last %.0f seconds, below the minimum rate of %d "
            "bytes per second (%s); %d of %d bytes of sha256:%s had come. They are kept, and a re-run resumes from "
            "there" % (url, urlsplit(url).netloc, window_got, seconds, self.min_rate, self.min_rate_option, have,
                       size, digest), method="GET", url=url, error="transfer too slow")
        error.final = True  # retrying a trickle only makes it last longer
        return error
