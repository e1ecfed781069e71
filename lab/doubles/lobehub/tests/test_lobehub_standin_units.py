"""The LobeHub 2.x stand-in's pieces on their own (no Docker, no database): start-up checks,
model list, Better Auth's password hash and cookie signature (checked with Node's own crypto,
an implementation we did not write, when `node` is installed), e-mail allow-list, rate limit."""
import pathlib
import shutil
import subprocess
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from lobehub_double import auth, config  # noqa: E402

BASE = {"DATABASE_URL": "postgresql://postgres:pw@postgresql:5432/lobechat",
        "KEY_VAULTS_SECRET": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        "AUTH_SECRET": "an-auth-secret-that-is-long-enough-0123"}


@pytest.mark.parametrize("missing", ["DATABASE_URL", "KEY_VAULTS_SECRET", "AUTH_SECRET"])
def test_required_variables_refused_by_name(missing):
    env = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(config.StartupError, match=missing):
        config.Settings(env)


@pytest.mark.parametrize("name,value,group", [
    ("ACCESS_CODE", "x", "Access Code"),
    ("NEXT_PUBLIC_SERVICE_MODE", "server", "Service Mode"),
    ("NEXTAUTH_SECRET", "", "NextAuth"),          # present even empty, as the real check
    ("NEXT_AUTH_SSO_PROVIDERS", "github", "NextAuth"),
    ("AUTH_URL", "https://x", "Auth URL"),
    ("NEXT_PUBLIC_ENABLE_BETTER_AUTH", "1", "Better Auth Flag"),
    ("OIDC_JWKS_KEY", "{}", "OIDC JWKS"),
    ("CLERK_SECRET_KEY", "sk", "Clerk"),
])
def test_deprecated_variables_refused(name, value, group):
    with pytest.raises(config.StartupError) as err:
        config.Settings({**BASE, name: value})
    text = str(err.value)
    assert f"ERROR: {group} environment variables are deprecated!" in text
    assert name in text


def test_access_code_message_points_at_better_auth():
    text = config.deprecated_auth({"ACCESS_CODE": "lab"})
    assert "ACCESS_CODE is no longer supported in LobeChat 2.0" in text
    assert "Better Auth" in text
    assert config.deprecated_auth({"ACCESS_CODE": ""}) is None  # an empty value is not "set"


def test_defaults_and_origins():
    s = config.Settings(dict(BASE))
    assert s.port == 3210 and s.app_url == "http://localhost:3210"
    assert s.trusted_origins == ["http://localhost:3210", "com.lobehub.app://"]
    assert not s.secure_cookies and not s.warnings
    s = config.Settings({**BASE, "APP_URL": "https://chat.example:8443/",
                         "AUTH_ADDITIONAL_TRUSTED_ORIGINS": "other.example"})
    assert s.trusted_origins == ["https://chat.example:8443", "com.lobehub.app://",
                                 "https://other.example"]
    assert s.secure_cookies
    s = config.Settings({**BASE, "AUTH_TRUSTED_ORIGINS": "https://a.example"})
    assert s.trusted_origins == ["https://a.example"]


def test_public_example_jwks_key_warns():
    jwks = '{"keys":[{"kid":"6823046760c5d460","kty":"RSA"}]}'
    s = config.Settings({**BASE, "JWKS_KEY": jwks})
    assert any("Public example JWKS_KEY" in w for w in s.warnings)


def test_model_list():
    models = config.parse_model_list("-all,+qwen2.5:0.5b=Qwen 2.5 0.5B<32768:fc:vision>,+llama3")
    assert [m["id"] for m in models] == ["qwen2.5:0.5b", "llama3"]
    assert models[0]["displayName"] == "Qwen 2.5 0.5B"
    assert models[0]["contextWindowTokens"] == 32768
    assert models[0]["abilities"] == {"functionCall": True, "vision": True}
    assert all(m["enabled"] for m in models)
    assert config.enabled_models("-all,+a,b=B,-c") == ["a", "b"]
    default = config.parse_model_list("")
    assert [m["id"] for m in default] == config.BUILTIN_OLLAMA_MODELS
    assert not any(m["enabled"] for m in default)
    with pytest.raises(config.StartupError):
        config.parse_model_list("m<1:warp>")


def test_password_hash_format_and_verify():
    stored = auth.hash_password("pässwörd-123")
    salt, key = stored.split(":")
    assert len(salt) == 32 and len(key) == 128
    assert int(salt, 16) >= 0 and int(key, 16) >= 0
    assert auth.verify_password(stored, "pässwörd-123")
    assert not auth.verify_password(stored, "pässwörd-124")


