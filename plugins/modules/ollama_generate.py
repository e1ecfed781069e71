#!/usr/bin/python
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: ollama_generate
short_description: Ask a model on an Ollama server and measure the answer
version_added: 0.1.0
author: llmops.ollama maintainers (@llmops)
description:
  - Sends a prompt (C(POST /api/generate)) or a conversation (C(POST /api/chat)) and returns the answer with
    Ollama's timings and the generation speed in tokens per second.
  - Meant for smoke tests, health gates and benchmarks. It never reports a change.
  - The answer is streamed, so O(timeout) bounds each wait for the next piece, not the whole answer.
  - Ollama sends nothing, not even its HTTP headers, until the model is loaded into memory, which for a big model on
    a slow disk takes minutes. The wait for the first piece is therefore bounded by O(load_timeout) instead, and the
    time it took is returned as RV(load_seconds). Beyond that bound the module fails saying the model was still
    loading, with the model, the API URL and the seconds waited.
extends_documentation_fragment:
  - llmops.ollama.api
  - llmops.ollama.messages
  - llmops.ollama.attributes
attributes:
  check_mode:
    support: full
    details:
      - Generation changes no stored state (at most it loads the model into memory), so it also runs in check mode;
        health gates then still test the server.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  model:
    description:
      - The model to ask, in Ollama's naming rules. An invalid name fails before any request is sent.
    type: str
    required: true
  prompt:
    description:
      - A prompt for C(/api/generate).
    type: str
  messages:
    description:
      - Sent to C(/api/chat) instead of a O(prompt) to C(/api/generate).
  system:
    description:
      - A system prompt for this request; with O(messages) it is sent as a leading C(system) message.
    type: str
  options:
    description:
      - Model options for this request, for example C(temperature), C(seed), C(num_predict) or C(num_ctx).
    type: dict
  keep_alive:
    description:
      - How long the model stays loaded after the request, as Ollama reads it (V(5m), V(1h), V(-1) for ever,
        V(0) to unload now). Omitted, the server's E(OLLAMA_KEEP_ALIVE) applies.
      - A whole number, or a string of one, is sent as a number of seconds; Ollama reads a string as a Go duration,
        which needs a unit.
    type: raw
  format:
    description:
      - V(json), or a JSON schema as a dict, to constrain the answer.
    type: raw
  load_timeout:
    description:
      - Seconds to wait for the first piece of the answer, which comes only once the model is loaded (see the
        description). Health gates set it from the largest model's expected load time.
    type: int
    default: 300
  answer_timeout:
    description:
      - Seconds the whole answer may take once the model has loaded (from the first piece to the last), as a health
        gate wants it; beyond that the module fails, naming the model, the host and the time. O(timeout) still bounds
        each wait for the next piece.
      - Not set, only O(timeout) and O(load_timeout) apply.
    type: int
    version_added: 0.3.0
seealso:
  - module: llmops.ollama.ollama_model
"""

EXAMPLES = r"""
- name: Health gate, the model answers
  llmops.ollama.ollama_generate:
    model: qwen2.5:0.5b
    prompt: Say OK.
    options:
      num_predict: 8
      seed: 1
  register: answer
  failed_when: answer.response | length == 0

- name: A conversation
  llmops.ollama.ollama_generate:
    model: support-bot
    messages:
      - role: user
        content: How do I reset my password?
  register: chat

- name: Speed of the last answer
  ansible.builtin.debug:
    msg: "{{ chat.tokens_per_second | round(1) }} tokens/s"
"""

RETURN = r"""
response:
  description: The answer's text (for a conversation, the assistant message's content).
  returned: success
  type: str
  sample: OK.
message:
  description: The assistant's message.
  returned: when O(messages) is given
  type: dict
  sample: {"role": "assistant", "content": "Open Settings, then Security."}
model:
  description: The model that answered, as Ollama names it.
  returned: success
  type: str
  sample: qwen2.5:0.5b
done_reason:
  description: Why generation stopped (V(stop), V(length), V(load), V(unload)).
  returned: success
  type: str
  sample: stop
total_duration:
  description: Nanoseconds for the whole request.
  returned: when Ollama reports it
  type: int
