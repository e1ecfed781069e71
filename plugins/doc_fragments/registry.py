# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The options of modules that talk to a model mirror (an OCI registry) rather than to Ollama.
    DOCUMENTATION = r"""
options:
  mirror:
    description:
      - Base URL of the mirror, an OCI distribution registry (CNCF distribution, Harbor, Zot),
        for example V(http://10.213.0.3:5000) or V(https://registry.example.com).
      - Plain HTTP is used only when the URL says V(http://). Nothing may follow the host and port.
      - A model C(<namespace>/<model>:<tag>) is the repository C(<namespace>/<model>) with the tag C(<tag>),
        in lower case, so V(qwen2.5:0.5b) is C(library/qwen2.5:0.5b) whatever registry it came from.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for the connection and for each read of a reply; a transfer may take longer in total
        as long as data keeps arriving.
    type: int
    default: 60
  validate_certs:
    description:
      - Verify the TLS certificate of an V(https://) O(mirror).
    type: bool
    default: true
  headers:
    description:
      - Extra HTTP headers for every request to the mirror, for example C(Authorization) with C(Basic) credentials.
      - When the registry answers with a C(Bearer) challenge (Harbor, token-authenticated distribution),
        these headers are sent to its token service and the token is used from then on.
      - Values are not logged.
    type: dict
"""

    MODELS_DIR = r"""
options:
  models_dir:
    description:
      - Ollama's models directory on the host the module runs on (E(OLLAMA_MODELS)), holding C(manifests/) and C(blobs/).
      - The default fits the C(llmops.ollama.ollama) role, which bind-mounts its data directory
        C(/var/lib/ollama) at C(/root/.ollama) in the container.
      - M(llmops.ollama.ollama_model) uses it only with O(llmops.ollama.ollama_model#module:source).
    type: path
    default: /var/lib/ollama/models
"""
