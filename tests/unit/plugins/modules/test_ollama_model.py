# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib

from ansible_collections.llmops.ollama.plugins.modules import ollama_model
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_ollama import MISSING_MANIFEST, Reply
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import run_module

TAGS = ("GET", "/api/tags", None)
QWEN = "qwen2.5:0.5b"


def pull(name, insecure=False):
    return ("POST", "/api/pull", {"model": name, "insecure": insecure, "stream": True})


def run(fake, check_mode=False, diff=False, **args):
    args.setdefault("api_url", fake.url)
    return run_module(ollama_model, args, check_mode=check_mode, diff=diff)


# present

def test_present_pulls_a_missing_model(fake):
    remote = fake.add_remote(QWEN)
    result = run(fake, name=QWEN)
    assert result["changed"] is True
    assert result["model"]["digest"] == remote.digest
    assert result["model"]["name"] == QWEN
    assert result["actions"] == ["pull qwen2.5:0.5b"]
    assert fake.requests == [TAGS, pull(QWEN), TAGS]


def test_present_when_present_sends_one_read_and_no_pull(fake):
    local = fake.add_local(QWEN)
    result = run(fake, name="QWEN2.5:0.5B")
    assert result["changed"] is False
    assert result["model"]["digest"] == local.digest
    assert result["actions"] == []
    assert fake.requests == [TAGS]


def test_short_names_get_the_latest_tag(fake):
    fake.add_remote("llama3")
    result = run(fake, name="registry.ollama.ai/library/llama3")
    assert result["changed"] is True
    assert fake.requests == [TAGS, pull("llama3:latest"), TAGS]


def test_check_mode_on_a_missing_model_predicts_a_change_and_sends_only_reads(fake):
    fake.add_remote(QWEN)
    result = run(fake, check_mode=True, diff=True, name=QWEN)
    assert result["changed"] is True
    assert result["actions"] == ["pull qwen2.5:0.5b"]
    assert result["diff"] == {"before": {"name": QWEN, "state": "absent"},
                              "after": {"name": QWEN, "state": "present", "digest": None}}
    assert fake.requests == [TAGS]
    assert fake.local == {}


def test_insecure_is_passed_to_the_pull(fake):
    fake.add_remote("lab:5000/library/qwen:14b")
    result = run(fake, name="lab:5000/library/qwen:14b", insecure=True, allow_insecure_without_digest=True)
    assert result["changed"] is True
    assert fake.requests == [TAGS, pull("lab:5000/library/qwen:14b", insecure=True), TAGS]


def test_insecure_without_a_pin_or_the_opt_in_fails_before_any_request(fake):
    fake.add_remote("lab:5000/library/qwen:14b")
    result = run(fake, name="lab:5000/library/qwen:14b", insecure=True)
    assert result["failed"] is True
    assert result["msg"] == (
        "insecure=true pulls lab:5000/library/qwen:14b over plain HTTP, where anyone on the path can swap the model; "
        "pin it with digest (sha256:<64 hex>), or set allow_insecure_without_digest=true to accept an unpinned "
        "plain-HTTP pull")
    assert fake.requests == []
    custom = run(fake, name="bot", insecure=True, system="Hi.", **{"from": "lab:5000/library/qwen:14b"})
    assert custom["failed"] is True
    assert "(the base model of bot, which takes no digest)" in custom["msg"]
    assert fake.requests == []


# pull failures

def test_missing_model_streams_200_then_an_error_line(fake):
    result = run(fake, name="nosuch:1b")
    assert result["failed"] is True
    assert result["status"] == 200
    assert result["api_error"] == MISSING_MANIFEST
    assert MISSING_MANIFEST in result["msg"] and "nosuch:1b" in result["msg"]
    assert result["last_progress"] == {"status": "pulling manifest"}
    assert result["model"] == "nosuch:1b"
    assert result["api_url"] == fake.url
    assert result["url"] == fake.url + "/api/pull"
    assert fake.requests == [TAGS, pull("nosuch:1b")]


def test_an_error_answered_before_the_stream_is_a_status_error(fake):
    # Ollama answers 500 {"error": ...} when the failure comes before any progress line.
    fake.script("POST", "/api/pull", Reply(500, body={"error": MISSING_MANIFEST}))
    result = run(fake, name="nosuch:1b")
    assert result["failed"] is True
    assert result["status"] == 500
    assert result["api_error"] == MISSING_MANIFEST
    assert "HTTP 500: " + MISSING_MANIFEST in result["msg"]
    assert fake.requests == [TAGS, pull("nosuch:1b")]


