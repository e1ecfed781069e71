# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.llmops.ollama.plugins.filter.model_plan import model_plan
from ansible_collections.llmops.ollama.plugins.filter.model_short import model_short
from ansible_collections.llmops.ollama.plugins.filter.ollama_api_url import ollama_api_url


@pytest.mark.parametrize("given, short", [
    ("qwen2.5", "qwen2.5:latest"), ("Qwen2.5:0.5B", "qwen2.5:0.5b"), ("library/llama3:8b", "llama3:8b"),
    ("registry.ollama.ai/library/llama3", "llama3:latest"), ("registry.ollama.ai/me/mine:v1", "me/mine:v1"),
    ("10.0.0.3:5000/library/qwen2.5:0.5b", "10.0.0.3:5000/library/qwen2.5:0.5b"),
])
def test_short_names_are_the_form_ollama_lists(given, short):
    assert model_short(given) == short


def test_an_invalid_name_is_an_error_naming_the_rule():
    with pytest.raises(AnsibleFilterError, match="not a valid Ollama model name"):
        model_short("../etc/passwd")


def test_the_plan_splits_the_list_and_fills_defaults():
    plan = model_plan(["qwen2.5:0.5b", {"name": "old:1b", "state": "absent"},
                       {"name": "helper", "from": "Qwen2.5:0.5b", "system": "Be brief."},
                       {"name": "coder", "from": "10.0.0.3:5000/team/coder:7b", "insecure": True},
                       {"name": "llama3", "state": "latest", "digest": "sha256:" + "a" * 64}])
    assert plan["problems"] == []
    assert [e["name"] for e in plan["pulled"]] == ["qwen2.5:0.5b", "llama3"]
    assert plan["pulled"][0] == {"name": "qwen2.5:0.5b", "state": "present", "insecure": False}
    assert [e["name"] for e in plan["custom"]] == ["helper", "coder"]
    assert [e["name"] for e in plan["absent"]] == ["old:1b"]
    assert plan["wanted"] == ["qwen2.5:0.5b", "llama3:latest", "helper:latest", "coder:latest"]
    # The base qwen2.5:0.5b is already pulled; the other base comes with its custom model's insecure flag.
    assert plan["fetched"] == [plan["pulled"][0], plan["pulled"][1],
                               {"name": "10.0.0.3:5000/team/coder:7b", "state": "present", "insecure": True}]


@pytest.mark.parametrize("models, says", [
    ("llama3", 'ollama_models_list="llama3" must be a list of models'),
    ([{"name": "../etc/passwd"}], 'name="../etc/passwd" is not a valid Ollama model name'),
    ([{"name": "UPPER CASE"}], 'name="UPPER CASE" is not a valid Ollama model name'),
    ([{"state": "present"}], "entry without a name"),
    ([{"name": "qwen2.5:0.5b", "state": "installed"}], 'state="installed" must be present, latest or absent'),
    ([{"name": "qwen2.5:0.5b", "digest": "sha256:xyz"}], 'digest="sha256:xyz" must be sha256:<64 hex>'),
    ([{"name": "x", "from": "a b"}], 'from="a b" is not a valid Ollama model name'),
    ([{"name": "qwen2.5:0.5b"}, {"name": "Qwen2.5:0.5b"}], "a model is listed twice: qwen2.5:0.5b"),
    ([{"name": "llama3"}, {"name": "library/llama3:latest"}], "a model is listed twice: llama3:latest"),
    ([7], "must be a dict with a name"),
])
def test_every_problem_names_the_list_and_the_value(models, says):
    problems = model_plan(models)["problems"]
    assert problems and all("ollama_models_list" in p for p in problems), problems
    assert any(says in p for p in problems), problems


def test_an_absent_model_may_share_a_name_with_nothing_else():
    assert model_plan([{"name": "a", "state": "absent"}, {"name": "b"}])["problems"] == []


@pytest.mark.parametrize("address, port, url", [
    ("127.0.0.1", 11434, "http://127.0.0.1:11434"), ("0.0.0.0", 11434, "http://127.0.0.1:11434"),
    ("::", 8080, "http://127.0.0.1:8080"), ("10.0.0.5", 11434, "http://10.0.0.5:11434"),
    ("::1", 11434, "http://[::1]:11434"), ("fd00::5", 11434, "http://[fd00::5]:11434"),
])
def test_the_api_url_is_where_the_host_reaches_its_published_port(address, port, url):
    assert ollama_api_url(address, port) == url


