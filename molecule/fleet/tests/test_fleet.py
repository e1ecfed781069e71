"""What the fleet rollout must show (issue 5, must-shows 1 and 4).

After converge (playbooks/rollout.yml, serial 1, the lab mirror emptied by prepare) and
molecule's idempotence run: llmops-fleet-1 and -2 serve the models, llmops-fleet-3 (refused by
preflight) is untouched, each model blob left the upstream registry once, a re-run changes nothing
and moves no blob, the default refuses to go on past a preflight failure, and a failed health gate
stops the rollout with the hosts of later batches untouched. The tests run in file order; the last
one leaves the fleet broken on purpose (destroy follows).
"""

import json
import os
import subprocess
import sys
import threading
import time

import pytest
import testinfra

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
sys.path.insert(0, os.path.join(PROJECT, "tests/fleet"))
sys.path.insert(0, os.path.join(PROJECT, "tests/exposure"))
from lan_neighbour import assert_only_the_front_door_answers, neighbour_finds  # noqa: E402
from fleet_lab import (MIRROR, MIRROR_CONTAINER, UPSTREAM, UPSTREAM_CONTAINER, blob_gets, host_ip, manifest_digest,
                       model_blobs, recap)  # noqa: E402

INVENTORY = os.path.dirname(os.environ.get("MOLECULE_INVENTORY_FILE", "/nonexistent/x"))
EPHEMERAL = os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "")
CONVERGE = os.path.join(PROJECT, "molecule/fleet/converge.yml")
HEALTHY = ["llmops-fleet-1", "llmops-fleet-2"]
REFUSED = "llmops-fleet-3"
FLEET = HEALTHY + [REFUSED]
MODEL = "qwen2.5:0.5b"


def since():
    with open(os.path.join(EPHEMERAL, "fleet-start"), encoding="utf-8") as fh:
        return fh.read().strip()


def host(name):
    return testinfra.get_host("docker://" + name)


def api(name, path, body=None):
    code = ("import json,sys,urllib.request;d=sys.argv[2].encode() if len(sys.argv)>2 else None;"
            "r=urllib.request.Request('http://127.0.0.1:11434'+sys.argv[1],data=d);"
            "print(urllib.request.urlopen(r,timeout=60).read().decode())")
    args = ["docker", "exec", name, "python3", "-c", code, path] + ([json.dumps(body)] if body else [])
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)


def containers(name):
    cmd = host(name).run("docker ps -a --format '{{.Names}}'")
    return cmd.stdout.split() if cmd.rc == 0 else []


def rollout(*extra):
    """converge.yml (the rollout, serial 1) against the scenario's inventory; (rc, output)."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, "build/collections"))
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, CONVERGE, *extra], capture_output=True, text=True,
                          env=env, cwd=PROJECT, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_host_serves_the_model_with_the_upstream_digest(name):
    tags = {m["name"]: m["digest"] for m in api(name, "/api/tags")["models"]}
    assert tags.get(MODEL) == manifest_digest(UPSTREAM, MODEL)
    answer = api(name, "/api/generate", {"model": MODEL, "prompt": "Say OK.", "stream": False})
    assert answer["response"]
    assert {"ollama", "lobechat"} <= set(containers(name))


def test_host_refused_by_preflight_is_untouched():
    assert "ollama" not in containers(REFUSED)
    assert not host(REFUSED).file("/var/lib/ollama").exists


def test_a_lan_neighbour_of_the_debian_13_host_reaches_only_the_front_door():
    """Issue 11, must-show 1, on Debian 13 with Docker (llmops-fleet-2, Docker 26 from Debian): a neighbour on the lab
    network routes the collection's subnets, and 127.0.0.1, through the host: only the front door answers; without
    the filter's jump the same probes reach Ollama (the check can fail)."""
    name = "llmops-fleet-2"
    assert host(name).system_info.release.split(".")[0] == "13"
    found = neighbour_finds(host(name).check_output, "docker", host_ip(name))
    assert {"ollama@llmops", "ollama-guard@llmops", "lobechat@llmops-ui", "front-door@llmops-ui"} <= set(found["containers"])
    assert_only_the_front_door_answers(found, name)


