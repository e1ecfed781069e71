# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Bad input fails with a message naming the option and the value, and sends nothing."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_generate, ollama_model, ollama_model_info
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

MODEL = ollama_model
INFO = ollama_model_info
GENERATE = ollama_generate

# (module, arguments, fragments the message must contain)
INVALID = [
    (MODEL, {"name": ""}, ["name: ", "''"]),
    (MODEL, {"name": "../etc/passwd"}, ["name: '../etc/passwd'", "host '..'"]),
    (MODEL, {"name": "My Llama Model"}, ["name: 'My Llama Model'", "not ' '"]),
    (MODEL, {"name": "qwen:" + "x" * 81}, ["name: 'qwen:" + "x" * 81 + "'", "81 characters long; at most 80"]),
    (MODEL, {"name": "localhost:5000/model"},
     ["name: 'localhost:5000/model'", "namespace 'localhost:5000'", "host[:port]/namespace/model[:tag]"]),
    (MODEL, {"name": "qwen", "state": "bogus"}, ["state", "bogus"]),
    (MODEL, {"name": "bot", "from": "qwen", "parameters": ["temperature", 0.2]},
     ["parameters: must be a dict", "got list ['temperature', 0.2]"]),
    (MODEL, {"name": "bot", "from": "qwen", "parameters": "temperature=0.2"},
     ["parameters: must be a dict", "got str 'temperature=0.2'"]),
    (MODEL, {"name": "qwen", "api_url": "localhost:11434"}, ["api_url: 'localhost:11434' has no scheme"]),
    (MODEL, {"name": "qwen", "api_url": "ftp://host/"}, ["api_url: 'ftp://host/'"]),
    (MODEL, {"name": "qwen", "digest": "sha256:1234"}, ["digest: 'sha256:1234'"]),
    (MODEL, {"name": "bot", "from": "Bad Base"}, ["from: 'Bad Base'"]),
    (MODEL, {"name": "bot", "system": "Be kind."}, ["from", "system"]),
    (MODEL, {"name": "bot", "from": "qwen", "digest": "a" * 64}, ["digest", "from"]),
    (MODEL, {"name": "bot", "state": "absent", "from": "qwen", "system": "Be kind."},
     ["state=absent", "from='qwen', system='Be kind.'"]),
    (MODEL, {"name": "bot", "state": "latest", "from": "qwen"}, ["state=latest", "from='qwen'"]),
    (MODEL, {"name": "bot", "from": "qwen", "messages": [{"role": "bot", "content": "hi"}]}, ["role", "bot"]),
    (MODEL, {"name": "qwen", "timeout": 0}, ["timeout: 0"]),
    (MODEL, {"name": "qwen", "pull_timeout": -1}, ["pull_timeout: -1"]),
    (MODEL, {"name": "qwen", "headers": {"X-Count": 3}}, ["headers", "'X-Count'", "int"]),
    (INFO, {"name": "qwen@sha256:" + "a" * 64}, ["name: 'qwen@sha256:"]),
    (INFO, {"api_url": "127.0.0.1:11434"}, ["api_url: '127.0.0.1:11434' has no scheme"]),
    (GENERATE, {"model": "Qwen 2.5", "prompt": "hi"}, ["model: 'Qwen 2.5'"]),
    (GENERATE, {"model": "qwen", "prompt": "hi", "messages": [{"role": "user", "content": "hi"}]},
     ["mutually exclusive", "prompt", "messages"]),
    (GENERATE, {"model": "qwen"}, ["one of the following is required", "prompt", "messages"]),
    (GENERATE, {"model": "qwen", "prompt": "hi", "format": "yaml"}, ["format: 'yaml'"]),
    (GENERATE, {"model": "qwen", "prompt": "hi", "keep_alive": [5]}, ["keep_alive: [5]"]),
]


@pytest.mark.parametrize("module, args, fragments", INVALID,
                         ids=["%s-%d" % (m.__name__.rsplit(".", 1)[-1], i) for i, (m, _a, _f) in enumerate(INVALID)])
def test_bad_input_is_refused_before_any_request(fake, module, args, fragments):
    args = dict(args)
    args.setdefault("api_url", fake.url)
    result = run_module(module, args)
    assert result["failed"] is True
    for fragment in fragments:
        assert fragment in result["msg"]
    assert fake.requests == []


def test_the_table_covers_every_case_the_issue_names():
    named = {"", "../etc/passwd", "localhost:5000/model"}
    names = {args.get("name") for _m, args, _f in INVALID}
    assert named <= names
    assert any(args.get("state") == "bogus" for _m, args, _f in INVALID)
    assert any(isinstance(args.get("parameters"), list) for _m, args, _f in INVALID)
    assert any(" " in (args.get("name") or "") and args["name"] != args["name"].lower() for _m, args, _f in INVALID)
    assert any(len((args.get("name") or "").partition(":")[2]) == 81 for _m, args, _f in INVALID)
    assert any("://" not in args.get("api_url", "://") for _m, args, _f in INVALID)
