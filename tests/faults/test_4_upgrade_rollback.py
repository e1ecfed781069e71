"""Item 5: upgrade and rollback of the Ollama image tag (the two tags the lab publishes). Each
converge must re-create the Ollama container exactly once (inner engine's `create` events), keep
the same model names and digests, and download no model blob (registry access log, this host)."""
import time

import pytest

import faultlab as fl

TAGS = fl.versions()["OLLAMA_TAGS"].split()
DEFAULT = fl.versions()["OLLAMA_DEFAULT_TAG"]
NEWER = [t for t in TAGS if t != DEFAULT][-1]


def _creates(since, until):
    out = fl.inner_docker(fl.HOST, "events", "--since", "%d" % since, "--until", "%d" % until,
                          "--filter", "container=ollama", "--filter", "event=create",
                          "--format", "{{.ID}}", timeout=30).stdout.split()
    return len(out)


@pytest.mark.parametrize("step,tag", [("upgrade", NEWER), ("rollback", DEFAULT)])
def test_image_tag_change(lab, figure, step, tag, tmp_path):
    f = figure("5 upgrade and rollback", "%s: site.yml with ollama_image_tag %s" % (step, tag))
    before = fl.model_set(fl.HOST)
    assert before, "no models to compare"
    ip = fl.host_ip(fl.HOST)
    t0 = time.time()
    time.sleep(1)
    res = lab.converge({"ollama_image_tag": tag}, timeout=600, log=str(tmp_path / "play.log"))
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
    if step == "rollback":
        assert fl.container_id(fl.HOST, "ollama")
    fl.wait_until(lambda: fl.both_healthy(fl.HOST), 120, "both containers healthy")
