"""Item 2: the disk fills during a pull. The data directory moves to a small filesystem (a 360 MiB
tmpfs in the lab host) seeded with the small model's files; the preflight's headroom is set to 0
so that the ~300 MiB model fits on paper; once a third of it is down, another writer fills the
filesystem. The play must fail with a clear error (host, directory, bytes needed and free), list
no half model, and leave the models already there intact (same digests, same blob hashes)."""
import os
import shlex
import time

import pytest

import faultlab as fl

SIZE_MIB = 360
_SEEN = {}


# Run in the lab host with the seeded data directory for %s: copies from the host's own data directory
# the blobs under 1 MiB that the seeded manifests reference.
SEED_REFERENCED_BLOBS = """
import glob, json, os, shutil
dst = "%s/models"
refs = set()
for path in glob.glob(dst + "/manifests/*/*/*/*"):
    manifest = json.load(open(path))
    refs.update(blob["digest"] for blob in [manifest["config"]] + manifest["layers"])
for digest in refs:
    name = digest.replace(":", "-")
    src = os.path.join("/var/lib/ollama/models/blobs", name)
    if os.path.isfile(src) and os.path.getsize(src) < 1024 * 1024:
        shutil.copy2(src, os.path.join(dst, "blobs", name))
"""


def _blob_hashes(data_dir):
    out = fl.in_host(fl.HOST, "cd %s/models/blobs && for f in sha256-*; do case $f in *-partial*) ;; *) "
                     "echo \"$f $(sha256sum < $f | cut -c1-64)\";; esac; done" % data_dir).stdout
    return dict(line.split() for line in out.splitlines())


def test_disk_fills_mid_pull(lab, figure, tmp_path):
    f = figure("2 disk fills mid-pull", "data dir on a %d MiB tmpfs seeded with %s; pull %s at 64 Mbit/s; at 1/3 "
               "another writer fills the filesystem" % (SIZE_MIB, fl.SMALL_MODEL, fl.BIG_MODEL))
    small = "/var/lib/ollama-small-%d" % time.time()
    manifest, _ = fl.registry_manifest(fl.BIG_MODEL)
    layer = max(manifest["layers"], key=lambda b: b["size"])
    needed = sum(b["size"] for b in [manifest["config"]] + manifest["layers"])
    partial = "%s/models/blobs/%s-partial" % (small, layer["digest"].replace(":", "-"))
    # The small filesystem, seeded with every model but the big one: their manifests and the small
    # blobs they reference. No blob without a manifest: Ollama deletes those when it starts.
    fl.in_host(fl.HOST, "set -e; mkdir -p {d}; mount -t tmpfs -o size={s}m,mode=0750 tmpfs {d}; "
               "mkdir -p {d}/models/blobs; cp -a /var/lib/ollama/models/manifests {d}/models/; "
               "rm -rf {d}/models/manifests/registry.ollama.ai/library/qwen2.5/3b; "
               "python3 -c {seed}".format(d=small, s=SIZE_MIB, seed=shlex.quote(SEED_REFERENCED_BLOBS % small)))
    before_models = {k: v for k, v in fl.model_set(fl.HOST).items() if k != fl.BIG_MODEL}
    before_blobs = _blob_hashes(small)
    extra = {"ollama_data_dir": small, "preflight_disk_headroom_gb": 0, "preflight_disk_margin": 1.0,
             "ollama_models_list": [{"name": fl.SMALL_MODEL}, {"name": fl.BIG_MODEL}]}
    fl.throttle(fl.HOST)
    try:
        proc = fl.start_play({**lab.vars, **extra}, log=str(tmp_path / "diskfull.log"))
        fl.wait_until(lambda: fl.file_bytes(fl.HOST, partial) >= layer["size"] / 3, 300,
                      "a third of the model on disk", interval=0.5)
        filled_at = time.monotonic()
        fl.in_host(fl.HOST, "dd if=/dev/zero of=%s/other-writer bs=1M 2>/dev/null; sync; true" % small, timeout=60)
        res = fl.finish_play(proc, timeout=(time.monotonic() - proc.started) + 300)
        time_to_fail = time.monotonic() - filled_at
    finally:
        fl.unthrottle(fl.HOST)
    df = fl.in_host(fl.HOST, "df -B1 --output=avail %s | tail -1" % small).stdout.strip()
    listed = fl.model_set(fl.HOST)
    after_models = {k: v for k, v in listed.items() if k != fl.BIG_MODEL}
    after_blobs = _blob_hashes(small)
    msgs = res.fatal_msgs()
    msg = " ".join(msgs)
    _SEEN.update(msg=msg, dir=small, needed=needed)
    f.add("time to fail after the disk filled", "%.0f s" % time_to_fail)
    f.add("free after", "%s bytes" % df)
    f.add("message", msg[:240] + "...")
    f.add("half model listed", fl.BIG_MODEL in listed)
    f.add("models there before: digests / blob sha256 equal", "%s / %s (%d models, %d blobs)" % (
        after_models == before_models, after_blobs == before_blobs, len(after_models), len(after_blobs)))
    assert res.rc != 0 and res.failed() == 1, res.tail(60)
    assert fl.BIG_MODEL in msg and "no space left on device" in msg.lower(), msg
    assert fl.BIG_MODEL not in listed
    assert after_models == before_models and before_models
    assert after_blobs == before_blobs
    # Give the host back its normal data directory (the next converge re-creates the container).
    fl.in_host(fl.HOST, "rm -f %s/other-writer" % small)
    if os.environ.get("FAULTS_KEEP_HOSTS") == "1":
        back = lab.converge(timeout=600, log=str(tmp_path / "back.log"))
        assert back.rc == 0, back.tail(40)
        fl.in_host(fl.HOST, "umount %s && rmdir %s" % (small, small), check=False)


def test_disk_full_message_names_directory_and_bytes(lab, figure):
    figure("2 disk fills mid-pull", "the failure message names host, data directory, bytes needed and bytes free")
    msg = _SEEN.get("msg")
    if msg is None:
        pytest.skip("the disk-full run did not happen")
    assert fl.HOST in msg
    assert _SEEN["dir"] in msg, "no directory in: %s" % msg
    assert "free" in msg.lower() and "need" in msg.lower(), msg
