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
import os
import re
from urllib.error import HTTPError
from urllib.parse import urlencode, urljoin, urlsplit

from ansible.module_utils.common.text.converters import to_text

from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError, HttpTransport

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
ACCEPT_MANIFEST = "%s, %s" % (MANIFEST_V2, OCI_MANIFEST)
CHUNK = 1024 * 1024
DOWNLOAD_ATTEMPTS = 3

_MIRROR_URL = re.compile(r"^(https?)://([^/?#\s]+)/?$", re.IGNORECASE)
_BEARER_PARAM = re.compile(r'(\w+)="([^"]*)"')


class InvalidMirror(ValueError):
    pass


def mirror_url(value, option):
    """A registry base URL: http(s)://host[:port], nothing after it."""
    match = _MIRROR_URL.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise InvalidMirror("%s: %r is not a registry URL; give http://host:port or https://host[:port] "
                            "(plain HTTP only when the URL says http://)" % (option, value))
    return "%s://%s" % (match.group(1).lower(), match.group(2))


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


def sha256_file(path, limit=None):
    """The hash object of the first `limit` bytes of path (all of it without a limit)."""
    digest = hashlib.sha256()
    left = limit
    with open(path, "rb") as handle:
        while left is None or left > 0:
            chunk = handle.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
    return digest


class _Transport(HttpTransport):
    """HttpTransport plus raw bodies, per-request headers and the Bearer-token challenge that
    Harbor and token-authenticated registries answer with 401."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.token = None
        self.token_tried = set()

    def send(self, method, url, data=None, headers=None, timeout=None):
        """The open response (status < 400), or ApiError naming method, URL, status and the registry's error."""
        timeout = timeout or self.timeout
        while True:
            request_headers = dict(self.headers)
            if self.token:
                request_headers["Authorization"] = "Bearer %s" % self.token
            request_headers.update(headers or {})
            try:
                return self._session().open(method, url, data=data, headers=request_headers, timeout=timeout)
            except HTTPError as e:
                challenge = e.headers.get("WWW-Authenticate", "") if e.headers else ""
                if e.code == 401 and challenge.lower().startswith("bearer ") and self._fetch_token(challenge, url):
                    if hasattr(data, "seek"):
                        data.seek(0)
                    continue
                raw = b""
                if method != "HEAD":
                    try:
                        raw = e.read()
                    except Exception:  # the error body is a courtesy; the status tells the story
                        raw = b""
                raise self._status_error(method, url, e.code, raw, 0)
            except (OSError, http.client.HTTPException) as e:
                raise self._connection_error(method, url, e, timeout)

    def connection_error(self, method, url, exc):
        return self._connection_error(method, url, exc, self.timeout)

    def _fetch_token(self, challenge, url):
        """Ask the realm for a token once per scope (anonymous, or with the Authorization header given);
        True when one came back."""
        params = dict(_BEARER_PARAM.findall(challenge))
        realm = params.pop("realm", None)
        key = (realm, params.get("scope"))
        if not realm or key in self.token_tried:
            return False
        self.token_tried.add(key)
        token_url = realm + ("&" if "?" in realm else "?") + urlencode(sorted(params.items()))
        try:
            resp = self._session().open("GET", token_url, headers=dict(self.headers), timeout=self.timeout)
            body = json.loads(resp.read())
        except HTTPError as e:
            raise ApiError("GET %s (the token for %s) answered HTTP %s" % (token_url, url, e.code),
                           method="GET", url=token_url, status=e.code)
        except (OSError, http.client.HTTPException, ValueError) as e:
            raise ApiError("GET %s (the token for %s) failed: %s" % (token_url, url, to_text(e)),
                           method="GET", url=token_url)
        self.token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        return bool(self.token)


