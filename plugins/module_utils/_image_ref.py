# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""Container image references: a repository, a tag and a digest, checked part by part.

The grammar is the one Docker and Podman share (the distribution project's reference grammar):
  repository  [domain '/'] path-component ('/' path-component)*
  domain      domain-component ('.' domain-component)* [':' port]
  tag         [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
  digest      sha256:<64 lower-case hex>   (the only algorithm the roles accept)
A role's image is three variables, <role>_image_repository, <role>_image_tag and <role>_image_digest;
every check here names the variable at fault and its value.
"""

from __future__ import annotations

import json
import re

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = r"%s(?:\.%s)*(?::[0-9]{1,5})?" % (_DOMAIN_COMPONENT, _DOMAIN_COMPONENT)
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
# All used with fullmatch, never match/search: a trailing newline is a character like any other.
REPOSITORY = re.compile(r"(?:%s/)?%s(?:/%s)*" % (_DOMAIN, _PATH_COMPONENT, _PATH_COMPONENT))
TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# A release tag such as 0.32.15, v0.32.15, 0.32.15-rocm; a pre-release such as 0.33.0-rc2.
_VERSION = re.compile(r"v?([0-9]+)\.([0-9]+)\.([0-9]+)(?:-rc([0-9]+))?(?:[-+][A-Za-z0-9_.-]*)?")
MAX_REPOSITORY = 255


def quoted(value):
    """A value as the messages show it: JSON, so that an empty string and trailing spaces are visible."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def version_key(tag):
    """A comparable key for a version tag, or None when the tag is not a version. A pre-release sorts
    below its release (0.31.2-rc1 < 0.31.2): an rc of the floor release may lack the fix."""
    match = _VERSION.fullmatch(tag) if isinstance(tag, str) else None
    if not match:
        return None
    major, minor, patch, rc = match.groups()
    return (int(major), int(minor), int(patch), 0 if rc is not None else 1, int(rc or 0))


def split_reference(reference):
    """(repository, tag, digest) of a full reference such as repo:tag@sha256:..., '' for a missing part.
    Nothing is checked here; check() does that part by part."""
    rest, digest = reference.partition("@")[::2]
    tag = ""
    if rest.rfind(":") > rest.rfind("/"):
        rest, tag = rest.rsplit(":", 1)
    return rest, tag, digest


def repository_problem(value, option):
    """Why value cannot be <prefix>_repository, or ''."""
    if not isinstance(value, str) or not value:
        return "%s=%s must be an image repository such as docker.io/ollama/ollama" % (option, quoted(value))
    prefix = option[:-len("_repository")] if option.endswith("_repository") else option
    if "@" in value or REPOSITORY.fullmatch(value) is None:
        repository, tag, digest = split_reference(value)
        if REPOSITORY.fullmatch(repository) and (tag or digest):
            moved = []
            if tag:
                moved.append("the tag in %s_tag" % prefix)
            if digest:
                moved.append("the digest in %s_digest" % prefix)
            return "%s=%s holds more than a repository; give %s and %s in %s" % (
                option, quoted(value), repository, " and ".join(moved), option)
        return ("%s=%s is not an image repository such as docker.io/ollama/ollama (lower-case path components, "
                "after a registry host and port if needed)" % (option, quoted(value)))
    if len(value) > MAX_REPOSITORY:
        return "%s=%s is %d characters long; at most %d are allowed" % (
            option, quoted(value), len(value), MAX_REPOSITORY)
    return ""


def tag_problem(value, option, digest_option):
    """Why value cannot be <prefix>_tag, or ''. An empty tag is judged by check(), which knows the digest."""
    if value == "":
        return ""
    if not isinstance(value, str):
        return "%s=%s must be a string such as \"1.30.3\" (quote it in YAML)" % (option, quoted(value))
    if "@" in value:
        tag, digest = value.partition("@")[::2]
        return "%s=%s holds a digest; give %s in %s and %s in %s" % (
            option, quoted(value), quoted(tag), option, quoted(digest), digest_option)
    if TAG.fullmatch(value) is None:
        return ("%s=%s is not an image tag (letters, digits, '_', '.', '-', starting with a letter, a digit or '_', "
                "at most 128 characters)" % (option, quoted(value)))
    return ""


def digest_problem(value, option):
    """Why value cannot be <prefix>_digest, or ''. Empty means no pin."""
    if value == "" or value is None:
        return ""
    if not isinstance(value, str) or DIGEST.fullmatch(value) is None:
        return ("%s=%s must be sha256:<64 lower-case hex characters>, the manifest digest the registry gives for the "
                "image (docker buildx imagetools inspect, skopeo inspect, or RepoDigests in docker image inspect)"
                % (option, quoted(value)))
    return ""


def check(repository, tag, digest, prefix, min_version="", unsafe_option="", allow_unsafe=False):
    """Every problem of the image <prefix>_repository, <prefix>_tag, <prefix>_digest, as a list of messages.

    With min_version (a release such as 0.31.2) the tag must be a version at or above it, unless
    allow_unsafe (the variable unsafe_option) is true. A digest pins the image exactly, but says nothing a
    playbook can read about the version behind it: a digest without a tag is refused when there is a floor
    (the operator gives the tag the digest belongs to as well), and allowed otherwise."""
    names = {part: "%s_%s" % (prefix, part) for part in ("repository", "tag", "digest")}
    problems = [repository_problem(repository, names["repository"]),
                tag_problem(tag, names["tag"], names["digest"]),
                digest_problem(digest, names["digest"])]
    problems = [p for p in problems if p]
    if problems:
        return problems
    digest = digest or ""
    if tag == "" and digest == "":
        return ["%s is empty and so is %s; give the image's tag (and, to pin it, its digest)"
                % (names["tag"], names["digest"])]
    if not min_version:
        return []
    floor = version_key(min_version)
    if floor is None or floor[3] == 0:
        return ["the minimum version %s is not a release such as 0.31.2" % quoted(min_version)]
    if allow_unsafe:
        return []
    escape = " or set %s: true" % unsafe_option if unsafe_option else ""
    if tag == "":
        return ["%s is empty, with %s=%s: the version behind a digest cannot be judged against the minimum %s; "
                "give the tag the digest belongs to in %s as well%s"
                % (names["tag"], names["digest"], quoted(digest), min_version, names["tag"], escape)]
    version = version_key(tag)
    if version is None:
        return ["%s=%s is not a version; pin one such as %s%s" % (names["tag"], quoted(tag), min_version, escape)]
    if version < floor:
        return ["%s=%s is below the minimum %s (known remote vulnerabilities); use %s or newer%s"
                % (names["tag"], quoted(tag), min_version, min_version, "," + escape if escape else "")]
    return []


def reference(repository, tag, digest, tag_suffix=""):
    """The reference the container engine is given: repository@digest when a digest pins the image (the tag
    then only says, to people and to the version check, what the digest is; community.docker cannot find
    an image pulled as name:tag@digest again), else repository:tag plus the suffix (the -rocm variant)."""
    if digest:
        return "%s@%s" % (repository, digest)
    return "%s:%s%s" % (repository, tag, tag_suffix or "")
