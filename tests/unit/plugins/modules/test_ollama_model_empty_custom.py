# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""An empty system/template/messages for a custom model: Ollama's create skips empty values, so
the base's would stay; ollama_model refuses them, before any create, instead of re-creating the
model on every run."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_model
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

QWEN = "qwen2.5:0.5b"


@pytest.mark.parametrize("field, empty", [("system", ""), ("template", ""), ("messages", [])])
def test_an_empty_field_is_refused_before_anything_is_created(fake, field, empty):
    fake.add_local(QWEN)
    args = {"api_url": fake.url, "name": "bot", "from": QWEN, field: empty}
    for run in (1, 2):  # the same on every run: never a create
        result = run_module(ollama_model, args)
        assert result["failed"] is True, run
        assert result["msg"].startswith("%s: %r cannot clear the " % (field, empty)), result["msg"]
        assert (result["model"], result["api_url"]) == ("bot:latest", fake.url)
    assert [call for call in fake.calls() if call[1] == "/api/create"] == []
    assert [model for model in fake.local if model.startswith("bot")] == []


def test_a_custom_model_with_real_values_is_still_left_alone_on_the_second_run(fake):
    fake.add_local(QWEN)
    args = {"api_url": fake.url, "name": "bot", "from": QWEN, "system": "Be brief."}
    assert run_module(ollama_model, args)["changed"] is True
    assert run_module(ollama_model, args)["changed"] is False
