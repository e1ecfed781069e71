"""What a converged lab host must show (issue 4, must-show 1; issue 16, must-shows 1 and 2 for LobeHub 2.x), for the
Docker and Podman scenarios.

The host is the lab host container, reached with testinfra's docker backend. The lab registry
(127.0.0.1:5000 from the build machine) tells which digests the models must have, and its access
log tells whether a re-run pulled anything. The mutating tests (database restored, container removed, image tag
changed) run last, in file order, and re-run site.yml with molecule's own inventory.

LobeHub is driven through the front door by lab/doubles/lobehub/tests/lobehub_client.py, which makes the calls
LobeHub's web app makes (Better Auth's e-mail sign-in, then tRPC and the chat relay); Postgres is read with psql in
its container.
"""

import base64
import hashlib
import http.client
import json
import os
import re
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
import testinfra
import yaml

PROJECT = os.environ.get("MOLECULE_PROJECT_DIRECTORY", os.path.abspath(os.path.join(os.path.dirname(__file__), "../../..")))
INVENTORY_DIR = os.path.dirname(os.environ.get("MOLECULE_INVENTORY_FILE", "/nonexistent/x"))
LAB_HOST = os.environ.get("LLMOPS_LAB_HOST", "llmops-molecule-default")
ENGINE = os.environ.get("LLMOPS_ENGINE", "docker")
REGISTRY = "http://127.0.0.1:5000"
REGISTRY_CONTAINER = "llmops-lab-registry"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"

with open(os.path.join(PROJECT, "lab/inventory/group_vars/llm_servers.yml"), encoding="utf-8") as fh:
    LAB_VARS = yaml.safe_load(fh)
MODELS = [m["name"] for m in LAB_VARS["ollama_models_list"]]
with open(os.path.join(PROJECT, "lab/versions.env"), encoding="utf-8") as fh:
    VERSIONS = dict(line.strip().split("=", 1) for line in fh if "=" in line and not line.startswith("#"))
OLLAMA_TAGS = VERSIONS["OLLAMA_TAGS"].strip('"').split()
# LobeHub 2.x and its database: the three containers of the lobechat role, and the secrets it keeps.
LOBEHUB_CONTAINERS = ("lobechat", "lobechat-postgres", "lobechat-redis")
ADMIN_EMAIL = LAB_VARS["lobechat_admin_email"]
SECRET_DIR = "/etc/llmops/lobechat"
SECRET_FILES = ("auth-secret", "key-vaults-secret", "jwks-key", "postgres-password", "admin-password")
BACKUP_DIR = "/var/backups/llmops/lobechat"

import sys  # noqa: E402  (the stand-in's client, a stdlib module of the lab)
sys.path.insert(0, os.path.join(PROJECT, "lab/doubles/lobehub/tests"))
sys.path.insert(0, os.path.join(PROJECT, "tests/exposure"))
from lobehub_client import HttpError, LobeHub  # noqa: E402
from lan_neighbour import assert_only_the_front_door_answers, filter_in_place, neighbour_finds  # noqa: E402


@pytest.fixture(scope="module")
def lab_host():
    return testinfra.get_host("docker://" + LAB_HOST)


def engine(lab_host, *args):
    cmd = lab_host.run(" ".join([ENGINE] + [lab_host.backend.quote("%s", a) if " " in a else a for a in args]))
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout


def inspect(lab_host, name):
    return json.loads(engine(lab_host, "inspect", name))[0]


def api(lab_host, path):
    """GET on Ollama's API from the host itself (the only place it is published)."""
    cmd = lab_host.run("python3 -c %s", "import sys,urllib.request;print(urllib.request.urlopen('http://127.0.0.1:11434%s').read().decode())" % path)
    assert cmd.rc == 0, cmd.stderr
    return json.loads(cmd.stdout)


def tags(lab_host):
    return {m["name"]: m["digest"] for m in api(lab_host, "/api/tags")["models"]}


def registry_digest(name):
    model, tag = name.split(":")
    req = urllib.request.Request("%s/v2/library/%s/manifests/%s" % (REGISTRY, model, tag), method="HEAD",
                                 headers={"Accept": MANIFEST_V2})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers["Docker-Content-Digest"].split(":", 1)[1]


