# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is PRIVATE to the collection. It can have breaking changes at any time.

"""Ollama's models directory ($OLLAMA_MODELS):

    manifests/<host>/<namespace>/<model>/<tag>   the manifest, JSON; its sha256 is the model's digest
    blobs/sha256-<64 hex>                        content-addressed layers and config
    blobs/sha256-<64 hex>-partial                a download in progress (Ollama's own)
    .llmops-staging/                             ours: downloads in progress and verified blobs
                                                 waiting for their manifest

Ollama lists every file matching manifests/*/*/*/* on each request, so a model appears as soon as
its manifest is there; the manifest is therefore written last, with a rename, after every blob.

Unless OLLAMA_NOPRUNE is set, `ollama serve` deletes at start every file in blobs/ that is not named
like a digest and every blob no manifest references (from v0.21.0 sparing files modified in the
last hour); it never looks outside blobs/ and manifests/. So a fetch keeps its partial files and
its verified blobs in .llmops-staging/, where a restart cannot reach them, and hard-links the blobs
into blobs/ only when all of them are there; then it writes the manifest, checks that every blob is
still in blobs/ (a start in between may have pruned one: it is linked again from the staging copy),
and only then drops the staging copies.

The directory is writable by the Ollama container, which runs as root and parses untrusted files,
while this code runs as root on the host. So nothing here follows a link or opens anything but a
regular file: every path is walked one component at a time from a directory descriptor
(O_DIRECTORY|O_NOFOLLOW), every open, stat, rename and unlink is relative to one (dir_fd=), files
are opened with O_NOFOLLOW and checked with fstat, modes are set with fchmod on the open descriptor,
and a digest names a file only after it matched sha256:<64 lower-case hex> whole. A symlink or a
special file anywhere on those paths is refused with an error naming it. Error messages never
quote what a file holds.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import stat

from ansible_collections.llmops.ollama.plugins.module_utils._host_file import kind

FILE_MODE = 0o644
DIR_MODE = 0o755
PARTIAL_MODE = 0o600
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # Ollama's manifests are a few kB; anything this big is not one
CHUNK = 1024 * 1024

_DIGEST = re.compile(r"sha256:([0-9a-f]{64})")  # used with fullmatch only
_HEX = re.compile(r"[0-9a-f]{64}")

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _O_CLOEXEC
_O_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _O_CLOEXEC
_O_CREATE = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | _O_CLOEXEC
_O_RESUME = os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK | _O_CLOEXEC

# Our own files never share a name with Ollama's: its downloader resumes its own `-partial` files
# (and reads its `-partial-N` part files as JSON), so a shared name would mean two writers on one file.
STAGING = ".llmops-staging"
STAGING_MODE = 0o700
PARTIAL_PREFIX = "partial-sha256-"


class ModelsDirError(Exception):
    pass


def _refuse(path, st, wanted):
    raise ModelsDirError(
        "%s is %s, not %s; refusing to use it: nothing under models_dir may be a link or a special file, "
        "since the Ollama container can write there (remove it, and check how it got there)" % (path, kind(st), wanted))


def _check_hex(digest):
    """A digest names a file only when it is 64 lower-case hex characters, whole."""
    if not isinstance(digest, str) or not _HEX.fullmatch(digest):
        raise ModelsDirError("refusing a blob digest that is not 64 lower-case hex characters")
    return digest


class Blob:
    """One blob a manifest names: digest (64 hex), size in bytes, media type."""

    def __init__(self, digest, size, media_type):
        self.digest = _check_hex(digest)
        self.size = size
        self.media_type = media_type

    def __repr__(self):
        return "Blob(sha256:%s, %d)" % (self.digest, self.size)


class Manifest:
    """The exact bytes of a manifest, its digest and its blobs (config first, then the layers)."""

    def __init__(self, raw, source):
        if len(raw) > MAX_MANIFEST_BYTES:
            raise ModelsDirError("the manifest from %s is %d bytes, more than the %d a model manifest can be"
                                 % (source, len(raw), MAX_MANIFEST_BYTES))
        self.raw = raw
        self.digest = hashlib.sha256(raw).hexdigest()
        self.blobs = parse_blobs(raw, source)

    @property
    def media_type(self):
        media_type = json.loads(self.raw).get("mediaType")
        return media_type if isinstance(media_type, str) else "application/vnd.docker.distribution.manifest.v2+json"

    @property
    def size(self):
        return sum(blob.size for blob in self.blobs)


def parse_blobs(raw, source):
    """The blobs of a manifest, checked: every digest must be sha256:<64 lower-case hex>, matched whole
    (it becomes a file name), and every size a non-negative integer. `source` names where the bytes
    came from; the messages say what is wrong and where, never what the bytes are."""
    try:
        body = json.loads(raw)
    except ValueError as e:
        # json's messages give a position, not content
        raise ModelsDirError("the manifest from %s is not JSON (%d bytes; %s)" % (source, len(raw), e))
    if not isinstance(body, dict) or not isinstance(body.get("layers"), list):
        raise ModelsDirError("the manifest from %s has no layers list; it is not an Ollama model manifest" % source)
    entries = ([("config", body["config"])] if body.get("config") is not None else []) + [
        ("layers[%d]" % index, layer) for index, layer in enumerate(body["layers"])]
    blobs = []
    seen = set()
    for where, entry in entries:
        digest = entry.get("digest") if isinstance(entry, dict) else None
        size = entry.get("size") if isinstance(entry, dict) else None
        match = _DIGEST.fullmatch(digest) if isinstance(digest, str) else None
        if not match:
            raise ModelsDirError("the manifest from %s is refused: the digest of %s is not sha256:<64 lower-case "
                                 "hex> exactly (nothing before or after it)" % (source, where))
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ModelsDirError("the manifest from %s is refused: the size of %s is not a byte count"
                                 % (source, where))
        if match.group(1) in seen:
            continue
        seen.add(match.group(1))
        media_type = entry.get("mediaType")
        blobs.append(Blob(match.group(1), size, media_type if isinstance(media_type, str) else None))
    return blobs


def _match_entry(dir_fd, wanted):
    """The entry of the directory equal to wanted ignoring case (Ollama matches existing names so), or None."""
    entries = sorted(os.listdir(dir_fd))
    if wanted in entries:
        return wanted
    for entry in entries:
        if entry.lower() == wanted.lower():
            return entry
    return None


def _lstat(dir_fd, name):
    """The stat of name in the directory without following a link, or None when there is no such entry."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def open_dir_at(dir_fd, name, path, create=False, mode=DIR_MODE):
    """A descriptor of the directory name in dir_fd, opened without following a link; with create,
    made first (mode set with fchmod, whatever the umask) when missing. FileNotFoundError
    when missing; ModelsDirError naming path when it is a link or not a directory."""
    created = False
    if create:
        try:
            os.mkdir(name, mode, dir_fd=dir_fd)
            created = True
        except FileExistsError:
            pass
    try:
        fd = os.open(name, _O_DIR, dir_fd=dir_fd)
    except OSError as e:
        if e.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            st = _lstat(dir_fd, name)
            if st is not None and stat.S_ISREG(st.st_mode):
                raise ModelsDirError("%s is a regular file, not a directory" % path)
            if st is not None:
                _refuse(path, st, "a directory")
        raise
    if created:
        os.fchmod(fd, mode)
    return fd


