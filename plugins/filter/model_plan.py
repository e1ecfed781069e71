# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: model_plan
short_description: A model list checked against Ollama's naming rules and split by what is to be done with each model
version_added: 0.3.0
description:
  - Reads a list such as C(ollama_models_list) once, with the same name rules the modules use, and returns every problem
    of the list and the models split into those to pull, to create from a base model and to delete.
  - Entries may be plain names or dicts with C(name), C(state) (V(present), V(latest), V(absent)), C(digest),
    C(insecure), and for a custom model C(from), C(system), C(template), C(parameters), C(messages).
options:
  _input:
    description: The model list.
    type: raw
    required: true
  option:
    description: The variable the list came from, named in every problem.
    type: str
    default: ollama_models_list
  allowed_registries:
    description:
      - The registries models may come from, each a host (any port) or V(host:port) (that port only), matched
        without regard to case; empty or omitted allows every registry.
      - A model's registry is the host part of its name (V(registry.ollama.ai) for a name without one, such as
        V(qwen2.5:0.5b)). Every model pulled or fetched is checked, the base (C(from)) of a custom model included;
        models to delete are not.
    type: list
    elements: str
    default: []
  allowed_option:
    description: The variable O(allowed_registries) came from, named in the problems.
    type: str
    default: ollama_models_allowed_registries
"""

EXAMPLES = r"""
- name: Refuse an invalid model list
  ansible.builtin.fail:
    msg: "{{ (ollama_models_list | llmops.ollama.model_plan).problems | join('; ') }}"
  when: (ollama_models_list | llmops.ollama.model_plan).problems | length > 0

- name: Refuse, too, a model from a registry the site does not trust
  ansible.builtin.fail:
    msg: "{{ __plan.problems | join('; ') }}"
  when: __plan.problems | length > 0
  vars:
    __plan: "{{ ollama_models_list | llmops.ollama.model_plan(allowed_registries=['registry.ollama.ai', 'harbor.example.com']) }}"
"""

RETURN = r"""
_value:
  description: The plan.
  type: dict
  contains:
    problems:
      description: What is wrong with the list, each naming the option and the value; empty when it is valid.
      type: list
      elements: str
    entries:
      description: Every entry as a dict with C(state) and C(insecure) filled in.
      type: list
      elements: dict
    pulled:
      description: Entries of models pulled from a registry (present or latest).
      type: list
      elements: dict
    custom:
      description: Entries of custom models (with C(from)) that are not absent.
      type: list
      elements: dict
    absent:
      description: Entries to delete.
      type: list
      elements: dict
    wanted:
      description: Names of every model kept, in the short form C(/api/tags) lists, lower case.
      type: list
      elements: str
    fetched:
      description:
        - Entries of the models that come from a registry, once each; the base of a custom model that the list does
          not name itself is an entry with C(state=present) and the custom model's C(insecure).
      type: list
      elements: dict