def lab_host_ip():
    out = subprocess.run(["docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "llmops-lab").IPAddress}}', LAB_HOST],
                         check=True, capture_output=True, text=True).stdout.strip()
    assert out
    return out


def secret(lab_host, name):
    f = lab_host.file("%s/%s" % (SECRET_DIR, name))
    assert f.mode == 0o600 and f.user == "root", (name, oct(f.mode), f.user)
    return f.content_string


def secret_digests(lab_host):
    """The sha256 of each secret file's bytes: a re-run must leave every one as it was."""
    return {name: hashlib.sha256(secret(lab_host, name).encode()).hexdigest() for name in SECRET_FILES}


def psql(lab_host, sql):
    """One query in LobeHub's database, over the Postgres container's local socket; the rows as text."""
    return engine(lab_host, "exec", "lobechat-postgres", "psql", "-X", "-t", "-A", "-U", "postgres", "-d", "lobechat",
                  "-c", sql).strip()


CERTIFICATE = "/etc/llmops/front-door/tls/certificate.pem"
PRIVATE_KEY = "/etc/llmops/front-door/tls/private-key.pem"


_CA = {}


def tls_context():
    """Verifies the front door against the host's own certificate (its name and address included)."""
    if "path" not in _CA:
        host = testinfra.get_host("docker://" + LAB_HOST)
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "llmops-front-door-%s.pem" % LAB_HOST)
        with open(path, "w", encoding="ascii") as fh:
            fh.write(host.file(CERTIFICATE).content_string)
        _CA["path"] = path
    return ssl.create_default_context(cafile=_CA["path"])


def front_door(path, context=None):
    """GET through the front door: https://<host>/ from the build machine over the lab network."""
    req = urllib.request.Request("https://%s%s" % (lab_host_ip(), path))
    try:
        with urllib.request.urlopen(req, timeout=30, context=context or tls_context()) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def app_origin(lab_host):
    """The origin of LobeHub's APP_URL: what a browser that opened it sends as Origin (the lab has no DNS for the
    host's name, so the client connects to its address and says which site it came from)."""
    env = dict(e.split("=", 1) for e in inspect(lab_host, "lobechat")["Config"]["Env"])
    return env["APP_URL"].rstrip("/")


def hub(lab_host, origin=None):
    """A LobeHub web client through the front door, trusting the host's own certificate."""
    urllib.request.install_opener(urllib.request.build_opener(urllib.request.HTTPSHandler(context=tls_context())))
    return LobeHub("https://%s" % lab_host_ip(), origin=origin or app_origin(lab_host))


def front_door_reaches_the_ui(timeout=60, context=None):
    """Wait until the front door answers LobeHub's /api/auth/ok with 200."""
    deadline = time.time() + timeout
    status = None
    while status != 200:
        assert time.time() < deadline, "the front door does not reach the UI (last: %s)" % status
        try:
            status, _body = front_door("/api/auth/ok", context=context)
        except OSError as err:
            status = repr(err)
        if status != 200:
            time.sleep(2)


def rate_limited(call, *args):
    """Better Auth allows 3 sign-ins per 10 s per client address: wait out a 429."""
    for _attempt in range(6):
        try:
            return call(*args)
        except HttpError as err:
            if err.status != 429:
                raise
            time.sleep(int(err.headers.get("X-Retry-After") or 10) + 1)
    return call(*args)


def signed_in_admin(lab_host):
    client = hub(lab_host)
    answer = rate_limited(client.sign_in, ADMIN_EMAIL, secret(lab_host, "admin-password"))
    assert answer["user"]["email"] == ADMIN_EMAIL
    return client


def topic_rows(lab_host, topic_id):
    return psql(lab_host, "SELECT role || ':' || content FROM messages WHERE topic_id = '%s' ORDER BY created_at, role DESC"
                % topic_id).splitlines()


def connects(port):
    """Whether a TCP connection to the host's lab address on this port is accepted, from the build machine."""
    try:
        socket.create_connection((lab_host_ip(), port), 3).close()
        return True
    except OSError:
        return False


def playbook(path, *extra):
    """Run a playbook of the project against the scenario's inventory; return (rc, output)."""
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", ANSIBLE_NOCOLOR="1",
               ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, "build/collections"))
    proc = subprocess.run(["ansible-playbook", "-i", INVENTORY_DIR, os.path.join(PROJECT, path), *extra],
                          capture_output=True, text=True, env=env, cwd=PROJECT)
    return proc.returncode, proc.stdout + proc.stderr


def site(*extra):
    """Run site.yml against the scenario's inventory; return (rc, output)."""
    return playbook("site.yml", *extra)


def recap_changed(output):
    line = [ln for ln in output.splitlines() if ln.startswith(LAB_HOST) and "changed=" in ln][-1]
    return int(line.split("changed=")[1].split()[0])


