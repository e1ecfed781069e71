"""A small OCI distribution (Docker Registry v2) client: what publishing and reading models need.

Library use from elsewhere in the project:
    sys.path.insert(0, "lab/models"); import oci
    oci.Registry("http://127.0.0.1:5000").model_manifest("qwen2.5:0.5b")  -> dict or None
    oci.Registry("http://127.0.0.1:5000").model_size("qwen2.5:0.5b")      -> int bytes or None
"""

import http.client
import json
import urllib.parse

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


class RegistryError(Exception):
    pass


def split_model(name):
    """'qwen2.5:0.5b' -> ('library/qwen2.5', '0.5b'); 'ns/m' -> ('ns/m', 'latest')."""
    repository, tag = name, "latest"
    if ":" in name.rsplit("/", 1)[-1]:
        repository, tag = name.rsplit(":", 1)
    if "/" not in repository:
        repository = "library/" + repository
    return repository, tag


class Registry:
    def __init__(self, url, timeout=60):
        self.url = url.rstrip("/")
        self.timeout = timeout

    def _request(self, method, url, body=None, headers=None):
        """Returns (status, headers, body bytes); url may be a path or an absolute URL."""
        parsed = urllib.parse.urlsplit(urllib.parse.urljoin(self.url + "/", url))
        conn_class = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
        conn = conn_class(parsed.netloc, timeout=self.timeout)
        try:
            target = parsed.path + ("?" + parsed.query if parsed.query else "")
            conn.request(method, target, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        except OSError as err:
            raise RegistryError(f"{method} {parsed.geturl()}: {err}") from err
        finally:
            conn.close()

    def ping(self):
        return self._request("GET", "/v2/")[0] == 200

    def blob_exists(self, repository, digest):
        return self._request("HEAD", f"/v2/{repository}/blobs/{digest}")[0] == 200

    def upload_blob(self, repository, digest, size, chunks):
        """Monolithic upload: POST a session, then PUT the whole body with ?digest=."""
        status, headers, body = self._request("POST", f"/v2/{repository}/blobs/uploads/")
        if status != 202:
            raise RegistryError(f"start upload to {repository}: {status} {body[:200]!r}")
        location = headers["Location"]
        location += ("&" if "?" in location else "?") + "digest=" + urllib.parse.quote(digest)
        status, _, body = self._request(
            "PUT", location, body=chunks(),
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)})
        if status != 201:
            raise RegistryError(f"upload {digest} to {repository}: {status} {body[:200]!r}")

    def get_manifest(self, repository, reference):
        status, _, body = self._request("GET", f"/v2/{repository}/manifests/{reference}",
                                        headers={"Accept": MANIFEST_TYPE})
        if status == 404:
            return None
        if status != 200:
            raise RegistryError(f"manifest {repository}:{reference}: {status} {body[:200]!r}")
        return body

    def put_manifest(self, repository, reference, manifest):
        status, _, body = self._request("PUT", f"/v2/{repository}/manifests/{reference}",
                                        body=manifest, headers={"Content-Type": MANIFEST_TYPE})
        if status != 201:
            raise RegistryError(f"put manifest {repository}:{reference}: {status} {body[:200]!r}")

    def model_manifest(self, name):
        """The parsed manifest of a model such as 'qwen2.5:0.5b', or None when absent."""
        raw = self.get_manifest(*split_model(name))
        return json.loads(raw) if raw is not None else None

    def model_size(self, name):
        """Bytes Ollama reports for the model: config plus layers, as in /api/tags."""
        manifest = self.model_manifest(name)
        if manifest is None:
            return None
        return manifest["config"]["size"] + sum(layer["size"] for layer in manifest["layers"])
