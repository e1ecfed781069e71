# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet's seeder digest (issue 11, supply chain): with a mirror, the host that fills it pins every
other host's fetch to the digest it pulled, in its own batch and in later ones, so a model swapped on the
mirror between hosts never reaches the rest of the fleet.

ansible-playbook runs the ollama_models role (roles/ollama_models/tasks/mirror.yml, as rollout.yml and
site.yml run it) on two inventory hosts that are two Ollama doubles on loopback, with a real registry as
the upstream and another, empty, as the mirror. The playbook (playbooks/fleet_digest_pin.yml) replaces the
model's manifest on the mirror after the first batch when the test asks it to."""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request

import pytest

from lab_processes import REPO, Registry

import build  # noqa: E402 (lab/models, put on the path by conftest)
import catalog  # noqa: E402
import oci  # noqa: E402

PLAYBOOK = REPO / "tests" / "contract" / "playbooks" / "fleet_digest_pin.yml"
MODEL = "qwen2.5:0.5b"
HOSTS = ["fleet-a", "fleet-b"]


@pytest.fixture
def mirror(tmp_path_factory):
    handle = Registry.start(tmp_path_factory.mktemp("mirror"))
    yield handle
    handle.stop()


@pytest.fixture
def swapped(mirror, tmp_path):
    """Another model under the same name and tag (a different GGUF, so another digest): its blobs are put in the
    mirror's repository beforehand, and its manifest's exact bytes in a file, for the playbook's hook to PUT."""
    model = build.build(MODEL, dict(catalog.MODELS[MODEL], display="Swapped on the mirror"))
    client = oci.Registry(mirror.url)
    for blob in model.blobs:
        client.upload_blob(model.repository, blob.digest, blob.size, blob.chunks)
    path = tmp_path / "swapped-manifest.json"
    path.write_bytes(model.manifest)
    return model, path


def tags(double):
    with urllib.request.urlopen(double.url + "/api/tags", timeout=10) as reply:
        return {m["name"]: m["digest"] for m in json.load(reply)["models"]}


def rollout(doubles, mirror, upstream, tmp_path, **extra):
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"fleet": {"hosts": {
        name: {"ansible_connection": "local", "ansible_python_interpreter": str(REPO / ".venv" / "bin" / "python"),
               "ollama_models_api_url": double.url, "ollama_models_data_dir": str(double.models.parent)}
        for name, double in zip(HOSTS, doubles)}}}))
    extra_vars = dict({"ollama_models_list": [{"name": MODEL}], "ollama_models_mirror_url": mirror.url,
                       "ollama_models_mirror_allow_http": True, "ollama_models_registry_url": upstream.url,
                       "ollama_models_progress_interval": 1}, **extra)
    # The async job files at an absolute path: with the local connection the job writes under $HOME while
    # async_status looks under the user's home from the password database, and CI runs with another $HOME.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / "build" / "collections"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_ASYNC_DIR=str(tmp_path / "async"))
    argv = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOK),
            "-e", json.dumps(extra_vars)]
    res = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
    return res.returncode, res.stdout + res.stderr


def recap(output):
    return {m.group(1): {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
            for m in re.finditer(r"^(fleet-[ab])\s+:\s+(ok=.*)$", output.split("PLAY RECAP")[-1], re.M)}


def test_a_model_swapped_on_the_mirror_after_the_seeder_is_refused_on_the_next_batch(
        start_double, published, upstream, mirror, swapped, tmp_path):
    model, manifest_file = swapped
    good = published[MODEL].digest[len("sha256:"):]
    bad = model.digest[len("sha256:"):]
    assert good != bad
    a, b = start_double(), start_double()
    rc, out = rollout([a, b], mirror, upstream, tmp_path, swap_manifest=str(manifest_file),
                      swap_repository=model.repository, swap_tag=model.tag)
    assert rc != 0, out[-4000:]
    counts = recap(out)
    assert counts["fleet-a"]["failed"] == 0 and counts["fleet-b"]["failed"] == 1, out[-4000:]
    # fleet-a pulled the model from upstream, filled the mirror with it, and serves the upstream digest.
    assert tags(a) == {MODEL: good}
    # The hook did swap the mirror's model ...
    assert oci.Registry(mirror.url).get_manifest(model.repository, model.tag) == model.manifest
    # ... and fleet-b's fetch was pinned to what fleet-a pushed: refused before any blob, naming both digests.
    fatal = [line for line in out.splitlines() if line.startswith("fatal: [fleet-b]")]
    assert fatal, out[-4000:]
    assert good in fatal[0] and bad in fatal[0], fatal[0]
    assert "TASK [llmops.ollama.ollama_models : Fetch the model from the mirror | %s]" % MODEL in out
    assert tags(b) == {}
    swapped_only = {blob.digest for blob in model.blobs} - {blob.digest for blob in published[MODEL].blobs}
    assert swapped_only
    assert not [d for d in swapped_only if (b.models / "blobs" / d.replace(":", "-")).exists()], "a swapped blob was written"


def pins(output):
    """{host: (pin of the first fetch, pin of the fetch after the mirror was filled)}, '-' for none."""
    return {m.group(1): (m.group(2), m.group(3))
            for m in re.finditer(r'"msg": "pins (fleet-[ab]): (\S+) (\S+)"', output)}


def test_in_one_batch_the_other_host_fetches_pinned_to_the_digest_the_seeder_pushed(
        start_double, published, upstream, mirror, tmp_path):
    good = published[MODEL].digest[len("sha256:"):]
    a, b = start_double(), start_double()
    rc, out = rollout([a, b], mirror, upstream, tmp_path, pin_serial=2)
    assert rc == 0, out[-4000:]
    assert tags(a) == {MODEL: good} and tags(b) == {MODEL: good}
    # Neither first fetch had a pin (the mirror was empty); one host filled it, the other fetched after it,
    # pinned to the digest the first pushed.
    assert sorted(pins(out).values()) == [("-", "-"), ("-", good)], out[-4000:]


def test_the_next_batch_fetches_pinned_to_the_digest_the_seeder_pushed(
        start_double, published, upstream, mirror, tmp_path):
    good = published[MODEL].digest[len("sha256:"):]
    a, b = start_double(), start_double()
    rc, out = rollout([a, b], mirror, upstream, tmp_path)
    assert rc == 0, out[-4000:]
    assert tags(a) == {MODEL: good} and tags(b) == {MODEL: good}
    assert pins(out) == {"fleet-a": ("-", "-"), "fleet-b": (good, "-")}, out[-4000:]
    assert all(c["failed"] == 0 and c["changed"] > 0 for c in recap(out).values()), out[-4000:]
