# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The models directory is writable by the Ollama container (root, parsing untrusted files); the
modules run as root on the host. Links and special files planted there must make the fetch
(ollama_mirror_fetch) and the push (ollama_mirror_push) refuse, naming the path, and leave
whatever the links point at byte for byte and mode for mode as it was."""

from __future__ import annotations

import json
import os
import stat

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_mirror_push
from ansible_collections.llmops.ollama.tests.unit.plugins.fake_registry import install_local, sample_model, sha256
from ansible_collections.llmops.ollama.tests.unit.plugins.modules.module_runner import fetch_from_mirror as fetch, run_module

QWEN = "qwen2.5:0.5b"
REPO = "library/qwen2.5"
PARTS = ["registry.ollama.ai", "library", "qwen2.5", "0.5b"]
VICTIM_BYTES = b"root:precious-host-file:0:0\n"


class Victim:
    """A host file outside models_dir that a followed link would overwrite, chmod or read."""

    def __init__(self, directory):
        directory.mkdir(exist_ok=True)
        self.dir = directory
        self.path = directory / "victim"
        self.path.write_bytes(VICTIM_BYTES)
        os.chmod(str(self.path), 0o600)
        self.listing = self._listing()

    def _listing(self):
        return sorted((os.path.relpath(os.path.join(d, f), str(self.dir)),
                       stat.S_IMODE(os.lstat(os.path.join(d, f)).st_mode))
                      for d, _dirs, files in os.walk(str(self.dir)) for f in files)

    def snapshot(self):
        """Remember every file under the directory (after a test put more there)."""
        self.contents = {name: (self.dir / name).read_bytes() for name, _mode in self._listing()}
        self.listing = self._listing()

    def assert_untouched(self):
        assert self.path.read_bytes() == VICTIM_BYTES
        assert stat.S_IMODE(os.stat(str(self.path)).st_mode) == 0o600
        assert self._listing() == self.listing
        for name, data in getattr(self, "contents", {}).items():
            assert (self.dir / name).read_bytes() == data


@pytest.fixture
def victim(tmp_path):
    return Victim(tmp_path / "outside")


@pytest.fixture
def models_dir(fake, tmp_path):
    path = tmp_path / "models"
    (path / "blobs").mkdir(parents=True)
    (path / "manifests").mkdir()
    fake.models_dir = str(path)
    return path


def body_of(blobs):
    return max(blobs, key=lambda d: len(blobs[d]))


def push(registry, models_dir, **args):
    args.setdefault("name", QWEN)
    args.setdefault("mirror", registry.url)
    args.setdefault("models_dir", str(models_dir))
    return run_module(ollama_mirror_push, args)


def refused(result, path, what="a symbolic link"):
    assert result["failed"] is True, result
    assert "%s is %s" % (path, what) in result["msg"]
    assert "refusing" in result["msg"]
    assert VICTIM_BYTES.decode().strip() not in result["msg"]


def uploads(registry):
    return [(m, p) for m, p in registry.calls() if m in ("POST", "PUT")]


# partial downloads


def staging(models_dir):
    path = models_dir / ".llmops-staging"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def test_fetch_refuses_a_symlinked_staging_directory_and_leaves_its_target(
        fake, registry, models_dir, mirrored, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("host-dir")
    (models_dir / ".llmops-staging").symlink_to(elsewhere)
    result = fetch(fake, registry, models_dir)
    refused(result, models_dir / ".llmops-staging", "a symbolic link")
    assert os.listdir(str(elsewhere)) == []


def test_fetch_refuses_a_symlinked_partial_and_leaves_its_target(fake, registry, models_dir, mirrored, victim):
    _raw, blobs = mirrored
    body = body_of(blobs)
    partial = staging(models_dir) / ("partial-sha256-" + body)
    partial.symlink_to(victim.path)
    result = fetch(fake, registry, models_dir)
    refused(result, partial)
    victim.assert_untouched()
    assert os.path.islink(str(partial))
    assert not (models_dir / "manifests" / os.path.join(*PARTS)).exists()
    assert "/v2/library/qwen2.5/blobs/sha256:" + body not in [p for _m, p in registry.calls()]


def test_a_link_at_ollamas_own_partial_name_is_never_followed(fake, registry, models_dir, mirrored, victim):
    # the attack of issue 11: blobs/sha256-<digest>-partial -> a host file; the writer used to
    # overwrite the target with blob bytes and chmod it 0644. Our partials have names of their own.
    raw, blobs = mirrored
    ollamas = models_dir / "blobs" / ("sha256-%s-partial" % body_of(blobs))
    ollamas.symlink_to(victim.path)
    result = fetch(fake, registry, models_dir)
    assert result["changed"] is True and result["model"]["digest"] == sha256(raw)
    victim.assert_untouched()
    assert os.path.islink(str(ollamas))


def test_fetch_refuses_a_hard_linked_partial(fake, registry, models_dir, mirrored, victim):
    _raw, blobs = mirrored
    partial = staging(models_dir) / ("partial-sha256-" + body_of(blobs))
    os.link(str(victim.path), str(partial))
    result = fetch(fake, registry, models_dir)
    assert result["failed"] is True
    assert "%s has 2 hard links; refusing to write into it" % partial in result["msg"]
    victim.assert_untouched()


def test_fetch_refuses_a_fifo_as_partial_without_hanging(fake, registry, models_dir, mirrored):
    _raw, blobs = mirrored
    partial = staging(models_dir) / ("partial-sha256-" + body_of(blobs))
    os.mkfifo(str(partial))
    refused(fetch(fake, registry, models_dir), partial, "a FIFO")


# blobs


def test_fetch_refuses_a_symlinked_blob_and_leaves_its_target(fake, registry, models_dir, mirrored, victim):
    _raw, blobs = mirrored
    blob = models_dir / "blobs" / ("sha256-" + body_of(blobs))
    blob.symlink_to(victim.path)
    result = fetch(fake, registry, models_dir)
    refused(result, blob)
    victim.assert_untouched()
    assert registry.blob_gets() == []


def test_push_refuses_a_symlinked_blob_even_with_the_right_bytes(registry, tmp_path, victim):
    models = tmp_path / "models"
    raw, blobs = sample_model()
    install_local(str(models), PARTS, raw, blobs)
    body = body_of(blobs)
    victim.path.write_bytes(blobs[body])  # a link to a file of the right size and digest: still refused
    victim.snapshot()
    blob = models / "blobs" / ("sha256-" + body)
    blob.unlink()
    blob.symlink_to(victim.path)
    refused(push(registry, models), blob)
    assert registry.requests == []
    assert victim.path.read_bytes() == blobs[body]


def test_push_refuses_a_blob_that_is_a_fifo(registry, tmp_path):
    models = tmp_path / "models"
    raw, blobs = sample_model()
    install_local(str(models), PARTS, raw, blobs)
    blob = models / "blobs" / ("sha256-" + body_of(blobs))
    blob.unlink()
    os.mkfifo(str(blob))
    refused(push(registry, models), blob, "a FIFO")


def test_a_symlinked_blobs_directory_is_refused(fake, registry, tmp_path, mirrored, victim):
    models = tmp_path / "models"
    raw, blobs = mirrored
    install_local(str(models), PARTS, raw, blobs)
    os.rename(str(models / "blobs"), str(victim.dir / "blobs"))
    victim.snapshot()
    (models / "blobs").symlink_to(victim.dir / "blobs")
    refused(push(registry, models), models / "blobs")
    assert registry.requests == []
    os.remove(str(models / "manifests" / os.path.join(*PARTS)))
    fake.models_dir = str(models)
    refused(fetch(fake, registry, models), models / "blobs")
    victim.assert_untouched()


def test_a_symlinked_models_dir_is_refused(fake, registry, tmp_path, mirrored, victim):
    raw, blobs = mirrored
    install_local(str(victim.dir / "models"), PARTS, raw, blobs)
    victim.snapshot()
    models = tmp_path / "data" / "models"
    models.parent.mkdir()
    models.symlink_to(victim.dir / "models")
    refused(push(registry, models), models)
    assert registry.requests == []
    os.remove(str(victim.dir / "models" / "manifests" / os.path.join(*PARTS)))
    victim.snapshot()
    refused(fetch(fake, registry, models), models)
    victim.assert_untouched()


# manifests


@pytest.mark.parametrize("level", [0, 1, 2, 3], ids=["manifests", "host", "namespace", "model"])
def test_push_refuses_a_symlinked_manifests_subtree(registry, tmp_path, victim, level):
    models = tmp_path / "models"
    raw, blobs = sample_model()
    install_local(str(models), PARTS, raw, blobs)
    install_local(str(victim.dir), PARTS, raw, blobs)  # what the link leads to: a whole, valid model
    victim.snapshot()
    parts = ["manifests"] + PARTS[:3]
    link = models.joinpath(*parts[:level + 1])
    os.rename(str(link), str(tmp_path / "moved-away"))
    link.symlink_to(victim.dir.joinpath(*parts[:level + 1]))
    refused(push(registry, models), link)
    assert registry.requests == []
    victim.assert_untouched()


@pytest.mark.parametrize("level", [0, 1, 2, 3], ids=["manifests", "host", "namespace", "model"])
def test_fetch_refuses_a_symlinked_manifests_subtree(fake, registry, models_dir, mirrored, victim, level):
    parts = ["manifests"] + PARTS[:3]
    # outside: the tree the link leads to, with a host file where the manifest would be written
    target = victim.dir.joinpath(*parts)
    target.mkdir(parents=True)
    (target / PARTS[3]).write_bytes(VICTIM_BYTES)
    os.chmod(str(target / PARTS[3]), 0o600)
    victim.snapshot()
    link = models_dir.joinpath(*parts[:level + 1])
    if level == 0:
        link.rmdir()
    else:
        link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(victim.dir.joinpath(*parts[:level + 1]))
    result = fetch(fake, registry, models_dir)
    refused(result, link)
    victim.assert_untouched()


def test_push_refuses_a_symlinked_manifest_file_and_does_not_quote_its_target(registry, tmp_path, victim):
    models = tmp_path / "models"
    raw, blobs = sample_model()
    install_local(str(models), PARTS, raw, blobs)
    manifest = models / "manifests" / os.path.join(*PARTS)
    manifest.unlink()
    manifest.symlink_to(victim.path)
    result = push(registry, models)
    refused(result, manifest)
    assert registry.requests == []
    victim.assert_untouched()


def test_push_refuses_a_manifest_that_is_a_fifo_without_hanging(registry, tmp_path):
    models = tmp_path / "models"
    raw, blobs = sample_model()
    install_local(str(models), PARTS, raw, blobs)
    manifest = models / "manifests" / os.path.join(*PARTS)
    manifest.unlink()
    os.mkfifo(str(manifest))
    refused(push(registry, models), manifest, "a FIFO")


def test_push_does_not_quote_a_manifest_that_is_not_json(registry, tmp_path):
    models = tmp_path / "models"
    manifest = models / "manifests" / os.path.join(*PARTS)
    manifest.parent.mkdir(parents=True)
    manifest.write_bytes(VICTIM_BYTES)
    result = push(registry, models)
    assert result["failed"] is True
    assert "the manifest from %s is not JSON" % manifest in result["msg"]
    assert "precious" not in result["msg"]


def test_fetch_refuses_a_symlinked_manifest_file_and_leaves_its_target(fake, registry, models_dir, mirrored, victim):
    manifest = models_dir / "manifests" / os.path.join(*PARTS)
    manifest.parent.mkdir(parents=True)
    manifest.symlink_to(victim.path)
    result = fetch(fake, registry, models_dir)
    refused(result, manifest)
    victim.assert_untouched()
    assert os.path.islink(str(manifest))


# digests matched whole


@pytest.mark.parametrize("suffix", ["\n", "x", "/../../x", " "])
def test_push_refuses_an_on_disk_manifest_whose_digest_has_trailing_characters(registry, tmp_path, suffix):
    models = tmp_path / "models"
    raw, blobs = sample_model()
    body = json.loads(raw)
    body["config"]["digest"] += suffix
    install_local(str(models), PARTS, json.dumps(body).encode(), blobs)
    result = push(registry, models)
    assert result["failed"] is True
    assert ("the manifest from %s is refused: the digest of config is not sha256:<64 lower-case hex> exactly"
            % (models / "manifests" / os.path.join(*PARTS))) in result["msg"]
    assert registry.requests == []


@pytest.mark.parametrize("suffix", ["\n", "x", "-partial"])
def test_fetch_refuses_a_mirror_manifest_whose_digest_has_trailing_characters(fake, registry, models_dir, suffix):
    raw, blobs = sample_model()
    body = json.loads(raw)
    body["layers"][0]["digest"] += suffix
    registry.add_model(REPO, "0.5b", json.dumps(body).encode(), blobs)
    result = fetch(fake, registry, models_dir)
    assert result["failed"] is True
    assert "is refused: the digest of layers[0] is not sha256:<64 lower-case hex> exactly" in result["msg"]
    assert registry.blob_gets() == []
    assert os.listdir(str(models_dir / "blobs")) == [] and os.listdir(str(models_dir / "manifests")) == []