def test_mirror_holds_the_model_with_the_same_digest():
    assert manifest_digest(MIRROR, MODEL) == manifest_digest(UPSTREAM, MODEL)


def test_each_model_layer_left_upstream_once_and_the_other_host_read_the_mirror():
    ips = [host_ip(n) for n in FLEET]
    # Preflight also reads each model's small config blob (metadata) on hosts that lack the model.
    layers = model_blobs(UPSTREAM, MODEL, config=False)
    upstream = blob_gets(UPSTREAM_CONTAINER, ips, since())
    assert sorted(g["digest"] for g in upstream if g["digest"] in layers) == sorted(layers)
    assert sum(g["bytes"] for g in upstream if g["digest"] in layers) == sum(layers.values())
    # The other healthy host fetched every layer from the mirror, once; with a mirror set, preflight
    # sizes models from it, so a host that lacks the model (the refused one, on each run) reads the
    # config blob there too, and nothing else.
    mirror = blob_gets(MIRROR_CONTAINER, ips, since())
    mirror_layers = [g for g in mirror if g["digest"] in layers]
    assert sorted(g["digest"] for g in mirror_layers) == sorted(layers)
    assert {g["client"] for g in mirror_layers} == {host_ip(HEALTHY[1])}
    assert {g["digest"] for g in mirror} == set(model_blobs(UPSTREAM, MODEL))


def test_rerun_on_the_converged_fleet_changes_nothing_and_moves_no_blob():
    # The refused host is not converged: its preflight sizes the models again (config blobs).
    ips = [host_ip(n) for n in HEALTHY]
    before = (len(blob_gets(UPSTREAM_CONTAINER, ips, since())), len(blob_gets(MIRROR_CONTAINER, ips, since())))
    rc, out = rollout()
    assert rc == 0, out[-3000:]
    assert all(r["changed"] == 0 and r["failed"] == 0 for r in recap(out).values()), out[-3000:]
    after = (len(blob_gets(UPSTREAM_CONTAINER, ips, since())), len(blob_gets(MIRROR_CONTAINER, ips, since())))
    assert after == before


SITE = os.path.join(PROJECT, "site.yml")


def test_site_yml_fetches_a_missing_model_from_the_mirror_not_upstream():
    # The ollama_models role does the mirror flow, so site.yml uses the mirror too (issue 10).
    name = HEALTHY[1]
    ip = host_ip(name)
    started = str(int(time.time()) - 1)
    assert host(name).run("rm -rf /var/lib/ollama/models").rc == 0
    assert MODEL not in [m["name"] for m in api(name, "/api/tags")["models"]]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, "build/collections"))
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY, SITE, "--limit", name], capture_output=True, text=True,
                          env=env, cwd=PROJECT, timeout=900)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "Fetch the model from the mirror | %s" % MODEL in out
    listed = {m["name"]: m["digest"] for m in api(name, "/api/tags")["models"]}
    assert listed.get(MODEL) == manifest_digest(UPSTREAM, MODEL)
    # Every blob came from the mirror (preflight sizes from it too, reading the config blob once more);
    # nothing from upstream.
    from_mirror = blob_gets(MIRROR_CONTAINER, [ip], started)
    assert {r["digest"] for r in from_mirror if r["status"] == 200} == set(model_blobs(MIRROR, MODEL))
    assert blob_gets(UPSTREAM_CONTAINER, [ip], started) == []


def tags(name):
    return {m["name"]: m["digest"] for m in api(name, "/api/tags")["models"]}


