# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""meta/advisories.yml (issue 26): the figures of the issue's table, the roles' defaults agreeing with them, and the
rules the filter applies: a tag below the floor refused naming the advisories it is affected by, an advisory no
release fixes a warning naming what stands in, never a refusal."""

from __future__ import annotations

import pathlib

import pytest
import yaml

from ansible_collections.llmops.ollama.plugins.module_utils import _advisories
from ansible_collections.llmops.ollama.plugins.module_utils._image_ref import version_key

ROOT = pathlib.Path(__file__).resolve().parents[4]
DATA = _advisories.load()

# The issue's table: component -> (default, floor, newest on record).
EXPECTED = {
    "ollama": ("0.40.2", "0.35.1", "0.40.2"),
    "lobehub": ("2.3.6", "2.3.6", "2.3.6"),
    "open_webui": ("v0.12.4", "v0.11.4", "v0.12.4"),
    "nginx": ("1.30.8", "1.30.8", "1.30.8"),
    "paradedb": ("0.26.1-pg17", "", "0.26.1-pg17"),
    "redis": ("7.4.9", "", "7.4.9"),
}
# Which role variable holds each component's image tag.
TAGS = {
    "ollama": [("ollama", "ollama_image_tag")],
    "lobehub": [("lobechat", "lobechat_image_tag")],
    "open_webui": [("open_webui", "open_webui_image_tag")],
    "nginx": [("front_door", "front_door_image_tag"), ("api_guard", "api_guard_image_tag")],
    "paradedb": [("lobechat", "lobechat_postgres_image_tag")],
    "redis": [("lobechat", "lobechat_redis_image_tag")],
}


def defaults(role):
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text(encoding="utf-8"))


def ids(advisories):
    return {i for a in advisories for i in a["ids"]}


def test_the_data_file_is_where_the_filter_looks_in_the_collection():
    assert pathlib.Path(_advisories.DATA_PATH).resolve() == (ROOT / "meta" / "advisories.yml").resolve()
    assert DATA["schema"] == 1


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_component_has_the_figures_of_the_issue(name):
    entry = DATA["components"][name]
    assert (entry["default"], entry["floor"], entry["newest"]) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(TAGS))
def test_the_roles_defaults_are_the_data_defaults(name):
    for role, variable in TAGS[name]:
        assert defaults(role)[variable] == DATA["components"][name]["default"], (role, variable)
        assert "%s_image" % variable[:-len("_image_tag")] in DATA["components"][name]["variables"]


def test_the_ollama_floor_comes_from_the_data_and_the_report_flags_below_it():
    assert defaults("ollama")["ollama_min_version"] == ""
    assert defaults("report")["report_version_floor"] == DATA["components"]["ollama"]["floor"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_advisory_is_complete_and_the_floor_covers_every_fixed_one(name):
    entry = DATA["components"][name]
    floor = entry["floor"]
    assert version_key(entry["default"]) >= version_key(floor or "0.0.0")
    assert version_key(entry["newest"]) >= version_key(entry["default"])
    for advisory in entry["advisories"]:
        assert advisory["ids"] and advisory["summary"] and advisory["sources"] and advisory["confirmed"], advisory
        for key in ("introduced", "last_affected", "fixed_in"):
            if advisory.get(key):
                assert version_key(str(advisory[key])) is not None, (key, advisory["ids"])
        if advisory.get("stands_in"):
            # What the floor does not cover is a warning, and says what stands in for a fix.
            assert not advisory.get("fixed_in") or version_key(advisory["fixed_in"]) > version_key(floor)
        else:
            assert version_key(str(advisory["fixed_in"])) <= version_key(floor), advisory["ids"]
    # Nothing refused at the default: every advisory affecting it has stands_in.
    assert all(a.get("stands_in") for a in _advisories.affecting(entry, entry["default"]))


def test_the_record_that_contradicts_itself_takes_the_safe_side_with_a_note():
    [advisory] = [a for a in DATA["components"]["ollama"]["advisories"] if "CVE-2026-103663" in a["ids"]]
    assert "GHSA-w8p2-phwr-px3r" in advisory["ids"]
    assert advisory["last_affected"] == "0.35.0" and advisory["fixed_in"] == "0.35.1"
    assert "0.35.0" in advisory["note"] and "safe side" in advisory["note"]


def test_the_issue_advisories_are_on_record_with_their_ranges():
    ollama = DATA["components"]["ollama"]
    assert ids(_advisories.affecting(ollama, "0.33.2")) >= {"CVE-2026-85180", "CVE-2026-108836", "CVE-2026-7020"}
    assert "CVE-2026-85180" not in ids(_advisories.affecting(ollama, "0.33.3"))
    assert "CVE-2026-85180" not in ids(_advisories.affecting(ollama, "0.29.9"))
    assert "CVE-2026-108836" in ids(_advisories.affecting(ollama, "0.34.1"))
    assert "CVE-2026-108836" not in ids(_advisories.affecting(ollama, "0.34.2"))
    assert "CVE-2026-103663" in ids(_advisories.affecting(ollama, "0.35.0"))
    assert ids(_advisories.affecting(ollama, "0.35.1")) == {"CVE-2026-7020", "GHSA-x99g-8v8j-25j2"}
    # The advisories the supply-chain page listed before stay on record.
    assert ids(ollama["advisories"]) >= {"CVE-2025-66959", "CVE-2025-66960", "CVE-2026-7482", "CVE-2025-51471",
                                         "CVE-2024-45436", "CVE-2024-37032", "CVE-2024-28224", "CVE-2026-7020"}
    lobehub = DATA["components"]["lobehub"]
    assert ids(_advisories.affecting(lobehub, "2.2.19")) == {"CVE-2026-142235"}
    assert ids(lobehub["advisories"]) >= {"CVE-2026-142235", "CVE-2026-54157", "CVE-2026-39411"}
    assert ids(_advisories.affecting(DATA["components"]["nginx"], "1.30.3")) == {
        "nginx 1.30.4 to 1.30.8 security releases"}
    assert ids(_advisories.affecting(DATA["components"]["open_webui"], "v0.11.3")) == {
        "CVE-2026-109285 to CVE-2026-109300"}


@pytest.mark.parametrize("name, prefix, tag, named", [
    ("ollama", "ollama_image", "0.32.15", ["CVE-2026-85180", "CVE-2026-108836"]),
    ("ollama", "ollama_image", "0.35.0", ["CVE-2026-103663", "GHSA-w8p2-phwr-px3r"]),
    ("lobehub", "lobechat_image", "2.2.19", ["CVE-2026-142235"]),
    ("open_webui", "open_webui_image", "v0.11.3", ["CVE-2026-109285 to CVE-2026-109300"]),
    ("nginx", "front_door_image", "1.30.3", ["1.30.4 to 1.30.8"]),
    ("nginx", "api_guard_image", "1.30.7", ["1.30.4 to 1.30.8"]),
])
def test_a_tag_below_the_floor_is_refused_naming_its_advisories(name, prefix, tag, named):
    repository = DATA["components"][name]["image"]
    floor = DATA["components"][name]["floor"]
    option = prefix[:-len("_image")] + "_allow_unsafe_version"
    [message] = _advisories.problems(name, repository, tag, "", prefix, unsafe_option=option)
    assert message.startswith('%s_tag="%s" is below the minimum %s, with the known advisories ' % (prefix, tag, floor))
    assert all(n in message for n in named), message
    assert "CVE-2026-7020" not in message  # a warning, never a refusal
    assert message.endswith("use %s or newer, or set %s: true to run it anyway" % (floor, option))
    assert _advisories.problems(name, repository, tag, "", prefix, unsafe_option=option, allow_unsafe=True) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_default_passes(name):
    entry = DATA["components"][name]
    assert _advisories.problems(name, entry["image"], entry["default"], "", "x_image") == []


def test_an_advisory_no_release_fixes_is_a_warning_naming_what_stands_in():
    [warning] = _advisories.warnings("ollama", "0.40.2", "ollama_image")
    assert warning.startswith('ollama_image_tag="0.40.2" is affected by CVE-2026-7020 (GHSA-x99g-8v8j-25j2), which no '
                              'release fixes; what stands in for a fix: the API guard')
    assert "ollama_models_allowed_registries" in warning
    assert _advisories.warnings("lobehub", "2.3.6", "lobechat_image") == []
    assert _advisories.warnings("ollama", "latest", "ollama_image") == []


def test_an_unknown_component_is_named():
    with pytest.raises(KeyError, match="no component \"nope\""):
        _advisories.component("nope")
