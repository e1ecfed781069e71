"""POST /api/push: a local model's blobs and manifest to a registry, as a progress stream."""

import http.client
import os
import time
import urllib.parse

from . import config, upstream
from .streams import StreamError

PROGRESS_INTERVAL = 0.06
CHUNK = 256 * 1024


def _line(digest, total, completed):
    line = {"status": "pushing " + digest[7:19], "digest": digest, "total": total}
    if completed:
        line["completed"] = completed
    return line


def push(store, name, insecure):
    yield {"status": "retrieving manifest"}
    model = store.get(name)
    if model is None:
        yield {"status": "couldn't retrieve manifest"}
        raise StreamError(f"open {store.manifest_path(name)}: no such file or directory")
    try:
        for descriptor in model.layers + [model.config_descriptor]:
            digest, size = descriptor["digest"], descriptor.get("size", 0)
            if upstream.blob_exists(name, insecure, digest):
                yield _line(digest, size, size)
                continue
            location = upstream.start_upload(name, insecure)
            yield from _upload(location, store.blob_path(digest), digest, size)
        yield {"status": "pushing manifest"}
        upstream.put_manifest(name, insecure, model.raw)
    except upstream.UpstreamError as err:
        raise StreamError(str(err)) from err
    yield {"status": "success"}


def _upload(location, path, digest, size):
    """A monolithic PUT <location>&digest=..., reporting progress as the bytes go out."""
    parsed = urllib.parse.urlsplit(location)
    query = (parsed.query + "&" if parsed.query else "") + "digest=" + urllib.parse.quote(digest)
    conn_class = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    conn = conn_class(parsed.netloc, timeout=60)
    url = f"{parsed.scheme}://{parsed.netloc}{parsed.path}?{query}"
    try:
        conn.putrequest("PUT", f"{parsed.path}?{query}")
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(os.path.getsize(path)))
        conn.putheader("User-Agent", upstream.USER_AGENT.format(version=config.version()))
        conn.endheaders()
        yield _line(digest, size, 0)
        sent, last = 0, time.monotonic()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(CHUNK), b""):
                conn.send(chunk)
                sent += len(chunk)
                if time.monotonic() - last >= PROGRESS_INTERVAL:
                    last = time.monotonic()
                    yield _line(digest, size, sent)
        response = conn.getresponse()
        body = response.read(4096).decode("utf-8", "replace").strip()
    except (OSError, http.client.HTTPException) as err:
        raise upstream.UpstreamError(upstream.go_error("PUT", url, err)) from err
    finally:
        conn.close()
    if response.status != 201:
        raise upstream.UpstreamError(f"{response.status}: {body}", response.status)
    yield _line(digest, size, size)
