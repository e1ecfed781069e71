#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ollama_mirror_push
short_description: Copy a model from an Ollama host to a private OCI registry that serves as the fleet's mirror
version_added: 0.1.0
author: llmops.ollama maintainers (@llmops)
description:
  - Fills a model mirror once, from a host that already has the model, so the other hosts of a fleet fetch it
    from the mirror (M(llmops.ollama.ollama_mirror_fetch)) instead of the internet.
  - Reads the model's manifest and blobs from Ollama's models directory on the host, uploads each blob the registry
    does not have yet (C(HEAD) first, then C(POST) and C(PUT) over the OCI distribution API), then puts the manifest,
    byte for byte, so the model keeps its digest.
  - Nothing is sent when the registry already holds a manifest with the same digest under that tag.
  - Does not talk to Ollama; it needs read access to O(models_dir) on the host it runs on.
extends_documentation_fragment:
  - llmops.ollama.registry
  - llmops.ollama.registry.models_dir
  - llmops.ollama.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the manifest and asks the registry (C(GET) and C(HEAD)) which blobs it lacks; it uploads nothing.
  diff_mode:
    support: full
    details:
      - The diff shows the manifest digest the mirror holds for the tag before and after.
  idempotent:
    support: full
options:
  name:
    description:
      - The model, in Ollama's naming rules, for example V(qwen2.5:0.5b); it must be present in O(models_dir).
      - Missing parts default to the host V(registry.ollama.ai), the namespace V(library) and the tag V(latest).
      - The registry host of the name only locates the model on disk; the mirror repository is C(<namespace>/<model>).
    type: str
    required: true
notes:
  - The registry must accept Ollama's media types (C(application/vnd.ollama.image.*) layers in a
    C(application/vnd.docker.distribution.manifest.v2+json) manifest); CNCF distribution, Harbor and Zot do.
  - Blobs are uploaded in one request each (monolithic upload).
  - Errors about a file in O(models_dir) name its path and what is wrong with it, never what it holds.
seealso:
  - module: llmops.ollama.ollama_mirror_fetch
  - module: llmops.ollama.ollama_model
"""

EXAMPLES = r"""
- name: Fill the mirror from the first host, which pulled the model from the internet
  llmops.ollama.ollama_mirror_push:
    name: qwen2.5:0.5b
    mirror: http://10.213.0.3:5000
  run_once: true

- name: A mirror behind basic authentication, with a non-default models directory
  llmops.ollama.ollama_mirror_push:
    name: qwen:14b
    mirror: https://registry.example.com
    models_dir: /srv/ollama/models
    headers:
      Authorization: "Basic {{ ('mirror:' ~ mirror_password) | b64encode }}"
"""

RETURN = r"""
repository:
  description: The mirror repository and tag the model was pushed as.
  returned: success
  type: str
  sample: library/qwen2.5:0.5b
digest:
  description: The manifest digest (64 hex characters), the same as C(/api/tags) reports for the model.
  returned: success
  type: str
  sample: a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72
blobs_pushed:
  description: Digests (C(sha256:<hex>)) of the blobs uploaded, or that would be uploaded in check mode.
  returned: success
  type: list
  elements: str
  sample: ["sha256:34bb5ab01051a11c7e9f1d4cbd8c7ecca0fc2d6a2a4e3b1f6a4ce3a4c1d4f2b6"]
blobs_present:
  description: How many blobs the registry already had.
  returned: success
  type: int
  sample: 2
bytes_pushed:
  description: Bytes of the blobs uploaded (or that would be uploaded in check mode).
  returned: success
  type: int
  sample: 397821319
actions:
  description: What was done (or would be done in check mode), in order.
  returned: success
  type: list
  elements: str
  sample: ["upload sha256:34bb5ab01051 (561 bytes)", "put manifest library/qwen2.5:0.5b"]
