# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name


@pytest.mark.parametrize("value, parts, shortest", [
    ("qwen:14b", ("registry.ollama.ai", "library", "qwen", "14b"), "qwen:14b"),
    ("llama3.2", ("registry.ollama.ai", "library", "llama3.2", "latest"), "llama3.2:latest"),
    ("user/model:tag", ("registry.ollama.ai", "user", "model", "tag"), "user/model:tag"),
    ("host:5000/ns/model:tag", ("host:5000", "ns", "model", "tag"), "host:5000/ns/model:tag"),
    ("host:5000/ns/model", ("host:5000", "ns", "model", "latest"), "host:5000/ns/model:latest"),
    ("registry.ollama.ai/library/qwen2.5:0.5b", ("registry.ollama.ai", "library", "qwen2.5", "0.5b"), "qwen2.5:0.5b"),
    ("Registry.Ollama.AI/Library/Qwen:14B", ("Registry.Ollama.AI", "Library", "Qwen", "14B"), "Qwen:14B"),
    ("_x/y_-.z:t_-.1", ("registry.ollama.ai", "_x", "y_-.z", "t_-.1"), "_x/y_-.z:t_-.1"),
    ("m:" + "t" * 80, ("registry.ollama.ai", "library", "m", "t" * 80), "m:" + "t" * 80),
])
def test_valid_names_get_ollamas_defaults(value, parts, shortest):
    name = _model_name.parse(value)
    assert tuple(name) == parts
    assert name.shortest() == shortest


@pytest.mark.parametrize("value, fragment", [
    ("", "a model name is required"),
    ("   ", "a model name is required"),
    ("localhost:5000/model", "the namespace 'localhost:5000' may contain only"),
    ("a/b/c/d", "the host 'a/b'"),
    ("../etc/passwd", "the host '..' must start"),
    ("Llama 3", "not ' '"),
    ("m:" + "t" * 81, "81 characters long; at most 80"),
    ("n" * 81, "the model 'nnn"),
    ("ns.x/model", "the namespace 'ns.x'"),
    ("-x", "must start with a letter"),
    ("model:", "the tag is empty"),
    ("/model", "the namespace is empty"),
    ("ns/", "the model is empty"),
    ("qwen@sha256:" + "a" * 64, "digest option"),
    ("http://host:5000/ns/model", "insecure=true"),
    ("modèle", "not 'è'"),
])
def test_invalid_names_say_why(value, fragment):
    with pytest.raises(_model_name.InvalidName) as caught:
        _model_name.parse(value, option="from")
    assert str(caught.value).startswith("from: ")
    assert fragment in str(caught.value)


def test_namespace_hint_explains_the_three_part_form():
    with pytest.raises(_model_name.InvalidName) as caught:
        _model_name.parse("localhost:5000/model")
    assert "host[:port]/namespace/model[:tag]" in str(caught.value)
    assert "localhost:5000/library/model" in str(caught.value)


def test_find_matches_case_insensitively_and_with_defaults():
    listed = [{"name": "other:latest"}, {"name": "Qwen2.5:0.5B"}, {"name": "user/bot:latest"}]
    assert _model_name.find(_model_name.parse("qwen2.5:0.5b"), listed) == listed[1]
    assert _model_name.find(_model_name.parse("registry.ollama.ai/library/QWEN2.5:0.5b"), listed) == listed[1]
    assert _model_name.find(_model_name.parse("USER/bot"), listed) == listed[2]
    assert _model_name.find(_model_name.parse("qwen2.5"), listed) is None


@pytest.mark.parametrize("value", ["sha256:" + "A" * 64, "a" * 64, " sha256-" + "a" * 64 + " "])
def test_digest_forms(value):
    assert _model_name.normalize_digest(value) == "a" * 64


@pytest.mark.parametrize("value", ["sha256:abc", "md5:" + "a" * 64, "g" * 64, ""])
def test_bad_digests(value):
    with pytest.raises(_model_name.InvalidName, match="^digest: "):
        _model_name.normalize_digest(value)


@pytest.mark.parametrize("name, registry", [
    ("qwen2.5", ("registry.ollama.ai", None)),
    ("Registry.Ollama.AI/library/llama3", ("registry.ollama.ai", None)),
    ("10.0.0.5:5000/team/m:1", ("10.0.0.5", 5000)),
    ("harbor.example.com/team/m", ("harbor.example.com", None)),
])
def test_registry_of_a_name_is_its_host_and_port(name, registry):
    assert _model_name.registry_of(_model_name.parse(name)) == registry


def test_a_listed_host_allows_every_port_and_host_port_only_that_one():
    name = _model_name.parse("10.0.0.5:5000/team/m")
    assert _model_name.registry_listed(name, [("10.0.0.5", None)])
    assert _model_name.registry_listed(name, [("10.0.0.5", 5000)])
    assert not _model_name.registry_listed(name, [("10.0.0.5", 5001)])
    assert not _model_name.registry_listed(name, [])
    assert not _model_name.registry_listed(_model_name.parse("qwen2.5"), [("registry.ollama.ai", 443)])
