# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.llmops.ollama.plugins.modules import ollama_model_info
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_ollama import Reply
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

READS = [("GET", "/api/version", None), ("GET", "/api/tags", None), ("GET", "/api/ps", None)]
RUNNING = {"name": "qwen2.5:0.5b", "model": "qwen2.5:0.5b", "size": 1024, "digest": "d" * 64, "details": {},
           "expires_at": "2025-05-04T17:42:44.706015396-07:00", "size_vram": 1024}


def test_lists_models_running_models_and_version(fake):
    fake.add_local("qwen2.5:0.5b")
    fake.add_local("qwen:14b", parameter_size="14B")
    fake.script("GET", "/api/ps", Reply(body={"models": [RUNNING]}))
    result = run_module(ollama_model_info, {"api_url": fake.url}, check_mode=True)
    assert result["changed"] is False
    assert result["version"] == "0.12.11"
    assert [m["name"] for m in result["models"]] == ["qwen2.5:0.5b", "qwen:14b"]
    assert result["running"] == [RUNNING]
    assert "exists" not in result and "model" not in result
    assert fake.requests == READS


def test_one_model_in_detail(fake):
    fake.add_local("qwen2.5:0.5b")
    fake.add_local("Support-Bot", parent="qwen2.5:0.5b", system="Be brief.", parameters={"temperature": 0.2, "stop": ["a", "b"]})
    result = run_module(ollama_model_info, {"api_url": fake.url, "name": "support-bot"})
    assert result["exists"] is True
    model = result["model"]
    assert model["name"] == "Support-Bot"
    assert model["system"] == "Be brief."
    assert model["details"]["parent_model"] == "qwen2.5:0.5b"
    assert model["parameters_dict"] == {"temperature": [0.2], "stop": ["a", "b"]}
    assert model["model_info"] == {}
    assert "tensors" not in model
    assert fake.requests == READS + [("POST", "/api/show", {"model": "Support-Bot"})]


def test_a_missing_model_is_not_an_error(fake):
    result = run_module(ollama_model_info, {"api_url": fake.url, "name": "nosuch"})
    assert result["exists"] is False
    assert result["model"] == {}
    assert fake.requests == READS


def test_a_model_deleted_between_list_and_show(fake):
    fake.add_local("qwen2.5:0.5b")
    fake.script("POST", "/api/show", Reply(404, body={"error": "model 'qwen2.5:0.5b' not found"}))
    result = run_module(ollama_model_info, {"api_url": fake.url, "name": "qwen2.5:0.5b"})
    assert result["exists"] is False
    assert fake.calls() == [(m, p) for m, p, _b in READS] + [("POST", "/api/show")]


def test_show_failing_otherwise_is_an_error(fake):
    fake.add_local("qwen2.5:0.5b")
    fake.script("POST", "/api/show", Reply(500, body={"error": "invalid model path"}))
    result = run_module(ollama_model_info, {"api_url": fake.url, "name": "qwen2.5:0.5b"})
    assert result["failed"] is True
    assert (result["status"], result["api_error"]) == (500, "invalid model path")
    assert result["url"] == fake.url + "/api/show"


def test_models_dir_adds_the_blobs_each_listed_model_lacks(fake, tmp_path):
    from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import install_local, sample_model
    raw, blobs = sample_model(seed="info")
    fake.models_dir = str(tmp_path)
    install_local(str(tmp_path), ["registry.ollama.ai", "library", "qwen2.5", "0.5b"], raw, blobs)
    body = max(blobs, key=lambda d: len(blobs[d]))
    whole = run_module(ollama_model_info, {"api_url": fake.url, "models_dir": str(tmp_path)})
    assert [m["blobs_missing"] for m in whole["models"]] == [[]]
    (tmp_path / "blobs" / ("sha256-" + body)).unlink()
    broken = run_module(ollama_model_info, {"api_url": fake.url, "models_dir": str(tmp_path)})
    assert [m["blobs_missing"] for m in broken["models"]] == [["sha256:" + body]]
    assert broken["changed"] is False


def test_models_dir_that_is_not_the_servers_fails_naming_it(fake, tmp_path):
    fake.add_local("qwen2.5:0.5b")
    result = run_module(ollama_model_info, {"api_url": fake.url, "models_dir": str(tmp_path)})
    assert result["failed"] is True
    assert "lists qwen2.5:0.5b, but %s has no manifest for it" % tmp_path in result["msg"]


def test_models_dir_absent_while_the_server_lists_nothing_is_fine(fake, tmp_path):
    # A host whose models/ was removed: Ollama (which re-reads it on every request) lists nothing.
    result = run_module(ollama_model_info, {"api_url": fake.url, "models_dir": str(tmp_path / "models")})
    assert result.get("failed") is not True, result
    assert result["models"] == []
