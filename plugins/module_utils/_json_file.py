# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""A JSON object file (such as Docker's /etc/docker/daemon.json): read, merge settings into it, render.

The merge is Ansible's combine(recursive=true, list_merge=...) for the two list modes used here:
dicts merge key by key, recursively; a list meeting a list is replaced (`replace`) or becomes the
existing items that are not in the new list followed by the new list (`append_rp`); anything else
is replaced by the new value. Keys the settings do not name are kept as they are, in their order.
"""

from __future__ import annotations

import json

from ansible_collections.llmops.ollama.plugins.module_utils._host_file import keep_content

LIST_MERGES = ("replace", "append_rp")


class JsonFileError(Exception):
    pass


def merge(existing, new, list_merge="append_rp"):
    """A new dict: `existing` with `new` merged in; neither argument is changed."""
    if list_merge not in LIST_MERGES:
        raise ValueError("list_merge must be one of %s" % ", ".join(LIST_MERGES))
    merged = dict(existing)
    for key, value in new.items():
        old = merged.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged[key] = merge(old, value, list_merge)
        elif isinstance(old, list) and isinstance(value, list) and list_merge == "append_rp":
            merged[key] = [item for item in old if item not in value] + list(value)
        else:
            merged[key] = value
    return merged


# What json.loads gives for a value that is not an object, and its name in messages; anything else is a number.
_TYPE_NAMES = ((list, "an array"), (str, "a string"), (bool, "a boolean"), (type(None), "null"))


def _type_name(value):
    return next((name for kind, name in _TYPE_NAMES if isinstance(value, kind)), "a number")


def parse_object(data, path):
    """The JSON object in `data` (bytes); empty or blank counts as {}. Errors name the path and the position of
    the problem, never the file's content."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise JsonFileError("%s is not UTF-8 text (byte %d); it cannot be a JSON file" % (path, e.start))
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as e:
        where = ("line %d column %d (char %d)" % (e.lineno, e.colno, e.pos)) if hasattr(e, "lineno") else "unknown position"
        reason = getattr(e, "msg", "invalid JSON")
        raise JsonFileError("%s is not valid JSON: %s at %s; fix or remove it" % (path, reason, where))
    except RecursionError:
        raise JsonFileError("%s nests JSON too deeply to be read; fix or remove it" % path)
    if not isinstance(value, dict):
        raise JsonFileError("%s holds %s, not a JSON object; fix or remove it" % (path, _type_name(value)))
    return value


def render(value):
    """The bytes written: two-space indentation, keys in their order, a final newline."""
    return (json.dumps(value, indent=2, sort_keys=False) + "\n").encode("utf-8")


def keep_merged(path, settings, list_merge, mode, owner, group, create_parent, check_mode):
    """Merge `settings` into the JSON object file at `path` and keep it with this mode and owner, writing only what
    differs (nothing in check mode). Returns {changed, created, config, before, after}: `config` the merged object,
    `before` the file's bytes (None when it did not exist), `after` the bytes it holds (or would hold). The file is
    read once. Shared by json_file (which writes) and container_runtime_info (which predicts, in check mode)."""
    out = {}

    def merged_bytes(data):
        existing = parse_object(data, path) if data is not None else {}
        out["config"] = merge(existing, settings, list_merge)
        out["after"] = render(out["config"])
        return out["after"]

    changed, created, before = keep_content(path, merged_bytes, mode, owner, group, create_parent, check_mode)
    out.update(changed=changed, created=created, before=before)
    return out
