#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ollama_mirror_fetch
short_description: Fetch a model from the fleet's mirror (a private OCI registry) into an Ollama host's models directory
version_added: 0.3.0
author: llmops.ollama maintainers (@llmops)
description:
  - The counterpart of M(llmops.ollama.ollama_mirror_push); puts a model on the Ollama host it runs on from a mirror,
    an OCI distribution registry (CNCF distribution, Harbor, Zot), instead of letting Ollama pull it from the internet.
    Ollama's own client cannot fetch blobs from such registries (it expects every blob to redirect to another host).
  - Fetches the manifest and the blobs over the OCI distribution API, verifies every sha256, and writes them into
    O(models_dir); Ollama reads manifests on every request, so it lists the model at once, with the mirror's digest,
    without a restart. The module checks that it does.
  - A no-op run sends C(GET /api/tags) to Ollama and reads the model's manifest and blob sizes in O(models_dir); it asks
    the mirror nothing unless O(state=latest).
  - A model Ollama lists but whose blobs are not all in O(models_dir) (a blob deleted, or pruned by an Ollama start
    while the manifest was being written) is repaired with O(state=present); the missing blobs are fetched again.
  - The model C([host/]namespace/model:tag) is fetched from the repository C(<namespace>/<model>) (in lower case) with
    the tag C(<tag>), so V(qwen2.5:0.5b) comes from C(library/qwen2.5:0.5b), and is written under its own name
    (C(manifests/registry.ollama.ai/library/qwen2.5/0.5b)).
  - Must run on the Ollama host itself (not delegated), since it writes into O(models_dir) there.
extends_documentation_fragment:
  - llmops.ollama.api
  - llmops.ollama.registry.models_dir
  - llmops.ollama.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads C(/api/tags), O(models_dir) and, when the model must be fetched or O(state=latest), the mirror's
        manifest (C(GET)); it predicts the change exactly, fails when the mirror lacks the model, and fetches and writes
        nothing.
  diff_mode:
    support: full
  idempotent:
    support: full
    details:
      - With O(state=latest) the mirror's manifest is read on every run; blobs are fetched only when its digest differs
        from the local one.
