"""Open WebUI (the real program, the lab's image of 0.12.4) behind the front door on a converged lab host.

From the build machine, which is another machine on the lab network: https://<host>/ serves Open WebUI
with the host's certificate, http:// redirects there, Open WebUI's own port and Ollama's are refused.
Open WebUI's own API, over HTTPS, signs the admin in, lists the host's models and answers a chat with the
Ollama double's answer; a wrong password and a sign-up are refused, and a sign-up opened in the admin panel is
closed again by the next run. The secrets are files 0600 and appear
nowhere in a -vvv run. A real browser (Debian's Chromium) then chats through the front door.
"""

import http.client
import json
import os
import socket
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
import testinfra

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
INVENTORY_DIR = os.path.dirname(os.environ.get("MOLECULE_INVENTORY_FILE", "/nonexistent/x"))
LAB_HOST = "llmops-molecule-open-webui"
MODEL = "qwen2.5:0.5b"
ADMIN = "admin@lab.example"
CERTIFICATE = "/etc/llmops/front-door/tls/certificate.pem"
PRIVATE_KEY = "/etc/llmops/front-door/tls/private-key.pem"
SECRET_KEY = "/etc/llmops/open-webui/secret-key"
ADMIN_PASSWORD = "/etc/llmops/open-webui/admin-password"
PROMPT = "什么是大语言模型？"


@pytest.fixture(scope="module")
def host():
    return testinfra.get_host("docker://" + LAB_HOST)


@pytest.fixture(scope="module")
def address():
    out = subprocess.run(["docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "llmops-lab").IPAddress}}',
                          LAB_HOST], check=True, capture_output=True, text=True).stdout.strip()
    assert out
    return out


