"""Pulls go over the OCI distribution API to the real registry, verified, resumable, never half-listed."""

import hashlib
import json
import urllib.request

import ollama
import pytest

from lab_processes import BlobRedirector


def blob_gets(requests):
    return [(uri, status, size) for method, uri, status, size in requests
            if method == "GET" and "/blobs/sha256:" in uri]


def need_registry_internals(registry):
    if registry.access_log is None:
        pytest.skip("LAB_REGISTRY_URL is external: its storage and access log are not readable")


def test_pull_fetches_every_blob_from_the_registry_with_verified_content(client, registry, double, published):
    need_registry_internals(registry)
    mark = registry.log_mark()
    client.pull("llama3:70b")
    expected = published["llama3:70b"]
    fetched = {uri.rsplit("/", 1)[1]: status for uri, status, _ in blob_gets(registry.requests_since(mark))}
    assert fetched == {blob.digest: 200 for blob in expected.blobs}
    for blob in expected.blobs:
        data = (double.models / "blobs" / ("sha256-" + blob.digest[7:])).read_bytes()
        assert hashlib.sha256(data).hexdigest() == blob.digest[7:]
    manifest = double.models / "manifests/registry.ollama.ai/library/llama3/70b"
    assert manifest.read_bytes() == expected.manifest


def test_a_second_pull_transfers_no_blob(client, registry):
    need_registry_internals(registry)
    client.pull("qwen:14b")
    mark = registry.log_mark()
    lines = list(client.pull("qwen:14b", stream=True))
    assert blob_gets(registry.requests_since(mark)) == []
    layer_lines = [line for line in lines if line.digest]
    assert layer_lines and all(line.completed == line.total for line in layer_lines)
    assert lines[-1].status == "success"


def test_a_corrupted_blob_fails_the_pull_with_ollamas_error_and_lists_nothing(
        client, registry, double, publish_model):
    need_registry_internals(registry)
    model = publish_model("lab-corrupt:latest")
    bad = model.layers[0]
    data_file = registry.blob_data_path(bad.digest)
    original = data_file.read_bytes()
    corrupted = bytearray(original)
    corrupted[-1] ^= 0xFF
    data_file.write_bytes(bytes(corrupted))
    try:
        with pytest.raises(ollama.ResponseError) as caught:
            client.pull("lab-corrupt")
        got = "sha256:" + hashlib.sha256(corrupted).hexdigest()
        assert caught.value.status_code == 500
        assert caught.value.error == \
            f"digest mismatch, file must be downloaded again: want {bad.digest}, got {got}"
        assert client.list().models == []
        blob_files = [path.name for path in (double.models / "blobs").iterdir()]
        assert not [name for name in blob_files if bad.digest[7:] in name]
        assert not (double.models / "manifests").exists()
    finally:
        data_file.write_bytes(original)
    assert client.pull("lab-corrupt").status == "success"
    assert [m.model for m in client.list().models] == ["lab-corrupt:latest"]


def test_a_partial_download_is_resumed_with_a_range_request(client, registry, double, publish_model):
    need_registry_internals(registry)
    model = publish_model("lab-resume:latest", body_bytes=4 * 1024 * 1024)
    big = model.layers[0]
    body = b"".join(big.chunks())
    half = len(body) // 2
    blobs = double.models / "blobs"
    assert blobs.is_dir()  # `ollama serve` creates it at start, as Ollama's Serve() does
    (blobs / ("sha256-" + big.digest[7:] + "-partial")).write_bytes(body[:half])
    mark = registry.log_mark()
    lines = list(client.pull("lab-resume", stream=True))
    first = next(line for line in lines if line.digest == big.digest)
    assert first.completed == half
    served = {uri.rsplit("/", 1)[1]: (status, size) for uri, status, size in
              blob_gets(registry.requests_since(mark))}
    assert served[big.digest] == (206, len(body) - half)
    assert (blobs / ("sha256-" + big.digest[7:])).read_bytes() == body
    assert not list(blobs.glob("*-partial"))


def test_progress_is_reported_periodically_while_a_big_blob_downloads(client, registry):
    import build
    import catalog
    import publish
    from oci import Registry

    model = build.build("qwen2.5:3b", catalog.MODELS["qwen2.5:3b"])  # the 300 MB one
    publish.publish(Registry(registry.url), model)
    big = model.layers[0]
    lines = [line for line in client.pull("qwen2.5:3b", stream=True) if line.digest == big.digest]
    completed = [line.completed or 0 for line in lines]
    assert lines[0].completed is None  # absent while 0, as in Ollama
    assert len(lines) >= 4
    assert completed == sorted(completed)
    assert completed[-1] == lines[-1].total == big.size


def test_streamed_pull_of_a_missing_model_is_http_200_with_an_error_line(double):
    request = urllib.request.Request(double.url + "/api/pull", data=b'{"model":"nothere"}')
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/x-ndjson"
        lines = [json.loads(line) for line in response]
    assert lines == [{"status": "pulling manifest"},
                     {"error": "pull model manifest: file does not exist"}]