def registry_blob_gets(since):
    logs = subprocess.run(["docker", "logs", "--since", since, REGISTRY_CONTAINER], capture_output=True, text=True)
    lines = (logs.stdout + logs.stderr).splitlines()
    # Only this lab host's requests: other tests may use the registry at the same time.
    return [ln for ln in lines if ln.startswith(lab_host_ip() + " ") and '"GET /v2/library/' in ln and "/blobs/" in ln]


def wait_healthy(lab_host, name, timeout=90):
    deadline = time.time() + timeout
    while True:
        state = inspect(lab_host, name)["State"]
        health = state.get("Health", {}).get("Status") or state.get("Healthcheck", {}).get("Status")
        if state["Status"] == "running" and health == "healthy":
            return state
        assert time.time() < deadline, "%s not healthy after %s s: %s" % (name, timeout, state)
        time.sleep(2)


@pytest.mark.parametrize("name", ("ollama",) + LOBEHUB_CONTAINERS)
def test_container_running_and_healthy(lab_host, name):
    state = wait_healthy(lab_host, name)
    assert state["Running"]
    config = inspect(lab_host, name)
    # Under Podman only "always" containers are started again after a reboot (podman-restart.service).
    assert config["HostConfig"]["RestartPolicy"]["Name"] == ("always" if ENGINE == "podman" else "unless-stopped")
    assert "no-new-privileges" in " ".join(config["HostConfig"].get("SecurityOpt") or [])
    assert not config["HostConfig"].get("Privileged")


def test_ollama_is_limited_and_keeps_to_the_server(lab_host):
    config = inspect(lab_host, "ollama")
    total = int(lab_host.run("awk '/^MemTotal:/ {print $2}' /proc/meminfo").stdout) * 1024
    # 90% of the host's memory by default, worked out in megabytes.
    assert abs(config["HostConfig"]["Memory"] - total * 0.9) < 2 * 1048576, (config["HostConfig"]["Memory"], total)
    assert config["HostConfig"]["PidsLimit"] == 4096
    assert "OLLAMA_NO_CLOUD=1" in config["Config"]["Env"]
    # Issue 26: a read-only root, so a pulled layer written outside the model store (CVE-2026-103663) cannot land in
    # the image's own directories; only /tmp (a tmpfs) and the models directory are writable.
    assert config["HostConfig"]["ReadonlyRootfs"] is True
    assert list(config["HostConfig"]["Tmpfs"]) == ["/tmp"], config["HostConfig"]["Tmpfs"]
    write = lab_host.run("%s exec ollama sh -c ': > /usr/lib/ollama-probe'" % ENGINE)
    assert write.rc != 0 and "Read-only file system" in write.stderr, (write.rc, write.stderr)


def test_front_door_runs_unprivileged_and_is_the_only_port_beyond_loopback(lab_host):
    config = inspect(lab_host, "front-door")
    assert config["State"]["Running"]
    # Under Podman only "always" containers are started again after a reboot (podman-restart.service).
    assert config["HostConfig"]["RestartPolicy"]["Name"] == ("always" if ENGINE == "podman" else "unless-stopped")
    assert "no-new-privileges" in " ".join(config["HostConfig"].get("SecurityOpt") or [])
    assert not config["HostConfig"].get("Privileged")
    if ENGINE == "docker":
        assert "ALL" in (config["HostConfig"].get("CapDrop") or [])
    bindings = config["HostConfig"]["PortBindings"]
    assert sorted(bindings) == ["443/tcp", "80/tcp"]
    assert sorted(b["HostPort"] for bs in bindings.values() for b in bs) == ["443", "80"]
    for name in LOBEHUB_CONTAINERS:
        assert not inspect(lab_host, name)["HostConfig"].get("PortBindings"), name


def test_https_reaches_lobechat_with_the_hosts_certificate(lab_host):
    status, body = front_door("/api/auth/ok")
    assert status == 200 and json.loads(body) == {"ok": True}
    conn = http.client.HTTPSConnection(lab_host_ip(), 443, timeout=10, context=tls_context())
    conn.request("GET", "/")
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 200
    assert resp.getheader("Strict-Transport-Security", "").startswith("max-age=")
    assert resp.getheader("X-Content-Type-Options") == "nosniff"
    assert resp.getheader("Content-Security-Policy") == "frame-ancestors 'self'"
    # Without the host's certificate as the authority, the connection is refused by the client.
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen("https://%s/" % lab_host_ip(), timeout=10, context=ssl.create_default_context())
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError), refused.value


def test_http_redirects_to_https(lab_host):
    conn = http.client.HTTPConnection(lab_host_ip(), 80, timeout=10)
    conn.request("GET", "/api/auth/ok?x=1")
    resp = conn.getresponse()
    assert resp.status == 301
    assert resp.getheader("Location") == "https://%s/api/auth/ok?x=1" % lab_host_ip()


