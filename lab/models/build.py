"""Builds a synthetic model, deterministically, as Ollama's registry manifest plus its blobs."""

import hashlib
import json
import struct

import gguf_writer
from catalog import FILE_TYPES

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
MODEL_TYPE = "application/vnd.ollama.image.model"
CHUNK = 1024 * 1024


class Blob:
    """A blob known by digest and size; its bytes are produced on demand by chunks()."""

    def __init__(self, media_type, size, chunks):
        self.media_type = media_type
        self.size = size
        self.chunks = chunks
        digest = hashlib.sha256()
        for chunk in chunks():
            digest.update(chunk)
        self.digest = "sha256:" + digest.hexdigest()

    @classmethod
    def of(cls, media_type, data):
        return cls(media_type, len(data), lambda: iter([data]))

    def descriptor(self):
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size}


class Model:
    def __init__(self, name, config, layers):
        self.name = name
        self.config = config
        self.layers = layers
        self.manifest = json.dumps(
            {"schemaVersion": 2, "mediaType": MANIFEST_TYPE, "config": config.descriptor(),
             "layers": [layer.descriptor() for layer in layers]},
            separators=(",", ":")).encode()
        self.digest = "sha256:" + hashlib.sha256(self.manifest).hexdigest()

    @property
    def repository(self):
        return "library/" + self.name.split(":")[0]

    @property
    def tag(self):
        return self.name.split(":")[1]

    @property
    def blobs(self):
        return self.layers + [self.config]

    @property
    def size(self):
        return sum(blob.size for blob in self.blobs)


def gguf_metadata(name, spec):
    arch = spec["family"]
    return {
        "general.architecture": arch,
        "general.name": spec["display"],
        "general.type": "model",
        "general.basename": name.split(":")[0],
        "general.size_label": spec["parameter_size"],
        "general.parameter_count": spec["parameter_count"],
        "general.file_type": FILE_TYPES[spec["quantization"]],
        "general.quantization_version": 2,
        f"{arch}.context_length": spec["context_length"],
        f"{arch}.embedding_length": spec["embedding_length"],
        f"{arch}.block_count": spec["block_count"],
        f"{arch}.attention.head_count": spec["head_count"],
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.bos_token_id": 1,
        "tokenizer.ggml.eos_token_id": 2,
    }


def model_layer(name, spec):
    """A valid GGUF: metadata plus one F32 tensor, tiny or `body_bytes` long."""
    floats = max(4, spec.get("body_bytes", 0) // 4)
    head = gguf_writer.header(gguf_metadata(name, spec), [("token_embd.weight", [floats])])
    body_size = gguf_writer.tensor_bytes([floats])
    seed = hashlib.shake_256(name.encode()).digest(CHUNK)

    def chunks():
        yield head
        for index, start in enumerate(range(0, body_size, CHUNK)):
            chunk = struct.pack("<Q", index) + seed[8:]
            yield chunk[: min(CHUNK, body_size - start)]

    return Blob(MODEL_TYPE, len(head) + body_size, chunks)


def build(name, spec):
    layers = [
        model_layer(name, spec),
        Blob.of("application/vnd.ollama.image.template", spec["template"].encode()),
        Blob.of("application/vnd.ollama.image.license", spec["license"].encode()),
        Blob.of("application/vnd.ollama.image.params",
                json.dumps(spec["params"], separators=(",", ":")).encode()),
    ]
    config = {
        "model_format": "gguf",
        "model_family": spec["family"],
        "model_families": [spec["family"]],
        "model_type": spec["parameter_size"],
        "file_type": spec["quantization"],
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer.digest for layer in layers]},
    }
    config_blob = Blob.of(CONFIG_TYPE, json.dumps(config, separators=(",", ":")).encode())
    return Model(name, config_blob, layers)
