# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report's document: drift, unreachable hosts, rounding, the schema, and the HTML page."""

from __future__ import annotations

import copy
import json
import pathlib
from html import escape

import jsonschema
import pytest

from ansible_collections.llmops.ollama.plugins.module_utils import _fleet_report, _fleet_report_html
from ansible_collections.llmops.ollama.tests.unit.plugins import fleet_samples as s
from ansible_collections.llmops.ollama.tests.unit.plugins.html_loads import external_loads

ROOT = pathlib.Path(__file__).resolve().parents[4]
SCHEMA = json.loads((ROOT / "docs" / "report-schema-v1.json").read_text(encoding="utf-8"))
NOW = "2026-11-30T00:30:00Z"
# What the report says of a lab host whose container is stopped (the docker connection's words are the detail).
STOPPED = ("The host's container is stopped (container connection): start it (docker start <host>), then run the report "
           "again.")


def build(hosts, floor="0.17.1"):
    return _fleet_report.build(hosts, floor, NOW)


def validate(doc):
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(json.dumps(doc)))


def test_the_schema_is_a_valid_draft_2020_12_schema_of_version_1():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"]["const"] == _fleet_report.SCHEMA_VERSION == 1
    assert SCHEMA["properties"]["schema"]["const"] == _fleet_report.SCHEMA_ID


@pytest.mark.parametrize("hosts", [
    s.fleet(),
    {"only": s.host()},
    {"down": s.unreachable()},
    {"a": s.host(generate=False), "b": s.host(version="0.16.0", images={"ollama": "o/ollama:0.16.0"})},
    {"api-down": dict(s.host(), ollama={"changed": False, "failed_when_result": False, "msg": "Connection refused"})},
    {"empty": s.host(models=[])},
], ids=["fleet", "one", "all-down", "versions", "api-down", "no-models"])
def test_generated_documents_match_the_schema(hosts):
    validate(build(hosts))


def test_the_schema_refuses_a_document_that_breaks_it():
    doc = build(s.fleet())
    broken = copy.deepcopy(doc)
    broken["hosts"][0]["models"][0]["digest_drift"] = "no"
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)
    broken = copy.deepcopy(doc)
    del broken["unreachable"]
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_a_host_with_another_digest_is_drift_and_the_stopped_host_is_unreachable():
    doc = build(s.fleet())
    assert doc["drift"] == [{"kind": "model_digest", "host": "f2", "model": "qwen2.5:0.5b", "value": s.DIGEST_B,
                             "fleet": s.DIGEST_A}]
    assert doc["fleet"]["models"]["qwen2.5:0.5b"] == {"digest": s.DIGEST_A, "hosts": 3, "digests": 2}
    assert doc["unreachable"] == [{"host": "f4", "reason": STOPPED}]
    assert [h["error_detail"] for h in doc["hosts"]] == [None, None, None, s.unreachable()["unreachable_msg"]]
    assert doc["summary"] == {"hosts": 4, "reachable": 3, "unreachable": 1, "answering": 3, "models": 1, "drift": 1,
                              "advisories": 0}
    flags = {h["name"]: [m["digest_drift"] for m in h["models"]] for h in doc["hosts"]}
    assert flags == {"f1": [False], "f2": [True], "f3": [False], "f4": []}


def test_a_module_that_never_started_is_an_unreachable_host():
    # With pipelining nothing is copied first, so a stopped host fails the first module instead of being unreachable.
    raw = dict(s.host(), host={"changed": False, "failed_when_result": False, "rc": 1,
                               "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
                               "module_stderr": "Error response from daemon: container 5f0c is not running\n"})
    doc = build({"a": s.host(), "b": raw})
    assert doc["unreachable"] == [{"host": "b", "reason": STOPPED}]
    assert doc["hosts"][1]["error_detail"] == ("MODULE FAILURE | Error response from daemon: container 5f0c is not "
                                               "running")
    assert [h["reachable"] for h in doc["hosts"]] == [True, False]
    assert doc["summary"]["answering"] == 1