def test_unstreamed_pull_of_a_missing_model_is_http_500(double):
    request = urllib.request.Request(double.url + "/api/pull",
                                     data=b'{"model":"nothere","stream":false}')
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request)
    assert caught.value.code == 500
    assert caught.value.headers["Content-Type"] == "application/json; charset=utf-8"
    assert json.loads(caught.value.read()) == {"error": "pull model manifest: file does not exist"}


def test_a_qualified_name_goes_to_that_registry_over_http_only_when_insecure(client, upstream):
    host = upstream.url.split("://", 1)[1]
    name = f"{host}/library/qwen2.5:0.5b"
    with pytest.raises(ollama.ResponseError) as caught:
        client.pull(name)
    assert caught.value.error.startswith(f'pull model manifest: Get "https://{host}/v2/')
    assert caught.value.error.endswith("http: server gave HTTP response to HTTPS client")
    assert client.pull(name, insecure=True).status == "success"
    assert [m.model for m in client.list().models] == [name]


# --- blobs: Ollama's downloader wants a redirect to another host (server/download.go run()) -------

def test_a_blob_answered_200_fails_the_pull_with_ollamas_message(start_double, registry, published):
    """A stock registry serving blobs itself (distribution, Harbor on local disk): real Ollama's
    pull fails with Go's http.ErrNoLocation, lists nothing and leaves no blob behind."""
    need_registry_internals(registry)
    double = start_double(OLLAMA_DOUBLE_UPSTREAM=registry.url)
    client = ollama.Client(host=double.url)
    mark = registry.log_mark()
    with pytest.raises(ollama.ResponseError) as caught:
        client.pull("qwen2.5:0.5b")
    assert (caught.value.status_code, caught.value.error) == (500, "http: no Location header in response")
    assert client.list().models == []
    assert not [path for path in (double.models / "blobs").iterdir() if "-partial" not in path.name]
    assert len(blob_gets(registry.requests_since(mark))) == 1  # no retry: the error is final


def test_a_streamed_pull_from_a_200_registry_ends_with_the_error_line(start_double, registry, published):
    double = start_double(OLLAMA_DOUBLE_UPSTREAM=registry.url)
    request = urllib.request.Request(double.url + "/api/pull", data=b'{"model":"qwen2.5:0.5b"}')
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
        lines = [json.loads(line) for line in response]
    assert lines[0] == {"status": "pulling manifest"}
    assert lines[-1] == {"error": "http: no Location header in response"}
    assert all(line["status"].startswith("pulling ") for line in lines[1:-1])


def test_a_redirect_to_the_same_host_name_is_followed_and_fails_the_same(start_double, registry, published):
    """Ollama follows redirects within the request's host name and wants the first one to
    another: `localhost` in front of a registry that redirects to `localhost` is no better."""
    front = BlobRedirector(registry.url)
    try:
        port = front.url.rsplit(":", 1)[1]
        double = start_double(OLLAMA_DOUBLE_UPSTREAM=f"http://localhost:{port}")
        with pytest.raises(ollama.ResponseError) as caught:
            ollama.Client(host=double.url).pull("qwen2.5:0.5b")
        assert caught.value.error == "http: no Location header in response"
    finally:
        front.stop()


def test_a_blob_redirected_to_another_host_is_fetched_from_there(client, registry, upstream, published):
    """The default double's upstream redirects every blob GET to `localhost`, the registry."""
    need_registry_internals(registry)
    mark = registry.log_mark()
    assert client.pull("qwen2.5:0.5b").status == "success"
    expected = published["qwen2.5:0.5b"]
    fetched = {uri.rsplit("/", 1)[1]: status for uri, status, _ in blob_gets(registry.requests_since(mark))}
    assert fetched == {blob.digest: 200 for blob in expected.blobs}
    assert [m.model for m in client.list().models] == ["qwen2.5:0.5b"]


def test_push_sends_a_local_model_to_a_registry(pulled, registry):
    from oci import Registry

    target = f"{registry.host}/pushed/qwen:copy"
    pulled.copy("qwen2.5:0.5b", target)
    statuses = [line.status for line in pulled.push(target, insecure=True, stream=True)]
    assert statuses[0] == "retrieving manifest"
    assert statuses[-2:] == ["pushing manifest", "success"]
    manifest = Registry(registry.url).get_manifest("pushed/qwen", "copy")
    assert hashlib.sha256(manifest).hexdigest() == pulled.list().models[0].digest


def test_push_of_a_missing_model_fails_in_the_stream(client):
    stream = client.push("nothere", stream=True)
    assert next(stream).status == "retrieving manifest"
    assert next(stream).status == "couldn't retrieve manifest"
    with pytest.raises(ollama.ResponseError) as caught:
        next(stream)
    assert caught.value.error.endswith("no such file or directory")


def test_concurrent_pulls_of_one_model_share_a_single_download(client, registry, double, publish_model):
    need_registry_internals(registry)
    import threading

    model = publish_model("lab-shared:latest", body_bytes=32 * 1024 * 1024)
    results = []

    def pull():
        results.append([line.status for line in ollama.Client(host=double.url).pull(
            "lab-shared", stream=True)][-1])

    mark = registry.log_mark()
    threads = [threading.Thread(target=pull) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["success", "success"]
    big = model.layers[0].digest
    assert [uri for uri, _, _ in blob_gets(registry.requests_since(mark))].count(
        f"/v2/library/lab-shared/blobs/{big}") == 1
