# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The report a person reads (issue 26, item 6): the known advisories of the versions each host really runs, why a host
could not be reached in words an operator can act on, every container the collection runs with its state and health,
and the front door's URL as the chat UI's."""

from __future__ import annotations

import json
import pathlib
from html import escape

import jsonschema
import pytest

from ansible_collections.llmops.ollama.plugins.module_utils import _advisories, _fleet_report, _fleet_report_html
from ansible_collections.llmops.ollama.tests.unit.plugins import fleet_samples as s

ROOT = pathlib.Path(__file__).resolve().parents[4]
SCHEMA = json.loads((ROOT / "docs" / "report-schema-v1.json").read_text(encoding="utf-8"))
DATA = _advisories.load()
NOW = "2026-11-30T00:30:00Z"
OPEN_7020 = {"ids": "CVE-2026-7020 (GHSA-x99g-8v8j-25j2)", "fixed_in": None}


def build(hosts, data=DATA):
    doc = _fleet_report.build(hosts, "0.35.1", NOW, advisories=data)
    jsonschema.Draft202012Validator(SCHEMA).validate(json.loads(json.dumps(doc)))
    return doc


def host_of(doc, name="a"):
    return [h for h in doc["hosts"] if h["name"] == name][0]


def containers(host):
    return {c["name"]: c for c in host["containers"]}


# --- 1. Known advisories, from the versions the hosts run -----------------------------------------------------------

def test_a_host_on_ollama_0_32_15_is_flagged_with_the_advisories_of_that_version():
    host = host_of(build({"a": s.deployed(version="0.32.15")}))
    ollama = containers(host)["ollama"]
    assert (ollama["component"], ollama["version"]) == ("ollama", "0.32.15")
    # The data (meta/advisories.yml): CVE-2026-108836 up to 0.34.1, CVE-2026-85180 from 0.30.0 to 0.33.2, and
    # CVE-2026-7020, which no release fixes. CVE-2026-103663 was introduced in 0.34.2: 0.32.15 does not have it.
    assert ollama["advisories"] == [{"ids": "CVE-2026-108836", "fixed_in": "0.34.2"},
                                    {"ids": "CVE-2026-85180", "fixed_in": "0.33.3"}, OPEN_7020]
    assert not any("CVE-2026-103663" in a["ids"] for a in host["advisories"])
    assert host["advisories"] == [dict(a, component="ollama", version="0.32.15") for a in ollama["advisories"]]


def test_a_host_in_the_range_of_cve_2026_103663_is_flagged_with_it():
    host = host_of(build({"a": s.deployed(images={"ollama": "docker.io/ollama/ollama:0.35.0"}, version="0.35.0")}))
    assert [a["ids"] for a in host["advisories"]] == ["CVE-2026-103663 (GHSA-w8p2-phwr-px3r)", OPEN_7020["ids"]]


def test_the_version_judged_is_the_image_the_host_runs_not_a_default():
    # The same inventory everywhere; the host that was left on an old image is the one flagged.
    doc = build({"a": s.deployed(images={"ollama": "docker.io/ollama/ollama:0.40.2"}, version="0.40.2"),
                 "b": s.deployed(version="0.32.15")})
    assert host_of(doc, "a")["advisories"] == [dict(OPEN_7020, component="ollama", version="0.40.2")]
    assert len(host_of(doc, "b")["advisories"]) == 3
    assert doc["summary"]["advisories"] == 2


def test_an_advisory_no_release_fixes_is_named_as_such():
    doc = build({"a": s.deployed(images={"ollama": "docker.io/ollama/ollama:0.40.2"}, version="0.40.2")})
    assert "CVE-2026-7020 (GHSA-x99g-8v8j-25j2) (no release fixes it)" in _fleet_report.findings(doc)[0]
    page = _fleet_report_html.render(doc)
    assert "CVE-2026-7020 (GHSA-x99g-8v8j-25j2) (<strong>no release fixes it</strong>)" in page
    # Only advisories no release fixes: amber, not red.
    assert '<li class="warn">1 hosts with known advisories</li>' in page


def test_each_image_of_the_collection_is_judged_against_its_component():
    images = {"front-door": "10.213.0.2:5000/library/nginx:1.30.7", "lobechat": "docker.io/lobehub/lobehub:2.3.5",
              "ollama": "docker.io/ollama/ollama:0.40.2"}
    found = containers(host_of(build({"a": s.deployed(images=images, version="0.40.2")})))
    assert found["front-door"]["advisories"] == [{"ids": "nginx 1.30.4 to 1.30.8 security releases", "fixed_in": "1.30.8"}]
    assert found["ollama-guard"]["advisories"] == []
    assert found["lobechat"]["advisories"] == [{"ids": "CVE-2026-142235", "fixed_in": "2.3.6"}]
    assert (found["lobechat-redis"]["component"], found["lobechat-redis"]["advisories"]) == ("redis", [])
    # No advisory on record for the component: nothing to say, whatever the tag.
    assert (found["lobechat-postgres"]["component"], found["lobechat-postgres"]["advisories"]) == ("paradedb", [])


def test_one_image_in_two_containers_counts_once_for_the_host():
    images = {"front-door": "r/library/nginx:1.30.7", "ollama-guard": "r/library/nginx:1.30.7",
              "ollama": "docker.io/ollama/ollama:0.40.2"}
    host = host_of(build({"a": s.deployed(images=images, version="0.40.2")}))
    assert [(a["component"], a["ids"]) for a in host["advisories"]] == [
        ("nginx", "nginx 1.30.4 to 1.30.8 security releases"), ("ollama", OPEN_7020["ids"])]


def test_a_container_not_named_in_components_is_matched_by_its_image():
    raw = s.deployed(images={"proxy": "harbor.example/hub/library/nginx:1.30.7", "ollama": "docker.io/ollama/ollama:0.40.2"},
                     version="0.40.2")
    raw["components"] = {}
    found = containers(host_of(build({"a": raw})))
    assert (found["proxy"]["component"], found["proxy"]["version"]) == ("nginx", "1.30.7")
    assert found["ollama"]["component"] == "ollama"
    # The lab's Postgres is pgvector, not ParadeDB's image: not judged.
    assert (found["lobechat-postgres"]["component"], found["lobechat-postgres"]["advisories"]) == (None, None)


def test_ollama_with_a_tag_that_is_not_a_version_is_judged_by_what_its_api_says():
    raw = s.deployed(images={"ollama": "docker.io/ollama/ollama@sha256:" + "4" * 64}, version="0.32.15")
    ollama = containers(host_of(build({"a": raw})))["ollama"]
    assert (ollama["tag"], ollama["version"]) == ("", "0.32.15")
    assert [a["ids"] for a in ollama["advisories"]] == ["CVE-2026-108836", "CVE-2026-85180", OPEN_7020["ids"]]


def test_a_tag_that_is_not_a_version_is_said_to_be_not_judged():
    raw = s.deployed(images={"lobechat": "docker.io/lobehub/lobehub:latest", "ollama": "docker.io/ollama/ollama:0.40.2"},
                     version="0.40.2")
    doc = build({"a": raw})
    assert containers(host_of(doc))["lobechat"]["advisories"] is None
    page = _fleet_report_html.render(doc)
    assert '<td class="missing">not judged (tag latest)</td>' in page
    assert "not judged: lobechat (tag latest)" in page


def test_without_the_data_nothing_is_judged():
    host = host_of(build({"a": s.deployed()}, data=None))
    assert host["advisories"] == [] and all(c["advisories"] is None for c in host["containers"])


def test_the_html_has_a_known_advisories_column_per_host():
    page = _fleet_report_html.render(build({"a": s.deployed(version="0.32.15")}))
    assert "<th>Ollama</th><th>Known advisories</th>" in page
    assert ('<td class="drift"><ul class="advisories"><li><strong>ollama 0.32.15</strong>: CVE-2026-108836 (fixed in '
            '0.34.2), CVE-2026-85180 (fixed in 0.33.3), CVE-2026-7020') in page
    assert '<li class="bad">1 hosts with known advisories</li>' in page


def test_the_text_findings_name_each_hosts_advisories():
    doc = build({"a": s.deployed(version="0.32.15"), "b": s.unreachable()})
    assert _fleet_report.findings(doc) == [
        "b UNREACHABLE: %s [%s]" % (_fleet_report.unreachable_reason(s.unreachable(), {})[0],
                                    s.unreachable()["unreachable_msg"]),
        "a known advisories: ollama 0.32.15: CVE-2026-108836 (fixed in 0.34.2), CVE-2026-85180 (fixed in 0.33.3), "
        "CVE-2026-7020 (GHSA-x99g-8v8j-25j2) (no release fixes it)"]


@pytest.mark.parametrize("repository,component", [
    ("docker.io/ollama/ollama", "ollama"),
    ("10.213.0.2:5000/ollama/ollama", "ollama"),
    ("ollama/ollama", "ollama"),
    ("harbor.example/hub/ollama/ollama", "ollama"),
    ("nginx", "nginx"),
    ("localhost/library/nginx", "nginx"),
    ("ghcr.io/open-webui/open-webui", "open_webui"),
    ("10.213.0.2:5000/lobehub/lobehub", "lobehub"),
    ("docker.io/lobehub/lobe-chat", None),
    ("example.org/someone/ollama", None),
])
def test_component_of_image(repository, component):
    assert _advisories.component_of_image(repository, DATA) == component


def test_known_advisories_of_a_tag():
    assert _advisories.known("ollama", "latest", DATA) is None
    assert _advisories.known("paradedb", "pg17", DATA) == []
    assert _advisories.known("ollama", "0.40.2", DATA) == [OPEN_7020]
    with pytest.raises(KeyError):
        _advisories.known("nothing", "1.0.0", DATA)


# --- 2. Why a host could not be reached -------------------------------------------------------------------------------

SSH = "Failed to connect to the host via ssh: "


@pytest.mark.parametrize("result,starts", [
    ({"unreachable": True, "msg": SSH + "ssh: connect to host 10.0.0.4 port 22: Connection refused"},
     "Nothing accepts SSH connections"),
    ({"unreachable": True, "msg": SSH + "ssh: connect to host 10.0.0.4 port 22: Connection timed out"},
     "The connection timed out"),
    ({"unreachable": True, "msg": SSH + "ssh: connect to host 10.0.0.4 port 22: No route to host"},
     "There is no network route"),
    ({"unreachable": True, "msg": SSH + "ssh: Could not resolve hostname web-9: Name or service not known"},
     "The host's name does not resolve"),
    ({"unreachable": True, "msg": SSH + "@@@@@@@@@@@\r\n@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @"},
     "The host's SSH key is not the one known_hosts holds"),
    ({"unreachable": True, "msg": SSH + "Host key verification failed."},
     "The host's SSH key is not the one known_hosts holds"),
    ({"unreachable": True, "msg": SSH + "deploy@10.0.0.4: Permission denied (publickey,password)."},
     "SSH refused the login"),
    ({"failed": True, "msg": "Missing sudo password"}, "sudo asks for a password"),
    ({"failed": True, "msg": "Timeout (12s) waiting for privilege escalation prompt: "}, "sudo asks for a password"),
    ({"failed": True, "msg": "Incorrect sudo password"}, "sudo refused the password"),
    ({"failed": True, "module_stderr": "deploy is not in the sudoers file.  This incident will be reported.\n",
      "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error"}, "The account may not use sudo"),
    ({"failed": True, "msg": "The module interpreter '/usr/bin/python3' was not found.", "module_stderr": ""},
     "Python 3 is missing on the host"),
    ({"failed": True, "msg": "MODULE FAILURE\nSee stdout/stderr for the exact error",
      "module_stderr": "/bin/sh: 1: /usr/bin/python3: not found\n"}, "Python 3 is missing on the host"),
    ({"unreachable": True, "msg": "Failed to connect to the host via docker: Error response from daemon: container "
                                  "5f0c is not running"}, "The host's container is stopped"),
    ({"failed": True, "msg": "Module result deserialization failed: No start of json char found",
      "module_stderr": "Error response from daemon: Container 5aca81ef is not running\n"}, "The host's container is stopped"),
    ({"unreachable": True, "msg": "Failed to connect to the host via docker: Error: No such container: web-9"},
     "The host's container does not exist"),
    ({"failed": True, "msg": "Module result deserialization failed: No start of json char found", "module_stderr": ""},
     "The host gave no answer to the report's first module"),
    ({"unreachable": True, "msg": SSH + "kex_exchange_identification: Connection closed by remote host"},
     "The host closed the SSH connection"),
    ({"unreachable": True, "msg": "something nobody has seen before"}, "The host could not be reached"),
])
def test_an_unreachable_host_is_told_in_words_an_operator_can_act_on(result, starts):
    raw = {"reachable": not result.get("unreachable"), "unreachable_msg": result["msg"] if result.get("unreachable") else "",
           "address": "x", "host": result, "ollama": {"skipped": True}, "generate": [], "ui": []}
    doc = build({"web-9": raw})
    host = doc["hosts"][0]
    assert not host["reachable"] and host["error"].startswith(starts), host["error"]
    assert doc["unreachable"] == [{"host": "web-9", "reason": host["error"]}]
    # The connection's own words stay beside the sentence, as the detail.
    assert result["msg"].splitlines()[0].strip()[:60] in host["error_detail"]
    page = _fleet_report_html.render(doc)
    assert '<li class="down"><strong>web-9</strong> UNREACHABLE: %s<span class="detail">' % escape(host["error"]) in page


def test_the_detail_is_a_cell_beside_the_reason_in_the_matrix():
    refused = s.unreachable("Failed to connect to the host via ssh: Connection refused")
    page = _fleet_report_html.render(build({"a": s.deployed(), "b": refused}))
    assert ('<th>b</th><td class="down" colspan="2">UNREACHABLE: Nothing accepts SSH connections on the host: check that '
            'sshd runs there and that ansible_port is right.</td><td class="detail" colspan="1">Failed to connect to the '
            'host via ssh: Connection refused</td>') in page


# --- 3. Every container the collection runs ---------------------------------------------------------------------------

def test_every_container_the_collection_runs_is_listed_with_its_tag_state_and_health():
    raw = s.deployed()
    for container in raw["host"]["containers"]:
        if container["name"] == "lobechat-redis":
            container.update(running=False, status="exited", health="")
        if container["name"] == "ollama-guard":
            container["health"] = "unhealthy"
    doc = build({"a": raw})
    found = containers(host_of(doc))
    assert sorted(found) == ["front-door", "lobechat", "lobechat-postgres", "lobechat-redis", "ollama", "ollama-guard"]
    assert {n: (c["tag"], c["running"], c["status"], c["health"]) for n, c in found.items()} == {
        "front-door": ("1.30.8", True, "running", "healthy"),
        "lobechat": ("2.3.6", True, "running", "healthy"),
        "lobechat-postgres": ("pg17", True, "running", None),
        "lobechat-redis": ("7.4.9", False, "exited", None),
        "ollama": ("0.32.15", True, "running", "healthy"),
        "ollama-guard": ("1.30.8", True, "running", "unhealthy"),
    }
    page = _fleet_report_html.render(doc)
    assert "<td>front-door</td><td><code>10.213.0.2:5000/library/nginx:1.30.8</code></td><td>running &middot; healthy</td>" in page
    assert '<td>lobechat-redis</td><td><code>10.213.0.2:5000/library/redis:7.4.9</code></td><td class="warn">exited</td>' in page
    assert '<td class="warn">running &middot; unhealthy</td>' in page


def test_open_webui_is_listed_when_present():
    raw = s.deployed(images={"open-webui": "ghcr.io/open-webui/open-webui:v0.11.3"}, front_door_ui="open-webui")
    doc = build({"a": raw})
    webui = containers(host_of(doc))["open-webui"]
    assert (webui["tag"], webui["component"]) == ("v0.11.3", "open_webui")
    assert webui["advisories"] == [{"ids": "CVE-2026-109285 to CVE-2026-109300", "fixed_in": "v0.11.4"}]
    # The front door serves Open WebUI here: LobeHub's container, left from before, gets no URL.
    assert {u["container"]: u["url"] for u in host_of(doc)["ui"]} == {"lobechat": None, "open-webui": "https://10.213.0.10/"}


def test_a_report_of_a_host_before_this_change_still_matches_the_schema():
    # A host whose module gave no status or health (an older collection on the controller): null, not an error.
    raw = s.host()
    for container in raw["host"]["containers"]:
        del container["status"], container["health"]
    assert [(c["status"], c["health"]) for c in build({"a": raw})["hosts"][0]["containers"]] == [(None, None)] * 2


# --- 4. The front door's URL is the chat UI's -------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,address,url", [
    ({}, "10.213.0.10", "https://10.213.0.10/"),
    ({"server_names": ["chat.example.org", "llm.example.org"]}, "10.213.0.10", "https://chat.example.org/"),
    ({"https_port": 8443}, "10.213.0.10", "https://10.213.0.10:8443/"),
    ({"server_names": ["chat.example.org"], "https_port": "8443"}, "x", "https://chat.example.org:8443/"),
    ({}, "fd00::10", "https://[fd00::10]/"),
])
def test_the_chat_uis_url_is_the_front_doors(kwargs, address, url):
    raw = s.deployed(**kwargs)
    raw["address"] = address
    host = host_of(build({"a": raw}))
    assert [(u["container"], u["url"]) for u in host["ui"]] == [("lobechat", url)]
    assert containers(host)["front-door"]["url"] == url
    page = _fleet_report_html.render(build({"a": raw}))
    row = ('<td>lobechat</td><td><code>10.213.0.2:5000/lobehub/lobehub:2.3.6</code></td><td>running &middot; healthy</td>'
           '<td>none known</td><td><a href="%s">%s</a></td>' % (url, url))
    assert row in page


def test_a_configured_url_still_wins_over_the_front_door():
    raw = s.deployed()
    raw["ui"] = [{"name": "LobeChat", "container": "lobechat", "url": "https://chat.example.org/lobe/"}]
    assert host_of(build({"a": raw}))["ui"][0]["url"] == "https://chat.example.org/lobe/"


def test_without_a_front_door_the_url_comes_from_the_published_port_as_before():
    raw = s.deployed()
    raw["host"]["containers"] = [c for c in raw["host"]["containers"] if c["name"] != "front-door"]
    assert host_of(build({"a": raw}))["ui"] == [{"name": "LobeChat", "container": "lobechat", "url": None, "running": True}]
    published = s.host()
    published["front_door"] = {"container": "front-door", "server_names": [], "https_port": 443, "ui": ""}
    assert host_of(build({"a": published}))["ui"][0]["url"] == "http://10.213.0.10:3210/"