def test_a_result_that_could_not_be_read_is_told_by_the_engines_words():
    # ansible-core 2.19 with pipelining: the module's stdout was empty, so its result "could not be deserialized".
    raw = dict(s.host(), host={"changed": False, "failed_when_result": False, "rc": 1,
                               "msg": "Module result deserialization failed: No start of json char found",
                               "module_stderr": "Error response from daemon: Container 5aca81ef is not running\n"})
    doc = build({"a": s.host(), "b": raw})
    assert doc["unreachable"] == [{"host": "b", "reason": STOPPED}]
    assert doc["hosts"][1]["error_detail"] == ("Module result deserialization failed: No start of json char found | "
                                               "Error response from daemon: Container 5aca81ef is not running")


def test_version_image_and_floor_drift():
    images = {"ollama": "reg/ollama/ollama:0.16.0", "lobechat": "10.213.0.2:5000/lobehub/lobe-chat:1.143.2"}
    old = s.host(version="0.16.0", images=images)
    doc = build({"a": s.host(), "b": s.host(), "c": old})
    kinds = sorted((d["kind"], d["host"], d.get("container")) for d in doc["drift"])
    assert kinds == [("below_floor", "c", None), ("image", "c", "ollama"), ("ollama_version", "c", None)]
    below = [h for h in doc["hosts"] if h["name"] == "c"][0]
    assert below["ollama"] == {"version": "0.16.0", "below_floor": True, "version_drift": True}
    assert [c["image_drift"] for c in below["containers"]] == [False, True]
    assert [c["tag"] for c in below["containers"]] == ["1.143.2", "0.16.0"]


def test_the_floor_flags_every_host_when_the_whole_fleet_is_old():
    doc = build({"a": s.host(), "b": s.host()}, floor="0.18.0")
    assert [d["kind"] for d in doc["drift"]] == ["below_floor", "below_floor"]


def test_a_tie_has_no_fleet_value_and_flags_every_host():
    doc = build({"a": s.host(models=[s.model("m:1", s.DIGEST_B)]), "b": s.host(models=[s.model("m:1", s.DIGEST_A)])})
    assert doc["fleet"]["models"]["m:1"] == {"digest": None, "hosts": 2, "digests": 2}
    assert [(d["host"], d["value"], d["fleet"]) for d in doc["drift"]] == [("a", s.DIGEST_B, None), ("b", s.DIGEST_A, None)]
    page = _fleet_report_html.render(doc)
    assert page.count('<td class="drift"><code>') == 2


def test_measured_values_are_rounded_so_noise_gives_the_same_document():
    first = build({"a": s.host(available=5.31 * s.GIB)})
    second = build({"a": s.host(available=5.33 * s.GIB)})
    assert first == second
    host = first["hosts"][0]
    assert host["models"][0]["speed"] == {"tokens_per_second": 130, "first_token_ms": 780, "error": None}
    assert host["memory"]["total_bytes"] == 16 * s.GIB
    assert build({"a": s.host(available=2.0 * s.GIB)}) != first


def test_significant_digits():
    assert [_fleet_report.significant(v) for v in (127.23, 41.7, 0.0123, 0, None, 999.6)] == [130, 42, 0.012, 0, None, 1000]


def test_a_failed_generation_is_reported_with_its_error():
    raw = s.host()
    raw["generate"] = [{"changed": False, "failed_when_result": False, "msg": "timed out after 60 s\nmore",
                        "__report_model": {"name": "qwen2.5:0.5b"}, "ansible_loop_var": "__report_model"}]
    speed = build({"a": raw})["hosts"][0]["models"][0]["speed"]
    assert speed == {"tokens_per_second": None, "first_token_ms": None, "error": "timed out after 60 s"}


