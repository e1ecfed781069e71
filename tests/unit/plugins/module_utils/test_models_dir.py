# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils import _model_name
from ansible_collections.llmops.ollama.plugins.module_utils._models_dir import Manifest, ModelsDir, ModelsDirError
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import install_local, sample_model, sha256

QWEN = _model_name.parse("qwen2.5:0.5b")


def test_paths_follow_ollamas_layout(tmp_path):
    models = ModelsDir(str(tmp_path))
    assert models.manifest_path(QWEN) == str(tmp_path / "manifests/registry.ollama.ai/library/qwen2.5/0.5b")
    assert models.manifest_path(_model_name.parse("lab:5000/team/bot:v1")) == \
        str(tmp_path / "manifests/lab:5000/team/bot/v1")
    assert models.blob_path("ab" * 32) == str(tmp_path / "blobs" / ("sha256-" + "ab" * 32))
    # ours, outside blobs/ (Ollama's start-up pruning reaches only blobs/ and manifests/)
    assert models.partial_path("ab" * 32) == str(tmp_path / ".llmops-staging" / ("partial-sha256-" + "ab" * 32))
    assert models.staged_path("ab" * 32) == str(tmp_path / ".llmops-staging" / ("sha256-" + "ab" * 32))


def test_read_manifest_matches_existing_names_ignoring_case(tmp_path):
    raw, blobs = sample_model()
    install_local(str(tmp_path), ["registry.ollama.ai", "library", "Qwen2.5", "0.5B"], raw, blobs)
    manifest = ModelsDir(str(tmp_path)).read_manifest(QWEN)
    assert manifest.raw == raw
    assert manifest.digest == sha256(raw)
    assert [b.digest for b in manifest.blobs] == list(blobs)
    assert manifest.size == sum(len(d) for d in blobs.values())
    assert ModelsDir(str(tmp_path)).manifest_path(QWEN).endswith("/Qwen2.5/0.5B")


def test_read_manifest_of_a_missing_model_is_none(tmp_path):
    assert ModelsDir(str(tmp_path)).read_manifest(QWEN) is None


@pytest.mark.parametrize("digest", ["sha256:../../etc/passwd", "sha256:" + "A" * 64, "md5:" + "a" * 32, None,
                                    "sha256:" + "a" * 64 + "\n", "sha256:" + "a" * 64 + "x", " sha256:" + "a" * 64,
                                    "sha256:" + "a" * 64 + "/../x"])
def test_a_manifest_naming_a_bad_digest_is_refused(digest):
    raw = json.dumps({"layers": [{"digest": "sha256:" + "b" * 64, "size": 3}, {"digest": digest, "size": 3}]}).encode()
    with pytest.raises(ModelsDirError) as caught:
        Manifest(raw, "http://mirror")
    assert str(caught.value) == ("the manifest from http://mirror is refused: the digest of layers[1] is not "
                                 "sha256:<64 lower-case hex> exactly (nothing before or after it)")


def test_a_manifest_that_is_not_json_is_refused_without_quoting_it():
    with pytest.raises(ModelsDirError, match="the manifest from http://mirror is not JSON") as caught:
        Manifest(b"<html>secret", "http://mirror")
    assert "secret" not in str(caught.value) and "html" not in str(caught.value)


def test_write_manifest_refuses_while_blobs_are_missing(tmp_path):
    raw, blobs = sample_model()
    models = ModelsDir(str(tmp_path))
    models.ensure_dirs()
    with pytest.raises(ModelsDirError, match="blobs missing"):
        models.write_manifest(QWEN, Manifest(raw, "test"))
    assert not os.path.exists(models.manifest_path(QWEN))


def stage_sample_model(tmp_path, modes=None):
    """A models directory with every blob of the sample model downloaded and staged; (raw, blobs, models, manifest).
    modes, a list, receives (partial mode while written, staged mode) per blob."""
    raw, blobs = sample_model()
    models = ModelsDir(str(tmp_path))
    models.ensure_dirs()
    manifest = Manifest(raw, "test")
    for blob in manifest.blobs:
        with models.open_partial(blob) as partial:
            written = stat.S_IMODE(os.stat(models.partial_path(blob.digest)).st_mode)
            partial.write(blobs[blob.digest])
            models.install_blob(blob, partial)
        if modes is not None:
            modes.append((written, stat.S_IMODE(os.stat(models.staged_path(blob.digest)).st_mode)))
    return raw, blobs, models, manifest


