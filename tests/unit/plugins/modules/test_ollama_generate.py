# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_generate
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_ollama import Reply
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

QWEN = "qwen2.5:0.5b"


def test_prompt_goes_to_generate_with_the_options(fake):
    fake.add_local(QWEN)
    result = run_module(ollama_generate, {"api_url": fake.url, "model": "Qwen2.5:0.5b", "prompt": "Say hello.",
                                          "system": "Be brief.", "options": {"seed": 1, "num_predict": 8},
                                          "keep_alive": "10m", "format": "json"})
    assert result["changed"] is False
    assert result["response"] == "Hello there."
    assert result["done_reason"] == "stop"
    assert result["eval_count"] == 30 and result["eval_duration"] == 600000000
    assert result["prompt_eval_count"] == 12 and result["total_duration"] == 900000000
    assert result["load_duration"] == 100000000 and result["prompt_eval_duration"] == 50000000
    assert result["tokens_per_second"] == pytest.approx(50.0)
    assert "message" not in result
    assert fake.requests == [("POST", "/api/generate", {
        "model": "Qwen2.5:0.5b", "prompt": "Say hello.", "system": "Be brief.", "options": {"seed": 1, "num_predict": 8},
        "keep_alive": "10m", "format": "json", "stream": True})]


def test_messages_go_to_chat_with_the_system_prompt_first(fake):
    fake.add_local(QWEN)
    result = run_module(ollama_generate, {"api_url": fake.url, "model": QWEN, "system": "Be brief.",
                                          "messages": [{"role": "user", "content": "Hi"}]}, check_mode=True)
    assert result["changed"] is False
    assert result["message"] == {"role": "assistant", "content": "Hello there."}
    assert result["response"] == "Hello there."
    assert fake.requests == [("POST", "/api/chat", {
        "model": QWEN, "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "stream": True})]


def test_unknown_model(fake):
    result = run_module(ollama_generate, {"api_url": fake.url, "model": "nosuch", "prompt": "hi"})
    assert result["failed"] is True
    assert (result["status"], result["api_error"]) == (404, "model 'nosuch:latest' not found")
    assert result["model"] == "nosuch:latest"


def test_an_error_in_the_middle_of_the_answer(fake):
    fake.add_local(QWEN)
    fake.script("POST", "/api/generate", Reply(lines=[{"response": "Hel", "done": False}, {"error": "llama runner process has terminated"}]))
    result = run_module(ollama_generate, {"api_url": fake.url, "model": QWEN, "prompt": "hi"})
    assert result["failed"] is True
    assert result["status"] == 200
    assert result["api_error"] == "llama runner process has terminated"


def test_an_answer_cut_before_done(fake):
    fake.add_local(QWEN)
    fake.script("POST", "/api/generate", Reply(lines=[{"response": "Hel", "done": False}]))
    result = run_module(ollama_generate, {"api_url": fake.url, "model": QWEN, "prompt": "hi"})
    assert result["failed"] is True
    assert "ended before done" in result["msg"]


def test_no_generation_time_means_no_speed(fake):
    fake.add_local(QWEN)
    fake.script("POST", "/api/generate", Reply(lines=[{"model": QWEN, "response": "", "done": True, "done_reason": "load"}]))
    result = run_module(ollama_generate, {"api_url": fake.url, "model": QWEN, "prompt": ""})
    assert result["done_reason"] == "load"
    assert result["tokens_per_second"] is None
    assert "eval_count" not in result


@pytest.mark.parametrize("given, sent", [("10m", "10m"), ("-1", -1), (0, 0), (" 300 ", 300), ("1h30m", "1h30m")])
def test_keep_alive_is_sent_as_ollama_reads_it(fake, given, sent):
    fake.add_local(QWEN)
    result = run_module(ollama_generate, {"api_url": fake.url, "model": QWEN, "prompt": "", "keep_alive": given})
    assert result["changed"] is False
    assert fake.requests[0][2]["keep_alive"] == sent


def test_a_whole_answer_slower_than_answer_timeout_fails_though_each_piece_came_in_time(fake):
    fake.add_local(QWEN)
    lines = [{"response": "O", "done": False}, {"response": "K", "done": False}, {"response": "", "done": True}]
    fake.script("POST", "/api/generate", Reply(lines=lines, stall_after=1, stall=1.6))
    result = run_module(ollama_generate, {"api_url": fake.url, "model": QWEN, "prompt": "hi", "timeout": 5,
                                          "answer_timeout": 1})
    assert result["failed"] is True
    assert "longer than answer_timeout (1 s) after the model had loaded" in result["msg"]
    assert result["model"] == QWEN


def test_an_answer_within_answer_timeout_passes(fake):
    fake.add_local(QWEN)
    fake.script("POST", "/api/generate", Reply(lines=[{"response": "OK", "done": True, "eval_count": 1}]))
    result = run_module(ollama_generate, {"api_url": fake.url, "model": QWEN, "prompt": "hi", "answer_timeout": 5})
    assert result.get("failed") is not True and result["response"] == "OK"
