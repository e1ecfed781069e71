#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ollama_model_info
short_description: List the models of an Ollama server, show one, and say what is running
version_added: 0.1.0
author: llmops.ollama maintainers (@llmops)
description:
  - Returns the models an Ollama server holds (C(GET /api/tags)), the models loaded in memory (C(GET /api/ps))
    and the server version (C(GET /api/version)).
  - With O(name), also the details of that model (C(POST /api/show)); a model that does not exist is not an error,
    RV(exists) is then V(false).
extends_documentation_fragment:
  - llmops.ollama.api
  - llmops.ollama.attributes
  - llmops.ollama.attributes.info_module
options:
  name:
    description:
      - A model to show in detail, matched case-insensitively with Ollama's naming rules (V(llama3) is V(llama3:latest)).
      - An invalid name fails before any request is sent.
    type: str
  models_dir:
    description:
      - Ollama's models directory (E(OLLAMA_MODELS)) on the host the module runs on. When given, every model in
        RV(models) also gets C(blobs_missing), the blobs its manifest there names that C(blobs/) lacks or holds at
        another size (a model that lost a blob is listed by Ollama but cannot run).
      - Read only, never through a link; a link or special file fails the task, naming the path. A model Ollama lists
        without a manifest there fails the task too (O(models_dir) is then not the directory the server reads).
    type: path
seealso:
  - module: llmops.ollama.ollama_model
"""

EXAMPLES = r"""
- name: What does the server hold?
  llmops.ollama.ollama_model_info:
  register: ollama

- name: Fail unless the model is there
  ansible.builtin.assert:
    that: ollama.models | selectattr('name', 'equalto', 'qwen2.5:0.5b') | list | length == 1

- name: Details of one model
  llmops.ollama.ollama_model_info:
    name: qwen2.5:0.5b
  register: qwen

- name: Show its system prompt
  ansible.builtin.debug:
    msg: "{{ qwen.model.system if qwen.exists else 'no such model' }}"
"""

RETURN = r"""
models:
  description: Every model the server holds, newest first, as C(/api/tags) lists them.
  returned: always
  type: list
  elements: dict
  sample:
    - name: qwen2.5:0.5b
      model: qwen2.5:0.5b
      digest: a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72
      size: 397821319
      modified_at: "2025-05-04T17:37:44.706015396-07:00"
      details: {"format": "gguf", "family": "qwen2", "parameter_size": "494.03M", "quantization_level": "Q4_K_M"}
  contains:
    blobs_missing:
      description: With O(models_dir), the digests (C(sha256:<hex>)) of the model's blobs that C(blobs/) lacks.
      type: list
      elements: str
      returned: when O(models_dir) is given
running:
  description: Models loaded in memory, as C(/api/ps) lists them (with C(expires_at) and C(size_vram)).
  returned: always
  type: list
  elements: dict
version:
  description: The server's version; source builds report V(0.0.0).
  returned: always
  type: str
  sample: 0.12.11
exists:
  description: Whether the model named by O(name) exists.
  returned: when O(name) is given
  type: bool
model:
  description:
    - The model named by O(name), its C(/api/tags) entry merged with C(/api/show) (C(license), C(modelfile),
      C(parameters) as Ollama's text, C(template), C(system), C(messages), C(model_info), C(capabilities)), without
      the per-tensor list; empty when it does not exist.
  returned: when O(name) is given
  type: dict
  contains:
    parameters_dict:
      description: C(parameters) read into a dict of lists (a parameter such as C(stop) may repeat).
      type: dict
      sample: {"temperature": [0.2], "stop": ["<|im_end|>"]}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils import _custom_model, _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._common import (
    COMMON_ARGS, InvalidOption, client_from_params, fail_api)
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._model_module import blobs_missing
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import ModelsDir, ModelsDirError


def described(client, name, models):
    entry = _model_name.find(name, models)
    if entry is None:
        return {"exists": False, "model": {}}
    show = client.show(entry["name"])
    if show is None:  # deleted between the two reads
        return {"exists": False, "model": {}}
    model = dict(entry)
    model.update((key, value) for key, value in show.items() if key != "tensors")
    model["parameters_dict"] = _custom_model.parse_show_parameters(show.get("parameters"))
    return {"exists": True, "model": model}


def check_blobs(client, models_dir, models):
    # No check of models_dir itself: a server that lists nothing needs none (a host whose models/ was removed
    # lists nothing), and every listed model's manifest is read below, which fails for a missing directory.
    for entry in models:
        name = _model_name.parse_listed(entry.get("name"))
        if name is None:
            continue  # not a name this collection manages (Ollama lists only names that parse)
        missing = blobs_missing(models_dir, name)
        if missing is None:
            raise ModelsDirError("Ollama at %s lists %s, but %s has no manifest for it; is models_dir the directory "
                                 "this server reads its models from (OLLAMA_MODELS)?"
                                 % (client.api_url, entry["name"], models_dir.root))
        entry["blobs_missing"] = ["sha256:%s" % blob.digest for blob in missing]


def main():
    spec = {"name": {"type": "str"}, "models_dir": {"type": "path"}}
    spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    try:
        name = _model_name.parse(module.params["name"]) if module.params["name"] is not None else None
        client = client_from_params(module.params)
    except (_model_name.InvalidName, InvalidOption) as e:
        module.fail_json(msg=str(e))

    try:
        result = {"changed": False, "version": client.version(), "models": client.tags(), "running": client.running()}
        if name is not None:
            result.update(described(client, name, result["models"]))
        if module.params["models_dir"] is not None:
            check_blobs(client, ModelsDir(module.params["models_dir"]), result["models"])
    except ApiError as e:
        fail_api(module, e, api_url=client.api_url)
    except (ModelsDirError, OSError) as e:
        module.fail_json(msg="checking the models of %s in %s failed: %s"
                         % (client.api_url, module.params["models_dir"], e), api_url=client.api_url)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