NODE = shutil.which("node")


@pytest.mark.skipif(not NODE, reason="node is not installed")
def test_password_hash_verifies_with_node_scrypt():
    """@better-auth/utils/password on Node: scrypt(password.normalize('NFKC'), salt, 64,
    {N: 16384, r: 16, p: 1}), stored as `<salt>:<hex key>`."""
    stored = auth.hash_password("Ünïcode pass 1")
    script = ("const c=require('crypto');const [s,k]=process.argv[1].split(':');"
              "const d=c.scryptSync(process.argv[2].normalize('NFKC'),s,64,"
              "{N:16384,r:16,p:1,maxmem:64*1024*1024});"
              "process.exit(d.toString('hex')===k?0:1)")
    assert subprocess.run([NODE, "-e", script, stored, "Ünïcode pass 1"]).returncode == 0
    assert subprocess.run([NODE, "-e", script, stored, "other"]).returncode == 1


@pytest.mark.skipif(not NODE, reason="node is not installed")
def test_cookie_signature_matches_node_hmac():
    """better-call signCookieValue: encodeURIComponent(`${v}.${base64(HMAC-SHA256(secret, v))}`)."""
    signed = auth.sign_cookie("tok3nValue", "s3cret")
    script = ("const c=require('crypto');const v=process.argv[1];"
              "const s=c.createHmac('sha256',process.argv[2]).update(v).digest('base64');"
              "process.stdout.write(encodeURIComponent(v+'.'+s))")
    out = subprocess.run([NODE, "-e", script, "tok3nValue", "s3cret"], capture_output=True,
                         text=True, check=True).stdout
    assert signed == out
    assert auth.unsign_cookie(signed, "s3cret") == "tok3nValue"
    assert auth.unsign_cookie(signed, "other") is None
    assert auth.unsign_cookie("tok3nValue.bogus", "s3cret") is None


def test_email_allow_list():
    settings = config.Settings({**BASE, "AUTH_ALLOWED_EMAILS": "admin@lab.example, corp.example"})
    a = auth.Auth(settings, None)
    assert a.email_allowed("admin@lab.example")
    assert a.email_allowed("anyone@corp.example")
    assert not a.email_allowed("eve@lab.example")
    assert not a.email_allowed("eve@sub.corp.example")
    assert auth.Auth(config.Settings(dict(BASE)), None).email_allowed("anyone@anywhere.example")


def test_rate_limit_sign_in_three_per_ten_seconds():
    limiter = auth.RateLimiter()
    assert [limiter.consume("10.0.0.1", "/sign-in/email") for _ in range(3)] == [None] * 3
    assert limiter.consume("10.0.0.1", "/sign-in/email") >= 1
    assert limiter.consume("10.0.0.2", "/sign-in/email") is None   # per client address
    assert limiter.consume("10.0.0.1", "/sign-up/email") is None   # per path
    assert all(limiter.consume(None, "/get-session") is None for _ in range(100))
    assert limiter.consume(None, "/get-session") >= 1


def test_client_ip_from_forwarded_for():
    class H(dict):
        def get(self, key, default=None):
            return super().get(key, default)
    assert auth.client_ip(H({"X-Forwarded-For": "junk, 192.0.2.7, 10.0.0.1"})) == "192.0.2.7"
    assert auth.client_ip(H()) is None


def test_pool_drops_idle_connections_the_server_closed(monkeypatch):
    """Postgres re-created (a new image): every idle connection is dead; the next request gets a new one, not a 500."""
    from lobehub_double import pg

    made = []

    class FakeConnection:
        fail_new = False

        def __init__(self, url, *args, **kwargs):
            self.stale = FakeConnection.fail_new
            self.closed = False
            made.append(self)

        def script(self, sql):
            if self.stale:
                raise pg.PgError({"S": "FATAL", "C": "57P01", "M": "terminating connection due to administrator command"})

        def query(self, sql, params=()):
            return [("ok",)]

        def close(self):
            self.closed = True

    monkeypatch.setattr(pg, "Connection", FakeConnection)
    pool = pg.Pool("postgresql://postgres:x@db:5432/lobechat", size=2)
    first, _ = pool._get()
    second, _ = pool._get()
    pool._put(first, False)
    pool._put(second, False)
    first.stale = second.stale = True
    assert pool.query("SELECT 1") == [("ok",)]
    assert first.closed and second.closed and len(made) == 3
    # A new connection that fails is the error: the database is down, not a stale session.
    made[-1].stale = True
    FakeConnection.fail_new = True
    with pytest.raises(pg.PgError):
        pool.query("SELECT 1")
