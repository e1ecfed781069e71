"""Handlers that read and manage local models: /, version, tags, show, delete, copy, blobs, /v1/models."""

import hashlib
import os
import tempfile

from . import config, gotime, modelinfo, names, versions
from .httpio import parse_json, required_model_name, string_field
from .store import DIGEST_PATTERN
from .streams import ApiError, Empty, Json, Text


def root(state, request, path):
    return Text("Ollama is running")


def version(state, request, path):
    return Json({"version": config.version()})


def list_entry(model):
    """ListModelResponse; raises when the config blob is unreadable (the caller skips it)."""
    name = model.name.display()
    return {"name": name, "model": name, "modified_at": gotime.rfc3339(model.mtime_ns),
            "size": model.size, "digest": model.digest, "details": model.details()}


def tags(state, request, path):
    entries = []
    for model in state.store.models():
        try:
            entries.append(list_entry(model))
        except (OSError, ValueError, KeyError):
            continue  # Ollama skips a model whose config blob cannot be read
    return Json({"models": entries})


def show(state, request, path):
    body = parse_json(request.body.read_all(), "ShowRequest")
    raw = string_field(body, "model", "ShowRequest", alias="name")
    if not raw:
        raise ApiError(400, "model is required")
    name = names.parse(raw)
    if not name.is_valid():
        raise versions.invalid_name("show", raw, name)
    model = state.store.get(name)
    if model is None:
        raise versions.missing(raw)
    return Json(modelinfo.show(model, verbose=bool(body.get("verbose"))))


def delete(state, request, path):
    body = parse_json(request.body.read_all(), "DeleteRequest")
    raw, name = required_model_name(body, "DeleteRequest", 'name "{raw}" is invalid')
    model = state.store.get(name)
    if model is None:
        raise ApiError(404, f"model '{raw}' not found")
    state.store.delete(model)
    return Empty()


def copy(state, request, path):
    body = parse_json(request.body.read_all(), "CopyRequest")
    source_raw = string_field(body, "source", "CopyRequest")
    destination_raw = string_field(body, "destination", "CopyRequest")
    source = names.parse(source_raw)
    if not source.is_valid():
        raise ApiError(400, f'source "{source_raw}" is invalid')
    destination = names.parse(destination_raw)
    if not destination.is_valid():
        raise ApiError(400, f'destination "{destination_raw}" is invalid')
    model = state.store.get(source)
    if model is None:
        raise ApiError(404, f'model "{source_raw}" not found')
    destination = state.store.canonical(destination)
    if destination.key() != model.name.key():
        state.store.write_manifest(destination, model.raw)
    return Empty()


def _digest_from(path):
    """The :digest path segment, checked as BlobsPath checks it -> (as given, sha256:<hex>)."""
    raw = path[len("/api/blobs/"):]
    if not DIGEST_PATTERN.match(raw):
        raise ApiError(400, "invalid digest format")
    return raw, "sha256:" + raw[7:].lower()


def blob_head(state, request, path):
    raw, digest = _digest_from(path)
    if not state.store.has_blob(digest):
        raise ApiError(404, f'blob "{raw}" not found')
    return Empty()


def blob_upload(state, request, path):
    raw, digest = _digest_from(path)
    store = state.store
    if store.has_blob(digest):
        return Empty(200)
    os.makedirs(store.blobs, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=store.blobs, prefix=".upload-")
    hasher = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in request.body.chunks():
                hasher.update(chunk)
                out.write(chunk)
        got = "sha256:" + hasher.hexdigest()
        if got != digest:
            raise ApiError(400, f'digest mismatch, expected "{digest}", got "{got}"')
        os.chmod(temp, 0o644)
        os.replace(temp, store.blob_path(digest))
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    return Empty(201)


def _v1_model(model):
    return {"id": model.name.display(), "object": "model", "created": model.mtime_ns // 10**9,
            "owned_by": model.name.namespace}


def v1_models(state, request, path):
    data = [_v1_model(model) for model in state.store.models()]
    return Json({"object": "list", "data": data or None})


def v1_model(state, request, path):
    raw = path[len("/v1/models/"):]
    name = names.parse(raw)
    model = state.store.get(name) if name.is_valid() else None
    if model is None:
        return Json({"error": {"message": f"model '{raw}' not found", "type": "not_found_error",
                               "param": None, "code": None}}, 404)
    return Json(_v1_model(model))
