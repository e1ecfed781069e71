"""Must-show 4: a Debian 12 lab host (systemd) runs its own Docker engine, pulls the Ollama double
from the lab registry as an insecure registry, and serves /api/version on its own 127.0.0.1."""
import json
import subprocess
import uuid

import pytest

from lab_helpers import LAB, LAB_BIN, LAB_REGISTRY, OLLAMA_DEFAULT_TAG, docker, wait_until

IMAGE = f"{LAB_REGISTRY}/ollama/ollama:{OLLAMA_DEFAULT_TAG}"


@pytest.fixture
def lab_host(lab_up):
    name = f"llmops-lab-dind-{uuid.uuid4().hex[:6]}"
    proc = subprocess.run([str(LAB_BIN), "host", "up", name, "--debian", "12"],
                          capture_output=True, text=True, timeout=180)
    try:
        assert proc.returncode == 0, proc.stdout + proc.stderr
        yield name
    finally:
        subprocess.run([str(LAB_BIN), "host", "rm", name], capture_output=True, timeout=120)


def sh(host, script, timeout=300):
    proc = docker("exec", host, "sh", "-ec", script, check=False, timeout=timeout)
    assert proc.returncode == 0, f"{script}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    return proc.stdout


def test_docker_in_docker_serves_ollama_double(lab_host):
    # lab host up makes /proc/sys writable: inner engines set sysctls (Docker 26 on Debian 13).
    options = sh(lab_host, "awk '$2 == \"/proc/sys\" {print $4}' /proc/mounts").split()
    assert options and all(o.split(",")[0] == "rw" for o in options), options
    state = docker("exec", lab_host, "systemctl", "is-system-running", check=False).stdout.strip()
    assert state in ("running", "degraded"), state
    daemon = json.dumps({"insecure-registries": [LAB_REGISTRY]})
    sh(lab_host, f"mkdir -p /etc/docker && echo '{daemon}' > /etc/docker/daemon.json")
    sh(lab_host, "export DEBIAN_FRONTEND=noninteractive; apt-get update -q >/dev/null && "
                 "apt-get install -y -q --no-install-recommends docker.io >/dev/null", timeout=600)
    wait_until(lambda: docker("exec", lab_host, "docker", "info", check=False).returncode == 0,
               90, "the inner Docker engine")
    info = docker("exec", lab_host, "docker", "info", "-f", "{{.Driver}}").stdout.strip()
    assert info == "overlay2", "the lab host's /var/lib/docker volume should give overlay2"
    sh(lab_host, f"docker pull -q {IMAGE}", timeout=300)
    sh(lab_host, f"docker run -d --name ollama -p 127.0.0.1:11434:11434 {IMAGE}")
    probe = ("python3 -c \"import json,urllib.request;"
             "print(json.load(urllib.request.urlopen('http://127.0.0.1:11434/api/version',timeout=3))['version'])\"")
    version = wait_until(
        lambda: docker("exec", lab_host, "sh", "-c", probe, check=False).stdout.strip(),
        60, "/api/version on the lab host's 127.0.0.1")
    assert version == OLLAMA_DEFAULT_TAG
    # Published on loopback only: the lab host's lab-network address must not answer.
    ip = docker("inspect", "-f", '{{(index .NetworkSettings.Networks "llmops-lab").IPAddress}}',
                lab_host).stdout.strip()
    far = docker("exec", lab_host, "sh", "-c", probe.replace("127.0.0.1", ip), check=False)
    assert far.returncode != 0
