# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""How big a model is, in parameters and bytes, before it is pulled (the preflight's sizing).

Sources, first that knows wins:

1. the host's Ollama (/api/tags: details.parameter_size and size), when it has the model;
2. the host's models directory: the manifest (sizes) and its config blob (model_type);
3. the registry: the same two, read over the OCI distribution API (the config blob only, never a layer);
4. the tag (14b, 0.5b, 500m);
5. a default parameter count.

Bytes come from the host (Ollama's size, or the sizes in the manifest on disk), else from the
registry's manifest, else from the parameter count times a GB-per-billion estimate.

A source that cannot be read (Ollama not installed yet, a registry that is down or lacks the model)
is skipped and recorded; nothing here fails the caller. The models directory is read with
_models_dir.ModelsDir only, which never follows a link nor opens anything but a regular file;
what it refuses is recorded as a warning naming the path, and the model is sized as if that file
were not on disk.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._common import COMMON_ARGS, InvalidOption, client_from_params
from ansible_collections.llmops.ollama.plugins.module_utils._http import ApiError
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import (
    MAX_MANIFEST_BYTES, Manifest, ModelsDir, ModelsDirError)
from ansible_collections.llmops.ollama.plugins.module_utils._oci_registry import (
    MANIFEST_V2, InvalidMirror, RegistryClient, mirror_url)

GB = 1000000000
# Ollama's parameter_size / model_type: "494.03M", "7.6B", "70.6B".
_SIZE_TEXT = re.compile(r"^([0-9.]+)\s*([KMBT])", re.IGNORECASE)
# A size in a tag: "14b", "0.5b", "500m", "7b-instruct-q4_K_M", "instruct-8b".
_SIZE_IN_TAG = re.compile(r"(?:^|[-_])([0-9]+(?:[.][0-9]+)?)([mb])(?:$|[-_])", re.IGNORECASE)
_SCALE = {"K": 0.000001, "M": 0.001, "B": 1, "T": 1000}

SOURCE_API = "api"
SOURCE_MODELS_DIR = "models_dir"
SOURCE_REGISTRY = "registry"

# The sizing options, the same for ollama_model_requirements and host_preflight_info's sizing (with the connection options).
SIZING_ARGS = {
    "models": {"type": "list", "elements": "str", "required": True},
    "models_dir": {"type": "path"},
    "registry_url": {"type": "str", "default": "https://registry.ollama.ai"},
    "registry_timeout": {"type": "int", "default": 10},
    "default_params_b": {"type": "float", "default": 7},
    "disk_gb_per_params_b": {"type": "float", "default": 0.6},
}
SIZING_ARGS.update(COMMON_ARGS)


def as_float(value):
    """A number, or 0.0 when it is none (as Jinja's float filter)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def as_int(value):
    """An integer, or 0 when it is none (as Jinja's int filter)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):
            return 0


def params_from_text(text):
    """Billions of parameters in a text such as 494.03M or 70.6B, or None."""
    match = _SIZE_TEXT.search(text) if isinstance(text, str) else None
    if not match:
        return None
    return as_float(match.group(1)) * _SCALE[match.group(2).upper()]


def params_from_tag(tag):
    """Billions of parameters a tag names (14b, 0.5b, 500m), or None."""
    match = _SIZE_IN_TAG.search(tag)
    if not match:
        return None
    return as_float(match.group(1)) * _SCALE[match.group(2).upper()]


def model_type_of(config_text):
    """The model_type of a config blob (Ollama's parameter count, e.g. 7.6B), or '' when it has none."""
    if not isinstance(config_text, str) or not config_text.lstrip().startswith("{"):
        return ""
    try:
        config = json.loads(config_text)
    except ValueError:
        return ""
    model_type = config.get("model_type") if isinstance(config, dict) else None
    return model_type if isinstance(model_type, str) else ""


def manifest_bytes(manifest):
    """The bytes a model takes: its layers and its config, as its manifest gives them."""
    body = json.loads(manifest.raw)
    config = body.get("config") if isinstance(body.get("config"), dict) else {}
    return sum(layer["size"] for layer in body["layers"]) + config.get("size", 0)


def manifest_layers(manifest):
    """Every blob of the manifest, config first, as {digest: "sha256:<hex>", size}."""
    body = json.loads(manifest.raw)
    config = body.get("config") if isinstance(body.get("config"), dict) else None
    return [{"digest": blob["digest"], "size": blob.get("size", 0)}
            for blob in ([config] if config else []) + list(body["layers"])]


def config_blob(manifest):
    """The Blob of the manifest's config, or None when it names none."""
    config = json.loads(manifest.raw).get("config")
    if not isinstance(config, dict):
        return None
    digest = config["digest"].split(":", 1)[1]  # checked whole by Manifest
    return next((blob for blob in manifest.blobs if blob.digest == digest), None)


class Sizer:
    """Sizes models against one host: its Ollama's /api/tags (read once), its models directory and
    the registries. `failures` collects what could not be read ({source, model, msg}); `warn` is called
    with a message naming each path in the models directory that was refused."""

    def __init__(self, client=None, models_dir=None, registry_url=None, registry_timeout=10, default_params_b=7.0,
                 disk_gb_per_params_b=0.6, warn=None):
        self.client = client
        self.models_dir = ModelsDir(models_dir) if models_dir else None
        self.registry_url = registry_url
        self.registry_timeout = registry_timeout
        self._registries = {}
        self.default_params_b = default_params_b
        self.disk_gb_per_params_b = disk_gb_per_params_b
        self.warn = warn or (lambda msg: None)
        self.failures = []
        self._tags = None

    def _failed(self, source, model, msg):
        self.failures.append({"source": source, "model": model, "msg": msg})

    def host_models(self):
        """The host's /api/tags list; [] (and a failure) when its Ollama does not answer."""
        if self._tags is None:
            self._tags = []
            if self.client is not None:
                try:
                    self._tags = [m for m in self.client.tags() if isinstance(m, dict)]
                except ApiError as e:
                    self._failed(SOURCE_API, None, e.msg)
        return self._tags

    def _refused(self, given, e, what):
        msg = "%s; %s of %s was not read and is treated as not on disk" % (e, what, given)
        self._failed(SOURCE_MODELS_DIR, given, msg)
        self.warn(msg)

    def from_disk(self, given, name):
        """(Manifest or None, config text or None) from the models directory."""
        if self.models_dir is None:
            return None, None
        try:
            manifest = self.models_dir.read_manifest(name)
        except ModelsDirError as e:
            self._refused(given, e, "the manifest")
            return None, None
        except OSError as e:
            self._failed(SOURCE_MODELS_DIR, given, "reading the manifest of %s under %s failed: %s"
                         % (given, self.models_dir.root, e))
            return None, None
        if manifest is None:
            return None, None
        blob = config_blob(manifest)
        if blob is None:
            return manifest, None
        path = self.models_dir.blob_path(blob.digest)
        try:
            if blob.size > MAX_MANIFEST_BYTES:
                raise ModelsDirError("%s is %d bytes by its manifest; a config blob is read only up to %d"
                                     % (path, blob.size, MAX_MANIFEST_BYTES))
            with contextlib.closing(self.models_dir.open_blob(blob)) as handle:
                raw = handle.read(blob.size + 1)
            if len(raw) != blob.size or hashlib.sha256(raw).hexdigest() != blob.digest:
                raise ModelsDirError("%s does not hold the bytes its digest names" % path)
        except ModelsDirError as e:
            self._refused(given, e, "the config blob")
            return manifest, None
        except OSError as e:
            self._failed(SOURCE_MODELS_DIR, given, "reading %s failed: %s" % (path, e))
            return manifest, None
        return manifest, raw.decode("utf-8", "replace")

    def registry_for(self, name):
        """The client of the registry a name comes from: registry_url for registry.ollama.ai (the default
        host), https://<host> for any other host (as Ollama pulls it without --insecure); one per URL."""
        if name.host.lower() == _model_name.DEFAULT_HOST:
            base = self.registry_url
        else:
            base = "https://%s" % name.host
        if base not in self._registries:
            # anonymous: no credentials are sent to a registry (a Bearer challenge gets an anonymous token)
            self._registries[base] = RegistryClient(mirror_url(base, "registry_url"), self.registry_timeout)
        return self._registries[base]

    def from_registry(self, given, name):
        """(Manifest or None, config text or None) from the model's registry."""
        if self.registry_url is None:
            return None, None
        try:
            registry = self.registry_for(name)
        except InvalidMirror as e:
            self._failed(SOURCE_REGISTRY, given, str(e))
            return None, None
        repository = "%s/%s" % (name.namespace, name.model)
        try:
            got = registry.get_manifest(repository, name.tag, accept=MANIFEST_V2)
            if got is None:
                self._failed(SOURCE_REGISTRY, given, "the registry %s has no manifest %s:%s (HTTP 404)"
                             % (registry.base_url, repository, name.tag))
                return None, None
            manifest = Manifest(got[0], registry.url("/v2/%s/manifests/%s" % (repository, name.tag)))
        except (ApiError, ModelsDirError) as e:
            self._failed(SOURCE_REGISTRY, given, str(e))
            return None, None
        blob = config_blob(manifest)
        if blob is None:
            return manifest, None
        try:
            raw = registry.read_blob(repository, blob.digest, blob.size)
        except ApiError as e:
            self._failed(SOURCE_REGISTRY, given, e.msg)
            return manifest, None
        return manifest, raw.decode("utf-8", "replace")

    def size(self, given):
        """The sizing of one model, `given` as the user wrote it (a valid name)."""
        name = _model_name.parse(given)
        listed = _model_name.find(name, self.host_models())
        local_manifest = local_config = manifest = config_text = None
        if listed is None:
            local_manifest, local_config = self.from_disk(given, name)
            if local_manifest is not None:
                manifest, config_text = local_manifest, local_config
            else:
                manifest, config_text = self.from_registry(given, name)

        size_text = (listed.get("details") or {}).get("parameter_size") if listed is not None \
            else model_type_of(config_text)
        size_text = size_text if isinstance(size_text, str) else ""
        from_text = params_from_text(size_text)
        from_tag = params_from_tag(name.tag)
        if from_text is not None:
            params_b = from_text
        elif from_tag is not None:
            params_b = from_tag
        else:
            params_b = as_float(self.default_params_b)

        if listed is not None:
            params_from = "host"
        elif from_text is not None and local_config is not None:
            params_from = "host data directory"
        elif from_text is not None:
            params_from = "registry"
        elif from_tag is not None:
            params_from = "tag"
        else:
            params_from = "default"

        if listed is not None:
            size_bytes, bytes_from = as_int(listed.get("size")), "host"
        elif manifest is not None:
            size_bytes = manifest_bytes(manifest)
            bytes_from = "host" if local_manifest is not None else "registry"
        else:
            size_bytes = as_int(params_b * as_float(self.disk_gb_per_params_b) * GB)
            bytes_from = "estimate"

        return {
            "name": given,
            "params_b": round(params_b, 3),
            "parameter_size": size_text if from_text is not None else "%sB" % params_b,
            "params_from": params_from,
            "bytes": size_bytes,
            "bytes_from": bytes_from,
            "on_host": listed is not None or local_manifest is not None,
            "layers": manifest_layers(manifest) if manifest is not None else [],
        }


def sizer_from_params(params, warn=None, prefix=""):
    """The Sizer for the options of SIZING_ARGS, every name and option checked first, before any request is sent.
    Raises _model_name.InvalidName, InvalidMirror or InvalidOption, each naming the option (after prefix)."""
    for given in params["models"]:
        _model_name.parse(given, option=prefix + "models")
    registry_url = mirror_url(params["registry_url"], prefix + "registry_url")
    if params["registry_timeout"] <= 0:
        raise InvalidOption("%sregistry_timeout: %r must be a positive number of seconds" % (prefix, params["registry_timeout"]))
    for option in ("default_params_b", "disk_gb_per_params_b"):
        if params[option] < 0:
            raise InvalidOption("%s%s: %r must not be negative" % (prefix, option, params[option]))
    client = client_from_params(params)
    return Sizer(client=client, models_dir=params["models_dir"], registry_url=registry_url,
                 registry_timeout=params["registry_timeout"], default_params_b=params["default_params_b"],
                 disk_gb_per_params_b=params["disk_gb_per_params_b"], warn=warn)


def size_models(sizer, models):
    """{models, failures}: one entry per name of models, in their order, and the sources that could not be read."""
    return {"models": [sizer.size(given) for given in models], "failures": sizer.failures}