def test_lobechat_and_ollama_ports_are_refused_from_the_lab_network(lab_host):
    assert not connects(3210)
    assert not connects(11434)
    assert not connects(5432) and not connects(6379)
    assert connects(443) and connects(80)


def test_the_private_key_is_kept_0600(lab_host):
    key = lab_host.file(PRIVATE_KEY)
    assert key.mode == 0o600 and key.user == "root"
    assert "PRIVATE KEY" not in lab_host.run("%s logs front-door 2>&1" % ENGINE).stdout


def test_ollama_published_on_loopback_only(lab_host):
    bindings = inspect(lab_host, "ollama")["HostConfig"]["PortBindings"]
    assert list(bindings) == ["11434/tcp"]
    assert [(b["HostIp"], b["HostPort"]) for b in bindings["11434/tcp"]] == [("127.0.0.1", "11434")]
    # Nothing answers on the host's lab-network address, only on loopback.
    assert lab_host.run("python3 -c %s", "import socket;socket.create_connection(('%s',11434),3)" % lab_host_ip()).rc != 0
    assert lab_host.run("python3 -c %s", "import socket;socket.create_connection(('127.0.0.1',11434),3)").rc == 0


def test_only_the_api_guard_shares_a_network_with_ollama(lab_host):
    nets = {name: set(inspect(lab_host, name)["NetworkSettings"]["Networks"])
            for name in ("ollama", "ollama-guard", "lobechat", "front-door")}
    assert nets["ollama"] == {"llmops"}
    assert nets["ollama-guard"] == {"llmops", "llmops-ui"}
    assert nets["lobechat"] == nets["front-door"] == {"llmops-ui"}
    # LobeHub's database and Redis are on its network, never on Ollama's.
    for name in ("lobechat-postgres", "lobechat-redis"):
        assert set(inspect(lab_host, name)["NetworkSettings"]["Networks"]) == {"llmops-ui"}, name
    assert inspect(lab_host, "lobechat")["Config"]["Env"].count("OLLAMA_PROXY_URL=http://ollama-guard:11434") == 1


def test_the_ui_reaches_ollama_only_through_the_api_guard(lab_host):
    """From inside the UI's container: Ollama's name does not resolve and its address does not answer, while the
    guard passes a chat model listing and refuses a pull."""
    ollama_ip = inspect(lab_host, "ollama")["NetworkSettings"]["Networks"]["llmops"]["IPAddress"]
    probe = (
        "import json, socket, urllib.request, urllib.error\n"
        "def connects(host):\n"
        "    try:\n"
        "        socket.create_connection((host, 11434), 3).close(); return True\n"
        "    except OSError:\n"
        "        return False\n"
        "def status(method, path):\n"
        "    req = urllib.request.Request('http://ollama-guard:11434' + path, method=method,\n"
        "                                 data=b'{}' if method == 'POST' else None)\n"
        "    try:\n"
        "        return urllib.request.urlopen(req, timeout=10).status\n"
        "    except urllib.error.HTTPError as e:\n"
        "        return e.code\n"
        "print(json.dumps({'name': connects('ollama'), 'address': connects(%r),\n"
        "                  'tags': status('GET', '/api/tags'), 'pull': status('POST', '/api/pull')}))\n" % ollama_ip)
    result = json.loads(engine(lab_host, "exec", "lobechat", "python3", "-c", probe))
    assert result == {"name": False, "address": False, "tags": 200, "pull": 403}


def test_a_lan_neighbour_routing_through_the_host_reaches_only_the_front_door(lab_host):
    """Issue 11, must-show 1, on this scenario's system and engine (Debian 12 with Docker; Debian 13 with Podman): a
    neighbour on the lab network routes the collection's subnets, and 127.0.0.1, through the host and tries every
    container address and port: only the front door answers. Without the filter's jump the same probes reach Ollama
    (the check can fail); the filter's unit puts it back."""
    found = neighbour_finds(lab_host.check_output, ENGINE, lab_host_ip())
    assert {"ollama@llmops", "ollama-guard@llmops", "ollama-guard@llmops-ui", "lobechat@llmops-ui",
            "front-door@llmops-ui"} <= set(found["containers"]), found["containers"]
    assert_only_the_front_door_answers(found, LAB_HOST)
    # The filter's unit put the jump back, first in its chain.
    assert filter_in_place(lab_host.check_output)


