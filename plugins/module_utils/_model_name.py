# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""Ollama model names, parsed and checked the way Ollama's types/model/name.go does it."""

from __future__ import annotations

import collections
import re
import string

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_MISSING = ""
_WORD_START = frozenset(string.ascii_letters + string.digits + "_")
_RULES = {
    # part: (max length, characters allowed after the first, how to say it)
    "host": (350, _WORD_START | set("-.:"), "letters, digits, '_', '-', '.', ':'"),
    "namespace": (80, _WORD_START | set("-"), "letters, digits, '_', '-'"),
    "model": (80, _WORD_START | set("-."), "letters, digits, '_', '-', '.'"),
    "tag": (80, _WORD_START | set("-."), "letters, digits, '_', '-', '.'"),
}
_DIGEST = re.compile(r"^(?:sha256[:-])?([0-9a-fA-F]{64})$")


class InvalidName(ValueError):
    pass


class ModelName(collections.namedtuple("ModelName", "host namespace model tag")):
    """A complete name: Ollama's defaults are filled in."""

    def shortest(self):
        """Ollama's DisplayShortest form, the one /api/tags and /api/ps report."""
        if self.host.lower() == DEFAULT_HOST:
            if self.namespace.lower() == DEFAULT_NAMESPACE:
                return "%s:%s" % (self.model, self.tag)
            return "%s/%s:%s" % (self.namespace, self.model, self.tag)
        return "%s/%s/%s:%s" % (self.host, self.namespace, self.model, self.tag)

    def key(self):
        """Ollama matches existing models part by part, ignoring case."""
        return tuple(part.lower() for part in self)

    def same_model(self, other):
        return self.key() == other.key()


def _split(value):
    """ParseNameBare: tag after the last ':' if it follows the last '/', then model,
    namespace and host from the right. An empty part after a separator is missing."""
    parts = {"host": None, "namespace": None, "model": None, "tag": None}
    rest = value
    if rest.rfind(":") > rest.rfind("/"):
        rest, parts["tag"] = rest.rsplit(":", 1)
    for part in ("model", "namespace"):
        if "/" not in rest:
            parts[part] = rest
            return parts
        rest, parts[part] = rest.rsplit("/", 1)
    parts["host"] = rest
    return parts


def _problem(part, text, parts):
    max_len, allowed, allowed_words = _RULES[part]
    if text == _MISSING:
        return "the %s is empty" % part
    if len(text) > max_len:
        return "the %s %r is %d characters long; at most %d are allowed" % (part, text, len(text), max_len)
    if text[0] not in _WORD_START:
        return "the %s %r must start with a letter, a digit or '_'" % (part, text)
    bad = sorted(set(c for c in text[1:] if c not in allowed))
    if bad:
        msg = "the %s %r may contain only %s, not %s" % (part, text, allowed_words, ", ".join(repr(c) for c in bad))
        if part == "namespace" and parts["host"] is None and ":" in text:
            msg += (". With one '/', the part before it is the namespace, not a registry host:"
                    " a private registry needs all three parts, host[:port]/namespace/model[:tag]"
                    " (for example %s/library/%s)" % (text, parts["model"]))
        if part == "host" and "/" in text:
            msg += ". A name has at most three '/'-separated parts: host[:port]/namespace/model[:tag]"
        return msg
    return None


def parse(value, option="name"):
    """Return the complete ModelName for value, or raise InvalidName naming the option,
    the value and the rule it breaks. Nothing is sent anywhere."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidName("%s: a model name is required, got %r" % (option, value))
    if "://" in value:
        raise InvalidName(
            "%s: %r has a URL scheme; Ollama's API ignores it. Name the model as host[:port]/namespace/model[:tag]"
            " and set insecure=true for a plain-HTTP registry" % (option, value))
    if "@" in value:
        raise InvalidName(
            "%s: %r has a digest suffix, which Ollama does not parse; give the digest in the digest option"
            % (option, value))
    parts = _split(value)
    for part in ("host", "namespace", "model", "tag"):
        if parts[part] is None:
            continue
        problem = _problem(part, parts[part], parts)
        if problem:
            raise InvalidName("%s: %r is not a valid Ollama model name: %s" % (option, value, problem))
    return ModelName(
        host=parts["host"] or DEFAULT_HOST,
        namespace=parts["namespace"] or DEFAULT_NAMESPACE,
        model=parts["model"],
        tag=parts["tag"] or DEFAULT_TAG,
    )


def parse_listed(value):
    """Parse a name reported by the server; None if it does not parse."""
    try:
        return parse(value)
    except InvalidName:
        return None


def find(name, models):
    """The entry of models (dicts from /api/tags or /api/ps) whose name matches, or None."""
    for entry in models:
        listed = parse_listed(entry.get("name") or entry.get("model") or "")
        if listed is not None and listed.same_model(name):
            return entry
    return None


def normalize_digest(value, option="digest"):
    """64 lower-case hex characters, as /api/tags reports digests."""
    match = _DIGEST.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise InvalidName("%s: %r is not a sha256 digest; give sha256:<64 hex characters> or the 64 hex characters"
                          % (option, value))
    return match.group(1).lower()


def registry_of(name):
    """(host, port or None) of a complete ModelName's registry, the host in lower case:
    qwen2.5 -> ('registry.ollama.ai', None), 10.0.0.5:5000/team/m -> ('10.0.0.5', 5000)."""
    host, sep, port = name.host.rpartition(":")
    if sep and host and port.isdigit():
        return host.lower(), int(port)
    return name.host.lower(), None


def registry_listed(name, allowed):
    """Whether the model's registry is one of allowed, a list of (host, port or None) in lower case: a host
    without a port allows every port of that host, host:port only that port."""
    host, port = registry_of(name)
    return any(host == listed and (listed_port is None or listed_port == port) for listed, listed_port in allowed)