def test_a_stream_that_fails_half_way(fake):
    mismatch = "digest mismatch, file must be downloaded again: want sha256:aa, got sha256:bb"
    fake.script("POST", "/api/pull", Reply(lines=[
        {"status": "pulling manifest"},
        {"status": "pulling dde5aa3fc5ff", "digest": "sha256:dde5aa3fc5ff", "total": 2019377376, "completed": 241970},
        {"error": mismatch}]))
    result = run(fake, name=QWEN)
    assert result["failed"] is True
    assert result["api_error"] == mismatch
    assert result["last_progress"]["completed"] == 241970
    assert fake.requests == [TAGS, pull(QWEN)]


def test_a_stream_cut_before_success(fake):
    fake.script("POST", "/api/pull", Reply(lines=[{"status": "pulling manifest"}, {"status": "pulling dde5aa3fc5ff"}]))
    result = run(fake, name=QWEN)
    assert result["failed"] is True
    assert "ended before it reported success (last status: 'pulling dde5aa3fc5ff')" in result["msg"]
    assert fake.requests == [TAGS, pull(QWEN)]


# latest and digest pins

def test_latest_reports_no_change_when_the_digest_stays(fake):
    fake.add_local(QWEN)
    fake.add_remote(QWEN)
    result = run(fake, name=QWEN, state="latest")
    assert result["changed"] is False
    assert fake.requests == [TAGS, pull(QWEN), TAGS]


def test_latest_reports_a_change_when_the_digest_moves(fake):
    old = fake.add_local(QWEN)
    new = fake.add_remote(QWEN, revision=2)
    result = run(fake, diff=True, name=QWEN, state="latest")
    assert result["changed"] is True
    assert result["diff"]["before"]["digest"] == old.digest
    assert result["diff"]["after"]["digest"] == new.digest
    assert fake.requests == [TAGS, pull(QWEN), TAGS]


def test_latest_in_check_mode_sends_only_reads(fake):
    fake.add_local(QWEN)
    result = run(fake, check_mode=True, name=QWEN, state="latest")
    assert result["changed"] is True
    assert fake.requests == [TAGS]


def test_a_pinned_model_with_another_digest_fails_with_both(fake):
    local = fake.add_local(QWEN)
    pin = "b" * 64
    result = run(fake, name=QWEN, digest="sha256:" + pin.upper())
    assert result["failed"] is True
    assert local.digest in result["msg"] and pin in result["msg"]
    assert (result["digest"], result["expected_digest"]) == (local.digest, pin)
    assert fake.requests == [TAGS]


def test_latest_repulls_to_reach_the_pin(fake, registry):
    fake.add_local(QWEN)
    new = fake.add_remote(QWEN, revision=2)
    registry.manifests[("library/qwen2.5", "0.5b")] = new.manifest
    result = run(fake, name=QWEN, state="latest", digest=new.digest, registry_url=registry.url)
    assert result["changed"] is True
    assert result["model"]["digest"] == new.digest
    assert result["registry_digest"] == new.digest
    # the registry was asked first; the old model was kept under a copy during the pull, then dropped
    assert registry.calls() == [("GET", "/v2/library/qwen2.5/manifests/0.5b")]
    backup = fake.requests[1][2]["destination"]
    assert backup.startswith("qwen2.5:llmops-pin-backup-")
    assert fake.requests == [TAGS, ("POST", "/api/copy", {"source": QWEN, "destination": backup}), pull(QWEN), TAGS,
                             ("DELETE", "/api/delete", {"model": backup})]
    assert sorted(fake.local) == [QWEN]


def test_a_satisfied_pin_makes_latest_a_no_op(fake):
    local = fake.add_local(QWEN)
    result = run(fake, name=QWEN, state="latest", digest=local.digest)
    assert result["changed"] is False
    assert fake.requests == [TAGS]


def test_a_registry_with_another_digest_than_the_pin_fails_without_pulling(fake, registry):
    fake.add_local(QWEN)
    remote = fake.add_remote(QWEN, revision=2)
    registry.manifests[("library/qwen2.5", "0.5b")] = remote.manifest
    pin = "c" * 64
    for check_mode in (True, False):
        fake.requests.clear()
        result = run(fake, check_mode=check_mode, name=QWEN, state="latest", digest=pin, registry_url=registry.url)
        assert result["failed"] is True and result["changed"] is False
        assert result["msg"] == ("the registry %s has %s with digest %s, but digest pins %s; nothing was pulled"
                                 % (registry.url, QWEN, remote.digest, pin))
        assert (result["digest"], result["expected_digest"]) == (remote.digest, pin)
        assert fake.requests == [TAGS]


