"""Handlers that 'run' models: generate, chat, embed, embeddings, ps."""

import time

from . import answers, gotime, modelinfo, names, versions
from .httpio import parse_json, string_field
from .streams import ApiError, Json, Stream


def _now():
    return gotime.rfc3339(time.time_ns(), utc=True)


def _find(state, raw, route):
    """The local model named raw; an invalid or missing name answers as the claimed version."""
    name = names.parse(raw)
    if raw and not name.is_valid():
        raise versions.invalid_name(route, raw, name)
    model = state.store.get(name) if raw else None
    if model is None:
        if route in ("embed", "embeddings"):
            raise versions.missing_to_scheduler(raw)
        raise versions.missing(raw)
    return model


def _keep_alive(state, body):
    try:
        return gotime.keep_alive_ns(body.get("keep_alive"), state.keep_alive_ns)
    except ValueError as err:
        raise ApiError(400, str(err)) from err


def _require(model, raw, capability, metadata):
    if capability not in modelinfo.capabilities(model, metadata):
        raise ApiError(400, f'"{raw}" does not support {capability}')


def _check_think(model, raw, body, metadata):
    if body.get("think") not in (None, False, "") and \
            "thinking" not in modelinfo.capabilities(model, metadata):
        raise ApiError(400, f'"{raw}" does not support thinking')


def generate(state, request, path):
    body = parse_json(request.body.read_all(), "GenerateRequest")
    raw = string_field(body, "model", "GenerateRequest")
    prompt = string_field(body, "prompt", "GenerateRequest")
    model = _find(state, raw, "generate")
    metadata, _ = modelinfo.gguf_of(model)
    if body.get("raw") and (body.get("template") or body.get("system") or body.get("context")):
        raise ApiError(400, "raw mode does not support template, system, or context")
    _require(model, raw, "completion", metadata)
    if body.get("suffix"):
        _require(model, raw, "insert", metadata)
    _check_think(model, raw, body, metadata)
    keep_alive = _keep_alive(state, body)

    def finish(extra):
        return {"model": raw, "created_at": _now(), "response": "", "done": True, **extra}

    if not prompt and not body.get("images"):
        return _load_or_unload(state, model, keep_alive, finish)
    text = answers.answer(model, prompt, body.get("format"))
    prompt_tokens = answers.count_tokens((body.get("system") or modelinfo.system(model)) + prompt) + 8
    chunks = _run(state, model, keep_alive, text, body, prompt_tokens,
                  lambda token: {"model": raw, "created_at": _now(), "response": token, "done": False},
                  lambda metrics: finish({**metrics, "context": answers.context(prompt, text)}))
    if body.get("stream") is False:
        return Json(_collect(chunks, "response"))
    return Stream(chunks)


def chat(state, request, path):
    body = parse_json(request.body.read_all(), "ChatRequest")
    raw = string_field(body, "model", "ChatRequest")
    if not raw:
        raise ApiError(400, "model is required")
    messages = body.get("messages") or []
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise ApiError(400, "json: cannot unmarshal into Go struct field ChatRequest.messages "
                            "of type []api.Message")
    model = _find(state, raw, "chat")
    metadata, _ = modelinfo.gguf_of(model)
    _require(model, raw, "completion", metadata)
    if body.get("tools"):
        _require(model, raw, "tools", metadata)
    _check_think(model, raw, body, metadata)
    keep_alive = _keep_alive(state, body)

    def message(content):
        return {"role": "assistant", "content": content}

    def finish(extra):
        return {"model": raw, "created_at": _now(), "message": message(""), "done": True, **extra}

    if not messages:
        return _load_or_unload(state, model, keep_alive, finish)
    last_user = next((m.get("content") or "" for m in reversed(messages) if m.get("role") == "user"),
                     messages[-1].get("content") or "")
    text = answers.answer(model, last_user, body.get("format"))
    prompt_tokens = sum(answers.count_tokens(m.get("content") or "") + 4 for m in messages)
    chunks = _run(state, model, keep_alive, text, body, prompt_tokens,
                  lambda token: {"model": raw, "created_at": _now(), "message": message(token),
                                 "done": False},
                  finish)
    if body.get("stream") is False:
        return Json(_collect(chunks, "message"))
    return Stream(chunks)


