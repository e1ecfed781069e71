"""Ollama's HTTP surface as seen without a client library: texts, codes, content types, CORS."""

import hashlib
import json
import threading
import time
import urllib.error
import urllib.request

import pytest


def call(url, method="GET", body=None, headers=None):
    """(status, headers, body bytes) for any status."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_root_and_version(double):
    status, headers, body = call(double.url + "/")
    assert (status, body) == (200, b"Ollama is running")
    assert headers["Content-Type"] == "text/plain; charset=utf-8"
    assert call(double.url + "/", method="HEAD")[0] == 200
    status, headers, body = call(double.url + "/api/version")
    assert (status, json.loads(body)) == (200, {"version": "0.17.1"})
    assert headers["Content-Type"] == "application/json; charset=utf-8"


def test_unknown_path_and_wrong_method_are_gins_texts(double):
    assert call(double.url + "/api/nothing")[::2] == (404, b"404 page not found")
    assert call(double.url + "/api/pull")[::2] == (405, b"405 method not allowed")
    assert call(double.url + "/api/ps", method="HEAD")[0] == 405


def test_body_errors(double):
    assert call(double.url + "/api/show", "POST", b"")[::2] == (400, b'{"error":"missing request body"}')
    status, _, body = call(double.url + "/api/show", "POST", b"{nope")
    assert status == 400 and json.loads(body)["error"].startswith("invalid character 'n'")
    status, _, body = call(double.url + "/api/pull", "POST", {"model": 5})
    assert (status, json.loads(body)["error"]) == \
        (400, "json: cannot unmarshal number into Go struct field PullRequest.model of type string")


def test_delete_and_copy_answer_200_with_an_empty_body(pulled, double):
    status, headers, body = call(double.url + "/api/copy", "POST", {"source": "qwen2.5:0.5b",
                                                                     "destination": "c"})
    assert (status, body, headers["Content-Length"]) == (200, b"", "0")
    status, headers, body = call(double.url + "/api/delete", "DELETE", {"model": "c"})
    assert (status, body, headers["Content-Length"]) == (200, b"", "0")


def test_v1_models(double, client):
    assert json.loads(call(double.url + "/v1/models")[2]) == {"object": "list", "data": None}
    client.pull("qwen2.5:0.5b")
    [entry] = json.loads(call(double.url + "/v1/models")[2])["data"]
    assert (entry["id"], entry["object"], entry["owned_by"]) == ("qwen2.5:0.5b", "model", "library")
    status, _, body = call(double.url + "/v1/models/nothere")
    assert status == 404 and json.loads(body)["error"]["type"] == "not_found_error"


def test_blob_endpoints(double):
    data = b"GGUF not really"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert call(double.url + "/api/blobs/" + digest, "HEAD")[0] == 404
    assert call(double.url + "/api/blobs/" + digest, "POST", data)[0] == 201
    assert call(double.url + "/api/blobs/" + digest, "POST", data)[0] == 200
    assert call(double.url + "/api/blobs/" + digest, "HEAD")[0] == 200
    other = "sha256:" + "a" * 64
    status, _, body = call(double.url + "/api/blobs/" + other, "POST", data)
    assert status == 400 and json.loads(body)["error"] == \
        f'digest mismatch, expected "{other}", got "{digest}"'
    assert call(double.url + "/api/blobs/sha256:xyz", "POST", data)[::2] == \
        (400, b'{"error":"invalid digest format"}')


def test_a_foreign_origin_gets_403_with_an_empty_body(double):
    status, _, body = call(double.url + "/api/tags", headers={"Origin": "http://evil.example"})
    assert (status, body) == (403, b"")
    status, _, body = call(double.url + "/api/tags", "OPTIONS",
                           headers={"Origin": "http://evil.example",
                                    "Access-Control-Request-Method": "GET"})
    assert (status, body) == (403, b"")


@pytest.mark.parametrize("origin", ["http://localhost", "http://localhost:3210", "https://127.0.0.1:8443",
                                    "app://obsidian.md", "tauri://localhost"])
def test_builtin_origins_are_allowed(double, origin):
    status, headers, _ = call(double.url + "/api/tags", headers={"Origin": origin})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == origin


def test_ollama_origins_adds_origins(start_double, published):
    double = start_double(OLLAMA_ORIGINS="http://chat.lab:3210,https://*.example.org")
    for origin in ("http://chat.lab:3210", "https://app.example.org"):
        status, headers, _ = call(double.url + "/api/tags", headers={"Origin": origin})
        assert status == 200 and headers["Access-Control-Allow-Origin"] == origin
    assert call(double.url + "/api/tags", headers={"Origin": "http://chat.lab:9999"})[0] == 403
    status, headers, _ = call(double.url + "/api/chat", "OPTIONS",
                              headers={"Origin": "http://chat.lab:3210",
                                       "Access-Control-Request-Method": "POST"})
    assert status == 204 and "POST" in headers["Access-Control-Allow-Methods"]


def test_a_foreign_host_header_is_refused_on_loopback(double):
    assert call(double.url + "/api/tags", headers={"Host": "attacker.example"})[0] == 403
    assert call(double.url + "/api/tags", headers={"Host": "localhost:11434"})[0] == 200


def test_a_full_queue_answers_503_with_ollamas_text(start_double, published):
    double = start_double(OLLAMA_MAX_QUEUE="1", OLLAMA_DOUBLE_TOKEN_DELAY="0.2")
    call(double.url + "/api/pull", "POST", {"model": "qwen2.5:0.5b", "stream": False})
    results = []

    def generate():
        results.append(call(double.url + "/api/generate", "POST",
                            {"model": "qwen2.5:0.5b", "prompt": "hi", "stream": False}))

    threads = [threading.Thread(target=generate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _, _ in results)
    assert statuses[:2] == [200, 200] and statuses[2:] == [503, 503]
    busy = next(body for status, _, body in results if status == 503)
    assert json.loads(busy) == {"error": "server busy, please try again.  "
                                         "maximum pending requests exceeded"}


def test_each_request_is_logged(double):
    call(double.url + "/api/tags")
    deadline = time.monotonic() + 5
    while 'GET      "/api/tags"' not in double.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)  # the line is written once the response has gone out
    line = next(line for line in double.log.read_text().splitlines() if '"/api/tags"' in line)
    assert line.startswith("[GIN] ") and "| 200 |" in line and "| GET      " in line