def test_a_model_swapped_on_the_mirror_after_the_first_host_filled_it_is_refused_by_the_next():
    """Issue 11: the digest the seeding host pushed pins the fetches of the later batches. Both healthy hosts lose
    the model and the mirror is emptied, so the rollout (serial 1) has llmops-fleet-1 pull it from upstream and fill
    the mirror again; the moment the mirror has it, the test replaces its manifest there (another build of the model,
    blobs put there beforehand), as a compromised mirror would. llmops-fleet-2, in the next batch, must refuse it,
    naming both digests, and fetch nothing. Runs after test_report.py (conftest.py): it leaves llmops-fleet-2 without
    the model."""
    sys.path.insert(0, os.path.join(PROJECT, "lab/models"))
    import build  # noqa: E402 (lab/models)
    import catalog  # noqa: E402
    import oci  # noqa: E402

    good = manifest_digest(UPSTREAM, MODEL)
    swapped = build.build(MODEL, dict(catalog.MODELS[MODEL], display="Swapped on the mirror"))
    bad = swapped.digest.split(":", 1)[1]
    assert good and bad != good
    for name in HEALTHY:
        assert host(name).run("rm -rf /var/lib/ollama/models").rc == 0
    subprocess.run([os.path.join(PROJECT, "lab/bin/lab"), "mirror", "reset"], check=True, capture_output=True,
                   timeout=300)
    mirror = oci.Registry(MIRROR)
    for blob in swapped.blobs:
        mirror.upload_blob(swapped.repository, blob.digest, blob.size, blob.chunks)
    stop, swapped_at = threading.Event(), []

    def swap_once_filled():
        while not stop.is_set():
            if manifest_digest(MIRROR, MODEL) == good:
                mirror.put_manifest(swapped.repository, swapped.tag, swapped.manifest)
                swapped_at.append(time.time())
                return
            time.sleep(0.2)

    swapper = threading.Thread(target=swap_once_filled, daemon=True)
    swapper.start()
    try:
        rc, out = rollout()
    finally:
        stop.set()
        swapper.join(10)
        # The mirror back to the model llmops-fleet-1 pushed.
        mirror.put_manifest(swapped.repository, swapped.tag, oci.Registry(UPSTREAM).get_manifest(swapped.repository,
                                                                                                 swapped.tag))
    assert swapped_at, "the mirror never got the model from llmops-fleet-1:\n" + out[-3000:]
    assert rc != 0, out[-3000:]
    assert tags(HEALTHY[0]).get(MODEL) == good
    fatal = [line for line in out.splitlines() if line.startswith("fatal: [%s]" % HEALTHY[1])]
    assert fatal and good in fatal[0] and bad in fatal[0], out[-3000:]
    assert MODEL not in tags(HEALTHY[1])
    assert not [b for b in swapped.layers if host(HEALTHY[1]).file("/var/lib/ollama/models/blobs/" + b.digest.replace(
        ":", "-")).exists and b.digest not in model_blobs(UPSTREAM, MODEL)], "a blob of the swapped model was written"


def test_by_default_a_preflight_failure_stops_the_rollout_before_any_change():
    rc, out = rollout("-e", "rollout_allow_preflight_failures=false")
    assert rc != 0
    assert "preflight failed on %s; no host was changed" % REFUSED in out
    assert "RAM:" in out
    assert "PLAY [Roll out in batches" not in out


def test_failed_health_gate_stops_the_rollout_and_later_hosts_stay_untouched(tmp_path):
    # llmops-fleet-2 back to a host the rollout has not reached yet (its containers removed).
    assert host(HEALTHY[1]).run("docker rm -f ollama lobechat").rc == 0
    # llmops-fleet-1's model now answers slower than its gate allows (8 tokens, 3 s each, 10 s limit).
    slow = tmp_path / "slow.yml"
    slow.write_text(json.dumps({"all": {"hosts": {HEALTHY[0]: {
        "rollout_health_timeout": 10,
        "ollama_extra_env": {"OLLAMA_DOUBLE_UPSTREAM": "http://10.213.0.2:5000", "OLLAMA_DOUBLE_TOKEN_DELAY": "3"},
    }}}}))
    rc, out = rollout("-i", str(slow))
    assert rc != 0
    assert 'rollout failed on %s at "Health gate | each model answers a prompt within the time limit"' % HEALTHY[0] in out
    assert "Not yet touched (later batches): %s" % HEALTHY[1] in out
    assert "ollama" not in containers(HEALTHY[1])
    assert "ollama" not in containers(REFUSED)
