"""Status codes and error texts, version by version, as the claimed Ollama's server/routes.go and
server/create.go answer them (v0.17.1 = tag 9bf41969f; v0.18.0 adds parseAndValidateModelRef).
v0.31.2 and v0.32.15 answer as v0.18.0 does: at both tags writeModelRefParseError,
errtypes.InvalidModelNameErrMsg and the handlers' not-found texts read as at v0.18.0. The lab publishes 0.32.15 and
0.40.2 (lab/versions.env); 0.40.2 is claimed to answer as v0.32.15 does, which was not read in its source (the copy
of Ollama's source used here ends at v0.33.0-rc2).

Each row: route, request body, then per version (status, {"error": text}). Every request is sent
both ways a client can: streamed (the default) and with "stream": false; both must agree, since
these errors come before any output.
"""

import json
import urllib.error
import urllib.request

import pytest

BAD = "bad/name/x/y/z"  # five parts: not a valid name in any version
BAD_FULL = "bad/name/x/y/z:latest"  # Name.String() of it, with the default tag merged in
INVALID = (400, "invalid model name")

TABLE = [
    ("show-invalid-name", "/api/show", {"model": BAD},
     {"0.17.1": (500, f"unqualified name: {BAD_FULL}"), "0.18.0": INVALID}),
    ("show-missing-echoes-the-name-as-sent", "/api/show", {"model": "NotHere:1B"},
     {"0.17.1": (404, "model 'NotHere:1B' not found"), "0.18.0": (404, "model 'NotHere:1B' not found")}),
    ("generate-invalid-name", "/api/generate", {"model": BAD, "prompt": "hi"},
     {"0.17.1": (404, f"model '{BAD}' not found"), "0.18.0": INVALID}),
    ("generate-missing", "/api/generate", {"model": "nothere", "prompt": "hi"},
     {"0.17.1": (404, "model 'nothere' not found"), "0.18.0": (404, "model 'nothere' not found")}),
    ("chat-invalid-name", "/api/chat", {"model": BAD, "messages": [{"role": "user", "content": "hi"}]},
     {"0.17.1": (400, "model is required"), "0.18.0": INVALID}),
    ("embed-missing", "/api/embed", {"model": "nothere", "input": "hi"},
     {"0.17.1": (404, 'model "nothere" not found, try pulling it first'),
      "0.18.0": (404, 'model "nothere" not found, try pulling it first')}),
    ("embed-invalid-name", "/api/embed", {"model": BAD, "input": "hi"},
     {"0.17.1": (404, f'model "{BAD}" not found, try pulling it first'), "0.18.0": INVALID}),
    ("embeddings-missing", "/api/embeddings", {"model": "nothere", "prompt": "hi"},
     {"0.17.1": (404, 'model "nothere" not found, try pulling it first'),
      "0.18.0": (404, 'model "nothere" not found, try pulling it first')}),
    ("embeddings-invalid-name", "/api/embeddings", {"model": BAD, "prompt": "hi"},
     {"0.17.1": (400, "model is required"), "0.18.0": INVALID}),
    ("create-invalid-from", "/api/create", {"model": "mine", "from": BAD},
     {"0.17.1": INVALID, "0.18.0": INVALID}),
    ("create-unclosed-template", "/api/create",
     {"model": "mine", "from": "qwen2.5:0.5b", "template": "{{ .Prompt"},
     {"0.17.1": (400, "template error: template: :1: unclosed action"),
      "0.18.0": (400, "template error: template: :1: unclosed action")}),
    ("create-unexpected-end", "/api/create",
     {"model": "mine", "from": "qwen2.5:0.5b", "template": "{{ .Prompt }}{{ end }}"},
     {"0.17.1": (400, "template error: template: :1: unexpected {{end}}"),
      "0.18.0": (400, "template error: template: :1: unexpected {{end}}")}),
    ("create-unterminated-if", "/api/create",
     {"model": "mine", "from": "qwen2.5:0.5b", "template": "{{ if .System }}{{ .System }}"},
     {"0.17.1": (400, "template error: template: :1: unexpected EOF"),
      "0.18.0": (400, "template error: template: :1: unexpected EOF")}),
]
for _row in TABLE:
    _row[3]["0.31.2"] = _row[3]["0.32.15"] = _row[3]["0.40.2"] = _row[3]["0.18.0"]
VERSIONS = ["0.17.1", "0.18.0", "0.31.2", "0.32.15", "0.40.2"]


def post(url, body):
    """(status, decoded JSON body, content type) of one request."""
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as err:
        return err.code, err.read(), err.headers["Content-Type"]


@pytest.fixture(scope="module", params=VERSIONS)
def versioned(request, tmp_path_factory, upstream, published):
    """One double per claimed version, with the base model that create rows build on."""
    from lab_processes import Double

    double = Double(tmp_path_factory.mktemp("table"), upstream.url, {"OLLAMA_DOUBLE_VERSION": request.param})
    status, _, _ = post(double.url + "/api/pull", {"model": "qwen2.5:0.5b", "stream": False})
    assert status == 200
    yield request.param, double
    double.stop()


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "unstreamed"])
@pytest.mark.parametrize("row", TABLE, ids=[row[0] for row in TABLE])
def test_error_table(versioned, row, stream):
    version, double = versioned
    _, path, body, expected = row
    status, raw, content_type = post(double.url + path, dict(body, stream=stream))
    want_status, want_error = expected[version]
    assert (status, json.loads(raw)) == (want_status, {"error": want_error})
    assert content_type.startswith("application/json")
    created = post(double.url + "/api/show", {"model": "mine"})[0]
    assert created != 200, "a refused create must not leave a model behind"


def test_the_table_covers_every_version_the_lab_publishes():
    from lab_processes import REPO

    tags = [line.split("=", 1)[1].strip('"').split() for line in
            (REPO / "lab" / "versions.env").read_text().splitlines() if line.startswith("OLLAMA_TAGS=")][0]
    assert set(tags) <= set(VERSIONS)
    assert all(set(row[3]) == set(VERSIONS) for row in TABLE)
