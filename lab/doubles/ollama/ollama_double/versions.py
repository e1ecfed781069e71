"""Replies whose status or text changed between Ollama versions, chosen by the claimed version.

v0.18.0-rc0 (server/model_resolver.go, parseAndValidateModelRef + writeModelRefParseError in
server/routes.go) made an invalid model name a 400 `invalid model name` in show, generate, chat
and embed. Before it (v0.17.1's server/routes.go):
  show      GetModelInfo -> model.Unqualified(name): 500 `unqualified name: <host/ns/model:tag>`
  generate  404 `model '<as sent>' not found` ("keeping with what the API currently returns")
  chat, embeddings   400 `model is required`
  embed     getExistingName of the bad name, then the scheduler: 404 `model "<as sent>" not
            found, try pulling it first` (the same reply as a missing model)
Unchanged in both: a missing model is 404 `model '<as sent>' not found` in show, generate and
chat, and 404 `model "<as sent>" not found, try pulling it first` (Go's %q) in embed and
embeddings (handleScheduleError).
"""

import json

from . import config
from .prune import version_key
from .streams import ApiError

MODEL_REF_SINCE = (0, 18, 0, 0, 0)  # v0.18.0-rc0


def claims_model_ref(version=None):
    """True when the claimed version validates names with parseAndValidateModelRef."""
    key = version_key(version if version is not None else config.version())
    if key is None or key[:3] == (0, 0, 0):  # a source build: today's main
        return True
    return key >= MODEL_REF_SINCE


def go_quote(text):
    """fmt's %q for the strings model names can hold (JSON escapes match Go's for these)."""
    return json.dumps(text, ensure_ascii=False)


def invalid_name(route, raw, name):
    """The ApiError for a model name that fails Name.IsValid, as the claimed version answers."""
    if claims_model_ref():
        return ApiError(400, "invalid model name")
    if route == "show":
        return ApiError(500, f"unqualified name: {name.full()}")
    if route == "generate":
        return ApiError(404, f"model '{raw}' not found")
    if route in ("chat", "embeddings"):
        return ApiError(400, "model is required")
    return missing_to_scheduler(raw)


def missing(raw):
    """show, generate, chat: the model is not on disk."""
    return ApiError(404, f"model '{raw}' not found")


def missing_to_scheduler(raw):
    """embed, embeddings: GetModel fails inside scheduleRunner -> handleScheduleError."""
    return ApiError(404, f"model {go_quote(raw)} not found, try pulling it first")