load_duration:
  description: Nanoseconds spent loading the model.
  returned: when Ollama reports it
  type: int
prompt_eval_count:
  description: Tokens in the prompt.
  returned: when Ollama reports it
  type: int
prompt_eval_duration:
  description: Nanoseconds spent on the prompt.
  returned: when Ollama reports it
  type: int
eval_count:
  description: Tokens generated.
  returned: when Ollama reports it
  type: int
eval_duration:
  description: Nanoseconds spent generating.
  returned: when Ollama reports it
  type: int
load_seconds:
  description:
    - Seconds from sending the request to the first piece of the answer, as this module saw them. Mostly the time
      Ollama took to load the model (near zero when it was already loaded); RV(load_duration) is Ollama's own figure.
  returned: success
  type: float
  sample: 41.2
answer_seconds:
  description:
    - Seconds from the first piece of the answer to the last, as this module saw them (bounded by O(answer_timeout)).
  returned: success
  type: float
  sample: 1.7
tokens_per_second:
  description: RV(eval_count) divided by RV(eval_duration) in seconds; null when Ollama reports no generation time.
  returned: success
  type: float
  sample: 41.7
"""

import http.client
import json
import re
import socket
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._common import (
    COMMON_ARGS, MESSAGES_ARG, InvalidOption, client_from_params, fail_api)
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError, BodyReader, Deadline, excerpt

TIMINGS = ("total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration")


def tokens_per_second(final):
    count, duration = final.get("eval_count"), final.get("eval_duration")
    if not count or not duration:
        return None
    return count / (duration / 1e9)


def keep_alive_value(value):
    """Seconds as a number; a duration such as 5m as a string."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidOption("keep_alive: %r must be a duration such as 5m, or whole seconds" % (value,))
    if isinstance(value, str) and re.match(r"^\s*-?\d+\s*$", value):
        return int(value)
    return value


def build_request(params, model):
    request = {"model": model}
    for key in ("options", "format"):
        if params[key] is not None:
            request[key] = params[key]
    if params["keep_alive"] is not None:
        request["keep_alive"] = keep_alive_value(params["keep_alive"])
    if params["messages"] is not None:
        messages = [{"role": m["role"], "content": m["content"]} for m in params["messages"]]
        if params["system"] is not None:
            messages.insert(0, {"role": "system", "content": params["system"]})
        request["messages"] = messages
    else:
        request["prompt"] = params["prompt"]
        if params["system"] is not None:
            request["system"] = params["system"]
    return request


class StillLoading(Exception):
    pass


def _timed_out(error):
    reason = getattr(error, "reason", error)
    return isinstance(reason, (socket.timeout, TimeoutError)) or "timed out" in str(reason)


class Answer:
    """One streamed answer: the first line waits up to load_timeout (Ollama is loading the
    model), every later one up to the per-read timeout."""

    def __init__(self, client, path, request, timeout, load_timeout, answer_timeout=None):
        self.client, self.path, self.request = client, path, dict(request, stream=True)
        self.timeout, self.load_timeout, self.answer_timeout = timeout, load_timeout, answer_timeout
        self.url = client.http.url(path)
        self.load_seconds = None
        self.answer_seconds = None

    def lines(self):
        started = time.monotonic()
        reader = None
        try:
            # 503 (queue full) comes before any work starts, so a retry is safe.
            response = self.client.http.open("POST", self.path, body=self.request, timeout=self.load_timeout,
                                             retry_busy=True, accept="application/x-ndjson", total=self.load_timeout)
            # every line at most MAX_LINE_BYTES long; the first one complete within load_timeout, each later one
            # within the per-read timeout
            reader = BodyReader(response, "POST", self.url, self.load_timeout, what="the answer stream")
            line = reader.readline(Deadline(self.load_timeout))
        except ApiError as e:
            if reader is not None:
                reader.close()
            self._loading_or_raise(e, started)
        except (OSError, http.client.HTTPException) as e:
            if reader is not None:
                reader.close()
            self._loading_or_raise(ApiError("POST %s failed: %s" % (self.url, e), method="POST", url=self.url), started, e)
        self.load_seconds = time.monotonic() - started
        reader.per_read = self.timeout
        answering = time.monotonic()
        with reader:
            while line:
                if line.strip():
                    yield self._decode(line, response.status)
                if self.answer_timeout is not None and time.monotonic() - answering > self.answer_timeout:
                    raise ApiError("POST %s: the answer took longer than answer_timeout (%s s) after the model had loaded"
                                   % (self.url, self.answer_timeout), method="POST", url=self.url)
                line = reader.readline(Deadline(self.timeout))
        self.answer_seconds = time.monotonic() - answering

    def _loading_or_raise(self, error, started, cause=None):
        waited = time.monotonic() - started
        timed_out = "no answer within" in error.msg or (cause is not None and _timed_out(cause))
        if error.status is None and (timed_out or waited >= self.load_timeout):
            raise StillLoading(waited)
        raise error

    def _decode(self, line, status):
        try:
            obj = json.loads(line)
        except ValueError:
            raise ApiError("POST %s sent a stream line that is not JSON: %r" % (self.url, excerpt(line)),
                           method="POST", url=self.url, status=status)
        if isinstance(obj, dict) and obj.get("error"):
            raise ApiError("POST %s failed during the stream (HTTP %s): %s" % (self.url, status, obj["error"]),
                           method="POST", url=self.url, status=status, error=obj["error"])
        return obj


