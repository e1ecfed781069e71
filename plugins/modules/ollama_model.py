#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ollama_model
short_description: Pull, delete and customise models on an Ollama server
version_added: 0.1.0
author: llmops.ollama maintainers (@llmops)
description:
  - Makes sure a model is present on an Ollama server (pulled when missing), is the newest one its registry has,
    or is absent.
  - With O(from), makes a custom model (a base model with its own system prompt, template, parameters or messages)
    through Ollama's C(/api/create), and re-creates it only when what was asked differs from what the server has.
  - A no-op run sends one request, C(GET /api/tags); a custom model adds one C(POST /api/show).
  - To fetch a model from a private mirror (an OCI registry) instead of letting Ollama pull it, use
    M(llmops.ollama.ollama_mirror_fetch).
extends_documentation_fragment:
  - llmops.ollama.api
  - llmops.ollama.messages
  - llmops.ollama.attributes
attributes:
  check_mode:
    support: partial
    details:
      - Check mode sends only reads (C(GET /api/tags), C(POST /api/show)) and predicts the change.
      - With O(state=latest), a model that is present is reported as changed, because only a pull can tell whether
        the registry has a newer digest; the prediction can be wrong there.
  diff_mode:
    support: full
  idempotent:
    support: partial
    details:
      - O(state=latest) pulls on every run; it reports a change only when the model's digest moved.
