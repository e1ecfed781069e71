"""The `ollama` command inside the image: list (the healthcheck) and --version."""


def test_list_prints_the_table_of_models(double, client):
    client.pull("qwen2.5:0.5b")
    result = double.run_cli("list")
    assert result.returncode == 0, result.stderr
    header, row = result.stdout.splitlines()
    assert header.split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    digest = client.list().models[0].digest
    assert row.split()[:4] == ["qwen2.5:0.5b", digest[:12], "1.8", "KB"]


def test_list_fails_when_no_server_answers(double):
    result = double.run_cli("list", env={"OLLAMA_HOST": "127.0.0.1:1"})
    assert result.returncode != 0
    assert "could not connect to ollama server" in result.stderr


def test_version(double):
    result = double.run_cli("--version")
    assert (result.returncode, result.stdout.strip()) == (0, "ollama version is 0.17.1")
    offline = double.run_cli("-v", env={"OLLAMA_HOST": "127.0.0.1:1"})
    assert "client version is 0.17.1" in offline.stdout
