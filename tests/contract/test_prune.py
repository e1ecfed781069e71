"""What `ollama serve` deletes from the models directory before it listens, version by version.

The source facts these tests hold the double to are written down at the top of
lab/doubles/ollama/ollama_double/prune.py (server/routes.go Serve, server/images.go PruneLayers,
manifest/manifest.go Manifests, manifest/paths.go PruneDirectory, envconfig OLLAMA_NOPRUNE):
up to v0.21.0-rc0 every `*-partial` (any name that is not sha256-<64 hex>) and every blob no
manifest references goes at start; from v0.21.0-rc1 on, anything in blobs/ modified less than an
hour ago is spared; one corrupt manifest makes Ollama skip the whole prune.
"""

import hashlib
import json
import os
import re
import time

import ollama
import pytest

from lab_processes import REPO, Double

HOUR = 3600
GRACE_VERSION = "0.21.0"


def _lab_tags():
    text = (REPO / "lab" / "versions.env").read_text()
    return re.search(r'^OLLAMA_TAGS="([^"]*)"', text, re.M).group(1).split()


VERSIONS = list(dict.fromkeys(_lab_tags() + [GRACE_VERSION]))


def grace(version):
    return tuple(int(part) for part in version.split("-")[0].split(".")) >= (0, 21, 0)


@pytest.fixture
def serve(tmp_path, upstream):
    """serve(version, **env): `ollama serve` on tmp_path/models (a restart keeps the directory)."""
    running = []

    def start(version, **env):
        for double in running:
            double.stop()
        double = Double(tmp_path, upstream.url, {"OLLAMA_DOUBLE_VERSION": version, **env})
        running.append(double)
        return double

    start.models = tmp_path / "models"
    yield start
    for double in running:
        double.stop()


def digest_of(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def age(path, seconds):
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp), follow_symlinks=False)


def plant(models, name, data=b"", older_than=0):
    """A file in blobs/ named `name`, its mtime `older_than` seconds ago."""
    path = models / "blobs" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    age(path, older_than)
    return path


def plant_blob(models, data, older_than=0):
    digest = digest_of(data)
    return digest, plant(models, "sha256-" + digest[7:], data, older_than)


def plant_model(models, model="handmade", tag="latest", older_than=2 * HOUR):
    """A complete model copied in by hand: config and one layer blob, then the manifest."""
    config = json.dumps({"model_format": "gguf", "model_family": "qwen2", "model_type": "494.03M",
                         "file_type": "Q4_K_M"}).encode()
    config_digest, config_path = plant_blob(models, config, older_than)
    layer_digest, layer_path = plant_blob(models, b"weights of " + model.encode(), older_than)
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                           "digest": config_digest, "size": len(config)},
                "layers": [{"mediaType": "application/vnd.ollama.image.model",
                            "digest": layer_digest, "size": len(b"weights of " + model.encode())}]}
    path = models / "manifests" / "registry.ollama.ai" / "library" / model / tag
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest))
    return path, [config_path, layer_path]


def blob_names(models):
    return sorted(path.name for path in (models / "blobs").iterdir())


def log_lines(double, pattern):
    return [line for line in double.log.read_text().splitlines() if re.search(pattern, line)]


def listed(double):
    return [model.model for model in ollama.Client(host=double.url).list().models]


# --- orphans, partials and the grace period --------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_orphans_and_partials_go_at_start_fresh_ones_stay_from_v0_21(serve, version):
    models = serve.models
    fresh_orphan = plant_blob(models, b"fresh orphan")[1]
    old_orphan = plant_blob(models, b"old orphan", older_than=2 * HOUR)[1]
    hexdigest = hashlib.sha256(b"download").hexdigest()
    fresh_partials = [plant(models, f"sha256-{hexdigest}-partial"),
                      plant(models, f"sha256-{hexdigest}-partial-0", b"{}"),
                      plant(models, "notes.txt")]
    old_partial = plant(models, f"sha256-{'e' * 64}-partial", older_than=2 * HOUR)
    kept_by_grace = [fresh_orphan.name] + [path.name for path in fresh_partials]

    double = serve(version)

    expected = sorted(kept_by_grace) if grace(version) else []
    assert blob_names(models) == expected
    assert not old_orphan.exists() and not old_partial.exists()
    counted = 1 if grace(version) else 2
    assert len(log_lines(double, rf'level=INFO source=images\.go:\d+ msg="total blobs: {counted}"$')) == 1
    assert len(log_lines(double, rf'level=INFO source=images\.go:\d+ '
                                 rf'msg="total unused blobs removed: {counted}"$')) == 1
    text = double.log.read_text()
    assert text.index("total unused blobs removed") < text.index("Listening on")


