"""The LobeHub 2.x stand-in as the role will run it: its lab image (built here from this
directory by lab/images/build-doubles), the lab's real Postgres + pgvector image and the Ollama
double on a throwaway network. Signs up and in with Better Auth, chats as the web app does, and
counts the rows in Postgres with psql. Then the refusals to start.

Needs the lab (lab/bin/lab up: the registry with pgvector/pgvector and ollama/ollama); skips
without it. Everything it starts is removed at the end, and every wait is bounded.
"""
import base64
import json
import pathlib
import re
import secrets
import subprocess
import sys
import urllib.request
import uuid

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[3]
sys.path.insert(0, str(ROOT / "tests" / "lab"))
sys.path.insert(0, str(HERE))

from lab_helpers import REGISTRY, VERSIONS, docker, get_json, registry_up, wait_until  # noqa: E402
from lobehub_client import HttpError, LobeHub  # noqa: E402

PUSH = "127.0.0.1:5000"
LOBEHUB_IMAGE = f"{PUSH}/lobehub/lobehub:{VERSIONS['LOBEHUB_TAG']}"
PG_IMAGE = f"{PUSH}/pgvector/pgvector:{VERSIONS.get('PGVECTOR_TAG', 'pg17')}"
REDIS_IMAGE = f"{PUSH}/library/redis:{VERSIONS.get('REDIS_TAG', '7')}"
MODEL = "qwen2.5:0.5b"
ADMIN, PASSWORD = "admin@lab.example", "lab-" + secrets.token_hex(8)
APP_URL = "https://chat.lab.example"
SUFFIX = uuid.uuid4().hex[:6]
NET = f"llmops-lhtest-{SUFFIX}"
PG, REDIS = f"llmops-lhtest-pg-{SUFFIX}", f"llmops-lhtest-redis-{SUFFIX}"
OLLAMA, LOBE = f"llmops-lhtest-ollama-{SUFFIX}", f"llmops-lhtest-lobe-{SUFFIX}"
DB_PASSWORD = secrets.token_hex(12)
SECRETS = {"KEY_VAULTS_SECRET": base64.b64encode(secrets.token_bytes(32)).decode(),
           "AUTH_SECRET": secrets.token_urlsafe(32)}


def ollama_image():
    tags = get_json(f"{REGISTRY}/v2/ollama/ollama/tags/list").get("tags") or []
    for tag in [VERSIONS["OLLAMA_DEFAULT_TAG"], *VERSIONS["OLLAMA_TAGS"].split(), *sorted(tags)]:
        if tag in tags:
            return f"{PUSH}/ollama/ollama:{tag}"
    pytest.skip("no ollama/ollama image in the lab registry: run lab/bin/lab up")


def ip_of(name, network=NET):
    fmt = f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}'
    return docker("inspect", "-f", fmt, name).stdout.strip()


def psql(sql):
    return docker("exec", PG, "psql", "-X", "-U", "postgres", "-d", "lobechat", "-At", "-c",
                  sql).stdout.strip()


def healthy(name):
    return docker("inspect", "-f", "{{.State.Health.Status}}", name).stdout.strip() == "healthy"


def lobe_env(**extra):
    env = {"DATABASE_URL": f"postgresql://postgres:{DB_PASSWORD}@postgresql:5432/lobechat",
           **SECRETS, "APP_URL": APP_URL, "OLLAMA_PROXY_URL": "http://ollama:11434",
           "OLLAMA_MODEL_LIST": f"-all,+{MODEL}=Qwen 2.5 0.5B<32768:fc>",
           "AUTH_ALLOWED_EMAILS": ADMIN, "REDIS_URL": "redis://redis:6379",
           "REDIS_PREFIX": "lobechat", **extra}
    args = []
    for key, value in env.items():
        if value is not None:
            args += ["-e", f"{key}={value}"]
    return args


def run_lobe():
    docker("run", "-d", "--name", LOBE, "--network", NET, "--network-alias", "lobehub",
           "--label", "llmops.lab=1", *lobe_env(),
           "--health-cmd", "wget -qO- http://127.0.0.1:3210/api/auth/ok",
           "--health-interval", "1s", "--health-timeout", "3s", "--health-retries", "60",
           LOBEHUB_IMAGE)
    wait_until(lambda: healthy(LOBE), 60, "the stand-in to report healthy")
    return f"http://{ip_of(LOBE)}:3210"


