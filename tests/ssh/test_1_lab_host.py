"""The SSH lab host after molecule/ssh's converge, idempotence and side effect (check mode): what the user's runs over
SSH left there, and what they printed (the README's commands, the rollout among them, run next: test_2).

The host's insides are read through testinfra's docker backend (root in the container); the front door from the
build machine over the lab network; the runs' whole output from build/molecule-ssh/logs (tests/ssh/labuser.py).
"""

from __future__ import annotations

import glob
import json
import os
import re
import socket
import ssl
import subprocess
import sys
import urllib.request

import pytest
import testinfra
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import labuser  # noqa: E402

SCRATCH = os.environ.get("LLMOPS_SSH_SCRATCH", os.path.join(labuser.ROOT, "build", "molecule-ssh"))
LAB_HOST = os.environ.get("LLMOPS_LAB_HOST", "llmops-ssh-host")
CERTIFICATE = "/etc/llmops/front-door/tls/certificate.pem"
with open(os.path.join(labuser.ROOT, "lab/inventory/group_vars/llm_servers.yml"), encoding="utf-8") as fh:
    MODELS = [m["name"] for m in yaml.safe_load(fh)["ollama_models_list"]]

pytestmark = pytest.mark.skipif(not os.path.isfile(os.path.join(SCRATCH, "logs", "converge.log")),
                                reason="run by molecule/ssh after its converge (no %s/logs/converge.log)" % SCRATCH)


@pytest.fixture(scope="module")
def host():
    return testinfra.get_host("docker://" + LAB_HOST)


@pytest.fixture(scope="module")
def address():
    out = subprocess.run(["docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "llmops-lab").IPAddress}}',
                          LAB_HOST], check=True, capture_output=True, text=True).stdout.strip()
    assert out
    return out


def ssh(address, command):
    """COMMAND on the lab host as the operator account, with this run's key."""
    return subprocess.run(["ssh", "-i", os.path.join(SCRATCH, "secrets", "id_ed25519"), "-o", "IdentitiesOnly=yes",
                           "-o", "BatchMode=yes", "-o", "UserKnownHostsFile=" + os.path.join(SCRATCH, "user", "known_hosts"),
                           "%s@%s" % (labuser.USER, address), command], capture_output=True, text=True, timeout=60)


def log(name):
    return labuser.read(os.path.join(SCRATCH, "logs", name + ".log"))


def test_the_runs_went_over_ssh_as_the_operator_with_sudo_asking_a_password():
    converge = log("converge")
    assert "ESTABLISH SSH CONNECTION FOR USER: %s" % labuser.USER in converge, "the first converge was not -vvv over SSH"
    assert "ESTABLISH DOCKER" not in converge
    # sudo was given a password (-S reads it from stdin, -p sets ansible's prompt) and never told not to ask (-n).
    assert re.search(r'sudo -H -S +-p "\[sudo via ansible', converge) and not re.search(r"sudo -H -S +-n", converge)


def test_the_operator_is_unprivileged_and_sudo_wants_its_password(address):
    who = ssh(address, "id -u; sudo -n true")
    assert who.stdout.split()[0] != "0", who.stdout
    assert who.returncode != 0 and "a password is required" in who.stderr, who.stderr


def test_the_collection_came_from_the_tarball_alone():
    found = labuser.installed(labuser.user_env(SCRATCH))
    tarball = glob.glob(os.path.join(SCRATCH, "dist", "llmops-ollama-*.tar.gz"))
    assert len(tarball) == 1 and found["llmops.ollama"] == labuser.manifest_of(tarball[0])["version"]
    for fqcn, constraint in labuser.requirements().items():
        assert labuser.satisfies(found[fqcn], constraint), (fqcn, found[fqcn], constraint)
    # The installed copy, not the checkout (a link in build/collections for the other scenarios), ran the modules.
    installed = os.path.join(SCRATCH, "collections", "ansible_collections", "llmops", "ollama")
    assert not os.path.islink(installed)
    used = [line for line in log("converge").splitlines() if line.startswith("Using module file") and "llmops" in line]
    assert used and all(installed + "/plugins/modules/" in line for line in used), used[:3]


def test_no_password_or_key_in_any_output():
    logs = sorted(glob.glob(os.path.join(SCRATCH, "logs", "*.log")))
    names = {os.path.basename(name)[:-4] for name in logs}
    assert {"converge", "idempotence", "check"} <= names, names
    for name in logs:
        with open(name, encoding="utf-8") as handle:
            assert labuser.leaked(SCRATCH, handle.read()) == [], name


def test_idempotence_and_check_mode_changed_nothing():
    for name in ("idempotence", "check"):
        counts = labuser.recap(log(name))
        assert counts and all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), (name, counts)


def test_the_front_door_answers_https_with_the_hosts_certificate(host, address):
    cafile = os.path.join(SCRATCH, "front-door.pem")
    with open(cafile, "w", encoding="ascii") as handle:
        handle.write(host.file(CERTIFICATE).content_string)
    context = ssl.create_default_context(cafile=cafile)
    with urllib.request.urlopen("https://%s/" % address, timeout=30, context=context) as resp:
        assert resp.status == 200
        assert resp.headers.get("Strict-Transport-Security", "").startswith("max-age=")


def test_ollama_answers_on_the_hosts_loopback_only(host, address):
    probe = "import socket; socket.create_connection((%r, 11434), 3).close()"
    assert host.run("python3 -c %s", probe % "127.0.0.1").rc == 0
    assert host.run("python3 -c %s", probe % address).rc != 0
    with pytest.raises(OSError):
        socket.create_connection((address, 11434), 3).close()


def test_the_models_are_there(host):
    cmd = host.run("python3 -c %s", "import urllib.request;print(urllib.request.urlopen("
                   "'http://127.0.0.1:11434/api/tags', timeout=10).read().decode())")
    assert cmd.rc == 0, cmd.stderr
    names = {m["name"] for m in json.loads(cmd.stdout)["models"]}
    assert set(MODELS) <= names, (MODELS, names)