@pytest.mark.parametrize("name", MODELS)
def test_model_present_with_the_registry_digest(lab_host, name):
    assert tags(lab_host).get(name) == registry_digest(name)


def test_secrets_are_kept_0600_and_never_in_a_container_log(lab_host):
    assert lab_host.file(SECRET_DIR).mode == 0o700
    values = {name: secret(lab_host, name) for name in SECRET_FILES}
    assert len(base64.b64decode(values["key-vaults-secret"], validate=True)) == 32
    assert len(values["auth-secret"]) >= 32 and len(values["admin-password"]) >= 12
    jwk = json.loads(values["jwks-key"])["keys"][0]
    assert jwk["kty"] == "RSA" and jwk["alg"] == "RS256" and "d" in jwk and jwk["kid"] != "6823046760c5d460"
    # The container runs with the kept secrets (so a re-run that regenerated one would show here as well).
    env = dict(e.split("=", 1) for e in inspect(lab_host, "lobechat")["Config"]["Env"])
    assert env["KEY_VAULTS_SECRET"] == values["key-vaults-secret"] and env["AUTH_SECRET"] == values["auth-secret"]
    assert env["JWKS_KEY"] == values["jwks-key"]
    assert ":%s@" % values["postgres-password"] in env["DATABASE_URL"]
    for name in LOBEHUB_CONTAINERS:
        log = lab_host.run("%s logs %s 2>&1" % (ENGINE, name)).stdout
        for key, value in values.items():
            assert value not in log, "%s appears in the log of %s" % (key, name)


def test_the_admin_signs_in_through_the_front_door(lab_host):
    client = signed_in_admin(lab_host)
    session = client.session()
    assert session["user"]["email"] == ADMIN_EMAIL
    # Signed up once by the role through LobeHub's API, then made an admin (Better Auth's admin plugin).
    assert psql(lab_host, "SELECT role FROM users WHERE email = '%s'" % ADMIN_EMAIL) == "admin"
    assert psql(lab_host, "SELECT count(*) FROM users") == "1"
    # The session cookie is the https one (APP_URL is https://): Secure, with the __Secure- prefix.
    assert any(name.startswith("__Secure-better-auth.session_token") for name in client.cookies), client.cookies


def test_nobody_else_can_sign_up_and_a_wrong_password_is_refused(lab_host):
    with pytest.raises(HttpError) as refused:
        rate_limited(hub(lab_host).sign_up, "eve@elsewhere.example", "a-long-password-1", "Eve")
    assert refused.value.status == 422 and refused.value.json()["code"] == "FAILED_TO_CREATE_USER"
    assert psql(lab_host, "SELECT count(*) FROM users WHERE email = 'eve@elsewhere.example'") == "0"
    with pytest.raises(HttpError) as wrong:
        rate_limited(hub(lab_host).sign_in, ADMIN_EMAIL, "not-the-password-0")
    assert wrong.value.status == 401


def test_a_forged_forwarded_for_does_not_lift_the_sign_in_rate_limit(lab_host):
    """Better Auth counts sign-ins per client address, the first one in X-Forwarded-For: the front door replaces that
    header with the address it saw, so a guesser cannot claim a new address for every try."""
    statuses = []
    for attempt in range(4):
        try:
            hub(lab_host).request("POST", "/api/auth/sign-in/email",
                                  {"email": ADMIN_EMAIL, "password": "guess-%d-wrong" % attempt, "rememberMe": True},
                                  headers={"X-Forwarded-For": "198.51.100.%d" % (attempt + 1)})
            statuses.append(200)
        except HttpError as err:
            statuses.append(err.status)
    assert 429 in statuses and 200 not in statuses, statuses


def test_a_cookie_bearing_post_from_a_foreign_origin_is_refused(lab_host):
    client = signed_in_admin(lab_host)
    forged = hub(lab_host, origin="https://evil.example")
    forged.cookies = dict(client.cookies)
    with pytest.raises(HttpError) as refused:
        forged.sign_out()
    assert refused.value.status == 403
    assert client.session()["user"]["email"] == ADMIN_EMAIL


def test_a_chat_needs_a_session(lab_host):
    chat = {"model": MODELS[0], "messages": [{"role": "user", "content": "hello"}], "stream": True}
    anonymous = hub(lab_host)
    with pytest.raises(HttpError) as refused:
        anonymous.request("POST", "/webapi/chat/ollama", chat)
    assert refused.value.status == 401
    # The 1.x header authenticates nothing in 2.x (CVE-2026-39411 was its forgery).
    with pytest.raises(HttpError) as forged:
        anonymous.request("POST", "/webapi/chat/ollama", chat, headers={"X-lobe-chat-auth": "eyJhcGlLZXkiOiJ4In0="})
    assert forged.value.status == 401