def ask(client, request, timeout, load_timeout, answer_timeout=None):
    """-> (final object, joined text, the Answer with the load and answer seconds seen)."""
    chat = "messages" in request
    answer = Answer(client, "/api/chat" if chat else "/api/generate", request, timeout, load_timeout, answer_timeout)
    pieces, final = [], None
    for part in answer.lines():
        pieces.append(((part.get("message") or {}).get("content") if chat else part.get("response")) or "")
        if part.get("done"):
            final = part
    if final is None:
        raise ApiError("POST %s: the answer stream ended before done" % answer.url, method="POST", url=answer.url,
                       status=200)
    return final, "".join(pieces), answer


def main():
    spec = {
        "model": {"type": "str", "required": True},
        "prompt": {"type": "str"},
        "messages": MESSAGES_ARG,
        "system": {"type": "str"},
        "options": {"type": "dict"},
        "keep_alive": {"type": "raw", "no_log": False},
        "format": {"type": "raw"},
        "load_timeout": {"type": "int", "default": 300},
        "answer_timeout": {"type": "int"},
    }
    spec.update(COMMON_ARGS)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=[("prompt", "messages")], required_one_of=[("prompt", "messages")])
    params = module.params
    try:
        model = _model_name.parse(params["model"], option="model")
        if params["format"] is not None and params["format"] != "json" and not isinstance(params["format"], dict):
            raise InvalidOption("format: %r must be 'json' or a JSON schema (a dict)" % (params["format"],))
        for option in ("load_timeout", "answer_timeout"):
            if params[option] is not None and params[option] <= 0:
                raise InvalidOption("%s: %r must be a positive number of seconds" % (option, params[option]))
        client = client_from_params(params)
        request = build_request(params, model.shortest())
    except (_model_name.InvalidName, InvalidOption) as e:
        module.fail_json(msg=str(e))

    try:
        final, text, answer = ask(client, request, params["timeout"], params["load_timeout"], params["answer_timeout"])
    except ApiError as e:
        fail_api(module, e, model=model.shortest(), api_url=client.api_url)
    except StillLoading as e:
        waited = e.args[0]
        module.fail_json(msg="model %s on %s was still loading after %.1f s (load_timeout %d s): Ollama answers only "
                             "once the model is in memory; raise load_timeout for big models or slow disks"
                             % (model.shortest(), client.api_url, waited, params["load_timeout"]),
                         model=model.shortest(), api_url=client.api_url, waited_seconds=round(waited, 1))

    result = {"changed": False, "response": text, "model": final.get("model"), "done_reason": final.get("done_reason"),
              "tokens_per_second": tokens_per_second(final), "load_seconds": round(answer.load_seconds, 3),
              "answer_seconds": round(answer.answer_seconds, 3)}
    result.update((key, final[key]) for key in TIMINGS if key in final)
    if "messages" in request:
        result["message"] = {"role": (final.get("message") or {}).get("role") or "assistant", "content": text}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
