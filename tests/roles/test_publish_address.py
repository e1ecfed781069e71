"""ollama_publish_address on the host's own lab-network address (issue 10, must-show 3): site.yml
converges, the models role and rollout.yml's health gate reach the API at that address, and
nothing answers on 127.0.0.1:11434 (so no role quietly used loopback). Needs the lab."""

import json
import os
import pathlib
import re
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOST = "llmops-publish-test"
LAB = str(ROOT / "lab/bin/lab")


def sh(*args, check=True, timeout=900):
    return subprocess.run(list(args), capture_output=True, text=True, check=check, timeout=timeout)


def in_host(*args):
    return subprocess.run(["docker", "exec", HOST, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def lab_host(tmp_path_factory):
    sh(LAB, "up")
    sh(LAB, "host", "rm", HOST, check=False)
    sh(LAB, "host", "up", HOST)
    address = sh("docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "llmops-lab").IPAddress}}', HOST).stdout.strip()
    assert re.fullmatch(r"10\.213\.0\.\d+", address), address
    inv = tmp_path_factory.mktemp("inventory")
    (inv / "hosts.yml").write_text(json.dumps({"llm_servers": {"hosts": {HOST: {
        "ansible_connection": "community.docker.docker", "ansible_python_interpreter": "/usr/bin/python3"}}}}))
    (inv / "group_vars").symlink_to(ROOT / "lab/inventory/group_vars")
    yield inv, address
    sh(LAB, "host", "rm", HOST, check=False)


def play(inventory, playbook, extra_vars):
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1")
    env["ANSIBLE_COLLECTIONS_PATH"] = sh(str(ROOT / "tests/collection_path.sh")).stdout.strip()
    proc = subprocess.run(["ansible-playbook", "-i", str(inventory), str(ROOT / playbook), "-e", json.dumps(extra_vars)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    return proc.returncode, proc.stdout + proc.stderr


def api_tags(url):
    code = "import json, sys, urllib.request; print(json.dumps(json.load(urllib.request.urlopen(sys.argv[1], timeout=5))))"
    return in_host("python3", "-c", code, url + "/api/tags")


def test_the_api_published_on_a_host_address_is_reached_there(lab_host):
    inventory, address = lab_host
    extra = {"ollama_publish_address": address, "ollama_allow_public_api": True}

    rc, out = play(inventory, "site.yml", extra)
    assert rc == 0, out[-4000:]
    assert "Wait until the Ollama API answers at http://%s:11434" % address in out, out[-4000:]

    published = in_host("docker", "port", "ollama", "11434/tcp").stdout.split()
    assert published == ["%s:11434" % address], published
    listed = api_tags("http://%s:11434" % address)
    assert listed.returncode == 0, listed.stderr
    assert "qwen2.5:0.5b" in [m["name"] for m in json.loads(listed.stdout)["models"]]
    assert api_tags("http://127.0.0.1:11434").returncode != 0, "something answers on loopback"

    rc, out = play(inventory, "playbooks/rollout.yml", extra)
    assert rc == 0, out[-4000:]
    gate = re.search(r"TASK \[Health gate \| each model answers a prompt within the time limit\].*?\n(ok|changed): \[%s\]" % HOST,
                     out, re.S)
    assert gate, out[-4000:]
    assert re.search(r"%s\s+: ok=\d+\s+changed=0\s+unreachable=0\s+failed=0" % HOST, out), out[-2000:]