def test_blobs_then_manifest_with_ollamas_modes_and_no_temporary_file_left(tmp_path):
    modes = []
    raw, blobs, models, manifest = stage_sample_model(tmp_path, modes)
    assert modes == [(0o600, 0o644)] * len(blobs)
    assert stat.S_IMODE(os.stat(models.staging).st_mode) == 0o700
    assert models.staged(manifest.blobs) == manifest.blobs
    assert len(models.missing_blobs(manifest)) == len(blobs)  # nothing in blobs/ before the install
    path = models.install_model(QWEN, manifest)
    with open(path, "rb") as handle:
        assert handle.read() == raw
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    assert sorted(os.listdir(tmp_path / "manifests/registry.ollama.ai/library")) == ["qwen2.5"]
    assert sorted(os.listdir(tmp_path / "blobs")) == sorted("sha256-" + d for d in blobs)
    for digest in blobs:
        st = os.stat(models.blob_path(digest))
        assert stat.S_IMODE(st.st_mode) == 0o644 and st.st_nlink == 1
    assert not os.path.exists(models.staging)  # the staged copies go once the model is whole


def test_install_model_links_again_what_a_restart_pruned_and_keeps_staged_copies_until_whole(tmp_path):
    _raw, blobs, models, manifest = stage_sample_model(tmp_path)
    models.link_staged(manifest.blobs)
    for digest in blobs:  # an Ollama start: no manifest references them yet
        os.remove(models.blob_path(digest))
    assert os.path.exists(models.staged_path(manifest.blobs[0].digest))
    models.install_model(QWEN, manifest)
    assert models.missing_blobs(manifest) == []


def test_a_blob_of_the_wrong_size_counts_as_missing(tmp_path):
    raw, blobs = sample_model()
    install_local(str(tmp_path), list(QWEN), raw, blobs)
    models = ModelsDir(str(tmp_path))
    manifest = models.read_manifest(QWEN)
    victim = manifest.blobs[1]
    with open(models.blob_path(victim.digest), "ab") as out:
        out.write(b"x")
    assert [b.digest for b in models.missing_blobs(manifest)] == [victim.digest]


def test_check_exists_names_the_directory(tmp_path):
    with pytest.raises(ModelsDirError, match="models_dir %s does not exist" % (tmp_path / "nope")):
        ModelsDir(str(tmp_path / "nope")).check_exists()


def test_check_space_counts_partial_bytes(tmp_path, monkeypatch):
    raw, _blobs = sample_model(body_size=1000)
    models = ModelsDir(str(tmp_path))
    models.ensure_dirs()
    manifest = Manifest(raw, "test")
    body = max(manifest.blobs, key=lambda b: b.size)
    need = manifest.size

    class Usage:
        free = need - 1

    monkeypatch.setattr("shutil.disk_usage", lambda path: Usage)
    with pytest.raises(ModelsDirError, match="has %d bytes free; the missing blobs need %d more" % (need - 1, need)):
        models.check_space(manifest.blobs)
    with open(models.partial_path(body.digest), "wb") as out:
        out.write(b"\0" * 10)
    models.check_space(manifest.blobs)


def test_an_oversized_manifest_on_disk_is_refused_naming_it(tmp_path):
    path = tmp_path / "manifests" / "registry.ollama.ai" / "library" / "qwen2.5" / "0.5b"
    path.parent.mkdir(parents=True)
    with open(str(path), "wb") as out:
        out.truncate(5 * 1024 * 1024)
    with pytest.raises(ModelsDirError, match="%s is more than 4194304 bytes; it is not a model manifest" % path):
        ModelsDir(str(tmp_path)).read_manifest(QWEN)


def test_a_digest_never_names_a_file_unless_it_is_64_hex(tmp_path):
    for digest in ("../../etc/passwd", "a" * 64 + "\n", "A" * 64):
        with pytest.raises(ModelsDirError, match="not 64 lower-case hex characters"):
            ModelsDir(str(tmp_path)).blob_path(digest)


def test_a_partial_is_resumed_only_from_a_regular_file_of_its_own(tmp_path):
    raw, blobs = sample_model()
    models = ModelsDir(str(tmp_path))
    models.ensure_dirs()
    blob = Manifest(raw, "test").blobs[1]
    with models.open_partial(blob) as partial:
        partial.write(b"12345")
    with models.open_partial(blob) as partial:
        assert partial.size() == 5  # kept for the next try
        partial.discard()
    assert not os.path.lexists(models.partial_path(blob.digest))
