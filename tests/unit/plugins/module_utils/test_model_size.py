# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rules of _model_size (the figures the preflight role computed in Jinja before) and the
small-blob read it adds to RegistryClient."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils import _model_size
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import ACCEPT_MANIFEST, RegistryClient
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import sample_model


@pytest.mark.parametrize("text, params_b", [
    ("494.03M", 0.49403), ("70.6B", 70.6), ("7.6b", 7.6), ("1.2T", 1200.0), ("135K", 0.000135),
    ("8 B", 8.0), ("", None), ("unknown", None), ("B7", None), (None, None),
])
def test_params_from_text(text, params_b):
    got = _model_size.params_from_text(text)
    assert got == pytest.approx(params_b) if params_b is not None else got is None


@pytest.mark.parametrize("tag, params_b", [
    ("14b", 14.0), ("0.5b", 0.5), ("500m", 0.5), ("7B-instruct", 7.0), ("instruct-8b-q4_K_M", 8.0),
    ("q4_1.5b", 1.5), ("latest", None), ("v2", None), ("14bit", None), ("x14b", None),
])
def test_params_from_tag(tag, params_b):
    got = _model_size.params_from_tag(tag)
    assert got == pytest.approx(params_b) if params_b is not None else got is None


@pytest.mark.parametrize("text, model_type", [
    ('{"model_type": "7.6B"}', "7.6B"), ('  {"model_type": "7.6B"}', "7.6B"), ('{"model_type": 7}', ""),
    ("{not json", ""), ("[1]", ""), ("", ""), (None, ""), ('{"model_family": "llama"}', ""),
])
def test_model_type_of(text, model_type):
    assert _model_size.model_type_of(text) == model_type


@pytest.mark.parametrize("value, number", [("12", 12), (12.9, 12), ("12.5", 12), (None, 0), ("x", 0)])
def test_as_int_as_jinja(value, number):
    assert _model_size.as_int(value) == number


def test_read_blob_returns_verified_bytes(registry):
    raw, blobs = sample_model()
    registry.add_model("library/qwen", "1b", raw, blobs)
    small = min(blobs, key=lambda h: len(blobs[h]))
    client = RegistryClient(registry.url, 5)
    assert client.read_blob("library/qwen", small, len(blobs[small])) == blobs[small]
    assert registry.requests[-1][2]["Accept"] == "application/octet-stream"


def test_read_blob_refuses_other_bytes_a_wrong_size_and_a_big_blob(registry):
    raw, blobs = sample_model()
    registry.add_model("library/qwen", "1b", raw, blobs)
    small = min(blobs, key=lambda h: len(blobs[h]))
    client = RegistryClient(registry.url, 5)
    with pytest.raises(ApiError, match="the manifest gives %d" % (len(blobs[small]) - 1)):
        client.read_blob("library/qwen", small, len(blobs[small]) - 1)
    registry.corrupt.add(small)
    with pytest.raises(ApiError, match="do not have the sha256"):
        client.read_blob("library/qwen", small, len(blobs[small]))
    count = len(registry.requests)
    big = max(blobs, key=lambda h: len(blobs[h]))
    with pytest.raises(ApiError, match="read only up to 1000"):
        client.read_blob("library/qwen", big, len(blobs[big]), limit=1000)
    with pytest.raises(ApiError, match="not 64 lower-case hex"):
        client.read_blob("library/qwen", small + "\n", 10)
    assert len(registry.requests) == count


def test_get_manifest_sends_the_accept_asked_for_and_both_by_default(registry):
    raw, blobs = sample_model()
    registry.add_model("library/qwen", "1b", raw, blobs)
    client = RegistryClient(registry.url, 5)
    assert client.get_manifest("library/qwen", "1b")[0] == raw
    assert client.get_manifest("library/qwen", "1b", accept="application/vnd.docker.distribution.manifest.v2+json")
    accepts = [headers["Accept"] for _m, _p, headers in registry.requests]
    assert accepts == [ACCEPT_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"]
