"""The API guard (issue 11, must-show 4), in the open_webui scenario (llmops_api_guard: true there).

A throw-away container on the private network inside the lab host plays a compromised UI: it sends
requests to the guard (`ollama-guard:11434`) the way a UI does. Model management (pull, create,
delete, push, copy, blob uploads) gets the guard's 403 and never reaches Ollama; chat streams the
Ollama double's answer and the model list comes through. The guard publishes no port, runs hardened,
and the UI's Ollama URL is the guard. The probes use harmless model names, so a guard that let
them through would fail these tests without breaking the host for the next ones.
"""

import hashlib
import json
import os

import pytest
import testinfra
import yaml

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
LAB_HOST = os.environ.get("LLMOPS_LAB_HOST", "llmops-molecule-open-webui")
ENGINE = os.environ.get("LLMOPS_ENGINE", "docker")
GUARD = "ollama-guard"
GUARD_URL = "http://ollama-guard:11434"
# The UIs' network, where a compromised UI would send from; Ollama is alone with the guard on its own.
NETWORK = "llmops-ui"
OLLAMA_NETWORK = "llmops"

with open(os.path.join(PROJECT, "lab/inventory/group_vars/llm_servers.yml"), encoding="utf-8") as fh:
    MODELS = [m["name"] for m in yaml.safe_load(fh)["ollama_models_list"]]

BLOB = "sha256:" + hashlib.sha256(b"not a model").hexdigest()

# Runs in the throw-away container: sends each request to the guard and reports what came back.
CLIENT = r"""
import http.client, json, sys
out = []
for method, path, body in json.loads(sys.argv[1]):
    conn = http.client.HTTPConnection("ollama-guard", 11434, timeout=120)
    data = body.encode() if isinstance(body, str) else (json.dumps(body).encode() if body is not None else None)
    conn.request(method, path, body=data, headers={"Content-Type": "application/json"} if data is not None else {})
    resp = conn.getresponse()
    raw = resp.read()
    out.append({"status": resp.status, "type": resp.getheader("Content-Type") or "", "body": raw.decode("utf-8", "replace")[:20000]})
    conn.close()
print(json.dumps(out))
"""

REFUSED = [
    ("POST", "/api/pull", {"model": "guard-probe-pull:latest", "stream": False}),
    ("POST", "/api/create", {"model": "guard-probe-create", "from": MODELS[0], "stream": False}),
    ("DELETE", "/api/delete", {"model": "guard-probe-delete:latest"}),
    ("POST", "/api/push", {"model": "guard-probe-push:latest", "stream": False}),
    ("POST", "/api/copy", {"source": MODELS[0], "destination": "guard-probe-copy"}),
    ("POST", "/api/blobs/" + BLOB, "not a model"),
    ("HEAD", "/api/blobs/" + BLOB, None),
    # An allowed path with another method, and spellings of a refused path that normalise to it.
    ("GET", "/api/chat", None),
    ("DELETE", "/api/tags", None),
    ("POST", "/api/chat/../pull", {"model": "guard-probe-pull:latest", "stream": False}),
    ("POST", "/api/%70ull", {"model": "guard-probe-pull:latest", "stream": False}),
    ("POST", "//api//pull", {"model": "guard-probe-pull:latest", "stream": False}),
    ("POST", "/API/PULL", {"model": "guard-probe-pull:latest", "stream": False}),
]
# What the refusal names: the method and the normalised path.
REFUSED_AS = {"/api/chat/../pull": "/api/pull", "/api/%70ull": "/api/pull", "//api//pull": "/api/pull"}

CHAT = {"model": MODELS[0], "messages": [{"role": "user", "content": "Say hello"}], "stream": True}
ALLOWED = [
    ("GET", "/", None),
    ("HEAD", "/", None),
    ("GET", "/api/version", None),
    ("GET", "/api/tags", None),
    ("GET", "/api/ps", None),
    ("POST", "/api/show", {"model": MODELS[0]}),
    ("POST", "/api/chat", CHAT),
    ("POST", "/api/generate", {"model": MODELS[0], "prompt": "Say hello", "stream": False}),
    ("POST", "/api/embed", {"model": MODELS[0], "input": "hello"}),
    ("POST", "/api/embeddings", {"model": MODELS[0], "prompt": "hello"}),
    ("POST", "/v1/chat/completions", {"model": MODELS[0], "messages": [{"role": "user", "content": "hi"}]}),
    ("POST", "/v1/completions", {"model": MODELS[0], "prompt": "hi"}),
    ("POST", "/v1/embeddings", {"model": MODELS[0], "input": "hi"}),
    ("GET", "/v1/models", None),
]


@pytest.fixture(scope="module")
def lab_host():
    return testinfra.get_host("docker://" + LAB_HOST)


def engine(lab_host, *args):
    cmd = lab_host.run(" ".join([ENGINE] + ["%s"] * len(args)), *args)
    assert cmd.rc == 0, "%s %s: %s" % (ENGINE, " ".join(args[:4]), cmd.stderr)
    return cmd.stdout


def inspect(lab_host, name):
    return json.loads(engine(lab_host, "inspect", name))[0]