def test_the_grace_period_is_one_hour_of_mtime(serve):
    models = serve.models
    younger = plant_blob(models, b"59 minutes", older_than=59 * 60)[1]
    older = plant_blob(models, b"61 minutes", older_than=61 * 60)[1]
    future = plant_blob(models, b"from the future", older_than=-HOUR)[1]
    partial_younger = plant(models, f"sha256-{'a' * 64}-partial", older_than=59 * 60)
    partial_older = plant(models, f"sha256-{'b' * 64}-partial", older_than=61 * 60)
    serve(GRACE_VERSION)
    assert younger.exists() and future.exists() and partial_younger.exists()
    assert not older.exists() and not partial_older.exists()


@pytest.mark.parametrize("version, spared", [("0.20.8-rc0", False), ("0.21.0-rc0", False),
                                             ("0.21.0-rc1", True), ("0.21.0", True),
                                             ("0.33.0-rc2", True)])
def test_the_grace_period_begins_with_v0_21_0_rc1(serve, version, spared):
    orphan = plant_blob(serve.models, b"just written")[1]
    serve(version)
    assert orphan.exists() == spared


@pytest.mark.parametrize("version", VERSIONS)
def test_directories_in_blobs(serve, version):
    models = serve.models
    (models / "blobs" / "empty").mkdir(parents=True)
    (models / "blobs" / "full").mkdir()
    (models / "blobs" / "full" / "file").write_bytes(b"")
    for directory in ("empty", "full"):
        age(models / "blobs" / directory, 2 * HOUR)
    double = serve(version)
    errors = log_lines(double, r'level=ERROR .*msg="couldn\'t remove blob" blob=full '
                               r'error="remove .*/blobs/full: directory not empty"')
    if grace(version):  # skipped whatever their name or age
        assert blob_names(models) == ["empty", "full"] and errors == []
    else:  # an invalid name: os.Remove, which takes an empty directory and fails on a full one
        assert blob_names(models) == ["full"] and len(errors) == 1


# --- OLLAMA_NOPRUNE --------------------------------------------------------------------------------

@pytest.mark.parametrize("value, prunes", [("1", False), ("true", False), ("yes", False),
                                           ("no", False), ("'true'", False), ("0", True),
                                           ("false", True), ("F", True), (" False ", True)])
def test_noprune_is_read_as_go_bool_where_a_word_it_cannot_parse_means_true(serve, value, prunes):
    models = serve.models
    orphan = plant_blob(models, b"orphan", older_than=2 * HOUR)[1]
    partial = plant(models, f"sha256-{'c' * 64}-partial", older_than=2 * HOUR)
    double = serve(GRACE_VERSION, OLLAMA_NOPRUNE=value)
    assert orphan.exists() != prunes and partial.exists() != prunes
    assert bool(log_lines(double, "total blobs")) == prunes
    assert (models / "manifests").exists() is False  # nothing left to keep, or never created


@pytest.mark.parametrize("version", VERSIONS)
def test_noprune_keeps_everything_but_blobs_is_created_and_colon_names_fixed(serve, version):
    models = serve.models
    plant(models, "sha256:" + "d" * 64, b"old style name", older_than=2 * HOUR)
    plant(models, f"sha256-{'d' * 64}-partial-3", older_than=2 * HOUR)
    serve(version, OLLAMA_NOPRUNE="1")
    assert blob_names(models) == [f"sha256-{'d' * 64}", f"sha256-{'d' * 64}-partial-3"]
    assert not (models / "manifests").exists()


# --- manifests -------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_a_pulled_model_survives_a_restart_and_still_answers(serve, published, version):
    models = serve.models
    double = serve(version)
    client = ollama.Client(host=double.url)
    client.pull("qwen2.5:0.5b")
    manifest = json.loads((models / "manifests/registry.ollama.ai/library/qwen2.5/0.5b").read_bytes())
    referenced = sorted("sha256-" + item["digest"][7:] for item in
                        manifest["layers"] + [manifest["config"]])
    for blob in (models / "blobs").iterdir():
        age(blob, 2 * HOUR)  # the grace period is not what keeps them
    orphan = plant_blob(models, b"left behind", older_than=2 * HOUR)[1]

    double = serve(version)

    assert blob_names(models) == referenced and not orphan.exists()
    assert listed(double) == ["qwen2.5:0.5b"]
    assert ollama.Client(host=double.url).generate("qwen2.5:0.5b", "still here?").response
    assert log_lines(double, r'msg="total blobs: \d+"$')[0].endswith(f'"total blobs: {len(referenced) + 1}"')
    assert log_lines(double, 'msg="total unused blobs removed: 1"$')