class RegistryClient:
    """One registry; repositories are <namespace>/<model>, tags are model tags, digests are 64 hex."""

    def __init__(self, base_url, timeout, validate_certs=True, headers=None, attempts=DOWNLOAD_ATTEMPTS):
        self.base_url = base_url.rstrip("/")
        self.attempts = attempts
        self.http = _Transport(self.base_url, timeout, validate_certs=validate_certs, headers=headers,
                               error_text=registry_error_text, busy_retries=0)

    def url(self, path):
        return self.http.url(path)

    def _blob_url(self, repository, digest):
        return self.url("/v2/%s/blobs/sha256:%s" % (repository, digest))

    def _manifest_url(self, repository, tag):
        return self.url("/v2/%s/manifests/%s" % (repository, tag))

    # manifests

    def _read_manifest(self, repository, tag):
        url = self._manifest_url(repository, tag)
        resp = self.http.send("GET", url, headers={"Accept": ACCEPT_MANIFEST})
        try:
            raw = resp.read()
        except (OSError, http.client.HTTPException) as e:
            raise self.http.connection_error("GET", url, e)
        media_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
        return raw, media_type or MANIFEST_V2

    def get_manifest(self, repository, tag):
        """(raw bytes, media type) of repository:tag, or None when the registry has no such manifest (404)."""
        try:
            return self._read_manifest(repository, tag)
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
        resp.read()
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
        return size is None or length is None or int(length) == size

    def upload_blob(self, repository, digest, path, size):
        """A monolithic upload: POST /blobs/uploads/ then PUT the file to the Location with ?digest=."""
        start = self.url("/v2/%s/blobs/uploads/" % repository)
        resp = self.http.send("POST", start, data=b"", headers={"Content-Length": "0"})
        resp.read()
        location = resp.headers.get("Location")
        if not location:
            raise ApiError("POST %s answered HTTP %s without a Location header for the upload"
                           % (start, resp.status), method="POST", url=start, status=resp.status)
        target = urljoin(start, location)
        target += ("&" if urlsplit(target).query else "?") + urlencode({"digest": "sha256:" + digest})
        with open(path, "rb") as body:
            resp = self.http.send("PUT", target, data=body, headers={
                "Content-Type": "application/octet-stream", "Content-Length": str(size)})
            resp.read()

    def download_blob(self, repository, digest, size, partial):
        """Make `partial` hold the blob, verified: resume from the bytes it already has (Range),
        retry a broken transfer, and restart once from zero when resumed bytes turn out wrong.
        A wrong digest removes the file and raises ApiError. Return (bytes received, bytes resumed)."""
        received = 0
        resumed = os.path.getsize(partial) if os.path.exists(partial) else 0
        restarted = False
        failures = 0
        while True:
            try:
                offset, got, hexdigest = self._fetch_into(repository, digest, size, partial)
            except ApiError as e:
                received += getattr(e, "received", 0)
                failures += 1
                if e.status is not None or failures >= self.attempts:
                    e.msg += " (%d of %d bytes of sha256:%s are kept in %s for the next try)" % (
                        os.path.getsize(partial) if os.path.exists(partial) else 0, size, digest, partial)
                    raise
                continue
            received += got
            if hexdigest == digest:
                return received, resumed
            os.remove(partial)
            if offset > 0 and not restarted:  # the bytes kept from before were wrong: start over once
                restarted = True
                resumed = 0
                continue
            url = self._blob_url(repository, digest)
            raise ApiError("GET %s: the %d bytes received have the sha256 %s, not %s; the file was removed"
                           % (url, size, hexdigest, digest), method="GET", url=url, status=200,
                           error="digest mismatch")

    def _fetch_into(self, repository, digest, size, partial):
        url = self._blob_url(repository, digest)
        offset = os.path.getsize(partial) if os.path.exists(partial) else 0
        if offset > size:
            os.remove(partial)
            offset = 0
        if offset == size:
            return offset, 0, sha256_file(partial).hexdigest()
        headers = {"Accept": "application/octet-stream"}
        if offset:
            headers["Range"] = "bytes=%d-" % offset
        try:
            resp = self.http.send("GET", url, headers=headers)
        except ApiError as e:
            if e.status == 416:  # the partial file is longer than the blob
                os.remove(partial)
            raise
        if offset and (resp.status != 206 or not (resp.headers.get("Content-Range") or "").startswith(
                "bytes %d-" % offset)):
            offset = 0  # the registry ignored the Range: it sends everything
        hasher = sha256_file(partial, limit=offset) if offset else hashlib.sha256()
        got = 0
        with open(partial, "r+b" if offset else "wb") as out:
            out.seek(offset)
            out.truncate()
            try:
                while True:
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    out.write(chunk)
                    hasher.update(chunk)
                    got += len(chunk)
                    if offset + got > size:
                        break
            except (OSError, http.client.HTTPException) as e:
                error = self.http.connection_error("GET", url, e)
                error.received = got
                raise error
        if offset + got < size:
            error = ApiError("GET %s: the connection closed after %d of %d bytes" % (url, offset + got, size),
                             method="GET", url=url)
            error.received = got
            raise error
        if offset + got > size:
            os.remove(partial)
            raise ApiError("GET %s sent more than the %d bytes the manifest gives for sha256:%s; the file was removed"
                           % (url, size, digest), method="GET", url=url, status=resp.status, error="size mismatch")
        return offset, got, hasher.hexdigest()
