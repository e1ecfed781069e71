#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ollama_model_requirements
short_description: Size models before they are pulled, from the host, its models directory, the registry or the tag
version_added: 0.2.0
author: llmops.ollama maintainers (@llmops)
description:
  - For each model of O(models), returns its parameter count and the bytes it takes (or will take) on disk, and
    where each figure came from. The C(llmops.ollama.preflight) role compares these figures with the host's RAM
    and free disk before anything is installed.
  - "The parameter count comes from the first source that knows it: the host's Ollama (C(GET /api/tags),
    C(details.parameter_size)) when it has the model; else the model's manifest and config blob (C(model_type))
    in O(models_dir); else the same two from the model's registry; else a size in the tag (V(14b), V(0.5b),
    V(500m)); else O(default_params_b)."
  - "The bytes come from the host (the C(size) C(/api/tags) reports, or the sizes in the manifest on disk), else
    from the registry's manifest (layers and config), else from the parameter count times O(disk_gb_per_params_b)."
  - Only a manifest and the small config blob are read from a registry, never a layer. A model named without a
    host (or on V(registry.ollama.ai)) is looked up at O(registry_url); a model on another host at
    C(https://<host>), as Ollama pulls it. No credentials are sent to a registry; one that answers with a
    C(Bearer) challenge is asked for an anonymous token.
  - A source that cannot be read (Ollama not installed yet, a registry that is down, slow or lacks the model) is
    skipped, the next one is used, and RV(failures) says which source failed for which model and why.
    The module fails only for invalid options.
  - O(models_dir) is writable by the Ollama container, so it is read without following any link and opening
    only regular files. A link or special file where a manifest or config blob should be (or on the way to it),
    a manifest digest that is not V(sha256:<64 lower-case hex>) exactly, or a config blob whose bytes do not
    match its digest is not read; the file is treated as not on disk, and a warning names the path.
extends_documentation_fragment:
  - llmops.ollama.api
  - llmops.ollama.attributes
  - llmops.ollama.attributes.info_module
options:
  models:
    description:
      - The models to size, as Ollama names them (V(llama3) is V(llama3:latest); V(host[:port]/namespace/model:tag)
        for another registry). One result per item, in the same order; the name is returned as given.
      - Every name is checked first; an invalid one fails the task, naming it, before any request is sent.
    type: list
    elements: str
    required: true
  models_dir:
    description:
      - Ollama's models directory on the host (C(manifests/) and C(blobs/)), read for models the host's Ollama
        does not list (for example while Ollama is not running).
      - A directory that does not exist (a host where Ollama is not installed yet) is no error.
      - Not set, the directory is not read.
    type: path
  registry_url:
    description:
      - Base URL of the registry of models named without a host or on V(registry.ollama.ai), V(http://) or
        V(https://) with a host and an optional port and nothing after them, for example a mirror.
    type: str
    default: https://registry.ollama.ai
  registry_timeout:
    description:
      - Seconds to wait for a registry's connection and for each read of its reply.
    type: int
    default: 10
  default_params_b:
    description:
      - Parameter count (billions) assumed when neither the host, the registry nor the tag tells.
    type: float
    default: 7
  disk_gb_per_params_b:
    description:
      - Bytes on disk per parameter count (GB per billion parameters) when no manifest gives the model's size;
        V(0.6) fits 4-bit quantisation.
    type: float
    default: 0.6
notes:
  - O(api_url), O(timeout), O(validate_certs) and O(headers) apply to the host's Ollama only. Registry
    certificates are always verified.
  - A registry's redirect (signed object storage for blobs) is followed, up to 5 times.
  - The config blob is checked against its digest, from disk and from a registry, before it is used.
seealso:
  - module: llmops.ollama.ollama_model_info
  - module: llmops.ollama.ollama_model
"""

EXAMPLES = r"""
- name: Size the models before pulling them
  llmops.ollama.ollama_model_requirements:
    models:
      - qwen2.5:0.5b
      - llama3:70b
    models_dir: /var/lib/ollama/models
    timeout: 5
  register: sizing

- name: Show where each figure came from
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.parameter_size }} parameters (from the {{ item.params_from }}), {{ item.bytes }} bytes ({{ item.bytes_from }})"
  loop: "{{ sizing.models }}"

- name: Against a registry mirror, from the controller for a remote Ollama
  llmops.ollama.ollama_model_requirements:
    models: [qwen2.5:0.5b]
    api_url: http://10.0.0.5:11434
    registry_url: http://10.213.0.2:5000
  delegate_to: localhost
  register: sizing
"""

RETURN = r"""
models:
  description: One entry per item of O(models), in the same order.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: The model, as given in O(models).
      type: str
      sample: llama3:70b
    params_b:
      description: Parameter count in billions, rounded to 3 decimals.
      type: float
      sample: 70.6
    parameter_size:
      description:
        - The parameter count as the source wrote it (V(494.03M), V(70.6B)); when it came from the tag or the
          default, the count in billions followed by C(B) (V(14.0B), V(7.0B)).
      type: str
      sample: 70.6B
    params_from:
      description: Where the parameter count came from.
      type: str
      choices: [host, host data directory, registry, tag, default]
      sample: registry
    bytes:
      description: Bytes the model takes, or will take, on disk.
      type: int
      sample: 39969745349
    bytes_from:
      description: Where RV(models[].bytes) came from (V(host) covers both the host's Ollama and its models directory).
      type: str
      choices: [host, registry, estimate]
      sample: registry
    on_host:
      description: Whether the host already has the model (its Ollama lists it, or its manifest is in O(models_dir)).
      type: bool
      sample: false
    layers:
      description:
        - The blobs of the model (config first) with their digests and sizes, from the manifest that was read
          (on disk or in the registry); empty when the host's Ollama listed the model or no manifest was read.
        - The M(llmops.ollama.ollama_model) pulls are reported against these sizes by the C(ollama_models) role.
      type: list
      elements: dict
      version_added: 0.3.0
      sample:
        - digest: sha256:6f96e01a3f550ca08aea1e5725bb8d5a7eccc6f281c30417e9d380b8c46467bd
          size: 487
failures:
  description:
    - The sources that could not be read and were skipped, in the order they were tried. Not an error.
    - C(source) is V(api) (the host's Ollama; C(model) is then V(null)), V(models_dir) or V(registry);
      C(msg) says what failed, where and why (the URL or path, the HTTP status, the registry's own error text).
  returned: success
  type: list
  elements: dict
  sample:
    - source: api
      model: null
      msg: "GET http://127.0.0.1:11434/api/tags failed: connection refused: is the API running and listening at that address?"
    - source: registry
      model: llama3:70b
      msg: "GET https://registry.ollama.ai/v2/library/llama3/manifests/70b failed: no answer within 10 seconds (the time-out applies to each read)"
warnings:
  description:
    - One per path in O(models_dir) that was not read (a link, a special file, a manifest with a malformed
      digest, a config blob that does not match its digest), naming the path; the same text is in RV(failures).
  returned: when a path was refused
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._common import InvalidOption
from ansible_collections.llmops.ollama.plugins.module_utils._model_size import SIZING_ARGS, size_models, sizer_from_params
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import InvalidMirror


def argument_spec():
    return dict(SIZING_ARGS)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        sizer = sizer_from_params(module.params, warn=module.warn)
    except (_model_name.InvalidName, InvalidOption, InvalidMirror) as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=False, **size_models(sizer, module.params["models"]))


if __name__ == "__main__":
    main()
