# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.filter.mirror_url_problem import mirror_url_problem

OPTION = "ollama_models_mirror_url"


@pytest.mark.parametrize("url, allow_http", [
    ("", False),
    ("https://registry.example.com", False),
    ("https://10.0.0.3:5000/", False),
    ("http://10.213.0.3:5000", True),
])
def test_accepted(url, allow_http):
    assert mirror_url_problem(url, OPTION, allow_http=allow_http) == ""


def test_plain_http_needs_the_opt_in_and_names_it():
    problem = mirror_url_problem("http://10.213.0.3:5000", OPTION)
    assert problem.startswith("ollama_models_mirror_url=http://10.213.0.3:5000 must be an https:// URL")
    assert "ollama_models_mirror_allow_http: true" in problem


def test_credentials_are_refused_without_quoting_them():
    problem = mirror_url_problem("https://fleet:s3cret-pw@registry.example.com", OPTION)
    assert problem.startswith("ollama_models_mirror_url: the URL carries credentials")
    assert "s3cret-pw" not in problem and "fleet" not in problem


@pytest.mark.parametrize("url", ["registry.example.com", "ftp://registry.example.com", "https://r.example.com/v2/x"])
def test_not_a_registry_url(url):
    assert "is not a registry URL" in mirror_url_problem(url, OPTION)