"""

import json

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import InvalidMirror, auth_hosts

STATES = ("present", "latest", "absent")


def short_name(name):
    """The form /api/tags lists a model in, lower case: qwen2.5 -> qwen2.5:latest."""
    return _model_name.parse(name).shortest().lower()


def _entry_problems(index, entry, option):
    where = "%s[%d]" % (option, index)
    if not isinstance(entry, dict):
        return ["%s: %r must be a dict with a name" % (where, entry)]
    problems = []
    if "name" not in entry:
        return ["%s: entry without a name: %s" % (where, _json(entry))]
    for key in ("name", "from"):
        if key in entry:
            try:
                _model_name.parse(entry[key], option="%s.%s" % (where, key))
            except _model_name.InvalidName as exc:
                problems.append("%s=%s is not a valid Ollama model name ([host:port/namespace/]model[:tag], letters,"
                                " digits, _ . -): %s" % (key, _json(entry[key]), exc))
    if entry.get("state", "present") not in STATES:
        problems.append("%s: state=%s must be present, latest or absent" % (where, _json(entry["state"])))
    if "digest" in entry:
        try:
            _model_name.normalize_digest(entry["digest"], option="%s.digest" % where)
        except _model_name.InvalidName:
            problems.append("%s: digest=%s must be sha256:<64 hex>" % (where, _json(entry["digest"])))
    if not isinstance(entry.get("insecure", False), bool):
        problems.append("%s: insecure=%s must be true or false" % (where, _json(entry["insecure"])))
    return problems


def _json(value):
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _allowed(values, option):
    """([(host, port or None)], problems) of an allowlist of registries; an empty list allows every registry."""
    if values is None or values == "":
        return [], []
    if isinstance(values, (str, bytes)) or not isinstance(values, (list, tuple)):
        return [], ["%s=%s must be a list of registry hosts such as registry.ollama.ai or harbor.example.com:8443"
                    % (option, _json(values))]
    try:
        return auth_hosts(values, option), []
    except InvalidMirror as exc:
        return [], ["invalid %s" % exc]


def _registry_problems(raw, option, allowed, allowed_option, listed):
    """A problem for each model to be pulled or fetched (custom models' bases too) whose registry is not allowed."""
    problems = []
    for index, entry in enumerate(raw):
        if entry.get("state", "present") == "absent":
            continue
        key = "from" if "from" in entry else "name"
        name = _model_name.parse(entry[key])
        if not _model_name.registry_listed(name, allowed):
            host, port = _model_name.registry_of(name)
            problems.append(
                "%s[%d]: %s=%s comes from the registry %s, which %s does not list (%s); pull it from a listed "
                "registry, or add the registry to %s if the site trusts it"
                % (option, index, key, _json(entry[key]), host if port is None else "%s:%d" % (host, port),
                   allowed_option, ", ".join(listed), allowed_option))
    return problems


def model_plan(models, option="ollama_models_list", allowed_registries=None,
               allowed_option="ollama_models_allowed_registries"):
    if models is None:
        models = []
    allowed, problems = _allowed(allowed_registries, allowed_option)
    if isinstance(models, (str, bytes)) or not isinstance(models, (list, tuple)):
        return {"problems": problems + ["%s=%s must be a list of models" % (option, _json(models))],
                "entries": [], "pulled": [], "custom": [], "absent": [], "wanted": [], "fetched": []}
    raw = [({"name": m} if isinstance(m, str) else m) for m in models]
    for index, entry in enumerate(raw):
        problems.extend("invalid %s: %s" % (option, p) for p in _entry_problems(index, entry, option))
    if not problems and allowed:
        listed = [host if port is None else "%s:%d" % (host, port) for host, port in allowed]
        problems.extend("refusing %s: %s" % (option, p)
                        for p in _registry_problems(raw, option, allowed, allowed_option, listed))
    if problems:
        return {"problems": problems, "entries": [], "pulled": [], "custom": [], "absent": [], "wanted": [], "fetched": []}
    entries = [dict({"state": "present", "insecure": False}, **e) for e in raw]
    absent = [e for e in entries if e["state"] == "absent"]
    custom = [e for e in entries if "from" in e and e["state"] != "absent"]
    pulled = [e for e in entries if "from" not in e and e["state"] != "absent"]
    wanted = [short_name(e["name"]) for e in pulled + custom]
    twice = sorted(set(n for n in wanted if wanted.count(n) > 1))
    if twice:
        problems.append("invalid %s: a model is listed twice: %s" % (option, ", ".join(twice)))
    fetched = []
    bases = [{"name": e["from"], "state": "present", "insecure": e["insecure"]} for e in custom]
    for entry in pulled + bases:
        if short_name(entry["name"]) not in [short_name(f["name"]) for f in fetched]:
            fetched.append(entry)
    return {"problems": problems, "entries": entries, "pulled": pulled, "custom": custom, "absent": absent,
            "wanted": wanted, "fetched": fetched}


class FilterModule:
    def filters(self):
        return {"model_plan": model_plan}