options:
  name:
    description:
      - The model, in Ollama's naming rules, for example V(qwen2.5:0.5b); missing parts default to the host
        V(registry.ollama.ai), the namespace V(library) and the tag V(latest). Existing models are matched
        case-insensitively, as Ollama does. An invalid name fails before any request is sent.
    type: str
    required: true
  state:
    description:
      - V(present) fetches the model when Ollama does not list it or lacks one of its blobs.
      - V(latest) also reads the mirror's manifest and fetches when its digest differs from the local one.
    type: str
    choices: [present, latest]
    default: present
  digest:
    description:
      - Pin the model to this manifest digest (V(sha256:<64 hex>) or the 64 hex characters).
      - A mirror that holds another digest for the tag fails the task with both digests, before any blob is fetched,
        so a swapped model on the mirror never reaches the host. With O(state=present), a listed model with another
        digest fails the same way.
    type: str
  mirror:
    description:
      - Base URL of the mirror, for example V(https://registry.example.com) or V(http://10.213.0.3:5000).
      - Plain HTTP only when the URL says V(http://). O(timeout) and O(validate_certs) apply to the mirror too;
        O(headers) are for Ollama and are not sent to the mirror, O(mirror_headers) are.
      - A URL with credentials in it (V(https://user:password@host)) or with anything after the host and port is refused.
      - Redirects of downloads (up to 5, as registries on S3 or GCS send every blob to a signed storage URL) are
        followed; O(mirror_headers) and the registry's token go only to the mirror's own scheme, host and port, never
        to the host a redirect leads to, nor over plain HTTP after a redirect from V(https://).
      - A mirror without the model fails, naming the mirror, repository, tag and HTTP status, and returns
        RV(mirror_missing=true), so a playbook can tell that failure from the others and fill the mirror.
    type: str
    required: true
  mirror_headers:
    description:
      - Extra HTTP headers for every request to the mirror, for example C(Authorization) with C(Basic) credentials.
      - When the mirror answers with a C(Bearer) challenge (Harbor, token-authenticated distribution), these headers
        are sent to its token service (the challenge's C(realm)) only when that is on the mirror's own host (not over
        plain HTTP when the mirror is V(https://)) or on a host listed in O(mirror_auth_hosts); otherwise the task
        fails, naming the realm's host. The token is used from then on, for the mirror only.
      - Values are not logged.
    type: dict
  min_free:
    description:
      - Free space the file system of O(models_dir) must keep after the fetch, in bytes or with a unit
        (V(10G), V(512M), V(1.5T); powers of 1024).
      - The fetch is refused before anything is written when the free space, less the bytes the missing blobs still
        need, would fall below it; the message names this option, the free space and the need.
    type: str
    default: 1G
  min_rate:
    description:
      - The slowest a blob download may be, in bytes per second, averaged over each window of O(timeout) seconds.
        A mirror that sends less (a stall, or a trickle of bytes that keeps each read alive) fails the task, naming
        the mirror's host and the bytes received so far; they are kept, and a re-run resumes from them.
      - A blob download as a whole may take O(timeout) seconds plus the time its bytes need at this rate.
      - V(0) turns the check off (each read still waits at most O(timeout) seconds).
    type: int
    default: 102400
  mirror_auth_hosts:
    description:
      - Hosts, other than the mirror's own, whose token service may receive O(mirror_headers), for example
        V(auth.example.com). Each item is a host name or IP address (any port) or V(host:port) (that port only).
      - Without credentials in O(mirror_headers), a token is asked for anonymously from any realm and this is not needed.
    type: list
    elements: str
notes:
  - Downloads in progress and verified blobs waiting for their manifest are kept in C(<models_dir>/.llmops-staging/)
    (mode C(0700)), where Ollama's start-up pruning cannot reach them (it deletes every file of C(blobs/) that is not
    named like a digest and every blob no manifest references). So a transfer broken by a network fault, a failed run
    or an Ollama restart resumes in the next run from the bytes it had. When every blob is staged, they are
    hard-linked into C(blobs/), blobs already there are touched (a server with the one-hour pruning grace then keeps
    them), the manifest is written with a rename, every blob is checked again (and linked again if an Ollama start
    pruned it in between), and only then are the staged copies removed. Ollama therefore never lists a half model.
  - A blob whose sha256 is wrong fails the task and is removed; no manifest is written. A mirror that sends more
    bytes than the manifest gives for a blob is cut off at that size, and the file is removed.
  - Every answer of the mirror is bounded, so that a hostile or broken mirror cannot exhaust the host running this
    module as root; a manifest is read only up to 4 MiB, an error body up to 64 KiB, a token reply up to 256 KiB,
    and each of them must have come whole within O(timeout) seconds, however slowly the mirror sends it.
  - Nothing is written or read through a link; a symbolic link, a hard-linked partial download or a special file where
    the module works in O(models_dir) fails the task, naming the path, and the file the link points to is left alone.
  - A O(models_dir) that does not exist yet is created, mode C(0755) as Ollama makes it, when its parent exists; a
    missing parent fails before any request to the mirror. Check mode creates nothing.
seealso:
  - module: llmops.ollama.ollama_mirror_push
  - module: llmops.ollama.ollama_model
"""

EXAMPLES = r"""
- name: Fetch a model from the fleet's mirror instead of the internet
  llmops.ollama.ollama_mirror_fetch:
    name: qwen2.5:0.5b
    mirror: http://10.213.0.3:5000

- name: Pinned to the digest the first host pulled, from a mirror that wants credentials
  llmops.ollama.ollama_mirror_fetch:
    name: qwen:14b
    mirror: https://registry.example.com
    digest: sha256:a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72
    mirror_headers:
      Authorization: "Basic {{ ('fleet:' ~ mirror_password) | b64encode }}"

- name: A mirror whose token service is on another host, and a non-default models directory
  llmops.ollama.ollama_mirror_fetch:
    name: qwen2.5:0.5b
    mirror: https://registry.example.com
    models_dir: /srv/ollama/models
    mirror_headers:
      Authorization: "Basic {{ ('fleet:' ~ mirror_password) | b64encode }}"
    mirror_auth_hosts:
      - auth.example.com
"""

RETURN = r"""
model:
  description:
    - The model as C(/api/tags) lists it after the run (in check mode, before it); empty when it is not there.
    - Its C(digest) is the 64 hex characters of the manifest digest, without C(sha256:).
  returned: success
  type: dict
  sample:
    name: qwen2.5:0.5b
    model: qwen2.5:0.5b
    digest: a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72
    size: 397821319
actions:
  description: What was done (or, in check mode, would be done), in order.
  returned: always
  type: list
  elements: str
  sample: ["fetch qwen2.5:0.5b from http://10.213.0.3:5000/library/qwen2.5:0.5b"]
transfer:
  description: What came (or, in check mode, would come) from the mirror.
  returned: when the model was fetched or repaired, or would be
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
    blobs_staged:
      description: How many blobs were taken from the staging directory, verified by an earlier run that did not finish.
      type: int
      sample: 0
    blobs_present:
      description: How many blobs of the model were already in C(blobs/).
      type: int
      sample: 0
    bytes_fetched:
      description: Bytes received from the mirror (in check mode, at most the bytes that would be fetched).
      type: int
      sample: 397821319
    bytes_resumed:
      description: Bytes kept from partial files of an earlier, broken transfer.
      type: int
      sample: 0
    repair:
      description: V(true) when Ollama listed the model but C(blobs/) lacked some of its blobs.
      type: bool
      sample: false
mirror_missing:
  description:
    - V(true) when the task failed because the mirror has no manifest for the model (HTTP 404 for it), the failure a
      playbook answers by filling the mirror (M(llmops.ollama.ollama_mirror_push)).
  returned: when the mirror lacks the model (a failure)
  type: bool
  sample: true
"""

import os
import shutil
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.formatters import human_to_bytes

from ansible_collections.llmops.ollama.plugins.module_utils import _model_module
from ansible_collections.llmops.ollama.plugins.module_utils._common import InvalidOption, client_from_params
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import Manifest, ModelsDir, ModelsDirError
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import (
    RegistryClient, auth_hosts, mirror_url, repository_of)


def parse_bytes(value, option):
    """Bytes from an int or a size such as 10G or 512MB (powers of 1024); InvalidOption otherwise."""
    try:
        number = human_to_bytes(str(value).strip())
    except (ValueError, TypeError):
        number = -1
    if number < 0:
        raise InvalidOption("%s: %r is not a size; give bytes or a number with a unit, such as 10G" % (option, value))
    return number


class MirrorFetch(_model_module.ModelTask):
    def __init__(self, module, client, name, mirror):
        super().__init__(module, client, name)
        self.mirror = mirror
        self.models_dir = ModelsDir(self.params["models_dir"])
        self.repository = repository_of(name)
        self.label = "%s:%s" % (self.repository, name.tag)
        self.min_free = parse_bytes(self.params["min_free"], "min_free")

    def run(self):
        self.models_dir.check_exists(creatable=True)
        before = self.listed()
        local, broken = self._local(before)
        if not broken and self.keeps(before):
            pass
        elif broken and self.params["state"] == "present" and self.pin_holds(before):
            self._fetch(before, local, repair=True)
        else:
            self._fetch(before, self._from_mirror(), repair=bool(broken))
        self.result["actions"] = self.actions
        return self.result

    def _local(self, before):
        """The manifest of a listed model in models_dir and the blobs it lacks there."""
        if before is None:
            return None, []
        local = self.models_dir.read_manifest(self.name)
        if local is None:
            raise ModelsDirError(
                "Ollama at %s lists %s, but %s has no manifest for it; is models_dir the directory this server reads "
                "its models from (OLLAMA_MODELS)?" % (self.client.api_url, self.name.shortest(), self.models_dir.root))
        return local, self.models_dir.missing_blobs(local)

    def _from_mirror(self):
        try:
            raw, _media_type = self.mirror.require_manifest(self.repository, self.name.tag)
        except ApiError as e:
            if e.status == 404:
                e.mirror_missing = True
            raise
        manifest = Manifest(raw, self.mirror.url("/v2/%s/manifests/%s" % (self.repository, self.name.tag)))
        if self.pin is not None and manifest.digest != self.pin:
            self.module.fail_json(
                msg="the mirror %s has %s with digest %s, but digest pins %s"
                    % (self.mirror.base_url, self.label, manifest.digest, self.pin),
                model=self.name.shortest(), digest=manifest.digest, expected_digest=self.pin, actions=self.actions,
                changed=False)
        return manifest

    def _check_reserve(self, blobs):
        """Refuse, before writing anything, a fetch that would leave less than min_free bytes free."""
        need = 0
        for blob in blobs:
            have = 0
            for path in (self.models_dir.staged_path(blob.digest), self.models_dir.partial_path(blob.digest)):
                try:
                    st = os.lstat(path)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    have = max(have, min(st.st_size, blob.size))
            need += blob.size - have
        free = shutil.disk_usage(self.models_dir.root).free
        if free - need < self.min_free:
            raise ModelsDirError(
                "not fetching %s: the file system of models_dir %s has %d bytes free, the missing blobs need %d, and "
                "min_free=%r keeps %d bytes free; free some space or lower min_free"
                % (self.name.shortest(), self.models_dir.root, free, need, self.params["min_free"], self.min_free))

    def _fetch(self, before, manifest, repair):
        missing = self.models_dir.missing_blobs(manifest)
        if before is not None and before.get("digest") == manifest.digest and not missing:
            self.diff(_model_module.state_view(before), _model_module.state_view(before))
            self.result["model"] = before
            return
        staged = self.models_dir.staged(missing)
        download = [blob for blob in missing if blob not in staged]
        transfer = {"mirror": self.mirror.base_url, "repository": self.label, "blobs_fetched": len(download),
                    "blobs_staged": len(staged), "blobs_present": len(manifest.blobs) - len(missing),
                    "bytes_fetched": 0, "bytes_resumed": 0, "repair": repair}
        self.result.update(changed=True, transfer=transfer)
        verb = "repair" if repair else "fetch"
        self.actions.append("%s %s from %s/%s" % (verb, self.name.shortest(), self.mirror.base_url, self.label))
        if self.check_mode:
            transfer["bytes_fetched"] = sum(blob.size for blob in download)
            self.diff(_model_module.state_view(before), {"state": "present", "digest": manifest.digest})
            self.result["model"] = before or {}
            return
        self.models_dir.create()
        self.models_dir.ensure_dirs()
        self.models_dir.check_space(download)
        self._check_reserve(download)
        for blob in download:
            with self.models_dir.open_partial(blob) as partial:
                received, resumed = self.mirror.download_blob(self.repository, blob.digest, blob.size, partial)
                self.models_dir.install_blob(blob, partial)
            transfer["bytes_fetched"] += received
            transfer["bytes_resumed"] += resumed
        self.models_dir.touch([blob for blob in manifest.blobs if blob not in missing])
        path = self.models_dir.install_model(self.name, manifest)
        after = self.listed()
        if after is None or after.get("digest") != manifest.digest:
            raise ModelsDirError(
                "wrote %s (digest %s) to %s, but Ollama at %s lists %s; is models_dir the directory this server "
                "reads its models from (OLLAMA_MODELS)?" % (
                    self.name.shortest(), manifest.digest, path, self.client.api_url,
                    "it with digest %s" % after.get("digest") if after is not None else "no such model"))
        self.result["model"] = after
        self.diff(_model_module.state_view(before), _model_module.state_view(after))


def main():
    module = AnsibleModule(
        argument_spec=_model_module.model_args(
            ("present", "latest"),
            mirror={"type": "str", "required": True},
            mirror_headers={"type": "dict", "no_log": True},
            mirror_auth_hosts={"type": "list", "elements": "str"},
            models_dir={"type": "path", "default": "/var/lib/ollama/models"},
            min_free={"type": "str", "default": "1G"},
            min_rate={"type": "int", "default": 102400},
        ),
        supports_check_mode=True,
    )
    params = module.params
    name = _model_module.parse_common(module)

    def make():
        for key, value in (params["mirror_headers"] or {}).items():
            if not isinstance(value, str):
                raise InvalidOption("mirror_headers: the value of %r must be a string, got %s"
                                    % (key, type(value).__name__))
        parse_bytes(params["min_free"], "min_free")
        if params["min_rate"] < 0:
            raise InvalidOption("min_rate: %r must be 0 (no check) or a number of bytes per second" % params["min_rate"])
        client = client_from_params(params)
        mirror = RegistryClient(mirror_url(params["mirror"], "mirror"), params["timeout"],
                                validate_certs=params["validate_certs"], headers=params["mirror_headers"],
                                auth_hosts=auth_hosts(params["mirror_auth_hosts"], "mirror_auth_hosts"),
                                headers_option="mirror_headers", auth_hosts_option="mirror_auth_hosts",
                                min_rate=params["min_rate"])
        return client, mirror

    client, mirror = _model_module.build(module, make)
    facts = {"model": name.shortest(), "api_url": client.api_url, "mirror": mirror.base_url}
    failure = "fetching %s from %s failed" % (name.shortest(), mirror.base_url)
    _model_module.run(module, MirrorFetch(module, client, name, mirror), facts, failure, api_failure=failure)


if __name__ == "__main__":
    main()
