# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""The advisories of the images the roles run, read from the collection's meta/advisories.yml.

A component (ollama, lobehub, open_webui, nginx, paradedb, redis) has a default tag, a floor (the lowest tag let
through without the role's allow-unsafe option; empty for none) and advisories. An advisory affects a tag when
introduced <= tag < fixed_in (no introduced: every older release; no fixed_in: no release fixes it). A tag below the
floor is refused naming the advisories it is affected by; an advisory the floor does not cover (it has stands_in)
is a warning naming what stands in for a fix, never a refusal.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.yaml import yaml_load

from ansible_collections.llmops.ollama.plugins.module_utils._image_ref import check, quoted, version_key

# plugins/module_utils/_advisories.py -> <collection>/meta/advisories.yml, in a checkout and in an installed collection.
DATA_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                         "meta", "advisories.yml")
_CACHE = {}


def load(path=None):
    """The parsed data file (cached per path)."""
    path = path or DATA_PATH
    if path not in _CACHE:
        with open(path, encoding="utf-8") as handle:
            _CACHE[path] = yaml_load(handle)
    return _CACHE[path]


def component(name, data=None):
    """The entry of one component; KeyError naming the known ones otherwise."""
    components = (data or load())["components"]
    if name not in components:
        raise KeyError("no component %s in the advisories data; known: %s" % (quoted(name), ", ".join(sorted(components))))
    return components[name]


def advisory_name(advisory):
    """The ids of an advisory as one text: CVE-2026-103663 (GHSA-w8p2-phwr-px3r)."""
    ids = [str(i) for i in advisory.get("ids") or []]
    cves = [i for i in ids if not i.startswith("GHSA-")]
    ghsas = [i for i in ids if i.startswith("GHSA-")]
    if cves and ghsas:
        return "%s (%s)" % (", ".join(cves), ", ".join(ghsas))
    return ", ".join(ids)


def affects(advisory, tag):
    """Whether the advisory affects the version tag (False for a tag that is not a version)."""
    version = version_key(tag)
    if version is None:
        return False
    introduced = advisory.get("introduced")
    if introduced and version < version_key(str(introduced)):
        return False
    fixed = advisory.get("fixed_in")
    return not fixed or version < version_key(str(fixed))


def affecting(entry, tag):
    """The advisories of a component that affect the tag, in the data's order."""
    return [a for a in entry.get("advisories") or [] if affects(a, tag)]


def open_advisories(entry, tag):
    """The advisories that affect the tag and that a floor does not refuse: those with stands_in."""
    return [a for a in affecting(entry, tag) if a.get("stands_in")]


def floor_of(entry, override=""):
    """The floor in force: the role's override variable when given, else the data's."""
    return str(override or entry.get("floor") or "")


def problems(name, repository, tag, digest, prefix, min_version="", unsafe_option="", allow_unsafe=False, data=None):
    """Every refusal of the image <prefix>_repository/_tag/_digest of component `name`, as messages: the reference
    grammar (check), then a tag below the floor naming the advisories it is affected by (and, before a component's
    end_of_life mark, what that means)."""
    entry = component(name, data)
    floor = floor_of(entry, min_version)
    found = check(repository, tag, digest, prefix, min_version=floor, unsafe_option=unsafe_option,
                  allow_unsafe=allow_unsafe)
    version = version_key(tag) if isinstance(tag, str) else None
    if not found or version is None or version_key(floor) is None or version >= version_key(floor):
        return found
    escape = ", or set %s: true to run it anyway" % unsafe_option if unsafe_option else ""
    names = [advisory_name(a) for a in affecting(entry, tag) if not a.get("stands_in")]
    known = "the known advisories %s" % ", ".join(names) if names else "no advisory on record"
    for mark in entry.get("end_of_life") or []:
        if version < version_key(str(mark["before"])):
            return ["%s_tag=%s %s; below the minimum %s, with %s%s"
                    % (prefix, quoted(tag), " ".join(str(mark["note"]).split()), floor, known, escape)]
    return ["%s_tag=%s is below the minimum %s, with %s; use %s or newer%s"
            % (prefix, quoted(tag), floor, known, floor, escape)]


def warnings(name, tag, prefix, data=None):
    """The advisories no release (at or above the floor) fixes that affect the tag, each naming what stands in."""
    entry = component(name, data)
    return ["%s_tag=%s is affected by %s, which no release fixes; what stands in for a fix: %s"
            % (prefix, quoted(tag), advisory_name(a), " ".join(str(a["stands_in"]).split()))
            for a in open_advisories(entry, tag if isinstance(tag, str) else "")]


def _repository_path(repository):
    """The path of an image repository without its registry, with Docker Hub's library/ for a one-part name:
    docker.io/ollama/ollama -> ollama/ollama, 10.0.0.2:5000/nginx -> library/nginx."""
    parts = str(repository or "").lower().split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    if len(parts) == 1:
        parts = ["library"] + parts
    return "/".join(parts)


def component_of_image(repository, data=None):
    """The component whose image the repository is, by its path: the same path in any registry (a mirror such as
    10.0.0.2:5000/ollama/ollama), or ending in it (a proxy project such as harbor.example/hub/ollama/ollama); None
    when no component's image matches."""
    path = _repository_path(repository)
    for name, entry in sorted(((data or load())["components"] or {}).items()):
        image_path = _repository_path(entry.get("image"))
        if entry.get("image") and (path == image_path or path.endswith("/" + image_path)):
            return name
    return None


def known(name, tag, data=None):
    """The advisories of component `name` that affect the version tag, in the data's order, each as its ids in one
    text (advisory_name) and the release that fixes it (None: no release fixes it). None when the tag is not a
    version, so nothing can be said; [] for a component with no advisory on record, whatever its tag."""
    entry = component(name, data)
    if not entry.get("advisories"):
        return []
    if version_key(tag) is None:
        return None
    return [{"ids": advisory_name(a), "fixed_in": str(a["fixed_in"]) if a.get("fixed_in") else None}
            for a in affecting(entry, tag)]