def test_an_api_that_does_not_answer_is_an_error_of_a_reachable_host():
    raw = dict(s.host(), ollama={"changed": False, "failed_when_result": False,
                                 "msg": "GET http://127.0.0.1:11434/api/version: connection refused"})
    host = build({"a": raw})["hosts"][0]
    assert host["reachable"] and host["ollama"] is None
    assert host["error"] == "Ollama API: GET http://127.0.0.1:11434/api/version: connection refused"


@pytest.mark.parametrize("ports,address,url", [
    ([{"host_ip": "0.0.0.0", "host_port": "3210"}], "10.0.0.5", "http://10.0.0.5:3210/"),
    ([{"host_ip": "127.0.0.1", "host_port": "3210"}], "10.0.0.5", None),
    ([{"host_ip": "127.0.0.1", "host_port": "1"}, {"host_ip": "192.0.2.7", "host_port": "80"}], "h", "http://192.0.2.7:80/"),
    ([{"host_ip": "::", "host_port": "3210"}], "fd00::5", "http://[fd00::5]:3210/"),
    ([], "h", None),
])
def test_ui_url_from_the_published_port(ports, address, url):
    assert _fleet_report.ui_url({"container": "lobechat"}, {"ports": ports}, address) == url


def test_a_configured_ui_url_wins():
    assert _fleet_report.ui_url({"url": "https://chat.example.org/"}, {"ports": []}, "h") == "https://chat.example.org/"


def test_versions():
    assert _fleet_report.version_key("0.17.1") == (0, 17, 1)
    assert _fleet_report.version_key("v0.18.0-rc1") == (0, 18, 0)
    assert _fleet_report.version_key("0.18") == (0, 18, 0)
    assert _fleet_report.version_key("latest") is None


def test_html_flags_the_drift_and_the_unreachable_host():
    page = _fleet_report_html.render(build(s.fleet()))
    assert '<td class="drift"><code>%s</code><span class="flag">DRIFT</span>' % s.DIGEST_B[:12] in page
    assert '<li class="down"><strong>f4</strong> UNREACHABLE' in page
    assert '<th>f4</th><td class="down" colspan="2">UNREACHABLE: %s</td><td class="detail" colspan="1">' % escape(STOPPED) in page
    assert "1 unreachable" in page and "1 drift findings" in page
    assert '<a href="http://10.213.0.10:3210/">' in page
    assert page.count("<svg") == 2


def test_html_of_a_clean_fleet_flags_nothing():
    page = _fleet_report_html.render(build({"a": s.host(), "b": s.host()}))
    assert "DRIFT" not in page and "UNREACHABLE" not in page
    assert 'class="drift"' not in page and 'class="down"' not in page


def test_html_escapes_what_hosts_send():
    raw = s.host(models=[s.model("<script>alert(1)</script>", s.DIGEST_A)])
    page = _fleet_report_html.render(build({"<b>x</b>": raw}))
    assert "<script>" not in page and "&lt;script&gt;" in page and "&lt;b&gt;x&lt;/b&gt;" in page


@pytest.mark.parametrize("hosts", [s.fleet(), {"down": s.unreachable()}, {"a": s.host(generate=False)}])
def test_html_loads_nothing_from_anywhere(hosts):
    found, scripts = external_loads(_fleet_report_html.render(build(hosts)))
    assert found == [] and scripts == 0


@pytest.mark.parametrize("snippet", [
    '<script src="https://cdn.example.org/x.js"></script>',
    '<link rel="stylesheet" href="http://cdn.example.org/x.css">',
    '<link rel="preload" as="font" href="//fonts.example.org/f.woff2">',
    '<style>@font-face{font-family:x;src:url("https://fonts.example.org/f.woff2")}</style>',
    '<style>@import "https://cdn.example.org/y.css";</style>',
    '<img src="https://example.org/p.png">',
    '<svg><image href="https://example.org/p.png"/></svg>',
])
def test_the_load_check_catches_a_remote_resource(snippet):
    page = _fleet_report_html.render(build(s.fleet())).replace("</body>", snippet + "</body>")
    assert external_loads(page)[0], snippet