def test_a_pull_that_lands_elsewhere_than_the_pin_is_removed_again(fake, registry):
    remote = fake.add_remote(QWEN)
    pinned = b'{"schemaVersion": 2, "what": "the pinned manifest"}'
    registry.manifests[("library/qwen2.5", "0.5b")] = pinned
    pin = hashlib.sha256(pinned).hexdigest()
    result = run(fake, name=QWEN, digest=pin, registry_url=registry.url)
    assert result["failed"] is True and result["changed"] is False
    assert result["digest"] == remote.digest
    assert "the model was removed again" in result["msg"]
    assert fake.requests == [TAGS, pull(QWEN), TAGS, ("DELETE", "/api/delete", {"model": QWEN})]
    assert fake.local == {}


def test_a_pull_that_lands_elsewhere_than_the_pin_puts_the_old_model_back(fake, registry):
    old = fake.add_local(QWEN)
    old_digest = old.digest
    fake.add_remote(QWEN, revision=2)
    pinned = b'{"schemaVersion": 2, "what": "the pinned manifest"}'
    registry.manifests[("library/qwen2.5", "0.5b")] = pinned
    result = run(fake, name=QWEN, state="latest", digest=hashlib.sha256(pinned).hexdigest(), registry_url=registry.url)
    assert result["failed"] is True
    assert "put back to its earlier digest %s" % old_digest in result["msg"]
    backup = fake.requests[1][2]["destination"]
    assert [r[:2] for r in fake.requests] == [
        ("GET", "/api/tags"), ("POST", "/api/copy"), ("POST", "/api/pull"),
        ("GET", "/api/tags"), ("POST", "/api/copy"), ("DELETE", "/api/delete")]
    assert fake.requests[4][2] == {"source": backup, "destination": QWEN}
    assert sorted(fake.local) == [QWEN]
    assert fake.local[QWEN].digest == old_digest


# absent

def test_absent_deletes_by_the_listed_name(fake):
    fake.add_local("Qwen2.5:0.5b")
    result = run(fake, diff=True, name=QWEN, state="absent")
    assert result["changed"] is True
    assert result["model"] == {}
    assert result["diff"]["after"] == {"name": QWEN, "state": "absent"}
    assert fake.requests == [TAGS, ("DELETE", "/api/delete", {"model": "Qwen2.5:0.5b"})]
    assert fake.local == {}


def test_absent_when_absent_sends_one_read(fake):
    result = run(fake, name=QWEN, state="absent")
    assert result["changed"] is False
    assert fake.requests == [TAGS]


def test_absent_when_someone_else_deleted_it_meanwhile(fake):
    fake.add_local(QWEN)
    fake.script("DELETE", "/api/delete", Reply(404, body={"error": "model 'qwen2.5:0.5b' not found"}))
    result = run(fake, name=QWEN, state="absent")
    assert result["changed"] is False
    assert fake.calls() == [("GET", "/api/tags"), ("DELETE", "/api/delete")]


def test_absent_in_check_mode_deletes_nothing(fake):
    fake.add_local(QWEN)
    result = run(fake, check_mode=True, name=QWEN, state="absent")
    assert result["changed"] is True
    assert result["actions"] == ["delete qwen2.5:0.5b"]
    assert fake.requests == [TAGS]
    assert len(fake.local) == 1


# custom models

