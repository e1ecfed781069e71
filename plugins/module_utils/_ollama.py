# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""The Ollama REST API client: one method per endpoint the modules use."""

from __future__ import annotations

import json

from ansible_collections.llmops.ollama.plugins.module_utils._http import ABSENT, ApiError, HttpTransport


def ollama_error_text(raw):
    """Ollama's error bodies are {"error": "..."}; unknown paths answer gin's plain text."""
    try:
        body = json.loads(raw)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    return None


class StreamIncomplete(ApiError):
    pass


class OllamaClient:
    """Reads retry on 503 (server busy); writes are sent once."""

    def __init__(self, api_url, timeout, validate_certs=True, headers=None, **transport_options):
        self.api_url = api_url
        self.http = HttpTransport(api_url, timeout, validate_certs=validate_certs, headers=headers,
                                  error_text=ollama_error_text, **transport_options)

    def version(self):
        return (self.http.call_json("GET", "/api/version", retry_busy=True) or {}).get("version")

    def tags(self):
        return (self.http.call_json("GET", "/api/tags", retry_busy=True) or {}).get("models") or []

    def running(self):
        return (self.http.call_json("GET", "/api/ps", retry_busy=True) or {}).get("models") or []

    def show(self, model):
        """The /api/show reply, or None when the model does not exist (404)."""
        reply = self.http.call_json("POST", "/api/show", {"model": model}, retry_busy=True, absent_ok=True)
        return None if reply is ABSENT else reply

    def delete(self, model):
        """True when deleted, False when it was already gone (404)."""
        return self.http.call_json("DELETE", "/api/delete", {"model": model}, absent_ok=True) is not ABSENT

    def copy(self, source, destination):
        """Copy a model's manifest under another name (the blobs are shared); sent once."""
        self.http.call_json("POST", "/api/copy", {"source": source, "destination": destination})

    def pull(self, model, insecure=False, timeout=None):
        return self._until_success("POST", "/api/pull", {"model": model, "insecure": insecure, "stream": True}, timeout)

    def create(self, request, timeout=None):
        return self._until_success("POST", "/api/create", dict(request, stream=True), timeout)

    def generate(self, request, timeout=None):
        return self._until_done("/api/generate", request, timeout, lambda part: part.get("response") or "")

    def chat(self, request, timeout=None):
        return self._until_done("/api/chat", request, timeout,
                                lambda part: (part.get("message") or {}).get("content") or "")

    def _until_success(self, method, path, body, timeout):
        """Follow a progress stream; return its last line, which must say success."""
        last = None
        try:
            for last in self.http.stream_ndjson(method, path, body, timeout=timeout):
                pass
        except ApiError as e:
            e.progress = last
            raise
        if not last or last.get("status") != "success":
            url = self.http.url(path)
            raise StreamIncomplete(
                "%s %s: the progress stream ended before it reported success (last status: %r)"
                % (method, url, (last or {}).get("status")), method=method, url=url, status=200)
        return last

    def _until_done(self, path, request, timeout, text_of):
        """Stream an answer (so the time-out bounds each read, not the whole answer) and return the
        final object with the text joined into it."""
        pieces = []
        final = None
        # 503 (queue full) is answered before any work starts, so a retry is safe.
        for part in self.http.stream_ndjson("POST", path, dict(request, stream=True), timeout=timeout, retry_busy=True):
            pieces.append(text_of(part))
            if part.get("done"):
                final = part
        if final is None:
            url = self.http.url(path)
            raise StreamIncomplete("POST %s: the answer stream ended before done" % url,
                                   method="POST", url=url, status=200)
        return final, "".join(pieces)
