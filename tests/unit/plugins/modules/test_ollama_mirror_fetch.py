# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""ollama_mirror_fetch: the model comes from a mirror (the registry fake) into a models
directory that the Ollama fake lists, as Ollama does."""

from __future__ import annotations

import os
import stat

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_mirror_fetch, ollama_mirror_push
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import install_local, sample_model, sha256
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

QWEN = "qwen2.5:0.5b"
REPO = "library/qwen2.5"
QWEN_PATH = "manifests/registry.ollama.ai/library/qwen2.5/0.5b"
TAGS = ("GET", "/api/tags")
MANIFEST_GET = ("GET", "/v2/library/qwen2.5/manifests/0.5b")


@pytest.fixture
def models_dir(fake, tmp_path):
    fake.models_dir = str(tmp_path)
    return tmp_path


def run(fake, registry, models_dir, check_mode=False, diff=False, **args):
    args.setdefault("name", QWEN)
    args.setdefault("api_url", fake.url)
    args.setdefault("mirror", registry.url)
    args.setdefault("models_dir", str(models_dir))
    return run_module(ollama_mirror_fetch, args, check_mode=check_mode, diff=diff)


def disk_files(models_dir):
    return sorted(os.path.relpath(os.path.join(d, f), str(models_dir))
                  for d, _dirs, files in os.walk(str(models_dir)) for f in files)


def test_a_missing_model_is_fetched_from_the_mirror_and_listed(fake, registry, models_dir, mirrored):
    raw, blobs = mirrored
    result = run(fake, registry, models_dir, diff=True)
    assert result["changed"] is True
    assert result["model"]["name"] == QWEN
    assert result["model"]["digest"] == sha256(raw)
    assert result["actions"] == ["fetch qwen2.5:0.5b from %s/library/qwen2.5:0.5b" % registry.url]
    assert result["transfer"] == {"mirror": registry.url, "repository": "library/qwen2.5:0.5b",
                                  "blobs_fetched": 3, "blobs_staged": 0, "blobs_present": 0,
                                  "bytes_fetched": sum(len(d) for d in blobs.values()), "bytes_resumed": 0,
                                  "repair": False}
    assert result["diff"] == {"before": {"name": QWEN, "state": "absent"},
                              "after": {"name": QWEN, "state": "present", "digest": sha256(raw)}}
    assert fake.calls() == [TAGS, TAGS]  # no pull: Ollama only lists
    assert registry.calls()[0] == MANIFEST_GET
    assert sorted(p for m, p in registry.calls() if m == "GET")[:3] == sorted(
        "/v2/library/qwen2.5/blobs/sha256:" + d for d in blobs)
    assert disk_files(models_dir) == sorted(["blobs/sha256-" + d for d in blobs] + [QWEN_PATH])
    assert (models_dir / QWEN_PATH).read_bytes() == raw


def test_present_and_fetched_sends_one_read_and_nothing_to_the_mirror(fake, registry, models_dir, mirrored):
    run(fake, registry, models_dir)
    fake.requests.clear()
    registry.requests.clear()
    result = run(fake, registry, models_dir)
    assert result["changed"] is False
    assert fake.calls() == [TAGS]
    assert registry.requests == []


def test_the_model_pulled_once_then_pushed_reaches_the_next_host(fake, registry, tmp_path):
    # host 1 has the model (Ollama pulled it); it fills the mirror; host 2 fetches from the mirror
    raw, blobs = sample_model(seed="fleet")
    host1 = tmp_path / "host1"
    host2 = tmp_path / "host2"
    host2.mkdir()
    install_local(str(host1), QWEN_PATH.split("/")[1:], raw, blobs)
    pushed = run_module(ollama_mirror_push, {"name": QWEN, "mirror": registry.url, "models_dir": str(host1)})
    assert pushed["changed"] is True
    fake.models_dir = str(host2)
    result = run(fake, registry, host2)
    assert result["changed"] is True and result["model"]["digest"] == sha256(raw) == pushed["digest"]
    assert disk_files(host2) == disk_files(host1)


def test_latest_fetches_only_when_the_mirror_digest_moved(fake, registry, models_dir, mirrored):
    run(fake, registry, models_dir)
    registry.requests.clear()
    result = run(fake, registry, models_dir, state="latest")
    assert result["changed"] is False
    assert registry.calls() == [MANIFEST_GET]

    new_raw, new_blobs = sample_model(seed="newer")
    registry.add_model(REPO, "0.5b", new_raw, new_blobs)
    registry.requests.clear()
    result = run(fake, registry, models_dir, state="latest", diff=True)
    assert result["changed"] is True
    assert result["model"]["digest"] == sha256(new_raw)
    assert result["diff"]["before"]["digest"] == sha256(mirrored[0])
    assert (models_dir / QWEN_PATH).read_bytes() == new_raw


def test_blobs_already_on_disk_are_not_fetched(fake, registry, models_dir, mirrored):
    raw, blobs = mirrored
    # another model sharing the config and template blobs, but not the body
    install_local(str(models_dir), ["registry.ollama.ai", "library", "other", "latest"], raw, blobs)
    os.remove(str(models_dir / "manifests/registry.ollama.ai/library/other/latest"))
    body = max(blobs, key=lambda d: len(blobs[d]))
    os.remove(str(models_dir / ("blobs/sha256-" + body)))
    result = run(fake, registry, models_dir)
    assert result["transfer"]["blobs_fetched"] == 1 and result["transfer"]["blobs_present"] == 2
    assert registry.blob_gets() == ["/v2/library/qwen2.5/blobs/sha256:" + body]


def test_check_mode_reads_the_mirror_manifest_only(fake, registry, models_dir, mirrored):
    raw, blobs = mirrored
    result = run(fake, registry, models_dir, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["transfer"]["bytes_fetched"] == sum(len(d) for d in blobs.values())
    assert result["diff"]["after"] == {"name": QWEN, "state": "present", "digest": sha256(raw)}
    assert registry.calls() == [MANIFEST_GET]
    assert fake.calls() == [TAGS]
    assert disk_files(models_dir) == []


def test_a_mirror_without_the_model_fails_naming_mirror_repository_tag_and_status(fake, registry, models_dir):
    result = run(fake, registry, models_dir, name="qwen:14b")
    assert result["failed"] is True
    assert result["msg"] == ("fetching qwen:14b from %s failed: the mirror %s has no library/qwen:14b: GET "
                             "%s/v2/library/qwen/manifests/14b answered HTTP 404: NAME_UNKNOWN: repository name not "
                             "known to registry" % (registry.url, registry.url, registry.url))
    assert result["status"] == 404
    assert result["mirror"] == registry.url
    assert disk_files(models_dir) == []


def test_a_corrupted_blob_fails_and_no_model_is_listed(fake, registry, models_dir, mirrored):
    raw, blobs = mirrored
    body = max(blobs, key=lambda d: len(blobs[d]))
    registry.corrupt.add(body)
    result = run(fake, registry, models_dir)
    assert result["failed"] is True
    assert "/v2/library/qwen2.5/blobs/sha256:%s: the %d bytes received have the sha256" % (body, len(blobs[body])) \
        in result["msg"]
    assert "the file was removed" in result["msg"]
    assert not os.path.exists(str(models_dir / QWEN_PATH))
    assert "blobs/sha256-%s" % body not in disk_files(models_dir)
    assert ".llmops-staging/partial-sha256-%s" % body not in disk_files(models_dir)
    assert fake.disk_models() == []


def test_a_transfer_broken_on_every_attempt_resumes_in_the_next_run(fake, registry, models_dir, mirrored):
    raw, blobs = mirrored
    body = max(blobs, key=lambda d: len(blobs[d]))
    registry.drops[body] = [50000, 50000, 50000]
    result = run(fake, registry, models_dir)
    assert result["failed"] is True
    assert "the connection closed after 150000 of %d bytes" % len(blobs[body]) in result["msg"]
    assert fake.disk_models() == []
    assert os.path.getsize(str(models_dir / (".llmops-staging/partial-sha256-%s" % body))) == 150000

    before = registry.sent[body]
    result = run(fake, registry, models_dir)
    assert result["changed"] is True
    assert result["transfer"]["bytes_resumed"] == 150000
    assert registry.sent[body] - before == len(blobs[body]) - 150000
    assert result["model"]["digest"] == sha256(raw)
    assert ".llmops-staging/partial-sha256-%s" % body not in disk_files(models_dir)


def test_digest_pin_is_checked_against_the_mirror_before_any_blob(fake, registry, models_dir, mirrored):
    result = run(fake, registry, models_dir, digest="b" * 64)
    assert result["failed"] is True
    assert result["msg"] == "the mirror %s has library/qwen2.5:0.5b with digest %s, but digest pins %s" % (
        registry.url, sha256(mirrored[0]), "b" * 64)
    assert registry.calls() == [MANIFEST_GET]
    assert result["changed"] is False


def test_digest_pin_that_matches_the_mirror(fake, registry, models_dir, mirrored):
    result = run(fake, registry, models_dir, digest="sha256:" + sha256(mirrored[0]))
    assert result["changed"] is True
    assert result["model"]["digest"] == sha256(mirrored[0])


def test_a_models_dir_ollama_does_not_read_is_reported(fake, registry, tmp_path, mirrored):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    fake.models_dir = str(tmp_path / "what-ollama-reads")
    result = run(fake, registry, elsewhere)
    assert result["failed"] is True
    assert "but Ollama at %s lists no such model; is models_dir the directory this server reads" % fake.url \
        in result["msg"]


def test_a_models_dir_without_its_parent_fails_before_any_request_to_the_mirror(fake, registry, tmp_path, mirrored):
    result = run(fake, registry, tmp_path / "nope" / "models")
    assert result["failed"] is True
    assert "models_dir %s does not exist or is not a directory, nor does its parent %s" % (
        tmp_path / "nope" / "models", tmp_path / "nope") in result["msg"]
    assert "mirror_missing" not in result
    assert registry.requests == []
    assert not os.path.exists(str(tmp_path / "nope"))


def test_a_models_dir_that_is_a_file_fails_before_any_request_to_the_mirror(fake, registry, tmp_path, mirrored):
    (tmp_path / "models").write_text("")
    result = run(fake, registry, tmp_path / "models")
    assert result["failed"] is True
    assert "models_dir %s does not exist or is not a directory;" % (tmp_path / "models") in result["msg"]
    assert registry.requests == []


def test_a_missing_models_dir_is_created_as_ollama_makes_it(fake, registry, tmp_path, mirrored):
    # a fresh host: the data directory is there, models/ is not (Ollama makes it, with blobs/, when it starts; a host whose Ollama never ran has none)
    raw, blobs = mirrored
    models_dir = tmp_path / "data" / "models"
    (tmp_path / "data").mkdir(mode=0o750)
    fake.models_dir = str(models_dir)
    umask = os.umask(0o077)
    try:
        result = run(fake, registry, models_dir)
    finally:
        os.umask(umask)
    assert result["changed"] is True
    assert result["model"]["digest"] == sha256(raw)
    assert stat.S_IMODE(os.stat(str(models_dir)).st_mode) == 0o755
    assert disk_files(models_dir) == sorted(["blobs/sha256-" + d for d in blobs] + [QWEN_PATH])


def test_check_mode_predicts_a_fetch_into_a_missing_models_dir_and_creates_nothing(fake, registry, tmp_path, mirrored):
    raw, blobs = mirrored
    result = run(fake, registry, tmp_path / "models", check_mode=True)
    assert result["changed"] is True
    assert result["transfer"]["blobs_fetched"] == len(blobs)
    assert result["transfer"]["bytes_fetched"] == sum(len(d) for d in blobs.values())
    assert registry.calls() == [MANIFEST_GET]
    assert os.listdir(str(tmp_path)) == []


def test_a_mirror_without_the_model_says_so_in_mirror_missing(fake, registry, models_dir, mirrored):
    for check_mode in (False, True):
        result = run(fake, registry, models_dir, name="qwen:14b", check_mode=check_mode)
        assert result["failed"] is True
        assert result["mirror_missing"] is True
        assert result["status"] == 404 and "/v2/library/qwen/manifests/14b" in result["url"]


@pytest.mark.parametrize("fault", ["corrupt blob", "blob unknown"])
def test_other_mirror_failures_do_not_claim_the_model_is_missing(fake, registry, models_dir, mirrored, fault):
    raw, blobs = mirrored
    body = max(blobs, key=lambda d: len(blobs[d]))
    if fault == "corrupt blob":
        registry.corrupt.add(body)
    else:  # the manifest is there, a blob is not: a 404 under /v2/ too, but a broken mirror, not a missing model
        registry.links[REPO].discard(body)
    result = run(fake, registry, models_dir)
    assert result["failed"] is True
    assert "mirror_missing" not in result
    if fault == "blob unknown":
        assert result["status"] == 404 and "/v2/library/qwen2.5/blobs/sha256:" + body in result["url"]


def test_mirror_headers_go_to_the_mirror_and_its_token_service_only(fake, registry, models_dir, mirrored):
    registry.require_token = True
    result = run(fake, registry, models_dir, mirror_headers={"Authorization": "Basic ZmxlZXQ6cw=="},
                 headers={"X-Ollama": "o"})
    assert result["changed"] is True
    paths = [path.split("?")[0] for _m, path, _h in registry.requests]
    assert paths[:2] == ["/v2/library/qwen2.5/manifests/0.5b", "/token"]
    assert registry.requests[0][2]["Authorization"] == "Basic ZmxlZXQ6cw=="
    assert registry.requests[1][2]["Authorization"] == "Basic ZmxlZXQ6cw=="
    assert all(h["Authorization"] == "Bearer fake-registry-token" for _m, _p, h in registry.requests[2:])
    assert all("X-Ollama" not in h for _m, _p, h in registry.requests)
    assert fake.headers and all("Authorization" not in h and h["X-Ollama"] == "o" for h in fake.headers)
    assert "Basic ZmxlZXQ6cw==" not in repr(result)


@pytest.mark.parametrize("args, fragment", [
    ({"mirror_headers": {"Authorization": 1}}, "mirror_headers: the value of 'Authorization' must be a string"),
    ({"mirror": "10.0.0.3:5000"}, "mirror: '10.0.0.3:5000' is not a registry URL"),
    ({"mirror": "https://fleet:secret@registry.example.com"}, "mirror: the URL carries credentials"),
    ({"state": "absent"}, "value of state must be one of: present, latest, got: absent"),
    ({"digest": "sha256:123"}, "digest"),
])
def test_options_that_make_no_sense(fake, registry, models_dir, args, fragment):
    result = run(fake, registry, models_dir, **args)
    assert result["failed"] is True
    assert fragment in result["msg"]
    assert fake.requests == [] and registry.requests == []


# Ollama's start-up pruning, simulated between runs and inside one (see lab/doubles/ollama/ollama_double/prune.py)


def prune_like_ollama_0_17(models_dir):
    """What `ollama serve` v0.17.1 deletes at start: every blobs/ file not named like a digest, every blob no
    manifest references."""
    import json
    referenced = set()
    for d, _dirs, files in os.walk(str(models_dir / "manifests")):
        for f in files:
            body = json.loads(open(os.path.join(d, f), "rb").read())
            for entry in [body.get("config")] + body.get("layers", []):
                if entry:
                    referenced.add(entry["digest"].replace(":", "-"))
    blobs = models_dir / "blobs"
    for name in os.listdir(str(blobs)) if blobs.exists() else []:
        if name not in referenced:
            os.remove(str(blobs / name))


def test_a_broken_transfer_survives_an_ollama_restart_and_resumes(fake, registry, models_dir, mirrored):
    raw, blobs = mirrored
    body = max(blobs, key=lambda d: len(blobs[d]))
    registry.drops[body] = [50000, 50000, 50000]
    assert run(fake, registry, models_dir)["failed"] is True
    prune_like_ollama_0_17(models_dir)
    staged = sorted(os.listdir(str(models_dir / ".llmops-staging")))
    assert "partial-sha256-%s" % body in staged
    verified = [name for name in staged if name.startswith("sha256-")]
    assert verified  # the blobs fetched before the body, verified and kept
    sent = sum(registry.sent.values())
    total = sum(len(d) for d in blobs.values())
    result = run(fake, registry, models_dir)
    assert result["changed"] is True
    assert result["transfer"]["blobs_staged"] == len(verified)
    assert result["transfer"]["blobs_fetched"] == len(blobs) - len(verified)
    assert result["transfer"]["bytes_resumed"] == 150000
    assert sum(registry.sent.values()) - sent == total - 150000 - sum(len(blobs[n[7:]]) for n in verified)
    assert sum(registry.sent.values()) <= total
    assert result["model"]["digest"] == sha256(raw)
    assert not (models_dir / ".llmops-staging").exists()
    assert disk_files(models_dir) == sorted(["blobs/sha256-" + d for d in blobs] + [QWEN_PATH])


def test_a_prune_between_the_blobs_and_the_manifest_cannot_leave_a_broken_model(fake, registry, models_dir,
                                                                                mirrored, monkeypatch):
    # An Ollama start right after the blobs are linked and before the manifest is written deletes them all
    # (no manifest references them yet); the fetch links them again from its staged copies.
    from ansible_collections.llmops.ollama.plugins.module_utils import _models_dir
    raw, blobs = mirrored
    real_write = _models_dir.ModelsDir.write_manifest
    pruned = []

    def write_after_a_restart(self, name, manifest):
        if not pruned:
            prune_like_ollama_0_17(models_dir)
            pruned.append(True)
        return real_write(self, name, manifest)

    monkeypatch.setattr(_models_dir.ModelsDir, "write_manifest", write_after_a_restart)
    result = run(fake, registry, models_dir)
    assert pruned and result["changed"] is True and result["model"]["digest"] == sha256(raw)
    assert disk_files(models_dir) == sorted(["blobs/sha256-" + d for d in blobs] + [QWEN_PATH])


def test_a_listed_model_that_lost_its_model_blob_is_repaired_then_left_alone(fake, registry, models_dir, mirrored):
    raw, blobs = mirrored
    run(fake, registry, models_dir)
    body = max(blobs, key=lambda d: len(blobs[d]))
    os.remove(str(models_dir / ("blobs/sha256-" + body)))
    assert [m["name"] for m in fake.disk_models()] == [QWEN]  # Ollama still lists it
    registry.requests.clear()
    check = run(fake, registry, models_dir, check_mode=True)
    assert check["changed"] is True and check["transfer"]["repair"] is True
    assert check["transfer"]["blobs_fetched"] == 1 and registry.calls() == []
    result = run(fake, registry, models_dir)
    assert result["changed"] is True and result["transfer"]["repair"] is True
    assert result["actions"] == ["repair qwen2.5:0.5b from %s/library/qwen2.5:0.5b" % registry.url]
    assert registry.blob_gets() == ["/v2/library/qwen2.5/blobs/sha256:" + body]
    assert (models_dir / ("blobs/sha256-" + body)).read_bytes() == blobs[body]
    again = run(fake, registry, models_dir)
    assert again["changed"] is False


def test_present_blobs_are_touched_so_a_grace_period_keeps_them(fake, registry, models_dir, mirrored):
    raw, blobs = mirrored
    install_local(str(models_dir), ["registry.ollama.ai", "library", "other", "latest"], raw, blobs)
    os.remove(str(models_dir / "manifests/registry.ollama.ai/library/other/latest"))
    body = max(blobs, key=lambda d: len(blobs[d]))
    os.remove(str(models_dir / ("blobs/sha256-" + body)))
    old = 1_000_000_000
    for digest in blobs:
        if digest != body:
            os.utime(str(models_dir / ("blobs/sha256-" + digest)), (old, old))
    run(fake, registry, models_dir)
    for digest in blobs:
        assert os.stat(str(models_dir / ("blobs/sha256-" + digest))).st_mtime > old + 3600