@pytest.fixture(scope="module")
def ca_file(host, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "front-door.pem"
    path.write_text(host.file(CERTIFICATE).content_string)
    return str(path)


@pytest.fixture(scope="module")
def password(host):
    return host.check_output("cat %s", ADMIN_PASSWORD)


def inspect(host, name):
    return json.loads(host.check_output("docker inspect %s", name))[0]


def call(address, ca_file, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request("https://%s%s" % (address, path), method=method, headers=headers,
                                 data=json.dumps(body).encode() if body is not None else None)
    try:
        with urllib.request.urlopen(req, timeout=120, context=ssl.create_default_context(cafile=ca_file)) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def connects(address, port):
    try:
        socket.create_connection((address, port), 3).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def token(address, ca_file, password):
    status, body = call(address, ca_file, "POST", "/api/v1/auths/signin", {"email": ADMIN, "password": password})
    assert status == 200, body
    assert body["role"] == "admin"
    return body["token"]


@pytest.mark.parametrize("name", ["ollama", "open-webui", "front-door"])
def test_containers_running_healthy_and_unprivileged(host, name):
    config = inspect(host, name)
    assert config["State"]["Running"]
    assert config["State"].get("Health", {}).get("Status") in ("healthy", None)
    assert "no-new-privileges" in " ".join(config["HostConfig"].get("SecurityOpt") or [])
    assert "ALL" in (config["HostConfig"].get("CapDrop") or [])
    assert not config["HostConfig"].get("Privileged")


def test_open_webui_is_limited_read_only_and_publishes_nothing(host):
    config = inspect(host, "open-webui")
    assert config["State"]["Health"]["Status"] == "healthy"
    assert config["HostConfig"]["ReadonlyRootfs"] is True
    assert config["HostConfig"]["Memory"] == 2 * 1024 ** 3
    assert config["HostConfig"]["PidsLimit"] == 2048
    assert not config["HostConfig"].get("PortBindings")
    assert any(m["Destination"] == "/app/backend/data" and m["Type"] == "volume" for m in config["Mounts"])


def test_https_serves_open_webui_with_the_hosts_certificate(address, ca_file):
    conn = http.client.HTTPSConnection(address, 443, timeout=30, context=ssl.create_default_context(cafile=ca_file))
    conn.request("GET", "/")
    resp = conn.getresponse()
    page = resp.read().decode()
    assert resp.status == 200
    assert "<title>Open WebUI</title>" in page
    assert resp.getheader("Strict-Transport-Security", "").startswith("max-age=")
    status, version = call(address, ca_file, "GET", "/api/version")
    assert status == 200 and version["version"] == "0.12.4"


def test_http_redirects_to_https(address):
    conn = http.client.HTTPConnection(address, 80, timeout=10)
    conn.request("GET", "/auth?x=1")
    resp = conn.getresponse()
    assert resp.status == 301
    assert resp.getheader("Location") == "https://%s/auth?x=1" % address


def test_only_the_front_door_answers_the_lab_network(address):
    assert connects(address, 443) and connects(address, 80)
    assert not connects(address, 8080)
    assert not connects(address, 11434)


def test_the_admin_signs_in_lists_the_models_and_chats(address, ca_file, token):
    status, models = call(address, ca_file, "GET", "/api/models", token=token)
    assert status == 200
    assert MODEL in [m["id"] for m in models["data"]]
    status, answer = call(address, ca_file, "POST", "/api/chat/completions", {
        "model": MODEL, "stream": False, "messages": [{"role": "user", "content": PROMPT}]}, token=token)
    assert status == 200, answer
    assert answer["choices"][0]["message"]["content"].startswith("I am %s" % MODEL)


def test_a_wrong_password_and_a_sign_up_are_refused(address, ca_file):
    status, _body = call(address, ca_file, "POST", "/api/v1/auths/signin", {"email": ADMIN, "password": "not-the-password"})
    assert status == 400
    status, _body = call(address, ca_file, "POST", "/api/v1/auths/signup",
                         {"name": "Visitor", "email": "visitor@lab.example", "password": "visitor-password-1"})
    assert status == 403
    status, _body = call(address, ca_file, "GET", "/api/models")
    assert status == 401


def converge():
    """site.yml again, on the scenario's inventory; its output without colours."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, "build/collections"))
    run = subprocess.run(["ansible-playbook", "-i", INVENTORY_DIR, os.path.join(PROJECT, "site.yml")],
                         capture_output=True, text=True, env=env, cwd=PROJECT, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:]
    return run.stdout


def test_sign_up_opened_in_the_admin_panel_is_closed_by_the_next_run(address, ca_file, token):
    """As an admin saving the settings in Open WebUI's admin panel: sign-up on, new accounts users. The next run of
    site.yml puts both back (llmops.ollama.open_webui_settings, reported as a change) and sign-up is refused again."""
    status, config = call(address, ca_file, "GET", "/api/v1/auths/admin/config", token=token)
    assert status == 200 and config["ENABLE_SIGNUP"] is False and config["DEFAULT_USER_ROLE"] == "pending", config
    # The second-factor policy stays out of it (Open WebUI signs everyone out when it changes); empty values too.
    opened = {key: value for key, value in config.items() if value is not None and "MFA" not in key}
    opened.update(ENABLE_SIGNUP=True, DEFAULT_USER_ROLE="user")
    status, answer = call(address, ca_file, "POST", "/api/v1/auths/admin/config", opened, token=token)
    assert status == 200 and answer["ENABLE_SIGNUP"] is True and answer["DEFAULT_USER_ROLE"] == "user", answer
    status, config = call(address, ca_file, "GET", "/api/v1/auths/admin/config", token=token)
    assert config["ENABLE_SIGNUP"] is True

    output = converge()
    task = [chunk for chunk in output.split("TASK [") if chunk.split("]", 1)[0].endswith(
        "Keep Open WebUI's sign-up and new users' role as set, through its admin API, and prove sign-up closed")]
    assert len(task) == 1, output[-3000:]
    assert "changed: [%s]" % LAB_HOST in task[0], task[0]

    status, config = call(address, ca_file, "GET", "/api/v1/auths/admin/config", token=token)
    assert status == 200 and config["ENABLE_SIGNUP"] is False and config["DEFAULT_USER_ROLE"] == "pending", config
    status, body = call(address, ca_file, "POST", "/api/v1/auths/signup",
                        {"name": "Visitor", "email": "visitor-%s@lab.example" % os.urandom(4).hex(),
                         "password": "visitor-password-2"})
    assert status == 403, body


def test_cors_allows_the_hosts_url_and_the_lab_address_only(host, address):
    env = dict(line.split("=", 1) for line in inspect(host, "open-webui")["Config"]["Env"])
    assert env["CORS_ALLOW_ORIGIN"] == "https://%s;https://%s" % (LAB_HOST, address)
    assert env["DEFAULT_USER_ROLE"] == "pending" and env["ENABLE_PERSISTENT_CONFIG"] == "false"


@pytest.mark.parametrize("path", [SECRET_KEY, ADMIN_PASSWORD, PRIVATE_KEY])
def test_secrets_are_files_0600_owned_by_root(host, path):
    f = host.file(path)
    assert f.is_file and f.mode == 0o600 and f.user == "root"


def test_no_secret_appears_in_a_verbose_run(host):
    secrets = {path: host.check_output("cat %s", path).strip() for path in (SECRET_KEY, ADMIN_PASSWORD)}
    key = host.file(PRIVATE_KEY).content_string
    secrets[PRIVATE_KEY] = "".join(line for line in key.splitlines() if "-----" not in line)[:64]
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, "build/collections"))
    run = subprocess.run(["ansible-playbook", "-vvv", "-i", INVENTORY_DIR, os.path.join(PROJECT, "site.yml")],
                         capture_output=True, text=True, env=env, cwd=PROJECT, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:]
    output = run.stdout + run.stderr
    assert " changed=0 " in output
    for path, secret in secrets.items():
        assert secret and output.count(secret) == 0, "%s appears in the -vvv output" % path


def test_a_browser_chats_through_the_front_door(address, ca_file, password, tmp_path):
    """Headless Chromium (Debian's, through Selenium) signs in, picks the model, sends the prompt and waits
    for the streamed answer on the page (tests/browser)."""
    password_file = tmp_path / "password"
    password_file.write_text(password)
    run = subprocess.run([os.path.join(PROJECT, "tests", "browser", "run.sh"), "https://%s/" % address, ADMIN,
                          str(password_file), MODEL, ca_file], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert "I am %s" % MODEL in run.stdout, run.stdout[-2000:]
