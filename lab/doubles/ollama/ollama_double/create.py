"""POST /api/create (the >= 0.5.5 request): layers from a base model or uploaded GGUF blobs,
with template, system, parameters, messages and license layers replaced or added."""

import hashlib
import json
import os

from . import gguf, gotemplate, names, pull
from .store import CONFIG_TYPE, MANIFEST_TYPE, MODEL_TYPE, InvalidDigest
from .streams import StreamError

TEMPLATE_TYPE = "application/vnd.ollama.image.template"
SYSTEM_TYPE = "application/vnd.ollama.image.system"
PARAMS_TYPE = "application/vnd.ollama.image.params"
MESSAGES_TYPE = "application/vnd.ollama.image.messages"
LICENSE_TYPE = "application/vnd.ollama.image.license"
FILE_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1",
              10: "Q2_K", 12: "Q3_K_M", 14: "Q4_K_S", 15: "Q4_K_M", 17: "Q5_K_M", 18: "Q6_K",
              32: "BF16"}


def human_number(count):
    """format.HumanNumber: 494032768 -> 494.03M, 3085938688 -> 3.1B, 14000000000 -> 14B."""
    for scale, unit, decimals in ((1e12, "T", 1), (1e9, "B", 1), (1e6, "M", 2), (1e3, "K", 0)):
        if count >= scale:
            value = count / scale
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.{decimals}f}{unit}"
    return str(count)


def check_files(files):
    """Runs before the stream starts, so these arrive as plain 400s."""
    for filename, digest in (files or {}).items():
        if os.path.isabs(filename) or ".." in filename.replace("\\", "/").split("/"):
            raise StreamError("file path must be relative", 400)
        if not isinstance(digest, str):
            raise StreamError("invalid digest format", 400)


def create(store, name, request):
    base_name = request.get("from") or ""
    files = request.get("files") or {}
    if not base_name and not files:
        raise StreamError("neither 'from' or 'files' was specified", 400)
    # Nothing is streamed before the base is read (v0.17.1's CreateHandler sends no first line;
    # "reading model metadata" is only in old docs), so an invalid `from` or template is a 400.
    if base_name:
        layers, config = yield from _from_model(store, base_name)
    else:
        layers, config = yield from _from_files(store, files)

    quantize = request.get("quantize") or request.get("quantization")
    if quantize:
        if config.get("file_type") not in ("F16", "F32", "BF16"):
            raise StreamError("quantization is only supported for F16 and F32 models", 400)
        yield {"status": f"quantizing {config['file_type']} model to {quantize.upper()}"}
        config["file_type"] = quantize.upper()

    if request.get("template"):
        problem = gotemplate.parse_error(request["template"])
        if problem:
            raise StreamError(f"template error: {problem}", 400)
        layers = _replace(store, layers, TEMPLATE_TYPE, request["template"].encode())
    if request.get("system"):
        layers = _replace(store, layers, SYSTEM_TYPE, request["system"].encode())
    if request.get("parameters"):
        merged = {}
        existing = next((layer for layer in layers if layer["mediaType"] == PARAMS_TYPE), None)
        if existing:
            with open(store.blob_path(existing["digest"]), "rb") as handle:
                merged = json.load(handle)
        merged.update(request["parameters"])
        layers = _replace(store, layers, PARAMS_TYPE, json.dumps(merged, separators=(",", ":")).encode())
    if request.get("messages"):
        layers = _replace(store, layers, MESSAGES_TYPE,
                          json.dumps(request["messages"], separators=(",", ":")).encode())
    licenses = request.get("license") or []
    for text in [licenses] if isinstance(licenses, str) else licenses:
        layers.append(_layer(store, LICENSE_TYPE, text.encode()))

    for layer in layers:
        verb = "creating new" if layer.pop("_new", False) else "using existing"
        yield {"status": f"{verb} layer {layer['digest']}"}

    config["rootfs"] = {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]}
    config_bytes = json.dumps(config, separators=(",", ":")).encode()
    config_digest = store.write_blob(config_bytes)
    yield {"status": "writing manifest"}
    manifest = {"schemaVersion": 2, "mediaType": MANIFEST_TYPE,
                "config": {"mediaType": CONFIG_TYPE, "digest": config_digest, "size": len(config_bytes)},
                "layers": layers}
    store.write_manifest(name, json.dumps(manifest, separators=(",", ":")).encode())
    yield {"status": "success"}


def _layer(store, media_type, data):
    """A layer for these bytes; '_new' marks it for the 'creating new layer' line."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    layer = {"mediaType": media_type, "digest": digest, "size": len(data)}
    if not store.has_blob(digest):
        store.write_blob(data)
        layer["_new"] = True
    return layer


def _replace(store, layers, media_type, data):
    return [layer for layer in layers if layer["mediaType"] != media_type] + \
        [_layer(store, media_type, data)]


def _from_model(store, raw):
    base = names.parse(raw)
    if not base.is_valid():
        raise StreamError("invalid model name", 400)
    model = store.get(base)
    if model is None:
        yield from pull.pull(store, store.canonical(base), False)
        model = store.get(base)
    layers = [{"mediaType": layer["mediaType"], "digest": layer["digest"], "size": layer["size"],
               "from": model.name.display()} for layer in model.layers]
    config = model.config()
    config.pop("rootfs", None)
    return layers, config


def _from_files(store, files):
    layers, config = [], None
    for digest in files.values():
        try:
            path = store.blob_path(digest)
        except InvalidDigest as err:
            raise StreamError("invalid digest format", 400) from err
        if not os.path.exists(path):
            raise StreamError(f"open {path}: no such file or directory")
        if not gguf.is_gguf(path):
            raise StreamError("supplied file was not in GGUF format", 400)
        yield {"status": "parsing GGUF"}
        metadata, _ = gguf.read(path)
        arch = metadata.get("general.architecture", "")
        if config is None:
            config = {"model_format": "gguf", "model_family": arch, "model_families": [arch],
                      "model_type": human_number(int(metadata.get("general.parameter_count", 0))),
                      "file_type": FILE_TYPES.get(metadata.get("general.file_type"), "unknown"),
                      "architecture": "amd64", "os": "linux"}
        layers.append({"mediaType": MODEL_TYPE if not layers else
                       "application/vnd.ollama.image.projector",
                       "digest": "sha256:" + digest[7:].lower(), "size": os.path.getsize(path)})
    return layers, config

