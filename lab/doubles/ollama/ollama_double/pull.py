"""POST /api/pull: manifest and blobs over the OCI distribution API, as a progress stream.

Blobs land in sha256-<hex>-partial and are resumed with a Range request; each is hashed
while it arrives and only renamed into place once its sha256 matches. The manifest is written
last, so a model is never listed half-pulled.
"""

import hashlib
import http.client
import json
import os
import threading
import time

from . import config, upstream
from .store import InvalidDigest
from .streams import StreamError

PROGRESS_INTERVAL = 0.06  # Ollama's download ticker
RETRIES = 6
CHUNK = 256 * 1024

_digest_locks = {}
_digest_locks_guard = threading.Lock()


def _lock_for(digest):
    with _digest_locks_guard:
        return _digest_locks.setdefault(digest, threading.Lock())


def progress(digest, total, completed):
    line = {"status": "pulling " + digest[7:19], "digest": digest}
    if total:
        line["total"] = total
    if completed:
        line["completed"] = completed
    return line


def pull(store, name, insecure):
    """Yields Ollama's progress objects; raises StreamError with Ollama's texts on failure."""
    yield {"status": "pulling manifest"}
    try:
        raw = upstream.fetch_manifest(name, insecure)
        manifest = json.loads(raw)
        layers = list(manifest.get("layers") or []) + [manifest["config"]]
        for layer in layers:
            store.blob_path(layer["digest"])  # refuses a malformed digest before any I/O
    except upstream.UpstreamError as err:
        raise StreamError(str(err)) from err
    except InvalidDigest as err:
        raise StreamError("invalid digest format") from err
    except (ValueError, KeyError, TypeError) as err:
        raise StreamError(f"pull model manifest: {err}") from err

    mismatches = []
    for layer in layers:
        mismatch = yield from _download(store, name, insecure, layer)
        if mismatch:
            mismatches.append(mismatch)

    yield {"status": "verifying sha256 digest"}
    if mismatches:
        want, got = mismatches[0]
        raise StreamError(f"digest mismatch, file must be downloaded again: want {want}, got {got}")

    yield {"status": "writing manifest"}
    previous = store.get(name)
    store.write_manifest(name, raw)
    if previous is not None and not config.noprune():
        unused = set(previous.all_digests()) - {layer["digest"] for layer in layers}
        if unused:
            yield {"status": "removing unused layers"}
            store.remove_unreferenced(unused)
    yield {"status": "success"}


def _download(store, name, insecure, layer):
    """Yields progress for one blob; returns (want, got) if its content did not match."""
    digest, total = layer["digest"], layer.get("size", 0)
    final = store.blob_path(digest)
    partial = final + "-partial"
    lock = _lock_for(digest)
    while not lock.acquire(timeout=PROGRESS_INTERVAL):
        # another pull is fetching this blob: share its progress, as Ollama's pulls do
        yield progress(digest, total, _size(partial))
    try:
        if os.path.exists(final):
            yield progress(digest, total, total)
            return None
        os.makedirs(os.path.dirname(final), exist_ok=True)
        state = _Partial(partial)
        yield progress(digest, total, state.done)
        attempt = 0
        while state.done < total or total == 0:
            try:
                yield from _fetch(name, insecure, digest, total, state)
                break
            except upstream.UpstreamError as err:
                if err.status == 416:  # our partial is longer than the blob: start over
                    state.restart()
                elif err.status is not None or attempt >= RETRIES:
                    raise StreamError(str(err)) from err
            except OSError as err:
                if attempt >= RETRIES:
                    raise StreamError(f"{digest}: {err}") from err
            attempt += 1
            time.sleep(0.1 * 2 ** attempt)
        yield progress(digest, total, state.done)
        got = "sha256:" + state.hasher.hexdigest()
        if got != digest.lower():
            os.remove(partial)  # Ollama deletes the bad blob so the next pull starts afresh
            return digest, got
        os.chmod(partial, 0o644)
        os.replace(partial, final)
        return None
    finally:
        lock.release()


def _size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


class _Partial:
    """A sha256-<hex>-partial file: how much of it is there, and the hash of those bytes."""

    def __init__(self, path):
        self.path = path
        self.hasher = hashlib.sha256()
        self.done = 0
        try:
            with open(path, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    self.hasher.update(chunk)
                self.done = handle.tell()
        except FileNotFoundError:
            pass

    def restart(self):
        self.hasher, self.done = hashlib.sha256(), 0
        with open(self.path, "wb"):
            pass


def _fetch(name, insecure, digest, total, state):
    response, url = upstream.open_blob(name, insecure, digest, state.done)
    try:
        if response.status == 200 and state.done:  # the registry ignored our Range
            state.restart()
        with open(state.path, "r+b" if state.done else "wb") as out:
            out.seek(state.done)
            last = time.monotonic()
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, http.client.HTTPException) as err:
                    raise upstream.UpstreamError(upstream.go_error("GET", url, err)) from err
                if not chunk:
                    break
                out.write(chunk)
                state.hasher.update(chunk)
                state.done += len(chunk)
                if time.monotonic() - last >= PROGRESS_INTERVAL:
                    last = time.monotonic()
                    yield progress(digest, total, state.done)
        if total and state.done < total:
            raise upstream.UpstreamError(f'Get "{url}": unexpected EOF')
    finally:
        upstream.close(response)