def test_lobehub_offers_the_hosts_models_through_its_server(lab_host):
    ollama = signed_in_admin(lab_host).models()
    assert ollama["enabled"] is True
    assert sorted(ollama["enabledModels"]) == sorted(MODELS)
    # OLLAMA_PROXY_URL is set: chats go through LobeHub's server, never from the browser to Ollama.
    assert ollama["fetchOnClient"] is False


def test_a_chat_is_answered_by_the_model_and_kept_in_postgres(lab_host):
    answer = signed_in_admin(lab_host).chat(MODELS[0], "Say hello")
    assert answer["answer"].strip() and MODELS[0] in answer["answer"], answer["events"][:5]
    assert topic_rows(lab_host, answer["topicId"]) == ["user:Say hello", "assistant:" + answer["answer"]]


def test_backup_and_restore_keep_a_conversation(lab_host):
    """Issue 16, must-show 2: a conversation survives pg_dump, a new empty database and pg_restore."""
    client = signed_in_admin(lab_host)
    answer = client.chat(MODELS[0], "Remember the backup", title="Backup test")
    rows = topic_rows(lab_host, answer["topicId"])
    assert len(rows) == 2
    before = {table: psql(lab_host, "SELECT count(*) FROM %s" % table) for table in ("users", "topics", "messages")}
    database_oid = psql(lab_host, "SELECT oid FROM pg_database WHERE datname = 'lobechat'")
    rc, out = playbook("playbooks/lobechat_backup.yml")
    assert rc == 0, out
    dump = [line.split(" was dumped to ")[1].split(",")[0].strip('"') for line in out.splitlines()
            if " was dumped to " in line][-1]
    assert dump.startswith(BACKUP_DIR + "/") and dump.endswith(".dump")
    f = lab_host.file(dump)
    assert f.mode == 0o600 and f.user == "root" and f.size > 0
    # Issue 31: the secrets the database needs are kept beside the dump, 0600, holding each kept secret file.
    kept = lab_host.file(dump[:-len(".dump")] + ".secrets.tar")
    assert kept.mode == 0o600 and kept.user == "root"
    members = lab_host.run("tar -tf %s" % kept.path).stdout.split()
    assert {"./postgres-password", "./key-vaults-secret", "./admin-password"} <= set(members), members
    assert lab_host.file(BACKUP_DIR).mode == 0o700
    # Written after the dump: gone after the restore.
    client.chat(MODELS[0], "Not in the dump", title="After the backup")
    rc, out = playbook("playbooks/lobechat_restore.yml", "-e", "lobechat_restore_file=" + dump)
    assert rc == 0, out
    # LobeHub was stopped and started: under Podman it may have another address, which the front door's resolver
    # learns within 10 s (until then it answers 504 at once).
    front_door_reaches_the_ui()
    # A new database (another oid), holding what the dump held and nothing else.
    assert psql(lab_host, "SELECT oid FROM pg_database WHERE datname = 'lobechat'") != database_oid
    assert {table: psql(lab_host, "SELECT count(*) FROM %s" % table) for table in before} == before
    assert topic_rows(lab_host, answer["topicId"]) == rows
    # LobeHub serves the restored conversation to the admin, who signs in with the same password.
    restored = signed_in_admin(lab_host).trpc_query("message.getMessages", {"topicId": answer["topicId"]})
    assert [m["content"] for m in restored] == [r.split(":", 1)[1] for r in rows]
    # The restored deployment is as site.yml leaves it: a run changes nothing.
    rc, out = site()
    assert rc == 0, out
    assert recap_changed(out) == 0, out