def open_regular(dir_fd, name, path):
    """A read-only descriptor of the regular file name in dir_fd, opened with O_NOFOLLOW (and O_NONBLOCK,
    so that a FIFO put there cannot hang the open) and checked with fstat; None when there is no such entry.
    A link, a directory or a special file is refused naming path."""
    st = _lstat(dir_fd, name)
    if st is None:
        return None
    if not stat.S_ISREG(st.st_mode):
        _refuse(path, st, "a regular file")
    try:
        fd = os.open(name, _O_READ, dir_fd=dir_fd)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            _refuse(path, _lstat(dir_fd, name) or st, "a regular file")
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        _refuse(path, st, "a regular file")
    os.set_blocking(fd, True)
    return fd


def read_regular(dir_fd, name, path, limit):
    """The bytes of the regular file name in dir_fd (see open_regular), or None when it does not exist;
    more than limit bytes is an error naming path."""
    fd = open_regular(dir_fd, name, path)
    if fd is None:
        return None
    with open(fd, "rb") as handle:
        raw = handle.read(limit + 1)
    if len(raw) > limit:
        raise ModelsDirError("%s is more than %d bytes; it is not a model manifest" % (path, limit))
    return raw


class PartialFile:
    """A download in progress: the file `name` in the directory dir_fd (the staging directory), held open by
    descriptor from creation (O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600) or, to resume, from an existing regular file with
    one link, opened with O_NOFOLLOW. Everything else (size, truncation, hashing, removal, the mode
    and the rename into place) goes through the descriptors. `path` is for messages."""

    def __init__(self, dir_fd, name, path):
        self._dir_fd = os.dup(dir_fd)
        self.name = name
        self.path = path
        self.file = None
        try:
            self.file = open(self._open(), "r+b")
        except BaseException:
            os.close(self._dir_fd)
            raise

    @classmethod
    def at(cls, path):
        """A partial file at path, for callers outside a models directory: the parent directory is
        opened as given, the file itself never through a link."""
        parent = os.open(os.path.dirname(path) or ".", os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
        try:
            return cls(parent, os.path.basename(path), path)
        finally:
            os.close(parent)

    def _open(self):
        for _attempt in range(3):
            try:
                return os.open(self.name, _O_CREATE, PARTIAL_MODE, dir_fd=self._dir_fd)
            except FileExistsError:
                pass
            st = _lstat(self._dir_fd, self.name)
            if st is None:
                continue  # removed in between: create it
            if not stat.S_ISREG(st.st_mode):
                _refuse(self.path, st, "a regular file")
            try:
                fd = os.open(self.name, _O_RESUME, dir_fd=self._dir_fd)
            except FileNotFoundError:
                continue
            except OSError as e:
                if e.errno == errno.ELOOP:
                    _refuse(self.path, _lstat(self._dir_fd, self.name) or st, "a regular file")
                raise
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
                os.close(fd)
                if stat.S_ISREG(st.st_mode):
                    raise ModelsDirError("%s has %d hard links; refusing to write into it: a partial download is "
                                         "a file of its own (remove it)" % (self.path, st.st_nlink))
                _refuse(self.path, st, "a regular file")
            os.set_blocking(fd, True)
            return fd
        raise ModelsDirError("%s keeps appearing and disappearing; refusing to write into it" % self.path)

    def size(self):
        return os.fstat(self.file.fileno()).st_size

    def sha256(self, limit=None):
        """The hash object of the first `limit` bytes (all of them without a limit)."""
        digest = hashlib.sha256()
        self.file.seek(0)
        left = limit
        while left is None or left > 0:
            chunk = self.file.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                break
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
        return digest

    def rewrite_from(self, offset):
        """Drop everything after offset and position there for writing."""
        self.file.seek(offset)
        self.file.truncate(offset)

    def write(self, chunk):
        self.file.write(chunk)

    def _still_ours(self):
        """True when name still is the file this object holds open (the container could have renamed it)."""
        st = _lstat(self._dir_fd, self.name)
        mine = os.fstat(self.file.fileno())
        return st is not None and (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)

    def discard(self):
        """Remove the file (by name, relative to the directory, only while the name is still ours) and close it."""
        if self.file is None:
            return
        if self._still_ours():
            os.unlink(self.name, dir_fd=self._dir_fd)
        self.close()

    def install(self, final_name, final_path):
        """Flush and sync, set Ollama's file mode on the descriptor, and rename the file to final_name
        in the same directory (a rename replaces a name, it never follows a link)."""
        self.file.flush()
        os.fsync(self.file.fileno())
        os.fchmod(self.file.fileno(), FILE_MODE)
        existing = _lstat(self._dir_fd, final_name)
        if existing is not None and not stat.S_ISREG(existing.st_mode):
            _refuse(final_path, existing, "a regular file")
        if not self._still_ours():
            raise ModelsDirError("%s was replaced while it was written; refusing to install it as %s"
                                 % (self.path, final_path))
        os.replace(self.name, final_name, src_dir_fd=self._dir_fd, dst_dir_fd=self._dir_fd)
        os.fsync(self._dir_fd)
        self.close()

    def close(self):
        if self.file is not None:
            self.file.close()
            self.file = None
            os.close(self._dir_fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ModelsDir:
    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, "blobs")
        self.manifests = os.path.join(root, "manifests")
        self.staging = os.path.join(root, STAGING)

    # the root and the walk below it

    def _split_root(self):
        normal = os.path.normpath(self.root)
        parent, base = os.path.split(normal)
        return parent or ".", base

    def _open_root(self, stack, create=False):
        """A descriptor of the root (closed with stack), or None when it does not exist. The directories
        above it are the user's (opened as given); the root itself is inside the container's reach
        (its data directory), so it is never a link."""
        parent, base = self._split_root()
        if not base:  # "/"
            fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
        else:
            try:
                parent_fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | _O_CLOEXEC)
            except (FileNotFoundError, NotADirectoryError):
                return None
            try:
                st = _lstat(parent_fd, base)
                if st is not None and stat.S_ISREG(st.st_mode):
                    return None  # check_exists says so
                fd = open_dir_at(parent_fd, base, self.root, create=create)
            except (FileNotFoundError, NotADirectoryError):
                return None
            finally:
                os.close(parent_fd)
        stack.callback(os.close, fd)
        return fd

    @staticmethod
    def _sub(stack, dir_fd, name, path, create=False, mode=DIR_MODE):
        """open_dir_at, closed with stack; None when missing."""
        if dir_fd is None:
            return None
        try:
            fd = open_dir_at(dir_fd, name, path, create=create, mode=mode)
        except FileNotFoundError:
            return None
        stack.callback(os.close, fd)
        return fd

    def _manifest_walk(self, stack, root_fd, name, create=False):
        """(descriptors of manifests/, <host>/, <namespace>/ and <model>/ (None from the first missing one),
        the tag's entry name, its path). Existing entries are matched ignoring case, part by part, as
        Ollama's getExistingName does."""
        fd = self._sub(stack, root_fd, "manifests", self.manifests, create=create)
        fds = [fd]
        path = self.manifests
        parts = list(name)
        for part in parts[:-1]:
            entry = (_match_entry(fd, part) if fd is not None else None) or part
            path = os.path.join(path, entry)
            fd = self._sub(stack, fd, entry, path, create=create)
            fds.append(fd)
        tag = (_match_entry(fd, parts[-1]) if fd is not None else None) or parts[-1]
        return fds, tag, os.path.join(path, tag)

    # queries

    def check_exists(self, creatable=False):
        """Fail unless root is a directory (and not a link); with creatable, a missing root whose parent
        is a directory will do (create() makes it)."""
        with contextlib.ExitStack() as stack:
            if self._open_root(stack) is not None:
                return
        parent = os.path.dirname(os.path.normpath(self.root))
        if creatable and not os.path.lexists(self.root) and os.path.isdir(parent):
            return
        raise ModelsDirError("models_dir %s does not exist or is not a directory%s; it must be the directory "
                             "Ollama keeps its models in (OLLAMA_MODELS; /root/.ollama/models in the container, "
                             "the data directory's models/ on the host)"
                             % (self.root, ", nor does its parent %s" % parent
                                if creatable and not os.path.isdir(parent) else ""))

    def blob_path(self, digest):
        return os.path.join(self.blobs, "sha256-%s" % _check_hex(digest))

    def partial_path(self, digest):
        return os.path.join(self.staging, PARTIAL_PREFIX + _check_hex(digest))

    def staged_path(self, digest):
        return os.path.join(self.staging, "sha256-%s" % _check_hex(digest))

    def _staging_fd(self, stack, root_fd, create=False):
        return self._sub(stack, root_fd, STAGING, self.staging, create=create, mode=STAGING_MODE)

    def manifest_path(self, name):
        """Where the manifest of name is, adopting the casing of an existing model part by part
        (as Ollama's getExistingName does), else where it would be written."""
        with contextlib.ExitStack() as stack:
            return self._manifest_walk(stack, self._open_root(stack), name)[2]

    def read_manifest(self, name):
        """The local Manifest of name, or None when there is none."""
        with contextlib.ExitStack() as stack:
            fds, tag, path = self._manifest_walk(stack, self._open_root(stack), name)
            if fds[-1] is None:
                return None
            raw = read_regular(fds[-1], tag, path, MAX_MANIFEST_BYTES)
        return None if raw is None else Manifest(raw, path)

    def _blob_size(self, dir_fd, name, path):
        """The size of the regular file name in the directory dir_fd (blobs/ or the staging directory), None when
        absent or when dir_fd is None; a link or special file is refused."""
        st = _lstat(dir_fd, name) if dir_fd is not None else None
        if st is None:
            return None
        if not stat.S_ISREG(st.st_mode):
            _refuse(path, st, "a regular file")
        return st.st_size

    def has_blob(self, blob):
        """True when the blob file is there with the size the manifest gives (blobs are content-addressed:
        Ollama verified them when it wrote them)."""
        return not self.missing_blobs_of([blob])

    def missing_blobs_of(self, blobs):
        with contextlib.ExitStack() as stack:
            blobs_fd = self._sub(stack, self._open_root(stack), "blobs", self.blobs)
            return [blob for blob in blobs
                    if self._blob_size(blobs_fd, "sha256-" + blob.digest, self.blob_path(blob.digest)) != blob.size]

    def missing_blobs(self, manifest):
        return self.missing_blobs_of(manifest.blobs)

    def open_blob(self, blob):
        """The blob's file, open for reading in binary: never through a link, a regular file of the size
        the manifest gives, or ModelsDirError naming its path."""
        path = self.blob_path(blob.digest)
        with contextlib.ExitStack() as stack:
            blobs_fd = self._sub(stack, self._open_root(stack), "blobs", self.blobs)
            fd = open_regular(blobs_fd, "sha256-" + blob.digest, path) if blobs_fd is not None else None
        if fd is None:
            raise ModelsDirError("%s is missing" % path)
        handle = open(fd, "rb")
        size = os.fstat(fd).st_size
        if size != blob.size:
            handle.close()
            raise ModelsDirError("%s is %d bytes; the manifest gives %d" % (path, size, blob.size))
        return handle

    def staged(self, blobs):
        """The blobs whose verified copy waits in the staging directory (renamed there only after its
        sha256 matched, so the size tells it is whole)."""
        with contextlib.ExitStack() as stack:
            staging_fd = self._staging_fd(stack, self._open_root(stack))
            return [blob for blob in blobs
                    if self._blob_size(staging_fd, "sha256-" + blob.digest, self.staged_path(blob.digest)) == blob.size]

    def check_space(self, blobs):
        """Fail before downloading when the file system cannot hold the missing blobs (what is staged or
        partly downloaded already counts)."""
        with contextlib.ExitStack() as stack:
            root_fd = self._open_root(stack)
            staging_fd = self._staging_fd(stack, root_fd)
            need = 0
            for blob in blobs:
                have = self._blob_size(staging_fd, "sha256-" + blob.digest, self.staged_path(blob.digest))
                if have != blob.size:
                    have = self._blob_size(staging_fd, PARTIAL_PREFIX + blob.digest, self.partial_path(blob.digest))
                need += blob.size - min(have or 0, blob.size)
            free = shutil.disk_usage(root_fd).free
        if need > free:
            raise ModelsDirError("models_dir %s has %d bytes free; the missing blobs need %d more"
                                 % (self.root, free, need))

    # writes

    def create(self):
        """Make a missing root (not its parents) with Ollama's mode, as `ollama serve` does at start."""
        with contextlib.ExitStack() as stack:
            if self._open_root(stack, create=True) is None:
                raise ModelsDirError("models_dir %s could not be created: its parent %s is not a directory"
                                     % (self.root, os.path.dirname(os.path.normpath(self.root))))

    def ensure_dirs(self):
        with contextlib.ExitStack() as stack:
            root_fd = self._open_root(stack)
            if root_fd is None:
                raise ModelsDirError("models_dir %s does not exist or is not a directory" % self.root)
            for name, path in (("blobs", self.blobs), ("manifests", self.manifests)):
                self._sub(stack, root_fd, name, path, create=True)
            self._staging_fd(stack, root_fd, create=True)

    def open_partial(self, blob):
        """The PartialFile of blob (created, or kept from an earlier try to resume), in the staging directory."""
        with contextlib.ExitStack() as stack:
            staging_fd = self._staging_fd(stack, self._open_root(stack))
            if staging_fd is None:
                raise ModelsDirError("%s does not exist or is not a directory" % self.staging)
            return PartialFile(staging_fd, PARTIAL_PREFIX + blob.digest, self.partial_path(blob.digest))

    def install_blob(self, blob, partial):
        """Keep a verified partial file as the staged copy of the blob (sha256-<hex> in the staging
        directory, Ollama's file mode), until link_staged puts it into blobs/."""
        partial.install("sha256-" + blob.digest, self.staged_path(blob.digest))

    def link_staged(self, blobs):
        """Hard-link the staged copy of each blob into blobs/ where blobs/ lacks it; return how many were
        linked. A blob already in blobs/ with the right size stays as it is."""
        linked = 0
        with contextlib.ExitStack() as stack:
            root_fd = self._open_root(stack)
            blobs_fd = self._sub(stack, root_fd, "blobs", self.blobs, create=True)
            staging_fd = self._staging_fd(stack, root_fd)
            for blob in blobs:
                name = "sha256-" + blob.digest
                if self._blob_size(blobs_fd, name, self.blob_path(blob.digest)) == blob.size:
                    continue
                if self._blob_size(staging_fd, name, self.staged_path(blob.digest)) != blob.size:
                    raise ModelsDirError("%s is missing or incomplete; cannot put the blob into %s"
                                         % (self.staged_path(blob.digest), self.blobs))
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=blobs_fd)  # a truncated file of the wrong size (checked regular above)
                # linkat without AT_SYMLINK_FOLLOW: a link planted in place of the staged file is linked as a
                # link, never followed; the readers here refuse it.
                os.link(name, name, src_dir_fd=staging_fd, dst_dir_fd=blobs_fd, follow_symlinks=False)
                linked += 1
            if linked:
                os.fsync(blobs_fd)
        return linked

    def touch(self, blobs):
        """Set the modification time of blobs present in blobs/ to now, so that a server with the one-hour
        pruning grace (v0.21.0 and later) keeps them while the manifest that references them is written."""
        with contextlib.ExitStack() as stack:
            blobs_fd = self._sub(stack, self._open_root(stack), "blobs", self.blobs)
            for blob in blobs:
                name = "sha256-" + blob.digest
                if self._blob_size(blobs_fd, name, self.blob_path(blob.digest)) is not None:
                    with contextlib.suppress(FileNotFoundError):
                        os.utime(name, dir_fd=blobs_fd, follow_symlinks=False)

    def drop_staged(self, blobs):
        """Remove the staged copies of blobs (regular files only) and the staging directory once empty."""
        with contextlib.ExitStack() as stack:
            root_fd = self._open_root(stack)
            staging_fd = self._staging_fd(stack, root_fd)
            if staging_fd is None:
                return
            for blob in blobs:
                name = "sha256-" + blob.digest
                if self._blob_size(staging_fd, name, self.staged_path(blob.digest)) is not None:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(name, dir_fd=staging_fd)
            if not os.listdir(staging_fd):
                with contextlib.suppress(OSError):  # not empty after all, or gone: both fine
                    os.rmdir(STAGING, dir_fd=root_fd)

    def write_manifest(self, name, manifest):
        """Write the manifest bytes under name, atomically: a temporary file one level above the
        model's directory (outside Ollama's manifests/*/*/*/* glob), then a rename. Every blob must be
        in place first. Return the path."""
        missing = self.missing_blobs(manifest)
        if missing:
            raise ModelsDirError("not writing the manifest of %s: blobs missing from %s: %s"
                                 % ("/".join(name), self.blobs, ", ".join("sha256:%s" % b.digest for b in missing)))
        with contextlib.ExitStack() as stack:
            root_fd = self._open_root(stack)
            if root_fd is None:
                raise ModelsDirError("models_dir %s does not exist or is not a directory" % self.root)
            fds, tag, path = self._manifest_walk(stack, root_fd, name, create=True)
            namespace_fd, model_fd = fds[-2], fds[-1]
            existing = _lstat(model_fd, tag)
            if existing is not None and not stat.S_ISREG(existing.st_mode):
                _refuse(path, existing, "a regular file")
            temp = ".manifest-%s" % secrets.token_hex(8)
            fd = os.open(temp, _O_CREATE, PARTIAL_MODE, dir_fd=namespace_fd)
            try:
                with open(fd, "wb") as out:
                    out.write(manifest.raw)
                    out.flush()
                    os.fsync(fd)
                    os.fchmod(fd, FILE_MODE)
                os.replace(temp, tag, src_dir_fd=namespace_fd, dst_dir_fd=model_fd)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temp, dir_fd=namespace_fd)
                raise
            os.fsync(model_fd)
        return path

    def install_model(self, name, manifest, attempts=3):
        """Make the model whole in blobs/ and manifests/ from what is there and what is staged: link the staged
        blobs, write the manifest unless the same bytes are there, check that every blob is still in blobs/
        (an Ollama start in between may have pruned one: link it again), then drop the staged copies.
        Return the manifest's path."""
        path = self.manifest_path(name)
        for _attempt in range(attempts):
            self.link_staged(self.missing_blobs(manifest))
            current = self.read_manifest(name)
            try:
                if current is None or current.raw != manifest.raw:
                    path = self.write_manifest(name, manifest)
            except ModelsDirError:
                if not self.missing_blobs(manifest):
                    raise
                continue  # pruned between the link and the write: link again
            if not self.missing_blobs(manifest):
                self.drop_staged(manifest.blobs)
                return path
        raise ModelsDirError("blobs of %s keep disappearing from %s (is Ollama restarting in a loop and pruning "
                             "them?); the verified copies stay in %s for the next run"
                             % ("/".join(name), self.blobs, self.staging))