@pytest.mark.parametrize("version", VERSIONS)
def test_empty_manifest_directories_go_and_the_manifests_directory_with_them(serve, version):
    models = serve.models
    (models / "manifests" / "registry.ollama.ai" / "library" / "gone").mkdir(parents=True)
    serve(version)
    assert (models / "blobs").is_dir() and not (models / "manifests").exists()

    plant_model(models)
    (models / "manifests" / "lab.example" / "team" / "gone" / "latest").mkdir(parents=True)
    double = serve(version)
    assert sorted(os.listdir(models / "manifests")) == ["registry.ollama.ai"]
    assert listed(double) == ["handmade:latest"]


CORRUPT = {
    "truncated": ("registry.ollama.ai/library/broken/latest", b'{"layers": [',
                  "registry.ollama.ai/library/broken:latest unexpected EOF"),
    "empty": ("registry.ollama.ai/library/broken/latest", b"",
              "registry.ollama.ai/library/broken:latest EOF"),
    "wrong type": ("registry.ollama.ai/library/broken/latest", b'{"layers": "none"}',
                   "registry.ollama.ai/library/broken:latest json: cannot unmarshal string into "
                   "Go struct field Manifest.layers of type []manifest.Layer"),
    "wrong layer field": ("registry.ollama.ai/library/broken/latest",
                          b'{"layers": [{"digest": "sha256:00", "size": "12"}]}',
                          "registry.ollama.ai/library/broken:latest json: cannot unmarshal string "
                          "into Go struct field Layer.layers.size of type int64"),
    "bad name": ("registry.ollama.ai/library/bad name/latest", b"{}",
                 "registry.ollama.ai/library/bad name/latest %!w(<nil>)"),
    "dot file": ("registry.ollama.ai/library/broken/.tmp-123", b"{}",
                 "registry.ollama.ai/library/broken/.tmp-123 %!w(<nil>)"),
    "dangling link": ("registry.ollama.ai/library/broken/latest", None,
                      "stat {models}/manifests/registry.ollama.ai/library/broken/latest: "
                      "no such file or directory"),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", list(CORRUPT))
def test_one_corrupt_manifest_makes_ollama_skip_the_whole_prune(serve, version, kind):
    models = serve.models
    relative, content, error = CORRUPT[kind]
    plant_model(models)
    orphan = plant_blob(models, b"orphan", older_than=2 * HOUR)[1]
    partial = plant(models, f"sha256-{'f' * 64}-partial", older_than=2 * HOUR)
    empty = models / "manifests" / "lab.example" / "team" / "gone"
    empty.mkdir(parents=True)
    bad = models / "manifests" / relative
    bad.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        bad.symlink_to(models / "nowhere")
    else:
        bad.write_bytes(content)
    before = blob_names(models)

    double = serve(version)

    assert blob_names(models) == before and empty.is_dir() and os.path.lexists(bad)
    warning = log_lines(double, r"level=WARN source=routes\.go:\d+ msg=\"corrupt manifests detected, "
                                r"skipping prune operation.  Re-pull or delete to clear\"")
    assert len(warning) == 1
    assert warning[0].endswith(" error=" + json.dumps(error.format(models=models)))
    assert log_lines(double, "total blobs") == []
    assert listed(double) == ["handmade:latest"]

    bad.unlink()
    serve(version)
    assert not orphan.exists() and not partial.exists() and not empty.exists()
    assert len(blob_names(models)) == 2  # the hand-made model's config and layer


def test_manifests_are_read_as_gos_json_decoder_and_glob_read_them(serve):
    """Bytes after the first JSON value are ignored, keys match case-insensitively, `null` is an
    empty manifest, and only files exactly four levels below manifests/ count (a dot file there
    is a bad name: see the corrupt cases)."""
    models = serve.models
    root = models / "manifests" / "registry.ollama.ai" / "library"
    trailing, trailing_blob = plant_blob(models, b"trailing", older_than=2 * HOUR)
    shouting, shouting_blob = plant_blob(models, b"shouting", older_than=2 * HOUR)
    deep, deep_blob = plant_blob(models, b"too deep", older_than=2 * HOUR)
    for name, body in (("trailing", json.dumps({"layers": [{"digest": trailing}]}) + "garbage"),
                       ("shouting", json.dumps({"LAYERS": [{"Digest": shouting}]})),
                       ("nothing", "null")):
        (root / name).mkdir(parents=True)
        (root / name / "latest").write_text(body)
    (root / "deep" / "latest").mkdir(parents=True)
    (root / "deep" / "latest" / "extra").write_text(json.dumps({"layers": [{"digest": deep}]}))

    double = serve("0.17.1")

    assert trailing_blob.exists() and shouting_blob.exists() and not deep_blob.exists()
    assert log_lines(double, "corrupt manifests") == []
    assert (root / "deep" / "latest" / "extra").exists()
