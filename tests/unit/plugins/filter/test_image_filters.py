# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The image filters (image_advisories, image_reference) over module_utils/_image_ref and _advisories: every role's image is a
repository, a tag and an optional digest; the messages name the variable at fault and its value, and the
Ollama role's tag is judged against the version floor whether or not a digest pins the image."""

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.filter.image_advisories import FilterModule as ProblemFilters
from ansible_collections.llmops.ollama.plugins.filter.image_advisories import image_advisories
from ansible_collections.llmops.ollama.plugins.filter.image_reference import FilterModule as ReferenceFilters
from ansible_collections.llmops.ollama.plugins.filter.image_reference import image_reference
from ansible_collections.llmops.ollama.plugins.module_utils import _image_ref

DIGEST = "sha256:" + "ab12" * 16
FLOOR = dict(unsafe_option="ollama_allow_unsafe_version")


def image_problem(repository, prefix, component="redis", **kwargs):
    """The refusals as the roles join them; Redis has no floor on record, so only the reference grammar is judged."""
    result = image_advisories(repository, prefix, component, **kwargs)
    assert set(result) == {"problems", "warnings"}
    return "; ".join(result["problems"])


def ollama(tag="0.40.2", digest="", repository="docker.io/ollama/ollama", **kwargs):
    return image_problem(repository, "ollama_image", component="ollama", tag=tag, digest=digest, **dict(FLOOR, **kwargs))


def test_the_filters_are_registered():
    assert ProblemFilters().filters() == {"image_advisories": image_advisories}
    assert ReferenceFilters().filters() == {"image_reference": image_reference}


@pytest.mark.parametrize("repository", [
    "docker.io/ollama/ollama", "ollama/ollama", "nginx", "10.213.0.2:5000/ollama/ollama", "localhost:5000/a/b/c",
    "ghcr.io/open-webui/open-webui", "registry.example.com/team/lobe_chat", "quay.io/a__b/c-d.e", "my-registry:443/x",
])
def test_good_repositories_pass(repository):
    assert image_problem(repository, "lobechat_image", tag="1.143.2") == ""


@pytest.mark.parametrize("tag, digest", [("0.40.2", ""), ("0.40.2", DIGEST), ("v0.41.0", ""), ("0.35.1", DIGEST),
                                         ("0.40.2-rocm", ""), ("1.0.0", "")])
def test_tags_at_or_above_the_floor_pass_with_or_without_a_digest(tag, digest):
    assert ollama(tag=tag, digest=digest) == ""


@pytest.mark.parametrize("repository, expected", [
    ("Docker.io/Ollama/Ollama", 'ollama_image_repository="Docker.io/Ollama/Ollama" is not an image repository'),
    ("docker.io//ollama", 'ollama_image_repository="docker.io//ollama" is not an image repository'),
    ("docker.io/ollama/ollama\n", 'ollama_image_repository="docker.io/ollama/ollama\\n" is not an image repository'),
    ("https://docker.io/ollama/ollama", 'ollama_image_repository="https://docker.io/ollama/ollama" is not an image'),
    ("", 'ollama_image_repository="" must be an image repository'),
    ("docker.io/ollama/ollama:0.32.15",
     'ollama_image_repository="docker.io/ollama/ollama:0.32.15" holds more than a repository; give '
     'docker.io/ollama/ollama and the tag in ollama_image_tag in ollama_image_repository'),
    ("docker.io/ollama/ollama@" + DIGEST,
     'holds more than a repository; give docker.io/ollama/ollama and the digest in ollama_image_digest'),
    ("docker.io/ollama/ollama:0.32.15@" + DIGEST, "the tag in ollama_image_tag and the digest in ollama_image_digest"),
])
def test_a_bad_repository_is_refused_naming_variable_and_value(repository, expected):
    assert expected in ollama(repository=repository)


@pytest.mark.parametrize("tag, expected", [
    ("0.32.15@" + DIGEST, 'ollama_image_tag="0.32.15@%s" holds a digest; give "0.32.15" in ollama_image_tag and "%s" in '
                          'ollama_image_digest' % (DIGEST, DIGEST)),
    ("-rc", 'ollama_image_tag="-rc" is not an image tag'),
    ("a" * 129, "is not an image tag"),
    ("0.32.15 ", 'ollama_image_tag="0.32.15 " is not an image tag'),
])
def test_a_bad_tag_is_refused_naming_variable_and_value(tag, expected):
    assert expected in image_problem("docker.io/library/nginx", "ollama_image", tag=tag)


@pytest.mark.parametrize("digest", [
    "sha256:xyz", "sha256:" + "AB12" * 16, "sha512:" + "ab" * 64, "ab12" * 16, "sha256:" + "ab12" * 16 + "\n",
    "sha256:" + "ab12" * 16 + "0", "sha256:../../etc/passwd", " " + DIGEST,
])
def test_a_malformed_digest_is_refused_naming_variable_and_value(digest):
    message = image_problem("docker.io/library/nginx", "front_door_image", tag="1.30.3", digest=digest)
    assert message.startswith('front_door_image_digest=%s must be sha256:<64 lower-case hex characters>'
                              % _image_ref.quoted(digest))


