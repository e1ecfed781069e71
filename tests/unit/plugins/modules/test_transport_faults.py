# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Slow, absent, busy and confused servers, seen through the modules."""

from __future__ import annotations

import socket
from unittest import mock

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_generate, ollama_model, ollama_model_info
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_ollama import BUSY, Reply
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

QWEN = "qwen2.5:0.5b"


@pytest.fixture
def sleeps():
    with mock.patch("ansible_collections.llmops.ollama.plugins.module_utils._http.time.sleep") as sleep:
        yield sleep


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_slow_server_times_out_with_a_clear_message(fake):
    fake.script("GET", "/api/tags", Reply(body={"models": []}, delay=1.5))
    result = run_module(ollama_model, {"name": QWEN, "api_url": fake.url, "timeout": 1})
    assert result["failed"] is True
    assert result["msg"] == "GET %s/api/tags failed: no answer within 1 seconds (the time-out applies to each read)" % fake.url
    assert result["status"] is None
    assert fake.calls() == [("GET", "/api/tags")]


def test_a_pull_that_stalls_longer_than_pull_timeout(fake):
    stalling = Reply(lines=[{"status": "pulling manifest"}, {"status": "success"}], stall_after=1, stall=1.5)
    fake.script("POST", "/api/pull", stalling)
    result = run_module(ollama_model, {"name": QWEN, "api_url": fake.url, "pull_timeout": 1})
    assert result["failed"] is True
    assert "no answer within 1 seconds" in result["msg"]
    assert result["msg"].startswith("pulling qwen2.5:0.5b failed: POST %s/api/pull" % fake.url)
    assert fake.calls() == [("GET", "/api/tags"), ("POST", "/api/pull")]


def test_refused_connection():
    url = "http://127.0.0.1:%d" % closed_port()
    result = run_module(ollama_model_info, {"api_url": url})
    assert result["failed"] is True
    assert result["msg"] == ("GET %s/api/version failed: connection refused: is the API running and listening"
                             " at that address?" % url)
    assert result["url"] == url + "/api/version"
    assert result["api_url"] == url


def test_non_json_reply(fake):
    fake.script("GET", "/api/tags", Reply(text="<html><body>Welcome to nginx!</body></html>", content_type="text/html"))
    result = run_module(ollama_model, {"name": QWEN, "api_url": fake.url})
    assert result["failed"] is True
    assert "answered HTTP 200 with a body that is not JSON (Content-Type text/html)" in result["msg"]
    assert "Welcome to nginx!" in result["msg"]
    assert fake.calls() == [("GET", "/api/tags")]


def test_not_ollama_at_that_path(fake):
    result = run_module(ollama_model, {"name": QWEN, "api_url": fake.url + "/v1"})
    assert result["failed"] is True
    assert result["status"] == 404
    assert result["api_error"] is None
    assert result["msg"] == "GET %s/v1/api/tags answered HTTP 404: 404 page not found" % fake.url
    assert fake.calls() == [("GET", "/v1/api/tags")]


def test_a_busy_server_is_retried_for_reads(fake, sleeps):
    fake.add_local(QWEN)
    fake.script("GET", "/api/tags", Reply(503, body={"error": BUSY}), Reply(503, body={"error": BUSY}))
    result = run_module(ollama_model, {"name": QWEN, "api_url": fake.url})
    assert result["changed"] is False
    assert [c.args for c in sleeps.call_args_list] == [(1.0,), (2.0,)]
    assert fake.calls() == [("GET", "/api/tags")] * 3


def test_a_server_that_stays_busy_fails_after_three_retries(fake, sleeps):
    fake.script("POST", "/api/generate", *[Reply(503, body={"error": BUSY})] * 4)
    fake.add_local(QWEN)
    result = run_module(ollama_generate, {"model": QWEN, "prompt": "hi", "api_url": fake.url})
    assert result["failed"] is True
    assert result["status"] == 503
    assert result["api_error"] == BUSY
    assert result["msg"].endswith("HTTP 503: %s (after 3 retries)" % BUSY)
    assert [c.args for c in sleeps.call_args_list] == [(1.0,), (2.0,), (4.0,)]
    assert fake.calls() == [("POST", "/api/generate")] * 4


def test_writes_are_not_retried(fake, sleeps):
    fake.script("POST", "/api/pull", Reply(503, body={"error": BUSY}))
    result = run_module(ollama_model, {"name": QWEN, "api_url": fake.url})
    assert result["failed"] is True
    assert result["status"] == 503
    assert sleeps.call_args_list == []
    assert fake.calls() == [("GET", "/api/tags"), ("POST", "/api/pull")]


def test_a_stream_line_that_is_not_json(fake):
    fake.add_local(QWEN)
    fake.script("POST", "/api/generate", Reply(lines=[{"response": "Hi", "done": False}, "<html>oops"]))
    result = run_module(ollama_generate, {"model": QWEN, "prompt": "hi", "api_url": fake.url})
    assert result["failed"] is True
    assert "sent a stream line that is not JSON: '<html>oops'" in result["msg"]


def test_headers_are_sent_with_every_request(fake):
    fake.add_local(QWEN)
    result = run_module(ollama_model_info, {"name": QWEN, "api_url": fake.url, "headers": {"Authorization": "Bearer s3cret"}})
    assert result["exists"] is True
    assert len(fake.headers) == 4
    assert all(h["Authorization"] == "Bearer s3cret" for h in fake.headers)


def test_an_unexpected_os_error_is_reported_not_raised(fake):
    with mock.patch("ansible.module_utils.urls.Request.open", side_effect=OSError(28, "No space left on device")):
        result = run_module(ollama_model, {"name": QWEN, "api_url": fake.url})
    assert result["failed"] is True
    assert result["msg"] == "GET %s/api/tags failed: [Errno 28] No space left on device" % fake.url
