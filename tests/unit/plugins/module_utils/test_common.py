# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._common import InvalidOption, resolve_api_url


@pytest.mark.parametrize("env, url", [
    ({}, "http://127.0.0.1:11434"),
    ({"OLLAMA_HOST": ""}, "http://127.0.0.1:11434"),
    ({"OLLAMA_HOST": "0.0.0.0:11434"}, "http://127.0.0.1:11434"),
    ({"OLLAMA_HOST": "0.0.0.0"}, "http://127.0.0.1:11434"),
    ({"OLLAMA_HOST": ":8080"}, "http://127.0.0.1:8080"),
    ({"OLLAMA_HOST": "ollama.internal"}, "http://ollama.internal:11434"),
    ({"OLLAMA_HOST": "10.0.0.5:11500"}, "http://10.0.0.5:11500"),
    ({"OLLAMA_HOST": "\"10.0.0.5:11500\" "}, "http://10.0.0.5:11500"),
    ({"OLLAMA_HOST": "https://ollama.example.com"}, "https://ollama.example.com:443"),
    ({"OLLAMA_HOST": "http://proxy/ollama/"}, "http://proxy:80/ollama"),
    ({"OLLAMA_HOST": "[::]:11434"}, "http://[::1]:11434"),
    ({"OLLAMA_HOST": "[fd00::5]"}, "http://[fd00::5]:11434"),
])
def test_ollama_host_is_read_like_the_cli(env, url):
    assert resolve_api_url(None, env) == url


@pytest.mark.parametrize("value, url", [
    ("http://127.0.0.1:11434", "http://127.0.0.1:11434"),
    ("https://ollama.example.com/", "https://ollama.example.com"),
    ("http://proxy:8080/ollama", "http://proxy:8080/ollama"),
])
def test_explicit_urls_win_over_the_environment(value, url):
    assert resolve_api_url(value, {"OLLAMA_HOST": "elsewhere:1"}) == url


@pytest.mark.parametrize("value, fragment", [
    ("localhost:11434", "has no scheme"),
    ("127.0.0.1", "has no scheme"),
    ("ftp://host", "is not an http:// or https:// URL"),
    ("http://", "is not an http:// or https:// URL"),
])
def test_explicit_urls_need_a_scheme(value, fragment):
    with pytest.raises(InvalidOption) as caught:
        resolve_api_url(value, {})
    assert str(caught.value).startswith("api_url: %r" % value)
    assert fragment in str(caught.value)


@pytest.mark.parametrize("value", ["ftp://host", "host:port"])
def test_bad_ollama_host(value):
    with pytest.raises(InvalidOption, match="^OLLAMA_HOST: "):
        resolve_api_url(None, {"OLLAMA_HOST": value})


@pytest.mark.parametrize("value", ["http://ops:s3cr3t@10.0.0.5:11434", "https://ops@ollama.example.com/"])
def test_credentials_in_api_url_or_ollama_host_are_refused_without_repeating_them(value):
    with pytest.raises(InvalidOption) as caught:
        resolve_api_url(value, {})
    assert str(caught.value).startswith("api_url: the URL carries credentials (user:password@)")
    assert "s3cr3t" not in str(caught.value) and "ops" not in str(caught.value)
    with pytest.raises(InvalidOption) as caught:
        resolve_api_url(None, {"OLLAMA_HOST": value})
    assert str(caught.value).startswith("OLLAMA_HOST: the value carries credentials")
    assert "s3cr3t" not in str(caught.value)
