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
      - A URL with credentials in it (V(https://user:password@host)) is refused; put them in O(headers).
      - A model C(<namespace>/<model>:<tag>) is the repository C(<namespace>/<model>) with the tag C(<tag>),
        in lower case, so V(qwen2.5:0.5b) is C(library/qwen2.5:0.5b) whatever registry it came from.
    type: str
    required: true
  timeout:
    description:
      - Seconds to wait for the connection and for each read of a reply, and the limit for a whole reply other than a
        blob (manifest, token, error body), however slowly the registry sends it.
      - A blob transfer may take this plus the time its bytes need at 100 KiB/s; error bodies are read up to 64 KiB,
        manifests up to 4 MiB.
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
        these headers are sent to its token service (the challenge's C(realm)) only when that is on the registry's own
        host (not over plain HTTP when the registry is V(https://)) or on a host listed in O(auth_hosts); otherwise
        the task fails, naming the realm's host. The token is used from then on, for the registry only.
      - Never sent to another scheme, host or port than the mirror's; a redirect (up to 5 are followed, for reads)
        or an upload location elsewhere gets neither these headers nor the token.
      - Values are not logged.
    type: dict
  auth_hosts:
    description:
      - Hosts, other than the O(mirror)'s own, whose token service may receive O(headers) when the registry answers
        with a C(Bearer) challenge, for example V(auth.example.com).
      - Each item is a host name or IP address (any port) or V(host:port) (that port only); no scheme, no path.
      - Without credentials in O(headers), a token is asked for anonymously from any realm and this is not needed.
    type: list
    elements: str
"""

    MODELS_DIR = r"""
options:
  models_dir:
    description:
      - Ollama's models directory on the host the module runs on (E(OLLAMA_MODELS)), holding C(manifests/) and C(blobs/).
      - The default fits the C(llmops.ollama.ollama) role, which bind-mounts its data directory
        C(/var/lib/ollama) at C(/root/.ollama) in the container.
      - The Ollama container can write into this directory, so the module never follows a link in it; the directory
        itself, its C(blobs/) and C(manifests/) directories, the model's directories and files must be real
        directories and regular files, or the task fails naming the path (and leaves what a link points to alone).
        A manifest's digests must be V(sha256:<64 lower-case hex>) exactly before they name a file.
    type: path
    default: /var/lib/ollama/models
"""