BOT = {"name": "support-bot", "from": QWEN, "system": "Answer briefly.",
       "parameters": {"temperature": 0.2, "num_ctx": 4096, "stop": ["<|im_end|>"]},
       "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}]}
CREATE = ("POST", "/api/create", {"model": "support-bot:latest", "from": QWEN, "system": "Answer briefly.",
                                  "parameters": {"temperature": 0.2, "num_ctx": 4096, "stop": ["<|im_end|>"]},
                                  "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
                                  "stream": True})
SHOW_BOT = ("POST", "/api/show", {"model": "support-bot:latest"})


def test_custom_model_is_created_then_left_alone(fake):
    fake.add_local(QWEN, parameters={"stop": ["<|im_start|>"], "top_k": 20})
    first = run(fake, **BOT)
    assert first["changed"] is True
    assert first["actions"] == ["create support-bot:latest"]
    assert first["model"]["details"]["parent_model"] == QWEN
    assert fake.requests == [TAGS, CREATE, TAGS]

    fake.requests.clear()
    second = run(fake, **BOT)
    assert second["changed"] is False
    assert second["model"]["digest"] == first["model"]["digest"]
    assert fake.requests == [TAGS, SHOW_BOT]


def test_a_changed_system_prompt_recreates(fake):
    fake.add_local(QWEN)
    run(fake, **BOT)
    fake.requests.clear()
    result = run(fake, diff=True, **{**BOT, "system": "Answer at length."})
    assert result["changed"] is True
    assert result["changed_fields"] == ["system"]
    assert result["diff"]["before"]["system"] == "Answer briefly."
    assert result["diff"]["after"]["system"] == "Answer at length."
    assert fake.calls() == [("GET", "/api/tags"), ("POST", "/api/show"), ("POST", "/api/create"), ("GET", "/api/tags")]
    assert fake.requests[2][2]["system"] == "Answer at length."


def test_a_changed_custom_model_in_check_mode_sends_only_reads(fake):
    fake.add_local(QWEN)
    run(fake, **BOT)
    fake.requests.clear()
    result = run(fake, check_mode=True, **{**BOT, "parameters": {"temperature": 0.9}})
    assert result["changed"] is True
    assert result["changed_fields"] == ["parameters"]
    assert fake.requests == [TAGS, SHOW_BOT]


def test_a_missing_base_is_pulled_first_with_insecure(fake):
    fake.add_remote("lab:5000/library/qwen:14b")
    result = run(fake, name="bot", insecure=True, allow_insecure_without_digest=True, system="Be kind.",
                 **{"from": "lab:5000/library/qwen:14b"})
    assert result["changed"] is True
    assert result["actions"] == ["pull lab:5000/library/qwen:14b", "create bot:latest"]
    assert fake.requests == [
        TAGS, pull("lab:5000/library/qwen:14b", insecure=True),
        ("POST", "/api/create", {"model": "bot:latest", "from": "lab:5000/library/qwen:14b", "system": "Be kind.",
                                 "stream": True}),
        TAGS]


def test_a_pulled_model_under_the_custom_name_is_replaced(fake):
    fake.add_local(QWEN)
    fake.add_local("support-bot")
    result = run(fake, **BOT)
    assert result["changed"] is True
    assert "from" in result["changed_fields"]


def test_a_create_error_names_both_models(fake):
    fake.add_local(QWEN)
    fake.script("POST", "/api/create", Reply(400, body={"error": "supplied file was not in GGUF format"}))
    result = run(fake, **BOT)
    assert result["failed"] is True
    assert result["status"] == 400
    assert result["msg"].startswith("creating support-bot:latest from qwen2.5:0.5b failed: ")
    assert "supplied file was not in GGUF format" in result["msg"]


# models_dir: a listed model that lost a blob is pulled again


def _on_disk(fake, tmp_path):
    from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import install_local, sample_model
    raw, blobs = sample_model(seed="repair")
    fake.models_dir = str(tmp_path)
    install_local(str(tmp_path), ["registry.ollama.ai", "library", "qwen2.5", "0.5b"], raw, blobs)
    body = max(blobs, key=lambda d: len(blobs[d]))
    return tmp_path / "blobs" / ("sha256-" + body), blobs[body]


def test_with_models_dir_a_listed_model_missing_a_blob_is_pulled_again(fake, tmp_path):
    from ansible_collections.llmops.ollama.tests.unit.plugins.fake_ollama import Reply
    blob, data = _on_disk(fake, tmp_path)
    args = {"name": "qwen2.5:0.5b", "models_dir": str(tmp_path)}
    assert run(fake, **args)["changed"] is False
    blob.unlink()
    predicted = run(fake, check_mode=True, **args)
    assert predicted["changed"] is True and predicted["blobs_missing"] == ["sha256:" + blob.name[7:]]
    assert ("POST", "/api/pull") not in fake.calls()
    fake.script("POST", "/api/pull", Reply(lines=[{"status": "success"}]))
    result = run(fake, **args)
    assert result["changed"] is True
    assert result["actions"] == ["pull qwen2.5:0.5b (repair: 1 blob(s) missing from %s)" % tmp_path]
    assert ("POST", "/api/pull") in fake.calls()
    blob.write_bytes(data)  # what Ollama's pull does: it fetches the layers it lacks
    assert run(fake, **args)["changed"] is False


def test_without_models_dir_a_listed_model_is_taken_as_whole(fake, tmp_path):
    blob, _data = _on_disk(fake, tmp_path)
    blob.unlink()
    assert run(fake, name="qwen2.5:0.5b")["changed"] is False


def test_models_dir_refuses_a_symlinked_blob(fake, tmp_path):
    blob, _data = _on_disk(fake, tmp_path)
    blob.unlink()
    blob.symlink_to("/etc/hostname")
    result = run(fake, name="qwen2.5:0.5b", models_dir=str(tmp_path))
    assert result["failed"] is True and "%s is a symbolic link" % blob in result["msg"]
