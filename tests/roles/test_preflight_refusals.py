"""Preflight refusals (issue 4, must-show 2), each its own test, against a fresh lab host; and
check mode on that bare host, which must predict changes and make none.

Every refusal must come before anything changes: the play fails on the host with changed=0, and
the host has no container engine afterwards. Needs the lab (lab/bin/lab up); skipped without it.
"""

import json
import os
import pathlib
import re
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST = "llmops-preflight-test"
REGISTRY_CONTAINER = "llmops-lab-registry"


def lab_is_up():
    probe = subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", REGISTRY_CONTAINER], capture_output=True, text=True)
    return probe.returncode == 0 and probe.stdout.strip() == "true"


pytestmark = pytest.mark.skipif(not lab_is_up(), reason="the lab is not up (lab/bin/lab up)")


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def inventory(tmp_path_factory):
    sh(str(ROOT / "lab/bin/lab"), "host", "rm", HOST, check=False)
    sh(str(ROOT / "lab/bin/lab"), "host", "up", HOST)
    inv = tmp_path_factory.mktemp("inventory")
    (inv / "hosts.yml").write_text(json.dumps({"llm_servers": {"hosts": {HOST: {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}}}}))
    (inv / "group_vars").symlink_to(ROOT / "lab/inventory/group_vars")
    yield inv
    sh(str(ROOT / "lab/bin/lab"), "host", "rm", HOST, check=False)


def site(inventory, extra_vars):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_COLLECTIONS_PATH"] = sh(str(ROOT / "tests/collection_path.sh")).stdout.strip()
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(ROOT / "site.yml"), "-e", json.dumps(extra_vars)],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    return proc.returncode, proc.stdout + proc.stderr


def recap(output):
    line = [ln for ln in output.splitlines() if ln.startswith(HOST) and "changed=" in ln][-1]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def failed_task(output):
    task = None
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK ["):line.index("]")]
        elif line.startswith("fatal: [%s]" % HOST):
            return task
    return None


def in_host(*args):
    return subprocess.run(["docker", "exec", HOST, *args], capture_output=True, text=True)


def assert_nothing_changed(output):
    counts = recap(output)
    assert counts["failed"] == 1 and counts["changed"] == 0, counts
    assert in_host("dpkg-query", "-W", "docker.io").returncode != 0, "docker.io was installed"
    assert in_host("test", "-e", "/var/lib/ollama/models").returncode != 0, "the data directory was written"


def host_ram_gb():
    kb = int(re.search(r"MemTotal:\s+(\d+)", in_host("cat", "/proc/meminfo").stdout).group(1))
    return kb * 1024 / 1e9


@pytest.mark.ci_may_skip("a property of the machine: with 64.5 GB of RAM or more a 70B model fits")
def test_a_70b_model_is_refused_with_ram_needed_and_present(inventory):
    # 70.6B is above the 70B bracket (64 GB), so the need grows in proportion: 70.6 * 64 / 70 = 64.5 GB.
    if host_ram_gb() >= 64.5:
        pytest.skip("this machine has 64 GB of RAM or more; a 70B model fits")
    rc, out = site(inventory, {"ollama_models_list": [{"name": "llama3:70b"}]})
    assert rc != 0
    assert failed_task(out) == "llmops.ollama.preflight : Fail with every shortfall of the host at once"
    message = re.search(r"RAM: llama3:70b \(70\.6B parameters, from the registry\) needs 64\.5 GB, the host has ([0-9.]+) GB", out)
    assert message, out
    assert abs(float(message.group(1)) - host_ram_gb()) < 0.1
    assert "ollama_models_list" in out and "preflight_ram_gb_per_size" in out
    assert_nothing_changed(out)