@pytest.fixture(scope="module")
def stack():
    if not registry_up():
        pytest.skip("the lab is not up: run lab/bin/lab up first")
    build = subprocess.run([str(ROOT / "lab" / "images" / "build-doubles"), PUSH, "lobehub"],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    o_image = ollama_image()
    try:
        docker("network", "create", "--label", "llmops.lab=1", NET)
        docker("run", "-d", "--name", PG, "--network", NET, "--network-alias", "postgresql",
               "--label", "llmops.lab=1", "-e", f"POSTGRES_PASSWORD={DB_PASSWORD}",
               "-e", "POSTGRES_DB=lobechat", "--health-cmd", "pg_isready -U postgres",
               "--health-interval", "1s", "--health-timeout", "5s", "--health-retries", "90",
               PG_IMAGE)
        # As the deploy compose runs it.
        docker("run", "-d", "--name", REDIS, "--network", NET, "--network-alias", "redis",
               "--label", "llmops.lab=1", "--health-cmd", "redis-cli ping",
               "--health-interval", "1s", "--health-retries", "30", REDIS_IMAGE,
               "redis-server", "--save", "60", "1000", "--appendonly", "yes")
        # The Ollama double pulls from the lab registry over the lab network.
        docker("run", "-d", "--name", OLLAMA, "--network", "llmops-lab", "--label", "llmops.lab=1",
               "-e", "OLLAMA_DOUBLE_TOKEN_DELAY=0", o_image)
        docker("network", "connect", "--alias", "ollama", NET, OLLAMA)
        ourl = f"http://{ip_of(OLLAMA)}:11434"
        wait_until(lambda: urllib.request.urlopen(ourl + "/api/version", timeout=2).status == 200,
                   30, "the Ollama double")
        req = urllib.request.Request(ourl + "/api/pull", data=json.dumps(
            {"model": MODEL, "stream": False}).encode())
        assert json.load(urllib.request.urlopen(req, timeout=120))["status"] == "success"
        wait_until(lambda: healthy(PG) and healthy(REDIS), 90, "Postgres and Redis healthy")
        yield run_lobe()
    finally:
        docker("rm", "-f", LOBE, OLLAMA, REDIS, PG, check=False)
        docker("network", "rm", NET, check=False)


@pytest.fixture(scope="module")
def admin(stack):
    client = LobeHub(stack, origin=APP_URL)
    client.sign_up(ADMIN, PASSWORD, "Lab Admin")
    return client


# ---- start-up, schema, model list --------------------------------------------------------------
def test_healthy_by_wget_and_ok_endpoint(stack):
    assert healthy(LOBE)
    assert get_json(stack + "/api/auth/ok") == {"ok": True}
    spider = docker("exec", LOBE, "wget", "-q", "--spider", "http://127.0.0.1:3210/api/auth/ok",
                    check=False)
    assert spider.returncode == 0, spider.stderr
    missing = docker("exec", LOBE, "wget", "-qO-", "http://127.0.0.1:3210/api/auth/nope",
                     check=False)
    assert missing.returncode == 1 and "404" in missing.stderr


def test_schema_in_postgres(stack):
    tables = set(psql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").split())
    assert {"users", "user_settings", "accounts", "auth_sessions", "verifications", "agents",
            "sessions", "topics", "messages"} <= tables
    assert psql("SELECT extversion FROM pg_extension WHERE extname = 'vector'")
    assert psql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_search'") == "0"


def test_model_list_from_ollama_model_list(stack):
    ollama = LobeHub(stack).models()
    assert [m["id"] for m in ollama["serverModelLists"]] == [MODEL]
    assert ollama["serverModelLists"][0]["displayName"] == "Qwen 2.5 0.5B"
    assert ollama["enabledModels"] == [MODEL]
    assert ollama["fetchOnClient"] is False  # OLLAMA_PROXY_URL set: chats go through the server


# ---- Better Auth -------------------------------------------------------------------------------
def test_sign_up_refused_unless_allowed(stack):
    with pytest.raises(HttpError) as err:
        LobeHub(stack, origin=APP_URL).sign_up("eve@lab.example", "password-1234", "Eve")
    assert err.value.status == 422
    assert err.value.json()["code"] == "FAILED_TO_CREATE_USER"
    assert psql("SELECT count(*) FROM users WHERE email = 'eve@lab.example'") == "0"


def test_sign_up_from_a_foreign_origin_refused(stack):
    with pytest.raises(HttpError) as err:
        LobeHub(stack, origin="https://evil.example").sign_up(ADMIN, PASSWORD, "x")
    assert err.value.status == 403 and err.value.json()["code"] == "INVALID_ORIGIN"


def test_admin_signed_up_with_credential_account(admin):
    assert "__Secure-better-auth.session_token" in admin.cookies  # APP_URL is https
    row = psql(f"SELECT u.id, u.role, u.full_name, a.provider_id, a.account_id, a.password "
               f"FROM users u JOIN accounts a ON a.user_id = u.id WHERE u.email = '{ADMIN}'")
    user_id, role, name, provider, account_id, password = row.split("|")
    assert re.fullmatch(r"user_[0-9A-Za-z]{27}", user_id)
    assert (role, name, provider, account_id) == ("user", "Lab Admin", "credential", user_id)
    assert re.fullmatch(r"[0-9a-f]{32}:[0-9a-f]{128}", password), "scrypt salt:key, hex"
    assert PASSWORD not in password
    assert psql(f"SELECT count(*) FROM auth_sessions WHERE user_id = '{user_id}'") == "1"


def test_session_in_redis_too(admin):
    """Better Auth's secondary storage (REDIS_URL), and the database copy
    (storeSessionInDatabase)."""
    token = psql(f"SELECT s.token FROM auth_sessions s JOIN users u ON u.id = s.user_id "
                 f"WHERE u.email = '{ADMIN}' ORDER BY s.created_at LIMIT 1")
    keys = docker("exec", REDIS, "redis-cli", "--scan").stdout.split()
    assert f"lobechat:better-auth:{token}" in keys


def test_sign_in_wrong_password_then_right(stack, admin):
    client = LobeHub(stack, origin=APP_URL)
    with pytest.raises(HttpError) as err:
        client.sign_in(ADMIN, PASSWORD + "x")
    assert err.value.status == 401
    assert err.value.json()["code"] == "INVALID_EMAIL_OR_PASSWORD"
    assert client.sign_in(ADMIN, PASSWORD)["user"]["email"] == ADMIN
    assert client.session()["user"]["email"] == ADMIN
    assert LobeHub(stack).session() is None  # no cookie, no session


def test_idempotent_first_admin_step(stack, admin):
    """sign in, sign up only when that fails: a second run signs in and adds no user."""
    LobeHub(stack, origin=APP_URL).sign_in_or_up(ADMIN, PASSWORD, "Lab Admin")
    assert psql(f"SELECT count(*) FROM users WHERE email = '{ADMIN}'") == "1"


# ---- chat --------------------------------------------------------------------------------------
CHAT = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "stream": True}


@pytest.mark.parametrize("headers", [{}, {"X-lobe-chat-auth": "eyJhcGlLZXkiOiJ4In0="},
                                     {"Cookie": "better-auth.session_token=forged.sig"}])
def test_chat_refused_without_a_session(stack, headers):
    with pytest.raises(HttpError) as err:
        LobeHub(stack, origin=APP_URL).request("POST", "/webapi/chat/ollama", CHAT,
                                               headers=headers)
    assert err.value.status == 401
    assert err.value.json()["errorType"] == "Unauthorized"


def test_chat_rows_in_postgres(admin):
    before = int(psql("SELECT count(*) FROM messages"))
    turn = admin.chat(MODEL, "Say hello")
    assert turn["answer"].strip(), turn["events"]
    assert turn["events"][-1] == ("stop", "finished")
    rows = psql(f"SELECT role, content, model, provider FROM messages "
                f"WHERE topic_id = '{turn['topicId']}' ORDER BY created_at").splitlines()
    assert len(rows) == 2 and int(psql("SELECT count(*) FROM messages")) == before + 2
    assert rows[0] == "user|Say hello||"
    assert rows[1] == f"assistant|{turn['answer']}|{MODEL}|ollama"
    assert psql(f"SELECT parent_id FROM messages WHERE id = '{turn['assistantMessageId']}'") == \
        turn["userMessageId"]
    assert admin.trpc_query("message.count") == before + 2


def test_unknown_model_is_ollamas_error(admin):
    with pytest.raises(HttpError) as err:
        admin.request("POST", "/webapi/chat/ollama", {**CHAT, "model": "nope:1b"})
    assert err.value.status == 472
    body = err.value.json()
    assert body["errorType"] == "OllamaBizError" and "nope" in body["body"]["error"]["message"]


def test_recreated_container_keeps_data(stack, admin):
    """A new container on the same database: migrations idempotent, users and chats kept."""
    count = psql("SELECT count(*) FROM messages")
    docker("rm", "-f", LOBE)
    url = run_lobe()
    client = LobeHub(url, origin=APP_URL)
    client.sign_in(ADMIN, PASSWORD)
    assert psql("SELECT count(*) FROM messages") == count
    assert client.trpc_query("message.count") == int(count)


def test_no_secret_in_logs(stack, admin):
    logs = docker("logs", LOBE)
    text = logs.stdout + logs.stderr
    for secret in (PASSWORD, DB_PASSWORD, *SECRETS.values()):
        assert secret not in text
    assert "Cookie" not in text and "session_token" not in text


# ---- refusals to start -------------------------------------------------------------------------
@pytest.mark.parametrize("override,expect", [
    ({"DATABASE_URL": None}, "DATABASE_URL is not set"),
    ({"KEY_VAULTS_SECRET": None}, "KEY_VAULTS_SECRET"),
    ({"AUTH_SECRET": None}, "AUTH_SECRET"),
    ({"ACCESS_CODE": "lab-code"}, "ACCESS_CODE is no longer supported"),
    ({"NEXT_PUBLIC_SERVICE_MODE": "server"}, "Service Mode environment variables are deprecated"),
    ({"DATABASE_URL": "postgresql://postgres:wrong@postgresql:5432/lobechat"},
     "password authentication failed"),
])
def test_refuses_to_start(stack, override, expect):
    out = docker("run", "--rm", "--network", NET, "--label", "llmops.lab=1", *lobe_env(**override),
                 LOBEHUB_IMAGE, check=False, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    assert expect in out.stderr
