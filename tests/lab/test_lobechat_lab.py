"""The published LobeChat double wired to the published Ollama double on the lab network, as a
deployment wires them: service-name URL, access code, model list."""
import json
import urllib.error
import urllib.request
import uuid

import pytest

from lab_helpers import LAB, LOBECHAT_TAG, OLLAMA_DEFAULT_TAG, docker, wait_until

CODE = "lab-" + uuid.uuid4().hex
OLLAMA_IMAGE = f"127.0.0.1:5000/ollama/ollama:{OLLAMA_DEFAULT_TAG}"
LOBE_IMAGE = f"127.0.0.1:5000/lobehub/lobe-chat:{LOBECHAT_TAG}"


def ip_of(name):
    return docker("inspect", "-f", '{{(index .NetworkSettings.Networks "llmops-lab").IPAddress}}',
                  name).stdout.strip()


@pytest.fixture(scope="module")
def pair(lab_up):
    suffix = uuid.uuid4().hex[:6]
    ollama, lobe = f"llmops-lab-t-ollama-{suffix}", f"llmops-lab-t-lobe-{suffix}"
    try:
        docker("run", "-d", "--name", ollama, "--network", "llmops-lab", "--label", "llmops.lab=1",
               "-e", "OLLAMA_DOUBLE_TOKEN_DELAY=0", OLLAMA_IMAGE)
        ourl = f"http://{ip_of(ollama)}:11434"
        wait_until(lambda: urllib.request.urlopen(ourl + "/api/version", timeout=2).status == 200,
                   30, "the Ollama double container")
        req = urllib.request.Request(ourl + "/api/pull", data=json.dumps(
            {"model": "qwen2.5:0.5b", "stream": False}).encode())
        assert json.load(urllib.request.urlopen(req, timeout=120))["status"] == "success"
        docker("run", "-d", "--name", lobe, "--network", "llmops-lab", "--label", "llmops.lab=1",
               "-e", f"OLLAMA_PROXY_URL=http://{ollama}:11434", "-e", f"ACCESS_CODE={CODE}",
               "-e", "OLLAMA_MODEL_LIST=-all,+qwen2.5:0.5b=Qwen 2.5 0.5B<32768:fc>,+qwen:14b",
               LOBE_IMAGE)
        lurl = f"http://{ip_of(lobe)}:3210"
        wait_until(lambda: urllib.request.urlopen(lurl + "/", timeout=2).status == 200, 30,
                   "the LobeChat double container")
        yield lobe, lurl
    finally:
        docker("rm", "-f", ollama, lobe, check=False)


def chat(url, code, stream=False):
    req = urllib.request.Request(
        url + "/webapi/chat/ollama",
        data=json.dumps({"model": "qwen2.5:0.5b", "stream": stream,
                         "messages": [{"role": "user", "content": "Say hello"}]}).encode(),
        headers={"Content-Type": "application/json", "X-Lobe-Chat-Access-Code": code})
    return urllib.request.urlopen(req, timeout=60)


def test_status_sees_ollama_and_models(pair):
    _, url = pair
    status = json.load(urllib.request.urlopen(url + "/webapi/status", timeout=10))
    assert status["ollama"]["reachable"] is True, status
    assert status["ollama"]["version"] == OLLAMA_DEFAULT_TAG
    assert status["models"]["available"] == ["qwen2.5:0.5b"]
    assert status["models"]["missing"] == ["qwen:14b"]
    assert CODE not in json.dumps(status)


def test_wrong_code_refused(pair):
    _, url = pair
    with pytest.raises(urllib.error.HTTPError) as err:
        chat(url, "not-the-code")
    assert err.value.code == 401


def test_chat_relayed(pair):
    _, url = pair
    answer = json.load(chat(url, CODE))
    assert answer["done"] is True and answer["message"]["content"].strip()
    assert answer["eval_count"] > 0
    with chat(url, CODE, stream=True) as resp:
        lines = [json.loads(x) for x in resp if x.strip()]
    assert len(lines) > 1 and lines[-1]["done"] is True


def test_healthcheck_and_logs(pair):
    name, _ = pair
    assert docker("exec", name, "python3", "/app/server.py", "healthcheck", check=False).returncode == 0
    logs = docker("logs", name)
    assert CODE not in logs.stdout + logs.stderr
    user = docker("inspect", "-f", "{{.Config.User}}", name).stdout.strip()
    assert user == "nextjs"