def local_tags(lab_host):
    """The models Ollama has, asked on the host's loopback address (not through the guard)."""
    cmd = lab_host.run("python3 -c %s", "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:11434/api/tags').read().decode())")
    assert cmd.rc == 0, cmd.stderr
    return sorted(m["name"] for m in json.loads(cmd.stdout)["models"])


def through_the_guard(lab_host, requests):
    """Sends the requests from a throw-away container on the private network (the Ollama image has python3 in the
    lab), as a compromised UI would."""
    image = inspect(lab_host, "ollama")["Config"]["Image"]
    out = engine(lab_host, "run", "--rm", "--network", NETWORK, "--entrypoint", "python3", image,
                 "-c", CLIENT, json.dumps(requests))
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def refused(lab_host):
    before = local_tags(lab_host)
    answers = through_the_guard(lab_host, REFUSED)
    return before, answers, local_tags(lab_host)


@pytest.fixture(scope="module")
def allowed(lab_host):
    return dict(zip([(m, p) for m, p, _ in ALLOWED], through_the_guard(lab_host, ALLOWED)))


@pytest.mark.parametrize("index", range(len(REFUSED)), ids=["%s %s" % r[:2] for r in REFUSED])
def test_model_management_is_refused_with_403_and_a_json_error(refused, index):
    method, path, _ = REFUSED[index]
    answer = refused[1][index]
    assert answer["status"] == 403, answer
    assert answer["type"].startswith("application/json"), answer
    if method != "HEAD":
        assert json.loads(answer["body"]) == {
            "error": "refused by the llmops.ollama API guard: %s %s" % (method, REFUSED_AS.get(path, path))}


def test_refused_requests_never_reached_ollama(refused):
    before, _, after = refused
    assert after == before
    assert not [name for name in after if name.startswith("guard-probe")]


@pytest.mark.parametrize("request_", ALLOWED, ids=["%s %s" % r[:2] for r in ALLOWED])
def test_what_a_chat_ui_needs_reaches_ollama(allowed, request_):
    answer = allowed[request_[:2]]
    # Ollama's own answer (the double may not know every OpenAI-compatible route: 404 is Ollama's), never the guard's.
    assert answer["status"] != 403 and "llmops.ollama API guard" not in answer["body"], answer
    assert answer["status"] in (200, 404), answer


def test_the_chat_streams_the_models_answer(allowed):
    answer = allowed[("POST", "/api/chat")]
    assert answer["status"] == 200, answer
    lines = [json.loads(line) for line in answer["body"].splitlines() if line.strip()]
    assert len(lines) >= 2, answer["body"]
    assert all(line["model"] == MODELS[0] for line in lines)
    assert lines[-1]["done"] is True and not any(line["done"] for line in lines[:-1])
    assert "".join(line["message"]["content"] for line in lines).strip()


def test_the_model_list_comes_through(allowed):
    answer = allowed[("GET", "/api/tags")]
    assert answer["status"] == 200, answer
    assert sorted(m["name"] for m in json.loads(answer["body"])["models"]) == sorted(MODELS)
    assert "version" in json.loads(allowed[("GET", "/api/version")]["body"])
    assert allowed[("GET", "/")]["body"] == "Ollama is running"


def test_the_guard_publishes_no_port_and_is_on_the_private_networks_only(lab_host):
    config = inspect(lab_host, GUARD)
    assert config["State"]["Running"]
    assert not config["HostConfig"].get("PortBindings")
    assert not [b for b in (config["NetworkSettings"].get("Ports") or {}).values() if b]
    assert set(config["NetworkSettings"]["Networks"]) == {NETWORK, OLLAMA_NETWORK}
    # Ollama is on its own network, which the UI does not join.
    assert set(inspect(lab_host, "ollama")["NetworkSettings"]["Networks"]) == {OLLAMA_NETWORK}
    assert set(inspect(lab_host, "open-webui")["NetworkSettings"]["Networks"]) == {NETWORK}


def test_the_guard_runs_hardened(lab_host):
    config = inspect(lab_host, GUARD)
    host = config["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert "no-new-privileges" in " ".join(host.get("SecurityOpt") or [])
    assert not host.get("Privileged")
    if ENGINE == "docker":
        assert "ALL" in (host.get("CapDrop") or [])
        caps = host.get("CapAdd") or []
    else:
        # Podman lists what the container keeps as its effective capabilities (CapAdd holds only additions to its
        # default set, none here).
        caps = config.get("EffectiveCaps") or []
    assert sorted(c.replace("CAP_", "") for c in caps) == ["CHOWN", "SETGID", "SETUID"]
    assert host["Memory"] == 128 * 1024 * 1024
    assert host["PidsLimit"] == 64
    assert host["RestartPolicy"]["Name"] == "unless-stopped"


def test_the_ui_reaches_ollama_through_the_guard(lab_host):
    names = engine(lab_host, "ps", "--format", "{{.Names}}").split()
    uis = {"lobechat": "OLLAMA_PROXY_URL", "open-webui": "OLLAMA_BASE_URL"}
    found = [name for name in uis if name in names]
    assert found, names
    for name in found:
        env = dict(e.split("=", 1) for e in inspect(lab_host, name)["Config"]["Env"])
        assert env[uis[name]].rstrip("/") == GUARD_URL
