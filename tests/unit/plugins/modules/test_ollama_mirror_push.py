# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import os

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_mirror_push
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import install_local, sample_model, sha256
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

QWEN_PARTS = ["registry.ollama.ai", "library", "qwen2.5", "0.5b"]
REPO = "library/qwen2.5"


@pytest.fixture
def local(tmp_path):
    raw, blobs = sample_model()
    install_local(str(tmp_path), QWEN_PARTS, raw, blobs)
    return str(tmp_path), raw, blobs


def run(registry, models_dir, check_mode=False, diff=False, **args):
    args.setdefault("name", "qwen2.5:0.5b")
    args.setdefault("mirror", registry.url)
    args["models_dir"] = models_dir
    return run_module(ollama_mirror_push, args, check_mode=check_mode, diff=diff)


def test_push_uploads_blobs_then_the_manifest(registry, local):
    models_dir, raw, blobs = local
    result = run(registry, models_dir, diff=True)
    assert result["changed"] is True
    assert result["repository"] == "library/qwen2.5:0.5b"
    assert result["digest"] == sha256(raw)
    assert sorted(result["blobs_pushed"]) == sorted("sha256:" + d for d in blobs)
    assert result["bytes_pushed"] == sum(len(d) for d in blobs.values())
    assert result["blobs_present"] == 0
    assert result["diff"] == {"before": {"repository": "library/qwen2.5:0.5b", "digest": None},
                              "after": {"repository": "library/qwen2.5:0.5b", "digest": sha256(raw)}}
    assert registry.manifests[(REPO, "0.5b")] == raw
    assert all(registry.blobs[d] == data for d, data in blobs.items())
    assert registry.calls()[-1] == ("PUT", "/v2/library/qwen2.5/manifests/0.5b")


def test_a_second_push_sends_one_read(registry, local):
    models_dir, _raw, _blobs = local
    run(registry, models_dir)
    registry.requests.clear()
    result = run(registry, models_dir)
    assert result["changed"] is False
    assert result["blobs_pushed"] == [] and result["actions"] == []
    assert registry.calls() == [("GET", "/v2/library/qwen2.5/manifests/0.5b")]


def test_blobs_the_registry_has_are_skipped(registry, local, tmp_path_factory):
    models_dir, raw, blobs = local
    other_raw, other_blobs = sample_model()
    registry.add_model(REPO, "old", other_raw, other_blobs)  # the same blobs, another tag
    result = run(registry, models_dir)
    assert result["changed"] is True
    assert result["blobs_pushed"] == [] and result["blobs_present"] == len(blobs)
    assert [c for c in registry.calls() if c[0] in ("POST", "PUT")] == [("PUT", "/v2/library/qwen2.5/manifests/0.5b")]


def test_a_moved_tag_is_overwritten(registry, local):
    models_dir, raw, _blobs = local
    old_raw, old_blobs = sample_model(seed="older")
    registry.add_model(REPO, "0.5b", old_raw, old_blobs)
    result = run(registry, models_dir, diff=True)
    assert result["changed"] is True
    assert result["diff"]["before"]["digest"] == sha256(old_raw)
    assert registry.manifests[(REPO, "0.5b")] == raw


def test_check_mode_reads_only_and_predicts(registry, local):
    models_dir, _raw, blobs = local
    result = run(registry, models_dir, check_mode=True)
    assert result["changed"] is True
    assert len(result["blobs_pushed"]) == len(blobs)
    assert {m for m, _p in registry.calls()} == {"GET", "HEAD"}
    assert registry.manifests == {}


def test_a_model_not_on_the_host_fails_naming_the_path(registry, tmp_path):
    result = run(registry, str(tmp_path), name="qwen:14b")
    assert result["failed"] is True
    assert "qwen:14b is not in %s (no manifest at %s)" % (
        tmp_path, tmp_path / "manifests/registry.ollama.ai/library/qwen/14b") in result["msg"]
    assert registry.requests == []


def test_a_model_with_a_missing_blob_is_not_pushed(registry, local):
    models_dir, raw, blobs = local
    victim = sorted(blobs)[0]
    os.remove(os.path.join(models_dir, "blobs", "sha256-" + victim))
    result = run(registry, models_dir)
    assert result["failed"] is True
    assert "is incomplete" in result["msg"] and victim in result["msg"]
    assert registry.requests == []


def test_a_read_only_mirror_fails_naming_the_url_status_and_registry_error(registry, local):
    models_dir, _raw, _blobs = local
    registry.read_only = True
    result = run(registry, models_dir)
    assert result["failed"] is True
    assert result["msg"] == ("pushing qwen2.5:0.5b to %s failed: POST %s/v2/library/qwen2.5/blobs/uploads/ answered "
                             "HTTP 403: DENIED: requested access to the resource is denied" % (registry.url, registry.url))
    assert result["status"] == 403
    assert result["api_error"] == "DENIED: requested access to the resource is denied"
    assert registry.manifests == {}


def test_unreachable_mirror(local):
    models_dir, _raw, _blobs = local
    result = run_module(ollama_mirror_push, {"name": "qwen2.5:0.5b", "mirror": "http://127.0.0.1:9",
                                             "models_dir": models_dir, "timeout": 2})
    assert result["failed"] is True
    assert result["msg"].startswith("pushing qwen2.5:0.5b to http://127.0.0.1:9 failed: GET "
                                    "http://127.0.0.1:9/v2/library/qwen2.5/manifests/0.5b failed: connection refused")
    assert result["mirror"] == "http://127.0.0.1:9"


@pytest.mark.parametrize("args, fragment", [
    ({"mirror": "10.0.0.1:5000"}, "mirror: '10.0.0.1:5000' is not a registry URL"),
    ({"name": "localhost:5000/model"}, "name: 'localhost:5000/model'"),
    ({"timeout": 0}, "timeout: 0"),
    ({"headers": {"X": 1}}, "headers: the value of 'X' must be a string"),
])
def test_bad_input_sends_nothing(registry, tmp_path, args, fragment):
    result = run(registry, str(tmp_path), **args)
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert registry.requests == []