ATTACKER = "205.237.106.117:8443/attacker/leak_model_0"


@pytest.mark.parametrize("allowed", [None, [], ""])
def test_without_an_allowlist_every_registry_is_allowed(allowed):
    assert model_plan([ATTACKER, "qwen2.5:0.5b"], allowed_registries=allowed)["problems"] == []


def test_a_model_from_a_registry_the_allowlist_does_not_name_is_refused_naming_variable_and_model():
    plan = model_plan(["qwen2.5:0.5b", {"name": ATTACKER}], allowed_registries=["registry.ollama.ai"])
    assert plan["problems"] == [
        'refusing ollama_models_list: ollama_models_list[1]: name="%s" comes from the registry 205.237.106.117:8443, '
        "which ollama_models_allowed_registries does not list (registry.ollama.ai); pull it from a listed registry, or "
        "add the registry to ollama_models_allowed_registries if the site trusts it" % ATTACKER]
    # Nothing is planned from a refused list.
    assert plan["fetched"] == [] and plan["pulled"] == []


@pytest.mark.parametrize("allowed, models, refused", [
    # A name without a host comes from registry.ollama.ai, whatever its namespace.
    (["registry.ollama.ai"], ["qwen2.5", "me/mine:v1", "registry.ollama.ai/library/llama3"], []),
    (["Registry.Ollama.AI"], ["REGISTRY.ollama.ai/library/llama3"], []),
    (["10.0.0.3:5000"], ["qwen2.5"], [0]),
    # A host allows every port; host:port only that one.
    (["10.0.0.3"], ["10.0.0.3:5000/team/coder:7b", "10.0.0.3/team/coder"], []),
    (["10.0.0.3:5000"], ["10.0.0.3:5000/team/coder:7b", "10.0.0.3:5001/team/coder:7b", "10.0.0.3/team/coder"], [1, 2]),
    # A custom model is judged by its base; its own (local) name is not fetched from anywhere.
    (["harbor.example.com"], [{"name": "helper", "from": "harbor.example.com/team/base:1"}], []),
    (["harbor.example.com"], [{"name": "harbor.example.com/x/helper", "from": "qwen2.5:0.5b"}], [0]),
    # Deleting a model is always allowed.
    (["harbor.example.com"], [{"name": ATTACKER, "state": "absent"}], []),
])
def test_each_model_pulled_or_fetched_is_judged_by_its_registry(allowed, models, refused):
    problems = model_plan(models, allowed_registries=allowed)["problems"]
    assert [int(p.split("[", 2)[1].split("]")[0]) for p in problems] == refused, problems


def test_a_custom_model_is_refused_naming_its_base():
    problems = model_plan([{"name": "helper", "from": ATTACKER}], allowed_registries=["registry.ollama.ai"])["problems"]
    assert len(problems) == 1 and 'from="%s" comes from the registry 205.237.106.117:8443' % ATTACKER in problems[0]


@pytest.mark.parametrize("allowed, says", [
    ("registry.ollama.ai", 'ollama_models_allowed_registries="registry.ollama.ai" must be a list of registry hosts'),
    (["https://registry.ollama.ai"], "invalid ollama_models_allowed_registries: 'https://registry.ollama.ai' is not a "
                                     "host name or host:port"),
    (["registry.ollama.ai/library"], "is not a host name or host:port"),
    (["host:99999"], "is not a host name or host:port"),
    ([7], "is not a host name or host:port"),
])
def test_a_malformed_allowlist_is_refused_naming_it(allowed, says):
    problems = model_plan(["qwen2.5"], allowed_registries=allowed)["problems"]
    assert any(says in p for p in problems), problems


def test_the_allowlist_variable_name_can_be_given():
    problems = model_plan([ATTACKER], allowed_registries=["a.example"], allowed_option="site_registries")["problems"]
    assert "which site_registries does not list (a.example)" in problems[0]