def _load_or_unload(state, model, keep_alive, finish):
    """An empty prompt only loads the model, or with keep_alive 0 unloads it."""
    state.admit()
    try:
        if keep_alive == 0:
            state.unload(model)
            return Json(finish({"done_reason": "unload"}))
        with state.runner(model.name.key()):
            if state.load(model, keep_alive):
                time.sleep(state.load_seconds(model))
                state.load(model, keep_alive)
        return Json(finish({"done_reason": "load"}))
    finally:
        state.release()


def _run(state, model, keep_alive, text, body, prompt_tokens, chunk, finish):
    """Streams the answer token by token, then the final object with Ollama's metrics."""
    state.admit()  # before the generator starts, so a full queue is a plain 503

    def generator():
        started = time.monotonic_ns()
        try:
            with state.runner(model.name.key()):
                loaded_now = state.load(model, keep_alive or 1)
                load_ns = 0
                if loaded_now:  # nothing reaches the client until the model is in memory
                    time.sleep(state.load_seconds(model))
                    load_ns = time.monotonic_ns() - started
                tokens = answers.tokens(text)
                limit = (body.get("options") or {}).get("num_predict")
                reason = "stop"
                if isinstance(limit, int) and 0 <= limit < len(tokens):
                    tokens, reason = tokens[:limit], "length"
                for token in tokens:
                    if state.token_delay:
                        time.sleep(state.token_delay)
                    yield chunk(token)
                if keep_alive == 0:
                    state.unload(model)
                else:  # keep_alive counts from the end of the request, as the scheduler's timer
                    state.load(model, keep_alive)
                metrics = answers.timings(model, prompt_tokens, len(tokens), loaded_now,
                                          time.monotonic_ns() - started, load_ns)
                yield finish({"done_reason": reason, **metrics})
        finally:
            state.release()

    return generator()


def _collect(chunks, field):
    """stream:false: the whole answer in one object carrying the final metrics."""
    parts, final = [], None
    for item in chunks:
        if item["done"]:
            final = item
        elif field == "response":
            parts.append(item["response"])
        else:
            parts.append(item["message"]["content"])
    if field == "response":
        final["response"] = "".join(parts)
    else:
        final["message"] = {"role": "assistant", "content": "".join(parts)}
    return final


def _inputs(body):
    value = body.get("input")
    if value is None or value == "":
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise ApiError(400, "invalid input type")
    return items


def embed(state, request, path):
    body = parse_json(request.body.read_all(), "EmbedRequest")
    raw = string_field(body, "model", "EmbedRequest")
    model = _find(state, raw, "embed")
    inputs = _inputs(body)
    keep_alive = _keep_alive(state, body)
    if not inputs:
        return Json({"model": raw, "embeddings": []})
    dimensions = body.get("dimensions")
    if dimensions is not None and (not isinstance(dimensions, int) or dimensions < 0):
        raise ApiError(400, "invalid dimensions")
    state.admit()
    started = time.monotonic_ns()
    try:
        loaded_now = state.load(model, keep_alive)
        if loaded_now:
            time.sleep(state.load_seconds(model))
            state.load(model, keep_alive)
        vectors = [answers.embed(model, text, dimensions) for text in inputs]
    finally:
        state.release()
    tokens = sum(answers.count_tokens(text) for text in inputs)
    metrics = answers.timings(model, tokens, 0, loaded_now, time.monotonic_ns() - started)
    return Json({"model": raw, "embeddings": vectors, "total_duration": metrics["total_duration"],
                 "load_duration": metrics["load_duration"], "prompt_eval_count": tokens})


def embeddings(state, request, path):
    body = parse_json(request.body.read_all(), "EmbeddingRequest")
    raw = string_field(body, "model", "EmbeddingRequest")
    prompt = string_field(body, "prompt", "EmbeddingRequest")
    if not raw:
        raise ApiError(400, "model is required")
    model = _find(state, raw, "embeddings")
    keep_alive = _keep_alive(state, body)
    if not prompt:
        return Json({"embedding": []})
    state.admit()
    try:
        state.load(model, keep_alive)
        return Json({"embedding": answers.embed(model, prompt)})
    finally:
        state.release()


def ps(state, request, path):
    entries = []
    for item in state.loaded():
        model = item.model
        try:
            details = model.details()
        except (OSError, ValueError, KeyError):
            continue
        name = model.name.display()
        entries.append({"name": name, "model": name, "size": model.size, "digest": model.digest,
                        "details": details, "expires_at": gotime.rfc3339(item.expires_ns),
                        "size_vram": 0, "context_length": state.context_length})
    return Json({"models": entries})
