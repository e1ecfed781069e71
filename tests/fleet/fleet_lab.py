"""The lab's registries seen from the build machine, for the fleet scenario and bench/fleet.

Both registries write an access log line per request (Apache combined format, with the bytes
sent) to `docker logs`; the clients are told apart by their address on the lab network.
"""

import json
import re
import subprocess
import urllib.error
import urllib.request

UPSTREAM = "http://127.0.0.1:5000"
UPSTREAM_CONTAINER = "llmops-lab-registry"
MIRROR = "http://127.0.0.1:5001"
MIRROR_CONTAINER = "llmops-lab-mirror"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
# 10.213.0.9 - - [25/Nov/2026:00:12:29 +0000] "GET /v2/library/qwen2.5/blobs/sha256:ff9a... HTTP/1.1" 200 489 "" "agent"
ACCESS_LINE = re.compile(r'^(?P<client>[0-9.]+) \S+ \S+ \[[^\]]+\] "(?P<method>[A-Z]+) /v2/(?P<repo>library/[^ ]+?)/'
                         r'(?P<kind>blobs|manifests)/(?P<ref>[^ ?]+)[^"]*" (?P<status>\d{3}) (?P<bytes>\d+|-)')


def _split(model):
    name, _, tag = model.partition(":")
    return ("library/" + name if "/" not in name else name), (tag or "latest")


def _manifest_request(registry, model, method):
    repo, tag = _split(model)
    return urllib.request.Request("%s/v2/%s/manifests/%s" % (registry, repo, tag), method=method,
                                  headers={"Accept": MANIFEST_V2})


def manifest_digest(registry, model):
    """The model's manifest digest (64 hex, as Ollama reports it), or None when the registry lacks it."""
    try:
        with urllib.request.urlopen(_manifest_request(registry, model, "HEAD"), timeout=10) as resp:
            return resp.headers["Docker-Content-Digest"].split(":", 1)[1]
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise


def model_blobs(registry, model, config=True):
    """{digest: size} of the model's config (unless config=False) and layers."""
    with urllib.request.urlopen(_manifest_request(registry, model, "GET"), timeout=10) as resp:
        manifest = json.load(resp)
    return {b["digest"]: b["size"] for b in ([manifest["config"]] if config else []) + manifest["layers"]}


def host_ip(name):
    out = subprocess.run(["docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "llmops-lab").IPAddress}}', name],
                         check=True, capture_output=True, text=True).stdout.strip()
    assert out, "%s has no address on llmops-lab" % name
    return out


def access_log(container, since=None):
    args = ["docker", "logs"] + (["--since", since] if since else []) + [container]
    logs = subprocess.run(args, check=True, capture_output=True, text=True)
    return [m.groupdict() for m in map(ACCESS_LINE.match, (logs.stdout + logs.stderr).splitlines()) if m]


def blob_gets(container, clients, since=None):
    """Model blob GETs from these clients: [{client, repo, digest, status, bytes}]."""
    return [{"client": r["client"], "repo": r["repo"], "digest": r["ref"], "status": int(r["status"]),
             "bytes": 0 if r["bytes"] == "-" else int(r["bytes"])}
            for r in access_log(container, since)
            if r["method"] == "GET" and r["kind"] == "blobs" and r["client"] in clients]


def recap(output):
    """{host: {ok, changed, unreachable, failed, skipped, rescued, ignored}} from ansible-playbook's PLAY RECAP."""
    hosts = {}
    for line in output.split("PLAY RECAP")[-1].splitlines():
        m = re.match(r"^(\S+)\s+:\s+(ok=\d+.*)$", line)
        if m:
            hosts[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    return hosts
