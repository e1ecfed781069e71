# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ollama_model_requirements: the preflight's sizing, source by source (host's Ollama, models
directory, registry, tag, default), a registry or Ollama that does not answer (skipped, reported),
a hostile models directory (links not followed, warned about by path), invalid input and check mode."""

from __future__ import annotations

import json
import os
import socket
import stat

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_model_requirements
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_ollama import Reply
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import (
    MANIFEST_V2, MODEL_TYPE, TEMPLATE_TYPE, install_local, ollama_manifest)
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

KEYS = {"name", "params_b", "parameter_size", "params_from", "bytes", "bytes_from", "on_host"}
LLAMA_PARTS = ["registry.ollama.ai", "library", "llama3", "70b"]


def model(model_type="70.6B", body=b"weights" * 1000):
    """(raw manifest, {hex: bytes}, config hex, total bytes) of a model whose config says model_type."""
    raw, blobs = ollama_manifest([(MODEL_TYPE, body), (TEMPLATE_TYPE, b"{{ .Prompt }}")], family="llama",
                                 model_type=model_type)
    manifest = json.loads(raw)
    config = manifest["config"]["digest"].split(":", 1)[1]
    total = manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
    return raw, blobs, config, total


def closed_port_url():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return "http://127.0.0.1:%d" % port


def size(fake, registry, models, models_dir=None, check_mode=False, **args):
    args.setdefault("api_url", fake.url if fake is not None else closed_port_url())
    args.setdefault("registry_url", registry.url if registry is not None else closed_port_url())
    if models_dir is not None:
        args.setdefault("models_dir", str(models_dir))
    result = run_module(ollama_model_requirements, dict(args, models=models), check_mode=check_mode)
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    for entry in result["models"]:
        assert set(entry) == KEYS | {"layers"}
        # The layers are those of the manifest that was read, so they add up to its bytes; none otherwise.
        layers = entry.pop("layers")
        if layers:
            assert sum(layer["size"] for layer in layers) == entry["bytes"]
            assert all(layer["digest"].startswith("sha256:") and len(layer["digest"]) == 71 for layer in layers)
        else:
            assert entry["bytes_from"] in ("host", "estimate"), entry
    return result


def manifest_gets(registry):
    return [(path, headers.get("Accept")) for method, path, headers in registry.requests
            if method == "GET" and "/manifests/" in path]


@pytest.fixture
def models_dir(tmp_path):
    path = tmp_path / "models"
    (path / "blobs").mkdir(parents=True)
    (path / "manifests").mkdir()
    return path


class Victim:
    """A file outside the models directory that a followed link would read."""

    def __init__(self, path, data):
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(data)
        os.chmod(str(path), 0o600)
        self.path = path
        self.data = data
        self.mtime = os.stat(str(path)).st_mtime_ns

    def assert_untouched(self):
        st = os.stat(str(self.path))
        assert self.path.read_bytes() == self.data
        assert stat.S_IMODE(st.st_mode) == 0o600
        assert st.st_mtime_ns == self.mtime


# each source, in order of precedence


def test_the_hosts_ollama_comes_first(fake, registry, models_dir):
    fake.add_local("qwen:14b", parameter_size="14.2B")
    raw, blobs, _config, _total = model()
    install_local(str(models_dir), ["registry.ollama.ai", "library", "qwen", "14b"], raw, blobs)
    registry.add_model("library/qwen", "14b", raw, blobs)
    result = size(fake, registry, ["registry.ollama.ai/library/QWEN:14b"], models_dir)
    assert result["models"] == [{"name": "registry.ollama.ai/library/QWEN:14b", "params_b": 14.2,
                                 "parameter_size": "14.2B", "params_from": "host", "bytes": 397821320,
                                 "bytes_from": "host", "on_host": True}]
    assert result["failures"] == []
    assert fake.calls() == [("GET", "/api/tags")]
    assert registry.requests == []


def test_a_model_the_host_lists_without_parameter_size_is_sized_by_its_tag(fake, registry):
    fake.script("GET", "/api/tags", Reply(body={"models": [{"name": "qwen:14b", "size": 1234, "details": {}}]}))
    entry = size(fake, registry, ["qwen:14b"])["models"][0]
    assert entry == {"name": "qwen:14b", "params_b": 14.0, "parameter_size": "14.0B", "params_from": "host",
                     "bytes": 1234, "bytes_from": "host", "on_host": True}
    assert registry.requests == []


def test_the_models_directory_comes_next(fake, registry, models_dir):
    raw, blobs, _config, total = model("8.0B")
    install_local(str(models_dir), LLAMA_PARTS, raw, blobs)
    result = size(fake, registry, ["llama3:70b"], models_dir)
    assert result["models"] == [{"name": "llama3:70b", "params_b": 8.0, "parameter_size": "8.0B",
                                 "params_from": "host data directory", "bytes": total, "bytes_from": "host",
                                 "on_host": True}]
    assert result["failures"] == [] and "warnings" not in result
    assert registry.requests == []


def test_a_manifest_on_disk_without_its_config_blob_is_sized_by_its_tag(fake, registry, models_dir):
    raw, blobs, config, total = model()
    install_local(str(models_dir), LLAMA_PARTS, raw, {h: b for h, b in blobs.items() if h != config})
    result = size(fake, registry, ["llama3:70b"], models_dir)
    assert result["models"][0] == {"name": "llama3:70b", "params_b": 70.0, "parameter_size": "70.0B",
                                   "params_from": "tag", "bytes": total, "bytes_from": "host", "on_host": True}
    assert registry.requests == []
    assert "%s is missing" % (models_dir / "blobs" / ("sha256-" + config)) in result["failures"][0]["msg"]


def test_the_registry_comes_next_and_only_the_config_blob_is_read(fake, registry, models_dir):
    raw, blobs, config, total = model()
    registry.add_model("library/llama3", "70b", raw, blobs)
    result = size(fake, registry, ["llama3:70b"], models_dir)
    assert result["models"] == [{"name": "llama3:70b", "params_b": 70.6, "parameter_size": "70.6B",
                                 "params_from": "registry", "bytes": total, "bytes_from": "registry",
                                 "on_host": False}]
    assert result["failures"] == []
    assert manifest_gets(registry) == [("/v2/library/llama3/manifests/70b", MANIFEST_V2)]
    assert registry.blob_gets() == ["/v2/library/llama3/blobs/sha256:" + config]


def test_a_registry_redirecting_blobs_to_storage_works(fake, registry, storage):
    raw, blobs, _config, _total = model()
    registry.add_model("library/llama3", "70b", raw, blobs)
    registry.redirect_blobs_to = storage
    entry = size(fake, registry, ["llama3:70b"])["models"][0]
    assert entry["params_from"] == "registry" and entry["params_b"] == 70.6
    assert len(storage.requests) == 1


@pytest.mark.parametrize("name, params_b, parameter_size", [
    ("qwen:14b", 14.0, "14.0B"),
    ("qwen2.5:0.5b", 0.5, "0.5B"),
    ("smollm:135m-instruct", 0.135, "0.135B"),
    ("llama3.1:instruct-8b-q4_K_M", 8.0, "8.0B"),
])
def test_the_tag_comes_next(fake, registry, name, params_b, parameter_size):
    result = size(fake, registry, [name])
    assert result["models"] == [{"name": name, "params_b": params_b, "parameter_size": parameter_size,
                                 "params_from": "tag", "bytes": int(float(parameter_size[:-1]) * 0.6 * 1e9),
                                 "bytes_from": "estimate", "on_host": False}]
    assert [(f["source"], f["model"]) for f in result["failures"]] == [("registry", name)]
    assert "HTTP 404" in result["failures"][0]["msg"]


def test_the_default_comes_last(fake, registry):
    result = size(fake, registry, ["llama3", "mistral:latest"], default_params_b=13, disk_gb_per_params_b=0.5)
    assert [m["params_from"] for m in result["models"]] == ["default", "default"]
    assert result["models"][0] == {"name": "llama3", "params_b": 13.0, "parameter_size": "13.0B",
                                   "params_from": "default", "bytes": 6500000000, "bytes_from": "estimate",
                                   "on_host": False}
    assert manifest_gets(registry) == [("/v2/library/llama3/manifests/latest", MANIFEST_V2),
                                       ("/v2/library/mistral/manifests/latest", MANIFEST_V2)]


# sources that do not answer


def test_a_bare_host_and_a_registry_that_is_down_fall_through_and_are_reported(tmp_path):
    result = size(None, None, ["qwen2.5:0.5b"], tmp_path / "no-such-data-dir" / "models", timeout=5)
    assert result["models"] == [{"name": "qwen2.5:0.5b", "params_b": 0.5, "parameter_size": "0.5B",
                                 "params_from": "tag", "bytes": 300000000, "bytes_from": "estimate",
                                 "on_host": False}]
    api, reg = result["failures"]
    assert api["source"] == "api" and api["model"] is None
    assert "/api/tags failed: connection refused" in api["msg"]
    assert reg["source"] == "registry" and reg["model"] == "qwen2.5:0.5b"
    assert "/v2/library/qwen2.5/manifests/0.5b failed: connection refused" in reg["msg"]
    assert "warnings" not in result
    assert not (tmp_path / "no-such-data-dir").exists()


def test_a_registry_that_fails_is_reported_with_its_status_and_error(fake, registry):
    registry.require_token = True
    registry.token_realm = closed_port_url() + "/token"
    entry_and_failures = size(fake, registry, ["qwen:14b"])
    assert entry_and_failures["models"][0]["params_from"] == "tag"
    assert "the token for" in entry_and_failures["failures"][0]["msg"]


def test_a_registry_config_blob_with_other_bytes_is_not_used(fake, registry):
    raw, blobs, config, total = model()
    registry.add_model("library/llama3", "70b", raw, blobs)
    registry.corrupt.add(config)
    result = size(fake, registry, ["llama3:70b"])
    assert result["models"][0] == {"name": "llama3:70b", "params_b": 70.0, "parameter_size": "70.0B",
                                   "params_from": "tag", "bytes": total, "bytes_from": "registry", "on_host": False}
    assert "do not have the sha256 the manifest gives" in result["failures"][0]["msg"]


def test_a_registry_manifest_whose_digest_has_trailing_characters_names_no_blob(fake, registry):
    raw, blobs, config, _total = model()
    bad = raw.replace(b'"sha256:%s"' % config.encode(), b'"sha256:%s\\n"' % config.encode())
    registry.add_model("library/llama3", "70b", bad, blobs)
    result = size(fake, registry, ["llama3:70b"])
    assert result["models"][0]["params_from"] == "tag" and result["models"][0]["bytes_from"] == "estimate"
    assert "the digest of config is not sha256:<64 lower-case hex> exactly" in result["failures"][0]["msg"]
    assert registry.blob_gets() == []


def test_a_host_qualified_name_asks_its_own_registry_over_https(fake, registry):
    result = size(fake, registry, ["localhost:1/team/coder:7b"])
    assert result["models"][0]["params_from"] == "tag"
    assert "https://localhost:1/v2/team/coder/manifests/7b" in result["failures"][0]["msg"]
    assert registry.requests == []


def test_ollama_answering_with_an_error_is_reported(fake, registry):
    fake.script("GET", "/api/tags", Reply(500, body={"error": "boom"}))
    result = size(fake, registry, ["qwen:14b"])
    assert result["failures"][0] == {"source": "api", "model": None,
                                     "msg": "GET %s/api/tags answered HTTP 500: boom" % fake.url}


# a hostile models directory


def test_a_symlinked_manifest_is_not_followed(fake, registry, models_dir, tmp_path):
    raw, blobs, _config, total = model()
    path = install_local(str(models_dir), LLAMA_PARTS, raw, blobs)
    planted, planted_blobs, _c, _t = model("1.0B")
    victim = Victim(tmp_path / "outside" / "victim", planted)  # a valid manifest: following it would show
    install_local(str(models_dir), ["registry.ollama.ai", "library", "other", "1b"], planted, planted_blobs)
    os.remove(path)
    os.symlink(str(victim.path), path)
    registry.add_model("library/llama3", "70b", raw, blobs)
    result = size(fake, registry, ["llama3:70b"], models_dir)
    assert result["models"][0] == {"name": "llama3:70b", "params_b": 70.6, "parameter_size": "70.6B",
                                   "params_from": "registry", "bytes": total, "bytes_from": "registry",
                                   "on_host": False}
    assert len(result["warnings"]) == 1
    assert "%s is a symbolic link, not a regular file" % path in result["warnings"][0]
    assert "treated as not on disk" in result["warnings"][0]
    assert result["failures"][0]["source"] == "models_dir"
    assert os.path.islink(path)
    victim.assert_untouched()


def test_a_symlinked_config_blob_is_not_followed(fake, registry, models_dir, tmp_path):
    raw, blobs, config, total = model()
    install_local(str(models_dir), LLAMA_PARTS, raw, blobs)
    blob = models_dir / "blobs" / ("sha256-" + config)
    victim = Victim(tmp_path / "outside" / "victim", blobs[config])  # the right bytes: still refused
    blob.unlink()
    blob.symlink_to(victim.path)
    result = size(fake, registry, ["llama3:70b"], models_dir)
    assert result["models"][0] == {"name": "llama3:70b", "params_b": 70.0, "parameter_size": "70.0B",
                                   "params_from": "tag", "bytes": total, "bytes_from": "host", "on_host": True}
    assert len(result["warnings"]) == 1
    assert "%s is a symbolic link, not a regular file" % blob in result["warnings"][0]
    assert blob.is_symlink()
    victim.assert_untouched()
    assert registry.requests == []


def test_a_fifo_as_config_blob_does_not_hang(fake, registry, models_dir):
    raw, blobs, config, _total = model()
    install_local(str(models_dir), LLAMA_PARTS, raw, blobs)
    blob = models_dir / "blobs" / ("sha256-" + config)
    blob.unlink()
    os.mkfifo(str(blob))
    result = size(fake, registry, ["llama3:70b"], models_dir)
    assert result["models"][0]["params_from"] == "tag"
    assert "%s is a FIFO" % blob in result["warnings"][0]


def test_a_symlinked_models_directory_is_not_followed(fake, registry, tmp_path):
    raw, blobs, _config, _total = model()
    real = tmp_path / "outside" / "models"
    install_local(str(real), LLAMA_PARTS, raw, blobs)
    link = tmp_path / "data" / "models"
    link.parent.mkdir()
    link.symlink_to(real)
    result = size(fake, registry, ["llama3:70b"], link)
    assert result["models"][0]["on_host"] is False
    assert "%s is a symbolic link, not a directory" % link in result["warnings"][0]


def test_a_manifest_digest_with_a_trailing_newline_is_refused(fake, registry, models_dir):
    raw, blobs, config, _total = model()
    bad = raw.replace(b'"sha256:%s"' % config.encode(), b'"sha256:%s\\n"' % config.encode())
    path = install_local(str(models_dir), LLAMA_PARTS, bad, blobs)
    result = size(fake, registry, ["llama3:70b"], models_dir)
    assert result["models"][0]["on_host"] is False
    assert path in result["warnings"][0]
    assert "the digest of config is not sha256:<64 lower-case hex> exactly" in result["warnings"][0]


def test_a_config_blob_that_does_not_match_its_digest_is_not_used(fake, registry, models_dir):
    raw, blobs, config, total = model()
    install_local(str(models_dir), LLAMA_PARTS, raw, blobs)
    blob = models_dir / "blobs" / ("sha256-" + config)
    data = blob.read_bytes()
    blob.write_bytes(data.replace(b"70.6B", b"99.9B"))
    result = size(fake, registry, ["llama3:70b"], models_dir)
    assert result["models"][0]["params_from"] == "tag" and result["models"][0]["bytes"] == total
    assert "%s does not hold the bytes its digest names" % blob in result["warnings"][0]
    assert "99.9B" not in result["warnings"][0]


# input and modes


@pytest.mark.parametrize("models, message", [
    (["qwen2.5:0.5b", "UPPER CASE"], "models: 'UPPER CASE' is not a valid Ollama model name"),
    (["../etc/passwd"], "models: '../etc/passwd' is not a valid Ollama model name"),
    (["http://example.com/x"], "models: 'http://example.com/x' has a URL scheme"),
    ([""], "models: a model name is required, got ''"),
])
def test_invalid_names_fail_before_any_request(fake, registry, models, message):
    result = run_module(ollama_model_requirements, {"models": models, "api_url": fake.url,
                                                    "registry_url": registry.url})
    assert result["failed"] is True
    assert message in result["msg"]
    assert fake.requests == [] and registry.requests == []


@pytest.mark.parametrize("args, message", [
    ({"registry_url": "https://user:pw@registry.example.com"}, "registry_url: the URL carries credentials"),
    ({"registry_url": "registry.example.com"}, "registry_url: 'registry.example.com' is not a registry URL"),
    ({"registry_timeout": 0}, "registry_timeout: 0 must be a positive number of seconds"),
    ({"api_url": "localhost:11434"}, "api_url: 'localhost:11434' has no scheme"),
])
def test_invalid_options_fail_before_any_request(fake, registry, args, message):
    args = dict({"models": ["qwen:14b"], "api_url": fake.url, "registry_url": registry.url}, **args)
    result = run_module(ollama_model_requirements, args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert "pw" not in result["msg"]
    assert fake.requests == [] and registry.requests == []


def test_no_models_no_requests(fake, registry):
    assert size(fake, registry, [])["models"] == []
    assert fake.requests == [] and registry.requests == []


def test_check_mode_gives_the_same_figures_and_only_reads(fake, registry, models_dir):
    fake.add_local("qwen:14b", parameter_size="14.2B")
    raw, blobs, _config, _total = model()
    registry.add_model("library/llama3", "70b", raw, blobs)
    normal = size(fake, registry, ["qwen:14b", "llama3:70b", "phi3"], models_dir)
    before = sorted(os.listdir(str(models_dir / "blobs"))), sorted(os.listdir(str(models_dir / "manifests")))
    checked = size(fake, registry, ["qwen:14b", "llama3:70b", "phi3"], models_dir, check_mode=True)
    assert checked == normal
    assert {method for method, _path in fake.calls() + registry.calls()} == {"GET"}
    assert (sorted(os.listdir(str(models_dir / "blobs"))), sorted(os.listdir(str(models_dir / "manifests")))) == before


def test_headers_go_to_ollama_only(fake, registry):
    raw, blobs, _config, _total = model()
    registry.add_model("library/llama3", "70b", raw, blobs)
    size(fake, registry, ["llama3:70b"], headers={"Authorization": "Bearer s3cret"})
    assert fake.headers[0]["Authorization"] == "Bearer s3cret"
    assert all("Authorization" not in headers for _m, _p, headers in registry.requests)
