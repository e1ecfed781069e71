"""The OCI distribution calls pull and push make, with Go-style error texts."""

import http.client
import socket
import ssl
import urllib.parse

from . import config

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
USER_AGENT = "ollama/{version} (amd64 linux) Go/go1.24.0"


class UpstreamError(Exception):
    """An error whose text is what Ollama would report; status is the HTTP code if any."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


def base_url(name, insecure):
    """registry.ollama.ai names go to the lab upstream; others to their host, https unless insecure."""
    url = config.upstream() if name.is_default_registry() else "https://" + name.host
    if insecure and url.startswith("https://"):
        url = "http://" + url[len("https://"):]
    return url


def repository_url(name, insecure):
    return f"{base_url(name, insecure)}/v2/{name.namespace}/{name.model}"


def go_error(method, url, err):
    parsed = urllib.parse.urlsplit(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    address = f"{parsed.hostname}:{port}"
    prefix = f'{method.capitalize()} "{url}"'
    if isinstance(err, ssl.SSLError) and "WRONG_VERSION_NUMBER" in str(err):
        return f"{prefix}: http: server gave HTTP response to HTTPS client"
    if isinstance(err, ssl.SSLError):
        return f"{prefix}: tls: {err.reason or err}"
    if isinstance(err, socket.gaierror):
        return f"{prefix}: dial tcp: lookup {parsed.hostname}: no such host"
    if isinstance(err, ConnectionRefusedError):
        return f"{prefix}: dial tcp {address}: connect: connection refused"
    if isinstance(err, (socket.timeout, TimeoutError)):
        return f"{prefix}: dial tcp {address}: i/o timeout"
    if isinstance(err, http.client.IncompleteRead):
        return f"{prefix}: unexpected EOF"
    return f"{prefix}: {err}"


REDIRECTS = (301, 302, 303, 307, 308)
NO_LOCATION = "http: no Location header in response"  # Go's http.ErrNoLocation


def request(method, url, headers=None, body=None, timeout=30, redirects=10, follow=True):
    """Sends a request, following redirects unless follow is False; returns the open response
    (the caller closes it)."""
    for _ in range(redirects + 1):
        parsed = urllib.parse.urlsplit(url)
        conn_class = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
        conn = conn_class(parsed.netloc, timeout=timeout)
        all_headers = {"User-Agent": USER_AGENT.format(version=config.version())}
        all_headers.update(headers or {})
        try:
            conn.request(method, parsed.path + ("?" + parsed.query if parsed.query else ""),
                         body=body, headers=all_headers)
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as err:
            conn.close()
            raise UpstreamError(go_error(method, url, err)) from err
        if follow and response.status in REDIRECTS and response.getheader("Location"):
            url = urllib.parse.urljoin(url, response.getheader("Location"))
            response.read()
            conn.close()
            if response.status == 303:
                method, body = "GET", None
            continue
        response.conn_to_close = conn
        return response
    raise UpstreamError(f'{method.capitalize()} "{url}": stopped after {redirects} redirects')


def close(response):
    response.close()
    response.conn_to_close.close()


def read_error_body(response):
    try:
        return response.read(4096).decode("utf-8", "replace").strip()
    finally:
        close(response)


def fetch_manifest(name, insecure):
    """The registry's manifest bytes for name; errors read like 'pull model manifest: ...'."""
    url = f"{repository_url(name, insecure)}/manifests/{name.tag}"
    try:
        response = request("GET", url, headers={"Accept": MANIFEST_TYPE})
    except UpstreamError as err:
        raise UpstreamError(f"pull model manifest: {err}") from err
    if response.status == 200:
        try:
            return response.read()
        except (OSError, http.client.HTTPException) as err:
            raise UpstreamError(f"pull model manifest: {go_error('GET', url, err)}") from err
        finally:
            close(response)
    body = read_error_body(response)
    if response.status == 404:
        raise UpstreamError("pull model manifest: file does not exist")
    if response.status == 401:
        raise UpstreamError("unauthorized: access denied")
    raise UpstreamError(f"pull model manifest: {response.status}: {body}")


def direct_url(name, insecure, digest):
    """Where the blob's bytes are, as server/download.go's run() finds out (directURL): GET the
    registry's blob URL following redirects only to the same host name, and take the Location
    of the first redirect to another host. A registry that answers 200 (distribution or Harbor
    serving from local disk) has no Location, and Ollama fails the pull with Go's
    http.ErrNoLocation; so does a redirect to the same host name on another port."""
    url = f"{repository_url(name, insecure)}/blobs/{digest}"
    host = urllib.parse.urlsplit(url).hostname
    for _ in range(11):
        response = request("GET", url, follow=False)
        location = response.getheader("Location")
        if response.status in REDIRECTS and location:
            close(response)
            target = urllib.parse.urljoin(url, location)
            if urllib.parse.urlsplit(target).hostname == host:
                url = target
                continue
            if response.status != 307:
                raise UpstreamError(f"unexpected status code {response.status}", response.status)
            return target
        if response.status == 200:
            close(response)  # Ollama never reads this body
            raise UpstreamError(NO_LOCATION, 200)
        _raise_blob_error(response)
    raise UpstreamError("maximum redirects exceeded (10) for directURL", 0)


def open_blob(name, insecure, digest, offset):
    """GET a blob from where the registry redirects to, from offset on with a Range request;
    returns (response, url)."""
    url = direct_url(name, insecure, digest)
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    response = request("GET", url, headers=headers)
    if response.status in (200, 206):
        return response, url
    _raise_blob_error(response)


def _raise_blob_error(response):
    body = read_error_body(response)
    if response.status == 404:
        raise UpstreamError("file does not exist", 404)
    if response.status == 416:
        raise UpstreamError(f"{response.status}: {body}", 416)
    raise UpstreamError(f"{response.status}: {body}", response.status)


def blob_exists(name, insecure, digest):
    response = request("HEAD", f"{repository_url(name, insecure)}/blobs/{digest}")
    close(response)
    return response.status == 200


def start_upload(name, insecure):
    url = f"{repository_url(name, insecure)}/blobs/uploads/"
    response = request("POST", url)
    body = read_error_body(response)
    if response.status != 202 or not response.getheader("Location"):
        raise UpstreamError(f"{response.status}: {body}", response.status)
    return urllib.parse.urljoin(url, response.getheader("Location"))


def put_manifest(name, insecure, raw):
    url = f"{repository_url(name, insecure)}/manifests/{name.tag}"
    response = request("PUT", url, headers={"Content-Type": MANIFEST_TYPE}, body=raw)
    body = read_error_body(response)
    if response.status not in (200, 201):
        raise UpstreamError(f"{response.status}: {body}", response.status)
