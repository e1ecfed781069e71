# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import (
    ACCEPT_MANIFEST, MANIFEST_V2, InvalidMirror, RegistryClient, mirror_url, registry_error_text, repository_of)
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import sample_model, sha256

REPO = "library/qwen2.5"


def client(registry, **kwargs):
    return RegistryClient(registry.url, 5, **kwargs)


def body_of(blobs):
    return max(blobs.values(), key=len)


@pytest.mark.parametrize("value, expected", [
    ("http://10.213.0.3:5000", "http://10.213.0.3:5000"),
    ("HTTPS://registry.example.com/", "https://registry.example.com"),
])
def test_mirror_url_accepts_a_base_url(value, expected):
    assert mirror_url(value, "mirror") == expected


@pytest.mark.parametrize("value", ["10.213.0.3:5000", "ftp://host", "http://host/v2/library", "", None])
def test_mirror_url_refuses_anything_else(value):
    with pytest.raises(InvalidMirror, match="mirror: %r is not a registry URL" % (value,)):
        mirror_url(value, "mirror")


def test_repository_is_namespace_and_model_in_lower_case():
    assert repository_of(_model_name.parse("Qwen2.5:0.5b")) == "library/qwen2.5"
    assert repository_of(_model_name.parse("lab:5000/Team/Bot:v1")) == "team/bot"


def test_registry_error_text():
    assert registry_error_text(b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}') == \
        "MANIFEST_UNKNOWN: manifest unknown"
    assert registry_error_text(b"<html>") is None
    assert registry_error_text(b'{"errors": []}') is None


def test_get_manifest_sends_the_accept_header_and_returns_the_exact_bytes(registry):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    got, media_type = client(registry).get_manifest(REPO, "0.5b")
    assert got == raw
    assert media_type == MANIFEST_V2
    method, path, headers = registry.requests[0]
    assert (method, path) == ("GET", "/v2/library/qwen2.5/manifests/0.5b")
    assert headers["Accept"] == ACCEPT_MANIFEST


def test_get_manifest_of_a_missing_tag_is_none(registry):
    assert client(registry).get_manifest(REPO, "0.5b") is None


def test_require_manifest_names_mirror_repository_tag_and_status(registry):
    with pytest.raises(ApiError) as caught:
        client(registry).require_manifest(REPO, "0.5b")
    assert caught.value.status == 404
    assert caught.value.msg == (
        "the mirror %s has no library/qwen2.5:0.5b: GET %s/v2/library/qwen2.5/manifests/0.5b answered HTTP 404: "
        "NAME_UNKNOWN: repository name not known to registry" % (registry.url, registry.url))


def test_download_verifies_and_reports_the_bytes(registry, tmp_path):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    body = body_of(blobs)
    partial = str(tmp_path / "blob-partial")
    assert client(registry).download_blob(REPO, sha256(body), len(body), partial) == (len(body), 0)
    with open(partial, "rb") as handle:
        assert handle.read() == body


def test_download_resumes_from_a_partial_file_with_range(registry, tmp_path):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    body = body_of(blobs)
    partial = tmp_path / "blob-partial"
    partial.write_bytes(body[:100000])
    received, resumed = client(registry).download_blob(REPO, sha256(body), len(body), str(partial))
    assert (received, resumed) == (len(body) - 100000, 100000)
    assert registry.requests[-1][2]["Range"] == "bytes=100000-"
    assert registry.sent[sha256(body)] == len(body) - 100000
    assert partial.read_bytes() == body


def test_a_dropped_connection_is_resumed_in_the_same_call(registry, tmp_path):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    body = body_of(blobs)
    registry.drops[sha256(body)] = [120000]
    partial = tmp_path / "blob-partial"
    received, resumed = client(registry).download_blob(REPO, sha256(body), len(body), str(partial))
    assert (received, resumed) == (len(body), 0)
    assert len(registry.blob_gets()) == 2
    assert "Range" not in registry.requests[0][2]
    assert registry.requests[1][2]["Range"] == "bytes=120000-"
    assert registry.sent[sha256(body)] == len(body)
    assert partial.read_bytes() == body


def test_drops_on_every_attempt_keep_the_partial_for_the_next_run(registry, tmp_path):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    body = body_of(blobs)
    registry.drops[sha256(body)] = [1000, 1000, 1000]
    partial = tmp_path / "blob-partial"
    with pytest.raises(ApiError) as caught:
        client(registry).download_blob(REPO, sha256(body), len(body), str(partial))
    assert "the connection closed after 3000 of %d bytes" % len(body) in caught.value.msg
    assert "3000 of %d bytes of sha256:%s are kept in %s" % (len(body), sha256(body), partial) in caught.value.msg
    assert partial.read_bytes() == body[:3000]
    assert client(registry).download_blob(REPO, sha256(body), len(body), str(partial)) == (len(body) - 3000, 3000)
    assert partial.read_bytes() == body


