# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Redirects are followed by hand so that credentials stay with their origin (scheme, host, port)."""

from __future__ import annotations

import io
from email.message import Message
from urllib.error import HTTPError

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._http import (
    MAX_REDIRECTS, ApiError, HttpTransport, keeps_credentials)
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import (
    InvalidMirror, RegistryClient, auth_hosts, mirror_url)


@pytest.mark.parametrize("to, keeps", [
    ("https://registry.example.com/v2/x", True),
    ("https://REGISTRY.example.com:443/other", True),
    ("http://registry.example.com/v2/x", False),       # https -> http
    ("http://registry.example.com:443/v2/x", False),   # same port, plain HTTP
    ("https://registry.example.com:8443/v2/x", False),  # another port
    ("https://storage.example.com/bucket/x", False),    # another host
    ("https://registry.example.com.evil.test/x", False),
    ("ftp://registry.example.com/x", False),
    ("https://registry.example.com:99999/x", False),    # not a port
])
def test_keeps_credentials_only_on_the_same_origin(to, keeps):
    assert keeps_credentials("https://registry.example.com", to) is keeps


class Response:
    status = 200
    headers = Message()

    def read(self, *args):
        return b"{}"


class ScriptedSession:
    """Stands in for ansible's Request: answers each URL from a script and records what was sent."""

    def __init__(self, redirects):
        self.redirects = redirects  # url -> (status, Location)
        self.sent = []

    def open(self, method, url, data=None, headers=None, timeout=None):
        self.sent.append((method, url, dict(headers or {})))
        if url in self.redirects:
            status, location = self.redirects[url]
            headers = Message()
            headers["Location"] = location
            raise HTTPError(location, status, "redirect", headers, io.BytesIO(b""))
        return Response()


def transport(base, redirects, headers=None):
    if headers is None:
        headers = {"Authorization": "Basic c2VjcmV0", "X-Api-Key": "k"}
    http = HttpTransport(base, 5, headers=headers)
    http._request = ScriptedSession(redirects)
    return http


def test_https_to_http_redirect_drops_the_credentials():
    http = transport("https://registry.example.com", {
        "https://registry.example.com/v2/blob": (307, "http://registry.example.com/v2/blob")})
    request_headers = {"Accept": "application/octet-stream", "Range": "bytes=5-"}
    http.follow("GET", "https://registry.example.com/v2/blob", headers=request_headers)
    (_m1, _u1, first), (_m2, url, second) = http._request.sent
    assert first["Authorization"] == "Basic c2VjcmV0" and first["X-Api-Key"] == "k"
    assert url == "http://registry.example.com/v2/blob"
    assert second == {"Accept": "application/octet-stream", "Range": "bytes=5-"}


def test_a_same_origin_redirect_keeps_them_and_a_return_to_the_origin_gets_them_back():
    http = transport("https://r.example", {
        "https://r.example/a": (301, "/b"),
        "https://r.example/b": (302, "https://cdn.example/c?sig=1"),
        "https://cdn.example/c?sig=1": (303, "https://r.example/d"),
    })
    http.follow("GET", "https://r.example/a")
    sent = [(url, "Authorization" in headers) for _m, url, headers in http._request.sent]
    assert sent == [("https://r.example/a", True), ("https://r.example/b", True),
                    ("https://cdn.example/c?sig=1", False), ("https://r.example/d", True)]


def test_credential_headers_a_request_sets_itself_stay_behind_too():
    http = transport("https://r.example", {"https://r.example/a": (307, "https://other.example/a")}, headers={})
    http.follow("GET", "https://r.example/a", headers={"Authorization": "Bearer t", "Cookie": "c", "Accept": "x"})
    assert http._request.sent[1][2] == {"Accept": "x"}


def test_redirects_are_bounded():
    loop = {"https://r.example/%d" % i: (307, "https://r.example/%d" % (i + 1)) for i in range(20)}
    http = transport("https://r.example", loop)
    with pytest.raises(ApiError, match="more than %d redirects" % MAX_REDIRECTS):
        http.follow("GET", "https://r.example/0")
    assert len(http._request.sent) == MAX_REDIRECTS + 1


@pytest.mark.parametrize("location", ["https://user:pw@other.example/x", "file:///etc/passwd"])
def test_a_redirect_to_a_url_with_credentials_or_another_scheme_is_not_followed(location):
    http = transport("https://r.example", {"https://r.example/a": (302, location)})
    with pytest.raises(ApiError, match="not an http\\(s\\) URL without credentials; not following"):
        http.follow("GET", "https://r.example/a")
    assert len(http._request.sent) == 1


def test_only_get_and_head_are_redirected():
    http = transport("https://r.example", {"https://r.example/a": (307, "https://other.example/a")})
    with pytest.raises(HTTPError):
        http.follow("PUT", "https://r.example/a", data=b"x")
    assert len(http._request.sent) == 1


@pytest.mark.parametrize("registry, realm, listed, allowed", [
    ("https://r.example", "https://r.example/token", [], True),
    ("https://r.example", "https://R.example:5001/token", [], True),   # its own host, another port
    ("https://r.example", "http://r.example/token", [], False),        # its own host, but plain HTTP
    ("http://r.example:5000", "http://r.example:5001/token", [], True),
    ("https://r.example", "https://auth.example/token", [], False),
    ("https://r.example", "https://auth.example/token", ["auth.example"], True),
    ("https://r.example", "https://auth.example:8443/token", ["auth.example:8443"], True),
    ("https://r.example", "https://auth.example/token", ["auth.example:8443"], False),
    ("https://r.example", "https://auth.example/token", ["auth.example:443"], True),
    ("https://r.example", "http://auth.example/token", ["auth.example"], False),
])
def test_which_realm_may_have_the_credentials(registry, realm, listed, allowed):
    client = RegistryClient(registry, 5, headers={"Authorization": "Basic x"}, auth_hosts=auth_hosts(listed, "o"))
    assert client.http.realm_allowed(realm) is allowed


def test_mirror_url_refuses_credentials_without_quoting_them():
    with pytest.raises(InvalidMirror) as caught:
        mirror_url("https://fleet:s3cr3t@registry.example.com", "source")
    assert "s3cr3t" not in str(caught.value) and str(caught.value).startswith("source: the URL carries credentials")