"""

import hashlib

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import ModelsDir, ModelsDirError
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import (
    InvalidMirror, RegistryClient, auth_hosts, mirror_url, repository_of)


def push(module, name, registry, models_dir):
    result = {"changed": False, "actions": [], "blobs_pushed": [], "blobs_present": 0, "bytes_pushed": 0}
    models_dir.check_exists()
    manifest = models_dir.read_manifest(name)
    if manifest is None:
        raise ModelsDirError("%s is not in %s (no manifest at %s); pull it on this host first"
                             % (name.shortest(), models_dir.root, models_dir.manifest_path(name)))
    missing = models_dir.missing_blobs(manifest)
    if missing:
        raise ModelsDirError("%s is incomplete in %s: blobs missing or of the wrong size: %s"
                             % (name.shortest(), models_dir.root, ", ".join("sha256:%s" % b.digest for b in missing)))
    repository = repository_of(name)
    result.update(repository="%s:%s" % (repository, name.tag), digest=manifest.digest)

    remote = registry.get_manifest(repository, name.tag)
    remote_digest = _digest_of(remote)
    if module._diff:
        result["diff"] = {"before": {"repository": result["repository"], "digest": remote_digest},
                          "after": {"repository": result["repository"], "digest": manifest.digest}}
    if remote_digest == manifest.digest:
        return result

    result["changed"] = True
    for blob in manifest.blobs:
        if registry.has_blob(repository, blob.digest, blob.size):
            result["blobs_present"] += 1
            continue
        result["actions"].append("upload sha256:%s (%d bytes)" % (blob.digest[:12], blob.size))
        result["blobs_pushed"].append("sha256:" + blob.digest)
        result["bytes_pushed"] += blob.size
        if not module.check_mode:
            with models_dir.open_blob(blob) as body:
                registry.upload_blob(repository, blob.digest, body, blob.size)
    result["actions"].append("put manifest %s" % result["repository"])
    if module.check_mode:
        return result
    stored = registry.put_manifest(repository, name.tag, manifest.raw, manifest.media_type)
    if stored is not None and stored != manifest.digest:
        raise ModelsDirError("the mirror %s stored the manifest of %s as sha256:%s, not sha256:%s; it rewrote the "
                             "bytes, and hosts fetching from it would get another digest"
                             % (registry.base_url, result["repository"], stored, manifest.digest))
    return result


def _digest_of(remote):
    return None if remote is None else hashlib.sha256(remote[0]).hexdigest()


def main():
    module = AnsibleModule(
        argument_spec={
            "name": {"type": "str", "required": True},
            "mirror": {"type": "str", "required": True},
            "models_dir": {"type": "path", "default": "/var/lib/ollama/models"},
            "timeout": {"type": "int", "default": 60},
            "validate_certs": {"type": "bool", "default": True},
            "headers": {"type": "dict", "no_log": True},
            "auth_hosts": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    params = module.params
    try:
        name = _model_name.parse(params["name"], option="name")
        base_url = mirror_url(params["mirror"], "mirror")
        if params["timeout"] <= 0:
            raise InvalidMirror("timeout: %r must be a positive number of seconds" % params["timeout"])
        for key, value in (params["headers"] or {}).items():
            if not isinstance(value, str):
                raise InvalidMirror("headers: the value of %r must be a string, got %s" % (key, type(value).__name__))
        hosts = auth_hosts(params["auth_hosts"], "auth_hosts")
    except (_model_name.InvalidName, InvalidMirror) as e:
        module.fail_json(msg=str(e))

    registry = RegistryClient(base_url, params["timeout"], validate_certs=params["validate_certs"],
                              headers=params["headers"], auth_hosts=hosts)
    facts = {"model": name.shortest(), "mirror": base_url}
    try:
        result = push(module, name, registry, ModelsDir(params["models_dir"]))
    except ApiError as e:
        failure = e.result()
        failure.update(facts)
        module.fail_json(msg="pushing %s to %s failed: %s" % (name.shortest(), base_url, e.msg), **failure)
    except (ModelsDirError, OSError) as e:
        module.fail_json(msg="pushing %s to %s failed: %s" % (name.shortest(), base_url, e), **facts)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
