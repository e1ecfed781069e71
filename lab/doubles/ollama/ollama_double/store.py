"""Models on disk in Ollama's layout, re-read on every call:

    <models>/manifests/<host>/<namespace>/<model>/<tag>   manifest JSON
    <models>/blobs/sha256-<hex>                           content-addressed blobs
"""

import glob
import hashlib
import json
import os
import re
import tempfile

from . import manifestjson, names

DIGEST_PATTERN = re.compile(r"^sha256[:-][0-9a-fA-F]{64}$")
MODEL_TYPE = "application/vnd.ollama.image.model"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class InvalidDigest(ValueError):
    pass


class LocalModel:
    """One manifest on disk, with what /api/tags reports about it."""

    def __init__(self, store, name, path):
        self.store, self.name, self.path = store, name, path
        with open(path, "rb") as handle:
            self.raw = handle.read()
        self.manifest = manifestjson.decode(self.raw)  # ManifestError is a ValueError
        self.digest = hashlib.sha256(self.raw).hexdigest()
        self.mtime_ns = os.stat(path).st_mtime_ns

    @property
    def layers(self):
        return self.manifest.get("layers") or []

    @property
    def config_descriptor(self):
        return self.manifest.get("config") or {}

    def all_digests(self):
        digests = [layer["digest"] for layer in self.layers if layer.get("digest")]
        if self.config_descriptor.get("digest"):
            digests.append(self.config_descriptor["digest"])
        return digests

    @property
    def size(self):
        return self.config_descriptor.get("size", 0) + sum(layer.get("size", 0) for layer in self.layers)

    def config(self):
        """The decoded config blob; raises OSError/ValueError when unreadable."""
        with open(self.store.blob_path(self.config_descriptor["digest"]), "rb") as handle:
            return json.loads(handle.read())

    def layer(self, media_type):
        return next((layer for layer in self.layers if layer.get("mediaType") == media_type), None)

    def layers_of(self, media_type):
        return [layer for layer in self.layers if layer.get("mediaType") == media_type]

    def read_layer(self, layer):
        with open(self.store.blob_path(layer["digest"]), "rb") as handle:
            return handle.read()

    def details(self):
        config = self.config()
        return {
            "parent_model": "",
            "format": config.get("model_format", ""),
            "family": config.get("model_family", ""),
            "families": config.get("model_families"),
            "parameter_size": config.get("model_type", ""),
            "quantization_level": config.get("file_type", ""),
        }


class Store:
    def __init__(self, root):
        self.root = root
        self.manifests = os.path.join(root, "manifests")
        self.blobs = os.path.join(root, "blobs")

    # --- blobs -----------------------------------------------------------------------------

    def blob_path(self, digest):
        """BlobsPath: refuses anything but sha256:<64 hex> (the Probllama fix)."""
        if not DIGEST_PATTERN.match(digest or ""):
            raise InvalidDigest(digest)
        return os.path.join(self.blobs, "sha256-" + digest[7:].lower())

    def has_blob(self, digest, size=None):
        try:
            stat = os.stat(self.blob_path(digest))
        except OSError:
            return False
        return size is None or stat.st_size == size

    def write_blob(self, data):
        """Stores bytes as a blob; returns its sha256:<hex> digest."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        if not self.has_blob(digest):
            self._atomic_write(self.blob_path(digest), data)
        return digest

    def remove_blob(self, digest):
        try:
            os.remove(self.blob_path(digest))
        except FileNotFoundError:
            pass

    # --- manifests -------------------------------------------------------------------------

    def manifest_path(self, name):
        return os.path.join(self.manifests, name.host, name.namespace, name.model, name.tag)

    def models(self):
        """Every readable manifest exactly four levels deep with a valid name, newest first."""
        found = []
        for path in glob.glob(os.path.join(glob.escape(self.manifests), "*", "*", "*", "*")):
            parts = os.path.relpath(path, self.manifests).split(os.sep)
            name = names.from_manifest_path(parts)
            if not name.is_valid() or not os.path.isfile(path):
                continue
            try:
                found.append(LocalModel(self, name, path))
            except (OSError, ValueError):
                continue
        found.sort(key=lambda model: model.mtime_ns, reverse=True)
        return found

    def canonical(self, name):
        """getExistingName: adopt, part by part, the casing of existing manifests."""
        host = namespace = model = tag = None
        for existing in self.models():
            if host is None and existing.name.host.lower() == name.host.lower():
                host = existing.name.host
            if namespace is None and existing.name.namespace.lower() == name.namespace.lower():
                namespace = existing.name.namespace
            if model is None and existing.name.model.lower() == name.model.lower():
                model = existing.name.model
            if tag is None and existing.name.tag.lower() == name.tag.lower():
                tag = existing.name.tag
        return names.Name(host or name.host, namespace or name.namespace, model or name.model,
                          tag or name.tag, name.scheme)

    def get(self, name):
        """The local model of that name (case-insensitive), or None."""
        for existing in self.models():
            if existing.name.key() == name.key():
                return existing
        return None

    def write_manifest(self, name, raw):
        self._atomic_write(self.manifest_path(name), raw)

    def delete(self, model):
        """Removes the manifest, prunes empty directories, then unreferenced layers."""
        os.remove(model.path)
        directory = os.path.dirname(model.path)
        while os.path.abspath(directory) != os.path.abspath(self.manifests):
            try:
                os.rmdir(directory)
            except OSError:
                break
            directory = os.path.dirname(directory)
        self.remove_unreferenced(model.all_digests())

    def remove_unreferenced(self, digests):
        """Deletes those blobs no remaining manifest refers to; returns how many went."""
        still_used = {digest for other in self.models() for digest in other.all_digests()}
        removed = 0
        for digest in set(digests) - still_used:
            if self.has_blob(digest):
                self.remove_blob(digest)
                removed += 1
        return removed

    # --- helpers ---------------------------------------------------------------------------

    def _atomic_write(self, path, data):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temp, 0o644)
            os.replace(temp, path)
        except BaseException:
            if os.path.exists(temp):
                os.remove(temp)
            raise