def test_a_registry_that_ignores_range_sends_everything_again(registry, tmp_path):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    body = body_of(blobs)
    registry.honour_range = False
    partial = tmp_path / "blob-partial"
    partial.write_bytes(body[:5000])
    assert client(registry).download_blob(REPO, sha256(body), len(body), str(partial))[0] == len(body)
    assert partial.read_bytes() == body


def test_a_corrupted_blob_fails_and_leaves_no_file(registry, tmp_path):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    body = body_of(blobs)
    registry.corrupt.add(sha256(body))
    partial = tmp_path / "blob-partial"
    with pytest.raises(ApiError) as caught:
        client(registry).download_blob(REPO, sha256(body), len(body), str(partial))
    bad = hashlib.sha256(bytes([body[0] ^ 0xFF]) + body[1:]).hexdigest()
    assert caught.value.msg == ("GET %s/v2/%s/blobs/sha256:%s: the %d bytes received have the sha256 %s, not %s; "
                                "the file was removed" % (registry.url, REPO, sha256(body), len(body), bad, sha256(body)))
    assert not partial.exists()


def test_wrong_bytes_kept_from_before_are_fetched_again_from_zero(registry, tmp_path):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    body = body_of(blobs)
    partial = tmp_path / "blob-partial"
    partial.write_bytes(b"x" * 1000)
    assert client(registry).download_blob(REPO, sha256(body), len(body), str(partial)) == (len(body) * 2 - 1000, 0)
    assert partial.read_bytes() == body
    assert [h.get("Range") for _m, _p, h in registry.requests] == ["bytes=1000-", None]


def test_a_partial_longer_than_the_blob_is_discarded(registry, tmp_path):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    body = body_of(blobs)
    partial = tmp_path / "blob-partial"
    partial.write_bytes(body + b"junk")
    client(registry).download_blob(REPO, sha256(body), len(body), str(partial))
    assert partial.read_bytes() == body


def test_a_missing_blob_is_a_404_naming_the_url(registry, tmp_path):
    partial = str(tmp_path / "blob-partial")
    with pytest.raises(ApiError) as caught:
        client(registry).download_blob(REPO, "a" * 64, 10, partial)
    assert caught.value.status == 404
    assert "GET %s/v2/%s/blobs/sha256:%s answered HTTP 404: BLOB_UNKNOWN" % (registry.url, REPO, "a" * 64) \
        in caught.value.msg
    assert len(registry.requests) == 1


def test_upload_then_put_manifest(registry, tmp_path):
    raw, blobs = sample_model()
    registry_client = client(registry)
    for hexdigest, data in blobs.items():
        path = tmp_path / hexdigest
        path.write_bytes(data)
        assert registry_client.has_blob(REPO, hexdigest, len(data)) is False
        with open(str(path), "rb") as body:
            registry_client.upload_blob(REPO, hexdigest, body, len(data))
        assert registry_client.has_blob(REPO, hexdigest, len(data)) is True
    assert registry_client.put_manifest(REPO, "0.5b", raw) == sha256(raw)
    assert registry.manifests[(REPO, "0.5b")] == raw
    puts = [(p, h) for m, p, h in registry.requests if m == "PUT"]
    assert puts[-1][1]["Content-Type"] == MANIFEST_V2
    assert all("?_state=opaque&digest=sha256%3A" in p for p, _h in puts[:-1])


def test_put_manifest_without_its_blobs_fails_with_the_registry_error(registry):
    raw, _blobs = sample_model()
    with pytest.raises(ApiError) as caught:
        client(registry).put_manifest(REPO, "0.5b", raw)
    assert caught.value.status == 400
    assert "PUT %s/v2/%s/manifests/0.5b answered HTTP 400: MANIFEST_BLOB_UNKNOWN" % (registry.url, REPO) \
        in caught.value.msg


def test_bearer_challenge_fetches_a_token_with_the_given_headers(registry, tmp_path):
    raw, blobs = sample_model()
    registry.add_model(REPO, "0.5b", raw, blobs)
    registry.require_token = True
    registry_client = client(registry, headers={"Authorization": "Basic dTpw"})
    assert registry_client.get_manifest(REPO, "0.5b")[0] == raw
    assert registry_client.get_manifest(REPO, "0.5b")[0] == raw
    assert [p.split("?")[0] for _m, p, _h in registry.requests] == [
        "/v2/library/qwen2.5/manifests/0.5b", "/token", "/v2/library/qwen2.5/manifests/0.5b",
        "/v2/library/qwen2.5/manifests/0.5b"]
    assert registry.requests[1][2]["Authorization"] == "Basic dTpw"
    assert "scope=repository%3Alibrary" in registry.requests[1][1]


def test_plain_http_only_when_asked(registry):
    https = RegistryClient(registry.url.replace("http://", "https://"), 2)
    with pytest.raises(ApiError) as caught:
        https.get_manifest(REPO, "0.5b")
    assert caught.value.status is None
    assert caught.value.url.startswith("https://")
    assert os.path.basename(caught.value.url) == "0.5b"
