"""Deterministic 'inference': answers, token counts, timings and embeddings derived from input."""

import hashlib
import json
import math
import re

from . import modelinfo
from .streams import ApiError

_TOKEN = re.compile(r"\s*\S+")
_WORD = re.compile(r"\w+|[^\w\s]")


def answer(model, prompt, fmt=None):
    """A fixed sentence naming the model, then the prompt's words; JSON when format asks."""
    words = " ".join(prompt.split())
    text = f"I am {model.name.display()}, a lab double of Ollama. You said: {words}"
    if fmt == "json":
        return json.dumps({"model": model.name.display(), "answer": text})
    if isinstance(fmt, dict):
        return json.dumps(_fill_schema(fmt, text))
    return text


def _fill_schema(schema, text):
    kind = schema.get("type")
    if kind == "object":
        return {key: _fill_schema(sub, text) for key, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        return [_fill_schema(schema.get("items") or {}, text)]
    if kind in ("integer", "number"):
        return len(text.split())
    if kind == "boolean":
        return True
    if schema.get("enum"):
        return schema["enum"][0]
    return text


def tokens(text):
    """Chunks as they are streamed: each word with the whitespace before it."""
    return _TOKEN.findall(text)


def count_tokens(text):
    return len(_WORD.findall(text))


def parameter_count(model):
    """From the config's model_type (e.g. 494.03M, 14B), else 1B."""
    try:
        size = model.config().get("model_type", "")
        scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}[size[-1].upper()]
        return float(size[:-1]) * scale
    except (OSError, ValueError, KeyError, IndexError):
        return 1e9


def ns_per_token(model):
    """Bigger models are slower, roughly as on a CPU: ~130 tokens/s at 0.5B, ~6 at 70B."""
    return int(12_000_000 * max(0.25, parameter_count(model) / 1e9) ** 0.6)


def timings(model, prompt_tokens, eval_tokens, loaded_now, wall_ns, load_ns=0):
    """Ollama's metrics; load_ns is the load wait really spent (already within wall_ns)."""
    per_token = ns_per_token(model)
    load = 150_000_000 + int(parameter_count(model) / 200) if loaded_now else 12_000_000
    wall_ns -= load_ns
    load = max(load, load_ns)
    prompt_eval = max(1, prompt_tokens) * per_token // 8
    evaluation = eval_tokens * per_token
    return {
        "total_duration": load + prompt_eval + evaluation + wall_ns,
        "load_duration": load,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": prompt_eval,
        "eval_count": eval_tokens,
        "eval_duration": evaluation,
    }


def context(prompt, text):
    digest = hashlib.sha256((prompt + "\0" + text).encode()).digest()
    return [digest[i % 32] * 256 + i for i in range(count_tokens(prompt) + count_tokens(text))]


def embedding_length(model):
    try:
        metadata, _ = modelinfo.gguf_of(model)
    except (ApiError, OSError, ValueError):  # unreadable GGUF: a common width
        return 768
    arch = metadata.get("general.architecture", "")
    return int(metadata.get(f"{arch}.embedding_length", 768))


def embed(model, text, dimensions=None):
    """A unit vector that depends only on model and text."""
    size = embedding_length(model)
    raw = hashlib.shake_256(f"{model.digest}\0{text}".encode()).digest(2 * size)
    vector = [(raw[2 * i] * 256 + raw[2 * i + 1]) / 32767.5 - 1.0 for i in range(size)]
    if dimensions:
        vector = vector[:dimensions]
    norm = math.sqrt(sum(value * value for value in vector)) or 1.0
    return [value / norm for value in vector]