def test_removed_containers_come_back_with_the_conversation_the_models_and_no_secret_changes(lab_host):
    """Issue 16, must-show 1: LobeHub's and Ollama's containers removed and the play re-run; both are re-created, the
    conversation and the models are still there, no model is fetched again, and no secret file or the certificate
    changed by a byte."""
    client = signed_in_admin(lab_host)
    answer = client.chat(MODELS[0], "Survive a re-creation", title="Re-creation test")
    rows = topic_rows(lab_host, answer["topicId"])
    secrets_before = secret_digests(lab_host)
    models_before = tags(lab_host)
    certificate = lab_host.file(CERTIFICATE).content_string
    old_ids = {name: inspect(lab_host, name)["Id"] for name in ("lobechat", "ollama")}
    engine(lab_host, "rm", "-f", "lobechat", "ollama")
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    rc, out = site()
    assert rc == 0, out
    for name, old_id in old_ids.items():
        assert inspect(lab_host, name)["Id"] != old_id, name
        wait_healthy(lab_host, name)
    assert tags(lab_host) == models_before
    assert registry_blob_gets(since) == [], "models were fetched again"
    assert secret_digests(lab_host) == secrets_before
    # A re-run keeps the self-signed certificate (never rotated).
    assert lab_host.file(CERTIFICATE).content_string == certificate
    assert topic_rows(lab_host, answer["topicId"]) == rows
    again = signed_in_admin(lab_host).trpc_query("message.getMessages", {"topicId": answer["topicId"]})
    assert [m["content"] for m in again] == [r.split(":", 1)[1] for r in rows]
    # Still exactly one admin: the role signed in, it did not sign up again.
    assert psql(lab_host, "SELECT count(*) FROM users") == "1"
    # And a further run changes nothing, secrets included.
    rc, out = site()
    assert rc == 0, out
    assert recap_changed(out) == 0, out
    assert secret_digests(lab_host) == secrets_before


def next_database_image():
    """A newer build of the lab's database image, pushed to the lab registry under its own tag: the same Postgres with a
    label more, so its image ID differs, as a new image release would."""
    repository = LAB_VARS["lobechat_postgres_image_repository"].split("/", 1)[1]
    current = "127.0.0.1:5000/%s:%s" % (repository, LAB_VARS["lobechat_postgres_image_tag"])
    tag = "%s-next" % LAB_VARS["lobechat_postgres_image_tag"]
    subprocess.run(["docker", "pull", "-q", current], check=True, capture_output=True, timeout=300)
    build = "FROM %s\nLABEL org.llmops.lab.build=next\n" % current
    subprocess.run(["docker", "build", "-q", "-t", "127.0.0.1:5000/%s:%s" % (repository, tag), "-"], input=build.encode(),
                   check=True, capture_output=True, timeout=300, env=dict(os.environ, DOCKER_BUILDKIT="0"))
    subprocess.run(["docker", "push", "-q", "127.0.0.1:5000/%s:%s" % (repository, tag)], check=True,
                   capture_output=True, timeout=300)
    return tag


@pytest.mark.engine_independent
def test_a_database_image_upgrade_keeps_the_conversation(lab_host):
    """Issue 16: the database image upgraded (a new tag, another image): Postgres is re-created on its volume, the
    conversation and the admin are still there, and LobeHub serves them; going back to the pinned tag keeps them too."""
    client = signed_in_admin(lab_host)
    answer = client.chat(MODELS[0], "Survive a database upgrade", title="Upgrade test")
    rows = topic_rows(lab_host, answer["topicId"])
    old = inspect(lab_host, "lobechat-postgres")
    tag = next_database_image()
    rc, out = site("-e", "lobechat_postgres_image_tag=" + tag)
    assert rc == 0, out
    new = inspect(lab_host, "lobechat-postgres")
    assert new["Id"] != old["Id"] and new["Image"] != old["Image"], (old["Image"], new["Image"])
    assert new["Config"]["Image"].endswith(":" + tag)
    wait_healthy(lab_host, "lobechat-postgres")
    assert topic_rows(lab_host, answer["topicId"]) == rows
    again = signed_in_admin(lab_host).trpc_query("message.getMessages", {"topicId": answer["topicId"]})
    assert [m["content"] for m in again] == [r.split(":", 1)[1] for r in rows]
    rc, out = site()
    assert rc == 0, out
    wait_healthy(lab_host, "lobechat-postgres")
    assert inspect(lab_host, "lobechat-postgres")["Image"] == old["Image"]
    assert topic_rows(lab_host, answer["topicId"]) == rows
    assert psql(lab_host, "SELECT count(*) FROM users") == "1"


@pytest.mark.faults_cover_on_docker
def test_a_reboot_brings_every_container_back(lab_host):
    """The host restarts (the lab host container restarted, systemd booting again): the engine starts Ollama, the
    UI and the front door again with their models, and a run of site.yml afterwards changes nothing."""
    before_models = tags(lab_host)
    subprocess.run(["docker", "restart", "--time", "20", LAB_HOST], check=True, capture_output=True, timeout=120)
    deadline = time.time() + 120
    while lab_host.run("systemctl is-system-running").stdout.strip() not in ("running", "degraded"):
        assert time.time() < deadline, "the lab host did not finish booting"
        time.sleep(2)
    for name in ("ollama",) + LOBEHUB_CONTAINERS:
        wait_healthy(lab_host, name, timeout=120)
    assert inspect(lab_host, "front-door")["State"]["Running"]
    assert tags(lab_host) == before_models
    # The lab's engine may give the restarted lab host another address than the one its certificate names (a real
    # host keeps its address): the chain is still checked against the host's certificate, the name is not.
    context = tls_context()
    context.check_hostname = False
    front_door_reaches_the_ui(context=context)
    rc, out = site()
    assert rc == 0, out
    assert recap_changed(out) == 0, out


