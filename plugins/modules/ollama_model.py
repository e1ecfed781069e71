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
  - With O(source), the model comes from a mirror (a private OCI registry) instead of Ollama's own pull; the module
    fetches the manifest and the blobs itself over the OCI distribution API, verifies every sha256, writes the blobs and
    then the manifest into O(models_dir), and checks that Ollama lists the model with the mirror's digest. Ollama reads
    manifests on every request, so it needs no restart. This works with stock registries (CNCF distribution, Harbor,
    Zot), from which Ollama's own client cannot fetch blobs.
extends_documentation_fragment:
  - llmops.ollama.api
  - llmops.ollama.registry.models_dir
  - llmops.ollama.attributes
  - llmops.ollama.attributes.actiongroup_ollama
attributes:
  check_mode:
    support: partial
    details:
      - Check mode sends only reads (C(GET /api/tags), C(POST /api/show)) and predicts the change.
      - With O(state=latest) (without O(source)), a model that is present is reported as changed, because only a
        pull can tell whether the registry has a newer digest; the prediction can be wrong there.
      - With O(source), check mode also reads the mirror's manifest (C(GET)), so it predicts O(state=latest) exactly
        and fails when the mirror lacks the model; it fetches no blob and writes nothing.
  diff_mode:
    support: full
  idempotent:
    support: partial
    details:
      - O(state=latest) pulls on every run; it reports a change only when the model's digest moved.
      - With O(source), O(state=latest) reads the mirror's manifest on every run and fetches only when its digest
        differs from the local one.
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
      - V(present) pulls the model only when it is missing.
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
    type: str
  insecure:
    description:
      - Pull from a plain-HTTP registry. Ollama's C(insecure) means plain HTTP, not skipping TLS verification.
    type: bool
    default: false
  source:
    description:
      - Base URL of a mirror to fetch the model from instead of letting Ollama pull it, for example
        V(http://10.213.0.3:5000), an OCI distribution registry filled by M(llmops.ollama.ollama_mirror_push).
      - The model C([host/]namespace/model:tag) is fetched from the repository C(<namespace>/<model>) (in lower case)
        with the tag C(<tag>), so V(qwen2.5:0.5b) comes from C(library/qwen2.5:0.5b), and is written under its own
        name in O(models_dir) (C(manifests/registry.ollama.ai/library/qwen2.5/0.5b)).
      - Plain HTTP only when the URL says V(http://). O(timeout) and O(validate_certs) apply to the mirror too;
        O(headers) are not sent to it, O(source_headers) are.
      - A URL with credentials in it (V(https://user:password@host)) is refused; put them in O(source_headers).
      - Redirects of downloads (up to 5, as registries on S3 or GCS send every blob to a signed storage URL) are
        followed; O(source_headers) and the registry's token go only to the mirror's own scheme, host and port, never
        to the host a redirect leads to, nor over plain HTTP after a redirect from V(https://).
      - Blobs already in O(models_dir) are not fetched again; a broken transfer resumes from its C(-partial) file,
        in the same run and in the next one; a blob whose sha256 is wrong fails the task and is removed, and no
        manifest is written, so Ollama never lists a half model.
      - A mirror without the model fails, naming the mirror, repository, tag and HTTP status, and returns
        RV(mirror_missing=true), so a playbook can tell that failure from the others and fill the mirror.
      - Nothing is written or read through a link; a symbolic link, a hard-linked partial download or a special file
        where the module works in O(models_dir) (the directory itself, C(blobs/), C(manifests/) and the model's
        directories, the manifest, the blobs, the module's partial files) fails the task, naming the path, and the file
        the link points to is left alone. Partial downloads are C(blobs/.llmops-partial-sha256-<hex>) (mode C(0600)
        until verified), not Ollama's own C(-partial) files; Ollama's start-up pruning removes them like its own.
      - A O(models_dir) that does not exist yet (on a fresh host, Ollama makes C(models/) only on its first pull) is
        created, mode C(0755) as Ollama makes it, when its parent (the data directory) exists; a missing parent fails
        before any request to the mirror. Check mode creates nothing.
      - Not with O(from) or O(insecure); not with O(state=absent).
      - The module must run on the Ollama host itself (not delegated), since it writes into O(models_dir) there.
    type: str
  source_headers:
    description:
      - Extra HTTP headers for every request to the O(source) mirror, for example C(Authorization) with C(Basic)
        credentials for a mirror that does not serve anonymous pulls.
      - When the mirror answers with a C(Bearer) challenge (Harbor, token-authenticated distribution),
        these headers are sent to its token service (the challenge's C(realm)) only when that is on the mirror's own
        host (not over plain HTTP when the mirror is V(https://)) or on a host listed in O(source_auth_hosts);
        otherwise the task fails, naming the realm's host. The token is used from then on, for the mirror only.
      - Never sent to another scheme, host or port than the mirror's, so a redirect to signed object storage
        gets neither these headers nor the token.
      - Values are not logged. Needs O(source).
    type: dict
  source_auth_hosts:
    description:
      - Hosts, other than the O(source) mirror's own, whose token service may receive O(source_headers) when the mirror
        answers with a C(Bearer) challenge, for example V(auth.docker.io) for a registry that hands out tokens from
        another host.
      - Each item is a host name or IP address (any port) or V(host:port) (that port only); no scheme, no path.
      - Without credentials in O(source_headers), a token is asked for anonymously from any realm and this is not needed.
      - Needs O(source).
    type: list
    elements: str
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
    type: list
    elements: dict
    suboptions:
      role:
        description: Who speaks.
        type: str
        required: true
        choices: [system, user, assistant, tool]
      content:
        description: What is said.
        type: str
        required: true
notes:
  - A custom model is compared field by field with C(/api/show) (O(system), O(template), O(messages), the given
    O(parameters), and the parent model for O(from)); any difference re-creates it. A newer base model pulled
    later does not re-create it.
seealso:
  - module: llmops.ollama.ollama_model_info
  - module: llmops.ollama.ollama_generate
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

- name: Pin a model from a private plain-HTTP registry to a digest
  llmops.ollama.ollama_model:
    name: registry.example.com:5000/library/qwen:14b
    insecure: true
    digest: sha256:a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72

- name: Fetch a model from the fleet's mirror instead of the internet
  llmops.ollama.ollama_model:
    name: qwen2.5:0.5b
    source: http://10.213.0.3:5000

- name: Fetch from a mirror that wants credentials for pulls too
  llmops.ollama.ollama_model:
    name: qwen2.5:0.5b
    source: https://registry.example.com
    source_headers:
      Authorization: "Basic {{ ('fleet:' ~ mirror_password) | b64encode }}"

- name: A mirror whose token service is on another host
  llmops.ollama.ollama_model:
    name: qwen2.5:0.5b
    source: https://registry.example.com
    source_headers:
      Authorization: "Basic {{ ('fleet:' ~ mirror_password) | b64encode }}"
    source_auth_hosts:
      - auth.example.com

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
transfer:
  description:
    - With O(source), what came (or, in check mode, would come) from the mirror.
  returned: when O(source) is set and the model was fetched or would be fetched
  type: dict
  contains:
    mirror:
      description: The mirror URL.
      type: str
      sample: http://10.213.0.3:5000
    repository:
      description: The mirror repository and tag.
      type: str
      sample: library/qwen2.5:0.5b
    blobs_fetched:
      description: How many blobs were fetched (or would be).
      type: int
      sample: 3
    blobs_present:
      description: How many blobs of the model were already in O(models_dir).
      type: int
      sample: 0
    bytes_fetched:
      description: Bytes received from the mirror (in check mode, the bytes that would be fetched).
      type: int
      sample: 397821319
    bytes_resumed:
      description: Bytes kept from partial files of an earlier, broken transfer.
      type: int
      sample: 0
  sample: {"mirror": "http://10.213.0.3:5000", "repository": "library/qwen2.5:0.5b", "blobs_fetched": 3,
           "blobs_present": 0, "bytes_fetched": 397821319, "bytes_resumed": 0}
mirror_missing:
  description:
    - V(true) when the task failed because the O(source) mirror has no manifest for the model (HTTP 404 for it),
      the failure a playbook answers by filling the mirror (M(llmops.ollama.ollama_mirror_push)).
  returned: when O(source) is set and the mirror lacks the model (a failure)
  type: bool
  sample: true
changed_fields:
  description: For a custom model that existed, the fields that differed and made it be re-created.
  returned: when a custom model was re-created
  type: list
  elements: str
  sample: ["system"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils import _custom_model, _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._common import (
    COMMON_ARGS, InvalidOption, client_from_params, fail_api)
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import Manifest, ModelsDir, ModelsDirError
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import (
    InvalidMirror, RegistryClient, auth_hosts, mirror_url, repository_of)


def _state_view(entry):
    if entry is None:
        return {"state": "absent"}
    return {"state": "present", "digest": entry.get("digest")}


class ModelManager:
    def __init__(self, module, client, name, mirror=None):
        self.module = module
        self.client = client
        self.mirror = mirror
        self.name = name
        self.params = module.params
        self.check_mode = module.check_mode
        self.pin = module.params["digest"]
        self.actions = []
        self.result = {"changed": False}

    def run(self):
        models = self.client.tags()
        entry = _model_name.find(self.name, models)
        if self.params["state"] == "absent":
            self.absent(entry)
        elif self.params["from"] is not None:
            self.custom(entry, models)
        elif self.mirror is not None:
            self.mirrored(entry)
        else:
            self.pulled(entry)
        self.result["actions"] = self.actions
        return self.result

    def _diff(self, before, after):
        if self.module._diff:
            label = self.name.shortest()
            self.result["diff"] = {"before": dict(before, name=label), "after": dict(after, name=label)}

    def _refreshed(self):
        entry = _model_name.find(self.name, self.client.tags())
        if entry is None:
            raise ApiError("%s is not listed by GET %s after Ollama reported success"
                           % (self.name.shortest(), self.client.http.url("/api/tags")))
        return entry

    def absent(self, entry):
        self._diff(_state_view(entry), _state_view(None))
        self.result["model"] = {}
        if entry is None:
            return
        self.actions.append("delete %s" % entry["name"])
        if not self.check_mode:
            # A 404 here means someone else deleted it meanwhile: the goal holds.
            self.result["changed"] = self.client.delete(entry["name"])
        else:
            self.result["changed"] = True

    def _pull(self, name):
        self.actions.append("pull %s" % name.shortest())
        if self.check_mode:
            return
        try:
            self.client.pull(name.shortest(), insecure=self.params["insecure"], timeout=self.params["pull_timeout"])
        except ApiError as e:
            e.msg = "pulling %s failed: %s" % (name.shortest(), e.msg)
            raise

    def _pin_mismatch(self, have, changed=False):
        self.module.fail_json(
            msg="%s has digest %s on the server, but digest pins %s" % (self.name.shortest(), have, self.pin),
            model=self.name.shortest(), digest=have, expected_digest=self.pin, actions=self.actions, changed=changed)

    def _keeps(self, before):
        """True when the model on the server already satisfies state and pin (nothing to fetch);
        fails for state=present with another digest than the pin."""
        if before is None:
            return False
        pin_holds = self.pin is None or before.get("digest") == self.pin
        # A satisfied pin makes latest a no-op too: the registry cannot offer anything better.
        if pin_holds and (self.params["state"] == "present" or self.pin is not None):
            self._diff(_state_view(before), _state_view(before))
            self.result["model"] = before
            return True
        if not pin_holds and self.params["state"] == "present":
            self._pin_mismatch(before.get("digest"))
        return False

    def pulled(self, before):
        if self._keeps(before):
            return
        self._pull(self.name)
        if self.check_mode:
            self.result["changed"] = True
            self._diff(_state_view(before), {"state": "present", "digest": self.pin or (before or {}).get("digest")})
            self.result["model"] = before or {}
            return
        after = self._refreshed()
        self.result["model"] = after
        self.result["changed"] = before is None or before.get("digest") != after.get("digest")
        self._diff(_state_view(before), _state_view(after))
        if self.pin is not None and after.get("digest") != self.pin:
            self._pin_mismatch(after.get("digest"), changed=self.result["changed"])

    def mirrored(self, before):
        """Fetch the model from the mirror into models_dir: blobs (verified), then the manifest."""
        if self._keeps(before):
            return
        models_dir = ModelsDir(self.params["models_dir"])
        models_dir.check_exists(creatable=True)
        repository = repository_of(self.name)
        label = "%s:%s" % (repository, self.name.tag)
        try:
            raw, _media_type = self.mirror.require_manifest(repository, self.name.tag)
        except ApiError as e:
            if e.status == 404:
                e.mirror_missing = True
            raise
        manifest = Manifest(raw, self.mirror.url("/v2/%s/manifests/%s" % (repository, self.name.tag)))
        if self.pin is not None and manifest.digest != self.pin:
            self.module.fail_json(
                msg="the mirror %s has %s with digest %s, but digest pins %s"
                    % (self.mirror.base_url, label, manifest.digest, self.pin),
                model=self.name.shortest(), digest=manifest.digest, expected_digest=self.pin, actions=self.actions,
                changed=False)
        if before is not None and before.get("digest") == manifest.digest:
            self._diff(_state_view(before), _state_view(before))
            self.result["model"] = before
            return
        missing = models_dir.missing_blobs(manifest)
        transfer = {"mirror": self.mirror.base_url, "repository": label, "blobs_fetched": len(missing),
                    "blobs_present": len(manifest.blobs) - len(missing), "bytes_fetched": 0, "bytes_resumed": 0}
        self.result["transfer"] = transfer
        self.actions.append("fetch %s from %s/%s" % (self.name.shortest(), self.mirror.base_url, label))
        self.result["changed"] = True
        if self.check_mode:
            transfer["bytes_fetched"] = sum(blob.size for blob in missing)
            self._diff(_state_view(before), {"state": "present", "digest": manifest.digest})
            self.result["model"] = before or {}
            return
        models_dir.create()
        models_dir.ensure_dirs()
        models_dir.check_space(missing)
        for blob in missing:
            with models_dir.open_partial(blob) as partial:
                received, resumed = self.mirror.download_blob(repository, blob.digest, blob.size, partial)
                models_dir.install_blob(blob, partial)
            transfer["bytes_fetched"] += received
            transfer["bytes_resumed"] += resumed
        path = models_dir.write_manifest(self.name, manifest)
        after = _model_name.find(self.name, self.client.tags())
        if after is None or after.get("digest") != manifest.digest:
            raise ModelsDirError(
                "wrote %s (digest %s) to %s, but Ollama at %s lists %s; is models_dir the directory this server "
                "reads its models from (OLLAMA_MODELS)?" % (
                    self.name.shortest(), manifest.digest, path, self.client.api_url,
                    "it with digest %s" % after.get("digest") if after is not None else "no such model"))
        self.result["model"] = after
        self._diff(_state_view(before), _state_view(after))

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
                self._diff(_custom_model.diff_view(before), _custom_model.diff_view(before))
                self.result["model"] = entry
                return
            self.result["changed_fields"] = changed_fields
        else:
            before = {"state": "absent"}
        self._diff(_custom_model.diff_view(before), _custom_model.diff_view(desired))
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
        self.result["model"] = self._refreshed()


def argument_spec():
    spec = {
        "name": {"type": "str", "required": True},
        "state": {"type": "str", "default": "present", "choices": ["present", "absent", "latest"]},
        "digest": {"type": "str"},
        "insecure": {"type": "bool", "default": False},
        "pull_timeout": {"type": "int", "default": 600},
        "source": {"type": "str"},
        "source_headers": {"type": "dict", "no_log": True},
        "source_auth_hosts": {"type": "list", "elements": "str"},
        "models_dir": {"type": "path", "default": "/var/lib/ollama/models"},
        "from": {"type": "str"},
        "system": {"type": "str"},
        "template": {"type": "str"},
        # raw, so that a wrong type fails with the value in the message, not only its type
        "parameters": {"type": "raw"},
        "messages": {"type": "list", "elements": "dict", "options": {
            "role": {"type": "str", "required": True, "choices": ["system", "user", "assistant", "tool"]},
            "content": {"type": "str", "required": True},
        }},
    }
    spec.update(COMMON_ARGS)
    return spec


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
    for key, value in (params["source_headers"] or {}).items():
        if not isinstance(value, str):
            raise InvalidOption("source_headers: the value of %r must be a string, got %s" % (key, type(value).__name__))
    if params["source"] is not None:
        given = [f for f in ("from", "insecure") if params[f]]
        if params["state"] == "absent":
            given.append("state=absent")
        if given:
            raise InvalidOption("source=%r fetches a model from a mirror; it does not go with %s"
                                % (params["source"], ", ".join(given)))
    if params["pull_timeout"] <= 0:
        raise InvalidOption("pull_timeout: %r must be a positive number of seconds" % params["pull_timeout"])


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("digest", "from")],
        required_by={"system": "from", "template": "from", "parameters": "from", "messages": "from",
                     "source_headers": "source", "source_auth_hosts": "source"},
    )
    params = module.params
    try:
        name = _model_name.parse(params["name"], option="name")
        if params["from"] is not None:
            _model_name.parse(params["from"], option="from")
        if params["digest"] is not None:
            params["digest"] = _model_name.normalize_digest(params["digest"])
        check_combinations(params)
        client = client_from_params(params)
        mirror = None
        if params["source"] is not None:
            mirror = RegistryClient(mirror_url(params["source"], "source"), params["timeout"],
                                    validate_certs=params["validate_certs"], headers=params["source_headers"],
                                    auth_hosts=auth_hosts(params["source_auth_hosts"], "source_auth_hosts"),
                                    headers_option="source_headers", auth_hosts_option="source_auth_hosts")
    except (_model_name.InvalidName, InvalidOption, InvalidMirror) as e:
        module.fail_json(msg=str(e))

    facts = {"model": name.shortest(), "api_url": client.api_url}
    if mirror is not None:
        facts["source"] = mirror.base_url
    try:
        result = ModelManager(module, client, name, mirror).run()
    except ApiError as e:
        if getattr(e, "mirror_missing", False):
            facts["mirror_missing"] = True
        fail_api(module, e, **facts)
    except (ModelsDirError, OSError) as e:
        module.fail_json(msg="fetching %s from %s failed: %s" % (name.shortest(), params["source"], e), **facts)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
