"""Item 5: upgrade and rollback of the Ollama image tag (the two tags the lab publishes). Each
converge must re-create the Ollama container exactly once (inner engine's `create` events), keep
the same model names and digests, and download no model blob (registry access log, this host).
The host runs the default tag first: when that is the newest (the roles default to the newest
release, lab/versions.env), the first step rolls back to the older tag and the second upgrades
again; otherwise the first upgrades and the second rolls back. The older tag (0.32.15) is below the floor of
meta/advisories.yml: the step that goes to it sets ollama_allow_unsafe_version, as an operator rolling back would;
the upgrade to the default needs no such option."""
import time
import urllib.request

import pytest
import yaml

import faultlab as fl

TAGS = fl.versions()["OLLAMA_TAGS"].split()
DEFAULT = fl.versions()["OLLAMA_DEFAULT_TAG"]
OTHER = [t for t in TAGS if t != DEFAULT][-1]
FLOOR = yaml.safe_load((fl.ROOT / "meta" / "advisories.yml").read_text())["components"]["ollama"]["floor"]


def _release(tag):
    return tuple(int(part) for part in tag.lstrip("v").split("-")[0].split("."))


STEPS = ([("rollback", OTHER), ("upgrade", DEFAULT)] if _release(OTHER) < _release(DEFAULT)
         else [("upgrade", OTHER), ("rollback", DEFAULT)])


def _creates(since, until):
    out = fl.inner_docker(fl.HOST, "events", "--since", "%d" % since, "--until", "%d" % until,
                          "--filter", "container=ollama", "--filter", "event=create",
                          "--format", "{{.ID}}", timeout=30).stdout.split()
    return len(out)


@pytest.mark.parametrize("step,tag", STEPS)
def test_image_tag_change(lab, figure, step, tag, tmp_path):
    f = figure("5 upgrade and rollback", "%s: site.yml with ollama_image_tag %s" % (step, tag))
    before = fl.model_set(fl.HOST)
    assert before, "no models to compare"
    ip = fl.host_ip(fl.HOST)
    t0 = time.time()
    time.sleep(1)
    extra = {"ollama_image_tag": tag}
    if _release(tag) < _release(FLOOR):
        extra["ollama_allow_unsafe_version"] = True
    res = lab.converge(extra, timeout=600, log=str(tmp_path / "play.log"))
    assert res.rc == 0, res.tail(60)
    time.sleep(1)
    creates = _creates(t0, time.time())
    version = fl.api(fl.HOST, "/api/version")["version"]
    after = fl.model_set(fl.HOST)
    log = fl.registry_log_since(t0 - 1)
    model_bytes, model_requests = fl.blob_bytes(log, repo_prefix="library/", client=ip)
    image_bytes, _ = fl.blob_bytes(log, repo_prefix="ollama/", client=ip)
    f.add("play", "%.0f s, changed=%d" % (res.seconds, res.changed()))
    f.add("container re-creations", creates)
    f.add("/api/version", version)
    f.add("models (name, digest) equal", "%s (%d models)" % (before == after, len(after)))
    f.add("model blobs downloaded", "%d requests, %d bytes" % (model_requests, model_bytes))
    f.add("image blobs pulled", "%d bytes" % image_bytes)
    assert version == tag
    assert creates == 1
    assert after == before
    assert model_requests == 0 and model_bytes == 0
    assert fl.container_id(fl.HOST, "ollama")
    fl.wait_until(lambda: fl.both_healthy(fl.HOST), 120, "both containers healthy")


def _image_digest(repository, tag):
    """The manifest digest the lab registry gives for an image tag (what docker pull by digest resolves)."""
    req = urllib.request.Request("%s/v2/%s/manifests/%s" % (fl.REGISTRY, repository, tag), method="HEAD",
                                 headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers["Docker-Content-Digest"]


def test_image_pinned_by_digest(lab, figure, tmp_path):
    """Issue 11: ollama_image_digest pins the image. The container is re-created once, from repository@digest, runs
    the release of the tag, keeps the models; the same pin again changes nothing; unpinned again, one re-creation."""
    digest = _image_digest("ollama/ollama", DEFAULT)
    f = figure("5 upgrade and rollback", "pin: site.yml with ollama_image_tag %s and ollama_image_digest %s"
               % (DEFAULT, digest[:19]))
    pinned = {"ollama_image_tag": DEFAULT, "ollama_image_digest": digest}
    before = fl.model_set(fl.HOST)
    runs = []
    for step, extra in (("pin", pinned), ("pin again", pinned), ("unpin", {"ollama_image_tag": DEFAULT})):
        t0 = time.time()
        time.sleep(1)
        res = lab.converge(extra, timeout=600, log=str(tmp_path / ("%s.log" % step.replace(" ", "-"))))
        assert res.rc == 0, res.tail(60)
        time.sleep(1)
        image = fl.inner_docker(fl.HOST, "inspect", "-f", "{{.Config.Image}}", "ollama", timeout=20).stdout.strip()
        runs.append((step, res.changed(), _creates(t0, time.time()), image))
        f.add(step, "changed=%d, re-creations %d, %s" % runs[-1][1:])
        fl.wait_until(lambda: fl.both_healthy(fl.HOST), 120, "both containers healthy")
        if step == "pin":
            assert fl.api(fl.HOST, "/api/version")["version"] == DEFAULT
    assert runs[0][2] == 1 and runs[0][3].endswith("/ollama/ollama@" + digest), runs
    assert runs[1][1] == 0 and runs[1][2] == 0, runs
    assert runs[2][2] == 1 and runs[2][3].endswith("/ollama/ollama:" + DEFAULT), runs
    assert fl.model_set(fl.HOST) == before