@pytest.mark.engine_independent
def test_a_new_host_address_keeps_the_certificate_and_is_named_in_a_warning(lab_host):
    # As after a new DHCP lease: the host gains an address its self-signed certificate does not carry. (Before the
    # image tag test, which leaves the other tag running.)
    new_address = "203.0.113.7"
    lab_interface = lab_host.check_output("ip -o -4 addr show | awk '$4 ~ /^%s\\// {print $2}'" % lab_host_ip())
    certificate = lab_host.file(CERTIFICATE).content_string
    lab_host.check_output("ip addr add %s/32 dev %s" % (new_address, lab_interface))
    try:
        rc, out = site()
    finally:
        lab_host.check_output("ip addr del %s/32 dev %s" % (new_address, lab_interface))
    assert rc == 0, out
    assert recap_changed(out) == 0, out
    assert lab_host.file(CERTIFICATE).content_string == certificate
    # ansible wraps a warning to the terminal's width, at spaces and hyphens: compare without the white space.
    unwrapped = "".join(out.split())
    warning = "[WARNING]: the kept self-signed certificate %s does not name %s (this host's names and addresses)"
    assert "".join((warning % (CERTIFICATE, new_address)).split()) in unwrapped, out
    assert "not in the kept certificate: %s" % new_address in out, out


def hsts_header():
    conn = http.client.HTTPSConnection(lab_host_ip(), 443, timeout=10, context=tls_context())
    conn.request("GET", "/")
    resp = conn.getresponse()
    resp.read()
    return resp.getheader("Strict-Transport-Security")


def task_status(output, task):
    """The status word (ok, changed, skipping) of the first run of a task in a play's output."""
    after = output.split("TASK [%s]" % task, 1)[1]
    return re.search(r"^(ok|changed|skipping|fatal): \[", after, re.MULTILINE).group(1)


def test_a_configuration_written_without_its_reload_is_loaded_by_the_next_run(lab_host):
    # As after a run that wrote the front door's configuration and ended before nginx loaded it: the file holds the
    # new setting, nginx still serves the old one, and the next run with that setting finds the file as wanted.
    conf = "/etc/llmops/front-door/nginx.conf"
    served = hsts_header()
    written = lab_host.file(conf).content_string
    assert written.count(served) == 1, served
    stale = written.replace(served, "max-age=600")
    lab_host.check_output("printf %%s %s | base64 -d > %s.new && mv %s.new %s"
                          % (base64.b64encode(stale.encode()).decode(), conf, conf, conf))
    try:
        rc, out = site("-e", "front_door_hsts_max_age=600")
        assert rc == 0, out
        assert task_status(out, "llmops.ollama.front_door : Write the nginx configuration") == "ok", out
        assert hsts_header() == "max-age=600", out
    finally:
        rc, out = site()
    assert rc == 0, out
    assert hsts_header() == served


@pytest.mark.faults_cover_on_docker
def test_image_tag_change_recreates_once_and_keeps_the_models(lab_host):
    new_tag = [t for t in OLLAMA_TAGS if t != VERSIONS["OLLAMA_DEFAULT_TAG"]][0]
    before_models = tags(lab_host)
    before_id = inspect(lab_host, "ollama")["Id"]
    since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 1))
    # The other lab tag is the old release below the floor (lab/versions.env): preflight lets it through only with
    # ollama_allow_unsafe_version.
    rc, out = site("-e", "ollama_image_tag=" + new_tag, "-e", "ollama_allow_unsafe_version=true")
    assert rc == 0, out
    after = inspect(lab_host, "ollama")
    assert after["Id"] != before_id
    assert after["Config"]["Image"].endswith(":" + new_tag)
    assert api(lab_host, "/api/version")["version"] == new_tag
    assert tags(lab_host) == before_models
    assert registry_blob_gets(since) == [], "models were fetched again"
    # Exactly one re-creation: the same tag again changes nothing.
    rc, out = site("-e", "ollama_image_tag=" + new_tag, "-e", "ollama_allow_unsafe_version=true")
    assert rc == 0, out
    assert recap_changed(out) == 0, out
    assert inspect(lab_host, "ollama")["Id"] == after["Id"]

