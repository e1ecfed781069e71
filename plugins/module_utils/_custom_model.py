# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""Custom models (/api/create): what the user asks for, and whether an existing model has it."""

from __future__ import annotations

import re

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError

CUSTOM_FIELDS = ("from", "system", "template", "parameters", "messages")

# Ollama's create handler skips these when they are empty (server/create.go createModel:
# `if r.Template != ""`, `if r.System != ""`; setMessages returns at `len(m) == 0`, "this leaves
# the old messages intact"), so the new model keeps the base model's value: an empty one can
# neither clear it nor ever match it.
_CANNOT_BE_EMPTY = {
    "system": "system prompt",
    "template": "prompt template",
    "messages": "example messages",
}


class CannotClear(ApiError):
    """An empty system/template/messages, refused before any request is sent.

    An ApiError so that the calling module's one failure path for a running model manager
    reports it with its facts (model, API URL) instead of a traceback.
    """


_GO_ESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[abfnrtv\\"\'])')
_GO_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"', "'": "'"}


def _go_unquote(text):
    """Undo Go's strconv.Quote (what %#v does to strings)."""
    def one(match):
        code = match.group(1)
        if code[0] in "xuU":
            return chr(int(code[1:], 16))
        return _GO_SIMPLE[code]
    return _GO_ESCAPE.sub(one, text[1:-1])


def _scalar(text):
    """'true' and 'false' as booleans, a number's text as a float, other text as it is."""
    if text in ("true", "false"):
        return text == "true"
    try:
        return float(text)
    except ValueError:
        return text


def _go_value(text):
    if len(text) >= 2 and text.startswith('"') and text.endswith('"'):
        return _go_unquote(text)
    return _scalar(text)


def parse_show_parameters(text):
    """/api/show gives parameters as text, one '%-30s %#v' line per value (a list such as
    stop repeats its key). Return {key: [values]}."""
    params = {}
    for line in (text or "").splitlines():
        key, sep, value = line.strip().partition(" ")
        if key and sep:
            params.setdefault(key, []).append(_go_value(value.strip()))
    return params


def _comparable(value):
    """One scalar as Ollama holds it: JSON numbers become float64, so 4096 == 4096.0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return _scalar(value)
    return value


def _values(value):
    items = value if isinstance(value, list) else [value]
    return [_comparable(item) for item in items]


def desired_from_params(params):
    """The custom-model fields the user set (None means: keep what the base gives).

    An empty system, template or messages is refused (CannotClear): Ollama would keep the base
    model's value, and the model would be re-created on every run to no effect.
    """
    desired = {field: params[field] for field in CUSTOM_FIELDS if params.get(field) is not None}
    for field, what in _CANNOT_BE_EMPTY.items():
        if field in desired and not desired[field]:
            raise CannotClear(
                "%s: %r cannot clear the %s that %s gives: Ollama's /api/create skips an empty %s, so the "
                "model would keep the base's %s (and be re-created on every run). Omit %s to keep the base's, "
                "or give one of your own." % (field, desired[field], what, params.get("from") or "the base model",
                                              field, what, field))
    return desired


def create_request(name, desired):
    request = {"model": name}
    request.update(desired)
    return request


def current_fields(show):
    """The same fields read back from /api/show of an existing model."""
    return {
        "from": (show.get("details") or {}).get("parent_model") or "",
        "system": show.get("system") or "",
        "template": show.get("template") or "",
        "parameters": parse_show_parameters(show.get("parameters")),
        "messages": [{"role": m.get("role"), "content": m.get("content")} for m in show.get("messages") or []],
    }


def differences(desired, show):
    """Names of the fields where the existing model differs from the request.

    Only parameters the user names are compared: the rest are inherited from the base model.
    """
    current = current_fields(show)
    changed = []
    for field, want in desired.items():
        have = current[field]
        if field == "from":
            listed = _model_name.parse_listed(have)
            same = listed is not None and listed.same_model(_model_name.parse(want, option="from"))
        elif field == "parameters":
            same = all(sorted(_values(value), key=repr) == sorted(have.get(key, []), key=repr)
                       for key, value in want.items())
        elif field == "messages":
            same = [(m["role"], m["content"]) for m in want] == [(m["role"], m["content"]) for m in have]
        else:
            same = want == have
        if not same:
            changed.append(field)
    return changed


def diff_view(fields):
    """A stable, readable dict for --diff."""
    view = dict(fields)
    if isinstance(view.get("parameters"), dict):
        view["parameters"] = {key: value[0] if isinstance(value, list) and len(value) == 1 else value
                              for key, value in sorted(view["parameters"].items())}
    return view
