# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""What the modules that put a model on a server share (ollama_model, ollama_mirror_fetch): the
options name, state and digest, the parsing of both before anything is sent, the before/after view
for --diff, the rules of a digest pin, and the error handling of main()."""

from __future__ import annotations

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._common import (
    COMMON_ARGS, InvalidOption, fail_api)
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import ModelsDirError
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import InvalidMirror


def model_args(states, **extra):
    """The argument spec: name, state (one of states, the first is the default), digest, the connection
    options, and the module's own."""
    spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": states[0], "choices": list(states)},
        "digest": {"type": "str"},
    }
    spec.update(extra)
    spec.update(COMMON_ARGS)
    return spec


def state_view(entry):
    if entry is None:
        return {"state": "absent"}
    return {"state": "present", "digest": entry.get("digest")}


def blobs_missing(models_dir, name):
    """The blobs the manifest of name in models_dir names but blobs/ lacks (or holds at another size);
    None when models_dir has no manifest for it."""
    manifest = models_dir.read_manifest(name)
    if manifest is None:
        return None
    return models_dir.missing_blobs(manifest)


class ModelTask:
    """One model on one server: the module, the client, the parsed name and pin, what was done."""

    def __init__(self, module, client, name):
        self.module = module
        self.client = client
        self.name = name
        self.params = module.params
        self.check_mode = module.check_mode
        self.pin = module.params["digest"]
        self.actions = []
        self.result = {"changed": False}

    def run(self):
        raise NotImplementedError

    def diff(self, before, after):
        if self.module._diff:
            label = self.name.shortest()
            self.result["diff"] = {"before": dict(before, name=label), "after": dict(after, name=label)}

    def listed(self):
        return _model_name.find(self.name, self.client.tags())

    def refreshed(self):
        entry = self.listed()
        if entry is None:
            raise ApiError("%s is not listed by GET %s after Ollama reported success"
                           % (self.name.shortest(), self.client.http.url("/api/tags")))
        return entry

    def pin_mismatch(self, have, changed=False):
        self.module.fail_json(
            msg="%s has digest %s on the server, but digest pins %s" % (self.name.shortest(), have, self.pin),
            model=self.name.shortest(), digest=have, expected_digest=self.pin, actions=self.actions, changed=changed)

    def pin_holds(self, entry):
        return self.pin is None or (entry is not None and entry.get("digest") == self.pin)

    def keeps(self, before):
        """True when the model on the server already satisfies state and pin (nothing to fetch); fails for
        state=present with another digest than the pin."""
        if before is None:
            return False
        pin_holds = self.pin_holds(before)
        # A satisfied pin makes latest a no-op too: the registry cannot offer anything better.
        if pin_holds and (self.params["state"] == "present" or self.pin is not None):
            self.diff(state_view(before), state_view(before))
            self.result["model"] = before
            return True
        if not pin_holds and self.params["state"] == "present":
            self.pin_mismatch(before.get("digest"))
        return False


def parse_common(module):
    """The parsed name, with the digest pin normalised in module.params; fails the module on bad input."""
    params = module.params
    try:
        name = _model_name.parse(params["name"], option="name")
        if params["digest"] is not None:
            params["digest"] = _model_name.normalize_digest(params["digest"])
    except _model_name.InvalidName as e:
        module.fail_json(msg=str(e))
    return name


def build(module, make):
    """Call make() (the module's own checks; it returns the client and anything else it builds), failing the
    module with the message of any invalid input before a request is sent."""
    try:
        return make()
    except (_model_name.InvalidName, InvalidOption, InvalidMirror) as e:
        module.fail_json(msg=str(e))


def run(module, task, facts, failure, api_failure=None):
    """Run the task and exit with its result, or fail with `failure: <why>` (models directory and file
    system errors) or with the request facts and `api_failure: <why>` (API errors; only why without
    api_failure)."""
    try:
        result = task.run()
    except ApiError as e:
        if getattr(e, "mirror_missing", False):
            facts["mirror_missing"] = True
        if api_failure is not None:
            e.msg = "%s: %s" % (api_failure, e.msg)
        fail_api(module, e, **facts)
    except (ModelsDirError, OSError) as e:
        module.fail_json(msg="%s: %s" % (failure, e), **facts)
    module.exit_json(**result)
