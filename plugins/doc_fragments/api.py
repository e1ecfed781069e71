# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # The connection options of the modules that talk to Ollama's API, which are the action group
    # llmops.ollama.ollama (meta/runtime.yml), so that module_defaults can set these options once.
    DOCUMENTATION = r"""
options:
  api_url:
    description:
      - Base URL of the Ollama API, a full V(http://) or V(https://) URL, for example V(http://127.0.0.1:11434).
      - A value without a scheme, such as V(localhost:11434), is an error.
      - When not set, the E(OLLAMA_HOST) environment variable of the host the module runs on is read the
        way the C(ollama) CLI reads it (V(host), V(host:port), V(:port) or a URL; a bare host gets port 11434),
        and the unspecified bind addresses V(0.0.0.0) and V(::) mean loopback.
      - Without either, V(http://127.0.0.1:11434).
      - The modules run on the managed host by default; use C(delegate_to) to reach a remote API from the controller.
    type: str
  timeout:
    description:
      - Seconds to wait for the connection and for each read of a reply, and the limit for a whole reply that is not
        streamed (listing, show, delete), error bodies included, however slowly the server sends it.
      - Streamed replies (generation, and pulls with their own O(llmops.ollama.ollama_model#module:pull_timeout))
        may take longer in total, as long as each line of the stream comes whole within the time-out.
    type: int
    default: 60
  validate_certs:
    description:
      - Verify the TLS certificate of an V(https://) O(api_url).
    type: bool
    default: true
  headers:
    description:
      - Extra HTTP headers for every request, for example C(Authorization) for an authenticating proxy in front of Ollama.
      - Values are not logged.
    type: dict
attributes:
  action_group:
    description: Use C(group/llmops.ollama.ollama) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - llmops.ollama.ollama
notes:
  - Reads (listing, show, version, running models) and generation are retried up to three times,
    after 1, 2 and 4 seconds, when Ollama answers HTTP 503 (server busy). Pulls, creates and deletes are sent once.
  - All HTTP goes through C(ansible.module_utils.urls); the managed host needs no extra Python packages.
  - What the server sends is bounded, so a broken or hostile server cannot exhaust the host; an error body is read up
    to 64 KiB, a JSON reply up to 8 MiB, a line of a stream up to 4 MiB; a longer reply fails the task.
"""