@pytest.mark.parametrize("tag, digest, expected", [
    ("0.17.1", "", 'ollama_image_tag="0.17.1" is below the minimum 0.35.1, with the known advisories '),
    ("0.20.3", DIGEST, 'ollama_image_tag="0.20.3" is below the minimum 0.35.1'),
    ("0.35.1-rc1", "", 'ollama_image_tag="0.35.1-rc1" is below the minimum 0.35.1'),
    ("v0.35.0", "", 'ollama_image_tag="v0.35.0" is below the minimum 0.35.1'),
    ("latest", "", 'ollama_image_tag="latest" is not a version; pin one such as 0.35.1 or set '
                   'ollama_allow_unsafe_version: true'),
    ("rocm", DIGEST, 'ollama_image_tag="rocm" is not a version'),
    ("", DIGEST, 'ollama_image_tag is empty, with ollama_image_digest="%s": the version behind a digest cannot be '
                 'judged against the minimum 0.35.1; give the tag the digest belongs to in ollama_image_tag as well or set '
                 'ollama_allow_unsafe_version: true' % DIGEST),
])
def test_the_floor_judges_the_tag_also_when_a_digest_pins_the_image(tag, digest, expected):
    assert ollama(tag=tag, digest=digest).startswith(expected)
    assert ollama(tag=tag, digest=digest, allow_unsafe=True) == ""


def test_allow_unsafe_accepts_ansible_booleans_as_strings():
    assert ollama(tag="0.17.1", allow_unsafe="yes") == ""
    assert "below the minimum" in ollama(tag="0.17.1", allow_unsafe="false")


def test_without_a_floor_a_digest_alone_pins_the_image():
    assert image_problem("docker.io/lobehub/lobe-chat", "lobechat_image", tag="", digest=DIGEST) == ""
    assert image_problem("docker.io/lobehub/lobe-chat", "lobechat_image", tag="latest") == ""


def test_neither_tag_nor_digest_is_refused():
    assert image_problem("docker.io/library/nginx", "api_guard_image", tag="", digest="") == (
        "api_guard_image_tag is empty and so is api_guard_image_digest; give the image's tag (and, to pin it, its digest)")


def test_a_floor_that_is_not_a_release_is_refused():
    assert ollama(min_version="0.31") == 'the minimum version "0.31" is not a release such as 0.31.2'
    assert ollama(min_version="0.31.2-rc1") == 'the minimum version "0.31.2-rc1" is not a release such as 0.31.2'


def test_a_role_override_raises_the_floor_and_the_advisories_still_come_from_the_data():
    message = ollama(tag="0.40.2", min_version="0.41.0")
    assert message.startswith('ollama_image_tag="0.40.2" is below the minimum 0.41.0, with no advisory on record')
    assert ollama(tag="0.41.0", min_version="0.41.0") == ""


def test_every_problem_of_the_parts_comes_at_once():
    message = image_problem("Bad Repo", "open_webui_image", tag="a b", digest="sha256:1")
    assert message.count("; ") == 2
    assert "open_webui_image_repository=" in message and "open_webui_image_tag=" in message
    assert "open_webui_image_digest=" in message


def test_none_values_are_treated_as_empty():
    assert image_problem("docker.io/library/nginx", "front_door_image", tag="1.30.3", digest=None) == ""


@pytest.mark.parametrize("args, expected", [
    (("docker.io/ollama/ollama", "0.32.15", ""), "docker.io/ollama/ollama:0.32.15"),
    (("docker.io/ollama/ollama", "0.32.15", "", "-rocm"), "docker.io/ollama/ollama:0.32.15-rocm"),
    (("docker.io/ollama/ollama", "0.32.15", DIGEST), "docker.io/ollama/ollama@" + DIGEST),
    (("docker.io/ollama/ollama", "0.32.15", DIGEST, "-rocm"), "docker.io/ollama/ollama@" + DIGEST),
    (("10.213.0.2:5000/library/nginx", "", DIGEST), "10.213.0.2:5000/library/nginx@" + DIGEST),
    (("docker.io/library/nginx", "1.30.3", None), "docker.io/library/nginx:1.30.3"),
])
def test_the_engine_gets_repository_at_digest_when_pinned_else_repository_colon_tag(args, expected):
    assert image_reference(*args) == expected


@pytest.mark.parametrize("tag, key", [
    ("0.32.15", (0, 32, 15, 1, 0)), ("v0.32.15", (0, 32, 15, 1, 0)), ("0.33.0-rc2", (0, 33, 0, 0, 2)),
    ("0.32.15-rocm", (0, 32, 15, 1, 0)), ("latest", None), ("0.32", None), ("0.32.15\n", None), (None, None),
])
def test_version_key(tag, key):
    assert _image_ref.version_key(tag) == key


def test_split_reference():
    assert _image_ref.split_reference("h:5000/a/b:1.0@" + DIGEST) == ("h:5000/a/b", "1.0", DIGEST)
    assert _image_ref.split_reference("h:5000/a/b") == ("h:5000/a/b", "", "")
    assert _image_ref.split_reference("a@" + DIGEST) == ("a", "", DIGEST)
