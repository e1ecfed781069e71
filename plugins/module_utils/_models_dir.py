# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""Ollama's models directory ($OLLAMA_MODELS):

    manifests/<host>/<namespace>/<model>/<tag>   the manifest, JSON; its sha256 is the model's digest
    blobs/sha256-<64 hex>                        content-addressed layers and config
    blobs/sha256-<64 hex>-partial                a download in progress

Ollama lists every file matching manifests/*/*/*/* on each request, so a model appears as soon as
its manifest is there; the manifest is therefore written last, with a rename, after every blob.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile

FILE_MODE = 0o644
DIR_MODE = 0o755
_DIGEST = re.compile(r"^sha256:([0-9a-f]{64})$")


class ModelsDirError(Exception):
    pass


class Blob:
    """One blob a manifest names: digest (64 hex), size in bytes, media type."""

    def __init__(self, digest, size, media_type):
        self.digest = digest
        self.size = size
        self.media_type = media_type

    def __repr__(self):
        return "Blob(sha256:%s, %d)" % (self.digest, self.size)


class Manifest:
    """The exact bytes of a manifest, its digest and its blobs (config first, then the layers)."""

    def __init__(self, raw, source):
        self.raw = raw
        self.digest = hashlib.sha256(raw).hexdigest()
        self.blobs = parse_blobs(raw, source)

    @property
    def media_type(self):
        return json.loads(self.raw).get("mediaType") or "application/vnd.docker.distribution.manifest.v2+json"

    @property
    def size(self):
        return sum(blob.size for blob in self.blobs)


def parse_blobs(raw, source):
    """The blobs of a manifest, checked: every digest must be sha256:<64 lower-case hex> (it becomes a
    file name) and every size a non-negative integer. `source` names where the bytes came from."""
    try:
        body = json.loads(raw)
    except ValueError:
        raise ModelsDirError("the manifest from %s is not JSON: %r" % (source, raw[:200]))
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise ModelsDirError("the manifest from %s has no layers list; it is not an Ollama model manifest" % source)
    entries = ([body["config"]] if body.get("config") is not None else []) + body["layers"]
    blobs = []
    seen = set()
    for entry in entries:
        digest = entry.get("digest") if isinstance(entry, dict) else None
        size = entry.get("size") if isinstance(entry, dict) else None
        match = _DIGEST.match(digest) if isinstance(digest, str) else None
        if not match or not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ModelsDirError("the manifest from %s names a blob with digest %r and size %r; expected "
                                 "sha256:<64 lower-case hex> and a byte count" % (source, digest, size))
        if match.group(1) in seen:
            continue
        seen.add(match.group(1))
        blobs.append(Blob(match.group(1), size, entry.get("mediaType")))
    return blobs


def _match_entry(directory, wanted):
    """The entry of directory equal to wanted ignoring case (Ollama matches existing names so), or None."""
    try:
        entries = sorted(os.listdir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return None
    if wanted in entries:
        return wanted
    for entry in entries:
        if entry.lower() == wanted.lower():
            return entry
    return None


class ModelsDir:
    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, "blobs")
        self.manifests = os.path.join(root, "manifests")

    def check_exists(self, creatable=False):
        """Fail unless root is a directory; with creatable, a missing root whose parent is a directory
        will do (create() makes it)."""
        if os.path.isdir(self.root):
            return
        parent = os.path.dirname(os.path.normpath(self.root))
        if creatable and not os.path.lexists(self.root) and os.path.isdir(parent):
            return
        raise ModelsDirError("models_dir %s does not exist or is not a directory%s; it must be the directory "
                             "Ollama keeps its models in (OLLAMA_MODELS; /root/.ollama/models in the container, "
                             "the data directory's models/ on the host)"
                             % (self.root, ", nor does its parent %s" % parent
                                if creatable and not os.path.isdir(parent) else ""))

    def create(self):
        """Make a missing root (not its parents) with Ollama's mode, as Ollama does on its first pull."""
        if not os.path.isdir(self.root):
            os.mkdir(self.root, DIR_MODE)
            os.chmod(self.root, DIR_MODE)  # whatever the umask

    def blob_path(self, digest):
        return os.path.join(self.blobs, "sha256-%s" % digest)

    def partial_path(self, digest):
        return self.blob_path(digest) + "-partial"

    def manifest_path(self, name):
        """Where the manifest of name is, adopting the casing of an existing model part by part
        (as Ollama's getExistingName does), else where it would be written."""
        path = self.manifests
        for part in name:
            path = os.path.join(path, _match_entry(path, part) or part)
        return path

    def read_manifest(self, name):
        """The local Manifest of name, or None when there is none."""
        path = self.manifest_path(name)
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        return Manifest(raw, path)

    def has_blob(self, blob):
        """True when the blob file is there with the size the manifest gives (blobs are content-addressed:
        Ollama verified them when it wrote them)."""
        try:
            return os.path.getsize(self.blob_path(blob.digest)) == blob.size
        except OSError:
            return False

    def missing_blobs(self, manifest):
        return [blob for blob in manifest.blobs if not self.has_blob(blob)]

    def ensure_dirs(self):
        for directory in (self.blobs, self.manifests):
            if not os.path.isdir(directory):
                os.makedirs(directory, DIR_MODE)

    def check_space(self, blobs):
        """Fail before downloading when the file system cannot hold the missing blobs."""
        need = sum(blob.size - self._partial_size(blob) for blob in blobs)
        free = shutil.disk_usage(self.root).free
        if need > free:
            raise ModelsDirError("models_dir %s has %d bytes free; the missing blobs need %d more"
                                 % (self.root, free, need))

    def _partial_size(self, blob):
        try:
            return min(os.path.getsize(self.partial_path(blob.digest)), blob.size)
        except OSError:
            return 0

    def install_blob(self, blob):
        """Move a verified partial file into place with Ollama's file mode."""
        partial = self.partial_path(blob.digest)
        os.chmod(partial, FILE_MODE)
        os.replace(partial, self.blob_path(blob.digest))

    def write_manifest(self, name, manifest):
        """Write the manifest bytes under name, atomically: a temporary file one level above the
        model's directory (outside Ollama's manifests/*/*/*/* glob), then a rename. Every blob must be
        in place first. Return the path."""
        missing = self.missing_blobs(manifest)
        if missing:
            raise ModelsDirError("not writing the manifest of %s: blobs missing from %s: %s"
                                 % ("/".join(name), self.blobs, ", ".join("sha256:%s" % b.digest for b in missing)))
        path = self.manifest_path(name)
        namespace_dir = os.path.dirname(os.path.dirname(path))
        os.makedirs(os.path.dirname(path), DIR_MODE, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=".manifest-", dir=namespace_dir)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(manifest.raw)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temp, FILE_MODE)
            os.replace(temp, path)
        except BaseException:
            if os.path.exists(temp):
                os.remove(temp)
            raise
        return path
