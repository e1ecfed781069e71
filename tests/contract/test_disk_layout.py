"""Models live on disk in Ollama's layout and are re-read on every request."""

import hashlib
import json
import os
import shutil


def test_a_manifest_copied_in_by_hand_shows_up_without_restart(pulled, double):
    manifests = double.models / "manifests/registry.ollama.ai/library"
    shutil.copytree(manifests / "qwen2.5", manifests / "handmade")
    models = {model.model: model for model in pulled.list().models}
    assert set(models) == {"qwen2.5:0.5b", "handmade:0.5b"}
    assert pulled.show("handmade:0.5b").details.family == "qwen2"
    pulled.generate("handmade:0.5b", "hi")


def test_tags_digest_size_and_order_come_from_the_manifest_files(pulled, double):
    pulled.copy("qwen2.5:0.5b", "older")
    older = double.models / "manifests/registry.ollama.ai/library/older/latest"
    os.utime(older, (1_000_000_000, 1_000_000_000))
    first, second = pulled.list().models
    assert (first.model, second.model) == ("qwen2.5:0.5b", "older:latest")
    raw = older.read_bytes()
    manifest = json.loads(raw)
    assert second.digest == hashlib.sha256(raw).hexdigest()
    assert second.size == manifest["config"]["size"] + sum(l["size"] for l in manifest["layers"])
    assert second.modified_at.year == 2001


def test_a_model_whose_config_blob_is_gone_is_skipped(pulled, double):
    pulled.copy("qwen2.5:0.5b", "broken")
    raw = json.loads((double.models / "manifests/registry.ollama.ai/library/broken/latest").read_bytes())
    raw["config"]["digest"] = "sha256:" + "0" * 64
    (double.models / "manifests/registry.ollama.ai/library/broken/latest").write_text(json.dumps(raw))
    assert [model.model for model in pulled.list().models] == ["qwen2.5:0.5b"]


def test_misplaced_files_are_not_models(pulled, double):
    (double.models / "manifests/registry.ollama.ai/library/too-shallow").write_text("{}")
    bad = double.models / "manifests/registry.ollama.ai/library/bad name/latest"
    bad.parent.mkdir(parents=True)
    bad.write_text("{}")
    assert [model.model for model in pulled.list().models] == ["qwen2.5:0.5b"]


def test_blob_files_are_named_sha256_dash_hex_with_mode_0644(pulled, double):
    for blob in (double.models / "blobs").iterdir():
        assert blob.name.startswith("sha256-") and len(blob.name) == 71
        assert blob.stat().st_mode & 0o777 == 0o644


def test_a_manifest_is_decoded_as_gos_json_decoder_does(pulled, double):
    """Ollama reads the first JSON value (bytes after it are ignored), matches keys
    case-insensitively, and skips a manifest whose fields have the wrong JSON type."""
    library = double.models / "manifests/registry.ollama.ai/library"
    manifest = json.loads((library / "qwen2.5/0.5b").read_bytes())
    (library / "trailing").mkdir()
    (library / "trailing/latest").write_text(json.dumps(manifest) + "\nnot json")
    (library / "shouting").mkdir()
    (library / "shouting/latest").write_text(json.dumps({key.upper(): value for key, value in manifest.items()}))
    (library / "mistyped").mkdir()
    (library / "mistyped/latest").write_text(json.dumps(dict(manifest, schemaVersion="2")))
    assert sorted(model.model for model in pulled.list().models) == \
        ["qwen2.5:0.5b", "shouting:latest", "trailing:latest"]
