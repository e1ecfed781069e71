# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mirror credentials stay with their host: a blob download redirected to signed object storage
(another host, which refuses a second auth mechanism as S3 does) works without them, a Bearer realm
on another host never receives them unless that host is listed, and credentials in a URL are refused."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_mirror_push
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import install_local, sample_model, sha256
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import fetch_from_mirror as fetch, run_module

QWEN = "qwen2.5:0.5b"
REPO = "library/qwen2.5"
PARTS = ["registry.ollama.ai", "library", "qwen2.5", "0.5b"]
BASIC = "Basic ZmxlZXQ6czNjcjN0"  # fleet:s3cr3t


@pytest.fixture
def models_dir(fake, tmp_path):
    fake.models_dir = str(tmp_path)
    return tmp_path


def no_credentials(requests):
    return all("Authorization" not in headers and "X-Registry-Key" not in headers for _m, _p, headers in requests)


@pytest.mark.parametrize("token", [False, True], ids=["basic", "bearer"])
def test_blobs_redirected_to_signed_storage_arrive_without_the_credentials(
        fake, registry, storage, models_dir, mirrored, token):
    raw, blobs = mirrored
    registry.redirect_blobs_to = storage
    registry.require_token = token
    result = fetch(fake, registry, models_dir,
                   mirror_headers={"Authorization": BASIC, "X-Registry-Key": "k3y"})
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True and result["model"]["digest"] == sha256(raw)
    assert sorted(path.split("?")[0] for _m, path, _h in storage.requests) == sorted("/bucket/" + d for d in blobs)
    assert no_credentials(storage.requests)
    blob_gets = [h for m, p, h in registry.requests if m == "GET" and "/blobs/" in p]
    assert len(blob_gets) == len(blobs)
    expected = "Bearer fake-registry-token" if token else BASIC
    assert all(h["Authorization"] == expected and h["X-Registry-Key"] == "k3y" for h in blob_gets)


def test_storage_that_sees_an_authorization_header_refuses_and_says_so(storage):
    # the fake behaves as S3 does, or the test above would prove nothing
    from urllib.error import HTTPError
    from urllib.request import Request, urlopen
    storage.put("a" * 64, b"x")
    with pytest.raises(HTTPError) as caught:
        urlopen(Request(storage.url + "/bucket/" + "a" * 64 + "?X-Amz-Signature=s", headers={"Authorization": BASIC}))
    assert caught.value.code == 400
    assert urlopen(storage.url + "/bucket/" + "a" * 64 + "?X-Amz-Signature=s").read() == b"x"


def test_a_bearer_realm_on_another_host_never_receives_the_credentials(
        fake, registry, token_service, models_dir, mirrored):
    registry.require_token = True
    registry.token_realm = token_service.url + "/token"
    realm_host = token_service.url.split("//")[1]
    result = fetch(fake, registry, models_dir, mirror_headers={"Authorization": BASIC})
    assert result["failed"] is True
    assert result["msg"] == (
        "fetching qwen2.5:0.5b from %s failed: "
        "the registry %s wants a Bearer token from %s (the realm of its challenge), a host other than its own; the "
        "credentials in mirror_headers are not sent there. If %s is the registry's token service, list its host in "
        "mirror_auth_hosts" % (registry.url, registry.url, realm_host, realm_host))
    assert token_service.requests == []
    assert "s3cr3t" not in str(result) and BASIC not in str(result)


@pytest.mark.parametrize("listed", ["localhost", "LOCALHOST", "port"])
def test_a_listed_realm_host_gets_the_credentials(fake, registry, token_service, models_dir, mirrored, listed):
    raw, _blobs = mirrored
    registry.require_token = True
    registry.token_realm = token_service.url + "/token"
    host = token_service.url.split("//")[1] if listed == "port" else listed
    result = fetch(fake, registry, models_dir, mirror_headers={"Authorization": BASIC}, mirror_auth_hosts=[host])
    assert result["changed"] is True and result["model"]["digest"] == sha256(raw)
    assert [h["Authorization"] for _m, _p, h in token_service.requests] == [BASIC]


def test_a_realm_host_listed_with_another_port_gets_nothing(fake, registry, token_service, models_dir, mirrored):
    registry.require_token = True
    registry.token_realm = token_service.url + "/token"
    result = fetch(fake, registry, models_dir, mirror_headers={"Authorization": BASIC},
                   mirror_auth_hosts=["localhost:1"])
    assert result["failed"] is True and "list its host in mirror_auth_hosts" in result["msg"]
    assert token_service.requests == []


def test_without_credentials_any_realm_is_asked_anonymously(fake, registry, token_service, models_dir, mirrored):
    raw, _blobs = mirrored
    registry.require_token = True
    registry.token_realm = token_service.url + "/token"
    result = fetch(fake, registry, models_dir)
    assert result["changed"] is True and result["model"]["digest"] == sha256(raw)
    assert len(token_service.requests) == 1 and no_credentials(token_service.requests)


def test_push_keeps_the_credentials_from_a_realm_on_another_host(registry, token_service, tmp_path):
    raw, blobs = sample_model()
    install_local(str(tmp_path), PARTS, raw, blobs)
    registry.require_token = True
    registry.token_realm = token_service.url + "/token"
    args = {"name": QWEN, "mirror": registry.url, "models_dir": str(tmp_path), "headers": {"Authorization": BASIC}}
    result = run_module(ollama_mirror_push, args)
    assert result["failed"] is True
    assert "the credentials in headers are not sent there" in result["msg"] and "list its host in auth_hosts" in result["msg"]
    assert token_service.requests == []
    result = run_module(ollama_mirror_push, dict(args, auth_hosts=["localhost"]))
    assert result["changed"] is True and registry.manifests[(REPO, "0.5b")] == raw
    assert [h["Authorization"] for _m, _p, h in token_service.requests] == [BASIC]


@pytest.mark.parametrize("url", ["http://fleet:s3cr3t@%s", "https://fleet@%s", "http://:s3cr3t@%s/"])
def test_credentials_in_a_url_are_refused_without_repeating_them(fake, registry, tmp_path, url):
    host = registry.url.split("//")[1]
    result = fetch(fake, registry, tmp_path, mirror=url % host)
    assert result["failed"] is True
    assert result["msg"].startswith("mirror: the URL carries credentials (user:password@); they are refused")
    assert "s3cr3t" not in str(result) and "fleet" not in result["msg"]
    result = run_module(ollama_mirror_push, {"name": QWEN, "mirror": url % host, "models_dir": str(tmp_path)})
    assert result["failed"] is True and result["msg"].startswith("mirror: the URL carries credentials")
    assert "s3cr3t" not in str(result)
    assert registry.requests == [] and fake.requests == []


@pytest.mark.parametrize("value", ["https://auth.example.com", "auth.example.com/token", "a b", "host:99999"])
def test_auth_hosts_that_are_not_hosts_are_refused(fake, registry, tmp_path, value):
    result = fetch(fake, registry, tmp_path, mirror_auth_hosts=[value])
    assert result["failed"] is True
    assert result["msg"] == "mirror_auth_hosts: %r is not a host name or host:port (no scheme, no path)" % value
    assert registry.requests == []