options:
  name:
    description:
      - The model, in Ollama's naming rules, for example V(qwen2.5:0.5b), V(user/model:tag) or
        V(registry.example.com:5000/namespace/model:tag).
      - Missing parts default to the host V(registry.ollama.ai), the namespace V(library) and the tag V(latest),
        so V(llama3) is V(llama3:latest). A private registry needs all three parts; V(localhost:5000/model) is invalid
        because the part before the only C(/) is a namespace, and a namespace cannot contain C(:).
      - Existing models are matched case-insensitively, as Ollama does.
      - An invalid name fails before any request is sent.
    type: str
    required: true
  state:
    description:
      - V(present) pulls the model only when it is missing (or, with O(models_dir), lacks one of its blobs).
      - V(latest) pulls every time and reports a change only when the digest moved.
      - V(absent) deletes the model; a model that is already absent is fine. Blobs shared with other models stay.
    type: str
    choices: [present, absent, latest]
    default: present
  digest:
    description:
      - Pin the model to this manifest digest (V(sha256:<64 hex>) or the 64 hex characters), as C(/api/tags) reports it.
      - With O(state=present), a model that is present with another digest fails with both digests;
        with O(state=latest) it is pulled again, and the pulled digest must then match.
      - Checked before anything changes - before a pull, the module reads the manifest of the model from its registry
        (O(registry_url) for names on V(registry.ollama.ai), else the host in the name, over V(https://), or
        V(http://) with O(insecure)) and fails without pulling when its digest is not the pin, naming both.
      - Should the pull still bring another digest (the registry changed in between, or someone on the path swapped
        it), the name is put back to the model it named before (kept meanwhile under a temporary copy,
        C(<model>:llmops-pin-backup-<hex>), so that Ollama's pruning after the pull keeps its blobs), or removed when
        there was none, and the task fails.
    type: str
  registry_url:
    description:
      - Where models named on Ollama's default registry (V(registry.ollama.ai)) are read from to check a O(digest) pin
        before a pull, for example a site's mirror of it.
      - Only used with O(digest); nothing is sent to it otherwise.
    type: str
    default: https://registry.ollama.ai
  insecure:
    description:
      - Pull from a plain-HTTP registry. Ollama's C(insecure) means plain HTTP, not skipping TLS verification.
      - Anyone on the path can swap a model sent over plain HTTP, so V(true) needs a O(digest) pin, or
        O(allow_insecure_without_digest=true); otherwise the task fails before any request, naming both options and
        the model.
    type: bool
    default: false
  allow_insecure_without_digest:
    description:
      - Accept O(insecure=true) without a O(digest) pin (and for the base model of a custom model, which takes no pin);
        the model pulled over plain HTTP is then whatever the path delivered.
    type: bool
    default: false
  models_dir:
    description:
      - Ollama's models directory (E(OLLAMA_MODELS)) on the host the module runs on. When given, a model Ollama lists
        is also checked there; a model whose manifest names a blob that C(blobs/) lacks (deleted, or pruned by an
        Ollama start) is pulled again with O(state=present), which fetches only the missing blobs, and the task reports
        a change. Without it, a listed model is taken as whole.
      - Read only, never through a link (a link or special file fails the task, naming the path). Needs the module to
        run on the Ollama host. Not used for custom models (O(from)).
    type: path
  pull_timeout:
    description:
      - Seconds a pull or create may go without sending a progress line before it is abandoned.
      - Progress arrives many times a second while bytes flow; silences come from digest verification of large layers.
    type: int
    default: 600
  from:
    description:
      - Make O(name) a custom model based on this model (pulled first, with O(insecure), when it is missing).
      - Only with O(state=present).
    type: str
  system:
    description:
      - The custom model's system prompt. Needs O(from).
    type: str
  template:
    description:
      - The custom model's prompt template (Go template syntax). Needs O(from).
    type: str
  parameters:
    description:
      - Model parameters such as C(temperature), C(num_ctx) or C(stop) (a list), sent to Ollama as given. Needs O(from).
      - Only the parameters given are compared with the existing model; the others keep what the base model sets.
      - A dict; anything else fails before any request is sent.
    type: raw
  messages:
    description:
      - Example conversation stored in the custom model. Needs O(from).
notes:
  - A custom model is compared field by field with C(/api/show) (O(system), O(template), O(messages), the given
    O(parameters), and the parent model for O(from)); any difference re-creates it. A newer base model pulled
    later does not re-create it.
seealso:
  - module: llmops.ollama.ollama_model_info
  - module: llmops.ollama.ollama_generate
  - module: llmops.ollama.ollama_mirror_fetch
  - module: llmops.ollama.ollama_mirror_push
"""

EXAMPLES = r"""
- name: Pull a model when it is missing
  llmops.ollama.ollama_model:
    name: qwen2.5:0.5b

- name: Keep a model at the newest digest of its registry
  llmops.ollama.ollama_model:
    name: llama3.2
    state: latest

- name: A lab registry over plain HTTP, unpinned, accepted as such
  llmops.ollama.ollama_model:
    name: 10.213.0.2:5000/library/qwen2.5:0.5b
    insecure: true
    allow_insecure_without_digest: true

- name: Pin a model from a private plain-HTTP registry to a digest
  llmops.ollama.ollama_model:
    name: registry.example.com:5000/library/qwen:14b
    insecure: true
    digest: sha256:a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72

- name: A support bot with its own system prompt
  llmops.ollama.ollama_model:
    name: support-bot
    from: qwen2.5:0.5b
    system: You answer questions about our product, briefly and politely.
    parameters:
      temperature: 0.2
      num_ctx: 4096
      stop: ["<|im_end|>"]

- name: Remove a model
  llmops.ollama.ollama_model:
    name: llama3:70b
    state: absent

- name: Talk to a remote API from the controller
  llmops.ollama.ollama_model:
    name: qwen:14b
    api_url: http://10.0.0.5:11434
  delegate_to: localhost
"""

RETURN = r"""
model:
  description:
    - The model as C(/api/tags) lists it after the run; empty when it is absent.
    - RV(model.digest) is the 64 hex characters of the manifest digest, without C(sha256:).
  returned: success
  type: dict
  contains:
    name:
      description: Ollama's short form of the name.
      type: str
      sample: qwen2.5:0.5b
    digest:
      description: Manifest digest.
      type: str
      sample: a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72
    size:
      description: Bytes, as the manifest counts them.
      type: int
      sample: 397821319
    details:
      description: Format, family, parameter size and quantisation.
      type: dict
      sample: {"format": "gguf", "family": "qwen2", "parameter_size": "494.03M", "quantization_level": "Q4_K_M"}
  sample:
    name: qwen2.5:0.5b
    model: qwen2.5:0.5b
    digest: a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72
    size: 397821319
    modified_at: "2025-05-04T17:37:44.706015396-07:00"
    details: {"format": "gguf", "family": "qwen2", "parameter_size": "494.03M", "quantization_level": "Q4_K_M"}
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["pull qwen2.5:0.5b", "create support-bot:latest"]
blobs_missing:
  description: With O(models_dir), the blobs of a listed model that C(blobs/) lacked, which the pull fetched again.
  returned: when a listed model was repaired (or would be, in check mode)
  type: list
  elements: str
  sample: ["sha256:34bb5ab01051a11c7e9f1d4cbd8c7ecca0fc2d6a2a4e3b1f6a4ce3a4c1d4f2b6"]
registry_digest:
  description:
    - With O(digest), the digest of the model's manifest in its registry, read before the pull (64 hex characters).
  returned: when a pinned model was pulled (or would be, in check mode)
  type: str
  sample: a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72
changed_fields:
  description: For a custom model that existed, the fields that differed and made it be re-created.
  returned: when a custom model was re-created
  type: list
  elements: str
  sample: ["system"]
"""

import hashlib
import secrets

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils import _custom_model, _model_module, _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._common import (
    MESSAGES_ARG, InvalidOption, client_from_params)
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import ModelsDir
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import (
    MANIFEST_V2, RegistryClient, mirror_url, repository_of)

state_view = _model_module.state_view


class ModelManager(_model_module.ModelTask):
    def run(self):
        models = self.client.tags()
        entry = _model_name.find(self.name, models)
        if self.params["state"] == "absent":
            self.absent(entry)
        elif self.params["from"] is not None:
            self.custom(entry, models)
        else:
            self.pulled(entry)
        self.result["actions"] = self.actions
        return self.result

    def absent(self, entry):
        self.diff(state_view(entry), state_view(None))
        self.result["model"] = {}
        if entry is None:
            return
        self.actions.append("delete %s" % entry["name"])
        if not self.check_mode:
            # A 404 here means someone else deleted it meanwhile: the goal holds.
            self.result["changed"] = self.client.delete(entry["name"])
        else:
            self.result["changed"] = True

    def _pull(self, name, why=""):
        self.actions.append("pull %s%s" % (name.shortest(), why))
        if self.check_mode:
            return
        try:
            self.client.pull(name.shortest(), insecure=self.params["insecure"], timeout=self.params["pull_timeout"])
        except ApiError as e:
            e.msg = "pulling %s failed: %s" % (name.shortest(), e.msg)
            raise

    def _broken(self, before):
        """The blobs a listed model lacks in models_dir (empty without models_dir)."""
        if before is None or self.params["models_dir"] is None:
            return []
        models_dir = ModelsDir(self.params["models_dir"])
        models_dir.check_exists()
        missing = _model_module.blobs_missing(models_dir, self.name)
        return missing or []

    def registry_digest(self):
        """The digest of the model's manifest in its registry (the sha256 of its bytes, which Ollama keeps as they
        came), read before any pull, so that a pin is checked before anything changes."""
        name = self.name
        if name.host.lower() == _model_name.DEFAULT_HOST:
            base, option = self.params["registry_url"], "registry_url"
        else:
            base, option = "%s://%s" % ("http" if self.params["insecure"] else "https", name.host), "name"
        registry = RegistryClient(mirror_url(base, option), self.params["timeout"],
                                  validate_certs=self.params["validate_certs"])
        repository = repository_of(name)
        try:
            got = registry.get_manifest(repository, name.tag, accept=MANIFEST_V2)
        except ApiError as e:
            e.msg = "checking the digest pin of %s before pulling: %s" % (name.shortest(), e.msg)
            raise
        url = registry.url("/v2/%s/manifests/%s" % (repository, name.tag))
        if got is None:
            raise ApiError("checking the digest pin of %s before pulling: the registry %s has no manifest %s:%s "
                           "(HTTP 404)" % (name.shortest(), registry.base_url, repository, name.tag),
                           method="GET", url=url, status=404)
        return hashlib.sha256(got[0]).hexdigest(), registry.base_url

    def check_pin_upstream(self):
        """Fail, before any pull, when the registry's digest is not the pin."""
        digest, where = self.registry_digest()
        self.result["registry_digest"] = digest
        if digest != self.pin:
            self.module.fail_json(
                msg="the registry %s has %s with digest %s, but digest pins %s; nothing was pulled"
                    % (where, self.name.shortest(), digest, self.pin),
                model=self.name.shortest(), digest=digest, expected_digest=self.pin, actions=self.actions,
                changed=False)

    def _pinned_pull(self, before, why):
        """Pull with the pin checked before, and after: when Ollama still brings another digest, put back what the
        name pointed at (kept meanwhile under a temporary copy, whose manifest keeps the old blobs from Ollama's
        pruning after the pull) or remove it when there was none, and fail."""
        backup = None
        if before is not None:
            backup = self.name._replace(tag="llmops-pin-backup-%s" % secrets.token_hex(4)).shortest()
            self.client.copy(before["name"], backup)
        try:
            self._pull(self.name, why)
            after = self.refreshed()
            if after.get("digest") == self.pin:
                return after
            if backup is not None:
                self.client.copy(backup, before["name"])
                restored = "put back to its earlier digest %s" % before.get("digest")
            else:
                self.client.delete(after["name"])
                restored = "removed again"
            self.actions.append("restore %s" % self.name.shortest())
            self.module.fail_json(
                msg="the pull of %s brought digest %s, but digest pins %s (and the registry had it a moment before): "
                    "the model was %s" % (self.name.shortest(), after.get("digest"), self.pin, restored),
                model=self.name.shortest(), digest=after.get("digest"), expected_digest=self.pin,
                actions=self.actions, changed=False)
        finally:
            if backup is not None:
                self.client.delete(backup)

    def pulled(self, before):
        broken = self._broken(before)
        if broken and not self.pin_holds(before) and self.params["state"] == "present":
            self.pin_mismatch(before.get("digest"))
        if not broken and self.keeps(before):
            return
        why = ""
        if broken:
            self.result["blobs_missing"] = ["sha256:%s" % blob.digest for blob in broken]
            why = " (repair: %d blob(s) missing from %s)" % (len(broken), self.params["models_dir"])
        if self.pin is not None:
            self.check_pin_upstream()
        if self.pin is not None and not self.check_mode:
            after = self._pinned_pull(before, why)
            self.result["model"] = after
            self.result["changed"] = before is None or before.get("digest") != after.get("digest") or bool(broken)
            self.diff(state_view(before), state_view(after))
            return
        self._pull(self.name, why)
        if self.check_mode:
            self.result["changed"] = True
            self.diff(state_view(before), {"state": "present", "digest": self.pin or (before or {}).get("digest")})
            self.result["model"] = before or {}
            return
        after = self.refreshed()
        self.result["model"] = after
        self.result["changed"] = before is None or before.get("digest") != after.get("digest") or bool(broken)
        self.diff(state_view(before), state_view(after))
        if self.pin is not None and after.get("digest") != self.pin:
            self.pin_mismatch(after.get("digest"), changed=self.result["changed"])

    def custom(self, entry, models):
        desired = _custom_model.desired_from_params(self.params)
        base = _model_name.parse(desired["from"], option="from")
        desired["from"] = base.shortest()
        show = self.client.show(entry["name"]) if entry is not None else None
        if show is not None:
            current = _custom_model.current_fields(show)
            changed_fields = _custom_model.differences(desired, show)
            before = {field: current[field] for field in desired}
            if not changed_fields:
                self.diff(_custom_model.diff_view(before), _custom_model.diff_view(before))
                self.result["model"] = entry
                return
            self.result["changed_fields"] = changed_fields
        else:
            before = {"state": "absent"}
        self.diff(_custom_model.diff_view(before), _custom_model.diff_view(desired))
        self.result["changed"] = True
        if _model_name.find(base, models) is None:
            self._pull(base)
        self.actions.append("create %s" % self.name.shortest())
        if self.check_mode:
            self.result["model"] = entry or {}
            return
        try:
            self.client.create(_custom_model.create_request(self.name.shortest(), desired),
                               timeout=self.params["pull_timeout"])
        except ApiError as e:
            e.msg = "creating %s from %s failed: %s" % (self.name.shortest(), base.shortest(), e.msg)
            raise
        self.result["model"] = self.refreshed()


def argument_spec():
    return _model_module.model_args(
        ("present", "absent", "latest"),
        insecure={"type": "bool", "default": False},
        pull_timeout={"type": "int", "default": 600},
        models_dir={"type": "path"},
        registry_url={"type": "str", "default": "https://registry.ollama.ai"},
        allow_insecure_without_digest={"type": "bool", "default": False},
        # "from" is a keyword: the spec is built as a dict
        **{"from": {"type": "str"}},
        system={"type": "str"},
        template={"type": "str"},
        # raw, so that a wrong type fails with the value in the message, not only its type
        parameters={"type": "raw"},
        messages=MESSAGES_ARG,
    )


def check_combinations(params):
    """Rules AnsibleModule cannot express; raise InvalidOption before anything is sent."""
    if params["parameters"] is not None and not isinstance(params["parameters"], dict):
        raise InvalidOption("parameters: must be a dict of Ollama parameters such as {temperature: 0.2}, got %s %r"
                            % (type(params["parameters"]).__name__, params["parameters"]))
    custom = [f for f in _custom_model.CUSTOM_FIELDS if params[f] is not None]
    if params["state"] == "absent":
        given = custom + (["digest"] if params["digest"] is not None else [])
        if given:
            raise InvalidOption("state=absent deletes a model; it takes no %s (got %s)"
                                % (", ".join(given), ", ".join("%s=%r" % (f, params[f]) for f in given)))
    if params["state"] == "latest" and custom:
        raise InvalidOption("state=latest applies to models pulled from a registry; a custom model (from=%r) "
                            "uses state=present" % params["from"])
    if params["insecure"] and params["state"] != "absent" and params["digest"] is None \
            and not params["allow_insecure_without_digest"]:
        pulled = params["from"] if params["from"] is not None else params["name"]
        raise InvalidOption(
            "insecure=true pulls %s over plain HTTP, where anyone on the path can swap the model; pin it with digest "
            "(sha256:<64 hex>), or set allow_insecure_without_digest=true to accept an unpinned plain-HTTP pull%s"
            % (pulled, " (the base model of %s, which takes no digest)" % params["name"]
               if params["from"] is not None else ""))
    if params["pull_timeout"] <= 0:
        raise InvalidOption("pull_timeout: %r must be a positive number of seconds" % params["pull_timeout"])


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("digest", "from")],
        required_by={"system": "from", "template": "from", "parameters": "from", "messages": "from"},
    )
    params = module.params
    name = _model_module.parse_common(module)

    def make():
        if params["from"] is not None:
            _model_name.parse(params["from"], option="from")
        check_combinations(params)
        if params["digest"] is not None:
            mirror_url(params["registry_url"], "registry_url")
        return client_from_params(params)

    client = _model_module.build(module, make)
    _model_module.run(module, ModelManager(module, client, name), {"model": name.shortest(), "api_url": client.api_url},
                      "checking %s in %s failed" % (name.shortest(), params["models_dir"]))


if __name__ == "__main__":
    main()