def test_too_little_disk_is_refused_before_any_pull(inventory):
    assert in_host("mkdir", "-p", "/var/lib/ollama").returncode == 0
    assert in_host("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", "/var/lib/ollama").returncode == 0
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    try:
        # qwen2.5:3b holds about 300 MB; no headroom, so the model's own size is what does not fit.
        rc, out = site(inventory, {"ollama_models_list": [{"name": "qwen2.5:3b"}], "preflight_disk_headroom_gb": 0})
    finally:
        in_host("umount", "/var/lib/ollama")
        in_host("rmdir", "/var/lib/ollama")
    assert rc != 0
    assert failed_task(out) == "llmops.ollama.preflight : Fail with every shortfall of the host at once"
    assert re.search(r"disk: the models need 0\.3 GB free at /var/lib/ollama \(on /var/lib/ollama, .*\), the host has 0\.1 GB", out), out
    # Blob requests from this lab host (other tests may use the registry at the same time).
    ip = sh("docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "llmops-lab").IPAddress}}', HOST).stdout.strip()
    logs = sh("docker", "logs", "--since", since, REGISTRY_CONTAINER)
    # Preflight reads the small config blob (the model's metadata); no layer may be fetched.
    req = urllib.request.Request("http://127.0.0.1:5000/v2/library/qwen2.5/manifests/3b",
                                 headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        layers = [layer["digest"] for layer in json.load(resp)["layers"]]
    pulls = [ln for ln in (logs.stdout + logs.stderr).splitlines()
             if ln.startswith(ip + " ") and any("/blobs/" + digest in ln for digest in layers)]
    assert pulls == []
    assert_nothing_changed(out)


@pytest.mark.parametrize("extra_vars, task, message", [
    ({"ollama_models_list": [{"name": "../etc/passwd"}]},
     "llmops.ollama.ollama_models : Refuse an invalid model list",
     'invalid ollama_models_list: name="../etc/passwd" is not a valid Ollama model name'),
    ({"ollama_models_list": [{"name": "UPPER CASE"}]},
     "llmops.ollama.ollama_models : Refuse an invalid model list",
     'name="UPPER CASE" is not a valid Ollama model name'),
    ({"ollama_origins": ["*"]},
     "llmops.ollama.ollama : Refuse invalid or unsafe Ollama settings",
     'ollama_origins=["*"] allows every origin'),
    ({"ollama_image_tag": "0.17.0"},
     "llmops.ollama.ollama : Refuse invalid or unsafe Ollama settings",
     'ollama_image_tag="0.17.0" is below the minimum 0.35.1'),
    ({"ollama_port": 70000},
     "llmops.ollama.ollama : Refuse invalid or unsafe Ollama settings",
     "ollama_port=70000 is outside 1-65535"),
    ({"container_runtime_engine": "lxc"},
     "llmops.ollama.container_runtime : Validating arguments against arg spec 'preflight' - Checks the container runtime"
     " settings and states the packages that must not be installed",
     "value of container_runtime_engine must be one of: docker, podman, got: lxc"),
], ids=["path-as-model-name", "upper-case-with-space", "origins-star", "version-below-floor", "port-out-of-range", "unknown-engine"])
def test_bad_input_is_refused_at_validation(inventory, extra_vars, task, message):
    rc, out = site(inventory, extra_vars)
    assert rc != 0
    assert failed_task(out) == task
    assert message in out, out
    assert HOST in out
    assert_nothing_changed(out)


def test_check_mode_on_a_bare_host_predicts_changes_and_changes_nothing(inventory):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_COLLECTIONS_PATH"] = sh(str(ROOT / "tests/collection_path.sh")).stdout.strip()
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(ROOT / "site.yml"), "--check", "--diff"],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    counts = recap(out)
    assert counts["failed"] == 0 and counts["changed"] > 0, counts
    assert "would create the container ollama" in out and "would pull qwen2.5:0.5b" in out
    assert in_host("dpkg-query", "-W", "docker.io").returncode != 0, "docker.io was installed"
    assert in_host("test", "-e", "/var/lib/ollama").returncode != 0, "the data directory was created"
    assert in_host("test", "-e", "/etc/llmops").returncode != 0, "the access code was written"
