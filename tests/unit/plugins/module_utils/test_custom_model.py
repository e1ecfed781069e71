# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils import _custom_model

# As Ollama's ShowHandler writes it: fmt.Sprintf("%-30s %#v", k, v), one line per list item.
SHOWN = "\n".join([
    "%-30s %s" % ("stop", '"<|im_start|>"'),
    "%-30s %s" % ("stop", '"<|im_end|>"'),
    "%-30s %s" % ("temperature", "0.2"),
    "%-30s %s" % ("num_ctx", "4096"),
    "%-30s %s" % ("num_predict", "1e+06"),
    "%-30s %s" % ("penalize_newline", "false"),
    "%-30s %s" % ("stop", '"tab\\there \\"quoted\\" \\x00 \\u00e9"'),
])


def test_show_parameters_text_is_parsed_back_to_values():
    assert _custom_model.parse_show_parameters(SHOWN) == {
        "stop": ["<|im_start|>", "<|im_end|>", 'tab\there "quoted" \x00 \u00e9'],
        "temperature": [0.2],
        "num_ctx": [4096.0],
        "num_predict": [1000000.0],
        "penalize_newline": [False],
    }


def show(**overrides):
    reply = {"system": "Be brief.", "template": "{{ .Prompt }}", "parameters": SHOWN,
             "details": {"parent_model": "qwen2.5:0.5b"}, "messages": [{"role": "user", "content": "hi"}]}
    reply.update(overrides)
    return reply


def test_same_request_means_no_difference():
    stops = ["<|im_end|>", "<|im_start|>", 'tab\there "quoted" \x00 \u00e9']
    desired = {"from": "Qwen2.5:0.5B", "system": "Be brief.", "messages": [{"role": "user", "content": "hi"}],
               "parameters": {"temperature": 0.2, "num_ctx": 4096, "stop": stops}}
    assert _custom_model.differences(desired, show()) == []


def test_each_field_difference_is_named():
    desired = {"from": "qwen2.5:3b", "system": "Be verbose.", "template": "{{ .System }}",
               "parameters": {"temperature": 0.3}, "messages": []}
    assert _custom_model.differences(desired, show()) == ["from", "system", "template", "parameters", "messages"]


def test_inherited_parameters_are_not_compared_but_missing_ones_are():
    assert _custom_model.differences({"parameters": {"num_ctx": "4096"}}, show()) == []
    assert _custom_model.differences({"parameters": {"top_k": 40}}, show()) == ["parameters"]


def test_a_model_that_was_pulled_has_no_parent():
    assert _custom_model.differences({"from": "qwen2.5:0.5b"}, show(details={"parent_model": ""})) == ["from"]


@pytest.mark.parametrize("field, empty", [("system", ""), ("template", ""), ("messages", [])])
def test_an_empty_value_that_ollama_would_skip_is_refused_with_the_reason(field, empty):
    params = {"from": "qwen2.5:0.5b", "system": None, "template": None, "parameters": None, "messages": None}
    params[field] = empty
    with pytest.raises(_custom_model.CannotClear) as caught:
        _custom_model.desired_from_params(params)
    message = str(caught.value)
    assert message.startswith("%s: %r cannot clear the " % (field, empty))
    assert "qwen2.5:0.5b" in message and "skips an empty %s" % field in message
    assert "re-created on every run" in message


def test_values_that_are_given_or_omitted_are_kept():
    params = {"from": "qwen2.5:0.5b", "system": " ", "template": None, "parameters": {}, "messages": None}
    assert _custom_model.desired_from_params(params) == {"from": "qwen2.5:0.5b", "system": " ", "parameters": {}}
