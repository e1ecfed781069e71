"""The LobeChat double on its own: model-list syntax, access code, relay, status, logging.

Runs the double natively against a small in-test Ollama stand-in; needs no lab.
"""
import importlib.util
import json
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lab_helpers import LAB, wait_until

SERVER = LAB / "doubles" / "lobechat" / "server.py"
CODE = "s3cret-lab-code"

spec = importlib.util.spec_from_file_location("lobechat_double", SERVER)
lobechat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lobechat)


# ---- model list -----------------------------------------------------------------------------
def ids(spec_):
    return [m["id"] for m in lobechat.parse_model_list(spec_)]


def test_model_list_default_is_builtin():
    assert ids("") == lobechat.BUILTIN_MODELS


def test_model_list_all_add_hide_and_display():
    models = lobechat.parse_model_list(
        "-all,+qwen2.5:0.5b,qwen:14b=Qwen 14B<32768:fc:vision>,+llama3,-llama3")
    assert [m["id"] for m in models] == ["qwen2.5:0.5b", "qwen:14b"]
    qwen = models[1]
    assert qwen["displayName"] == "Qwen 14B"
    assert qwen["contextWindowTokens"] == 32768
    assert qwen["abilities"] == {"functionCall": True, "vision": True}


def test_model_list_hide_builtin_keeps_rest():
    assert ids("-gemma2,+x") == [m for m in lobechat.BUILTIN_MODELS if m != "gemma2"] + ["x"]


@pytest.mark.parametrize("bad", ["m<abc>", "m<1:warp>"])
def test_model_list_rejects_nonsense(bad):
    with pytest.raises(ValueError):
        lobechat.parse_model_list(bad)


# ---- a tiny Ollama stand-in -------------------------------------------------------------------
class FakeOllama(BaseHTTPRequestHandler):
    models = ["qwen2.5:0.5b"]
    chats = []

    def log_message(self, *args):
        pass

    def reply(self, status, obj, ctype="application/json; charset=utf-8"):
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/api/version":
            self.reply(200, {"version": "0.17.1"})
        elif self.path == "/api/tags":
            self.reply(200, {"models": [{"name": m, "model": m} for m in self.models]})
        else:
            self.reply(404, b"404 page not found", "text/plain")

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOllama.chats.append(req)
        if req["model"] not in self.models:
            self.reply(404, {"error": f"model '{req['model']}' not found"})
            return
        words = ["Hello", " from", " the", " lab"]
        if not req.get("stream", True):
            self.reply(200, {"model": req["model"], "done": True, "eval_count": 4,
                             "message": {"role": "assistant", "content": "".join(words)}})
            return
        lines = [json.dumps({"model": req["model"], "done": False,
                             "message": {"role": "assistant", "content": w}}) for w in words]
        lines.append(json.dumps({"model": req["model"], "done": True, "done_reason": "stop",
                                 "message": {"role": "assistant", "content": ""}}))
        self.reply(200, ("\n".join(lines) + "\n").encode(), "application/x-ndjson")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ollama():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOllama)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def start_double(tmp_path, env_extra):
    port = free_port()
    log = tmp_path / f"lobechat-{port}.log"
    env = {"PORT": str(port), "PATH": "/usr/bin:/bin", **env_extra}
    proc = subprocess.Popen([sys.executable, str(SERVER)], env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: urllib.request.urlopen(base + "/", timeout=1).status == 200, 10,
               "the LobeChat double to answer")
    return proc, base, log


@pytest.fixture
def double(tmp_path, ollama):
    proc, base, log = start_double(tmp_path, {
        "OLLAMA_PROXY_URL": ollama, "ACCESS_CODE": CODE,
        "OLLAMA_MODEL_LIST": "-all,+qwen2.5:0.5b=Qwen 2.5 0.5B<32768:fc>,+qwen:14b"})
    yield base, log
    proc.terminate()
    proc.wait(10)
    assert CODE not in log.read_text(), "the access code must never be logged"


def post(url, body, code=None, timeout=10):
    headers = {"Content-Type": "application/json"}
    if code is not None:
        headers["X-Lobe-Chat-Access-Code"] = code
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers)
    return urllib.request.urlopen(req, timeout=timeout)


CHAT = {"model": "qwen2.5:0.5b", "messages": [{"role": "user", "content": "hi"}]}


def test_page(double):
    base, _ = double
    with urllib.request.urlopen(base + "/", timeout=5) as resp:
        assert resp.status == 200
        page = resp.read().decode()
    assert "<title>LobeChat" in page
    assert CODE not in page


@pytest.mark.parametrize("code", [None, "", "wrong", CODE + "x"])
def test_chat_refuses_missing_or_wrong_code(double, code):
    base, _ = double
    before = len(FakeOllama.chats)
    with pytest.raises(urllib.error.HTTPError) as err:
        post(base + "/webapi/chat/ollama", CHAT, code)
    assert err.value.code == 401
    assert json.load(err.value)["errorType"] == "InvalidAccessCode"
    assert len(FakeOllama.chats) == before, "a refused request must not reach Ollama"


def test_chat_relays_to_ollama(double):
    base, _ = double
    with post(base + "/webapi/chat/ollama", {**CHAT, "stream": False}, CODE) as resp:
        answer = json.load(resp)
    assert answer["message"]["content"] == "Hello from the lab"
    assert FakeOllama.chats[-1] == {**CHAT, "stream": False}


def test_chat_relays_stream(double):
    base, _ = double
    with post(base + "/webapi/chat/ollama", {**CHAT, "stream": True}, CODE) as resp:
        assert resp.headers["Content-Type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in resp if line.strip()]
    assert "".join(x["message"]["content"] for x in lines) == "Hello from the lab"
    assert lines[-1]["done"] is True


def test_chat_passes_ollama_errors(double):
    base, _ = double
    with pytest.raises(urllib.error.HTTPError) as err:
        post(base + "/webapi/chat/ollama", {**CHAT, "model": "nope"}, CODE)
    assert err.value.code == 404
    body = json.load(err.value)
    assert body["errorType"] == "OllamaBizError"
    assert body["error"] == "model 'nope' not found"


def test_status_reports_ollama_and_models(double):
    base, _ = double
    status = json.load(urllib.request.urlopen(base + "/webapi/status", timeout=10))
    assert status["ollama"]["reachable"] is True
    assert status["ollama"]["version"] == "0.17.1"
    assert [m["id"] for m in status["models"]["offered"]] == ["qwen2.5:0.5b", "qwen:14b"]
    assert status["models"]["available"] == ["qwen2.5:0.5b"]
    assert status["models"]["missing"] == ["qwen:14b"]
    assert status["accessCodeRequired"] is True and status["authorised"] is False
    assert CODE not in json.dumps(status)
    req = urllib.request.Request(base + "/webapi/status", headers={"X-Lobe-Chat-Access-Code": CODE})
    assert json.load(urllib.request.urlopen(req, timeout=10))["authorised"] is True


def test_unreachable_ollama(tmp_path):
    proc, base, _ = start_double(tmp_path, {"OLLAMA_PROXY_URL": f"http://127.0.0.1:{free_port()}"})
    try:
        status = json.load(urllib.request.urlopen(base + "/webapi/status", timeout=10))
        assert status["ollama"]["reachable"] is False and status["ollama"]["error"]
        with pytest.raises(urllib.error.HTTPError) as err:
            post(base + "/webapi/chat/ollama", CHAT)  # no ACCESS_CODE set: no code needed
        assert err.value.code == 502
        assert json.load(err.value)["errorType"] == "OllamaServiceUnavailable"
    finally:
        proc.terminate()
        proc.wait(10)


def test_bad_model_list_exits(tmp_path):
    proc = subprocess.run([sys.executable, str(SERVER)], env={"OLLAMA_MODEL_LIST": "x<1:warp>",
                          "PORT": str(free_port())}, capture_output=True, text=True, timeout=10)
    assert proc.returncode != 0 and "unknown capability" in proc.stderr
