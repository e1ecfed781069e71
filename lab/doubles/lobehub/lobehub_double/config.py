"""Start-up checks and settings, read from the environment the way LobeHub 2.2.x reads it.

Sources (lobehub/lobehub): scripts/_shared/checkDeprecatedAuth.js (the deprecated variables and
their messages), scripts/_shared/checkGatewayConfig.js (the published example JWKS key),
scripts/migrateServerDB/docker.cjs (DATABASE_URL), src/envs/app.ts (APP_URL default),
src/libs/better-auth/utils/config.ts (trusted origins), src/envs/redis.ts (REDIS_PREFIX).
"""

import base64
import binascii
import json
import re
import urllib.parse

MIGRATION_DOC_BASE = "https://lobehub.com/docs/self-hosting/advanced/auth"
PUBLIC_EXAMPLE_JWKS_KID = "6823046760c5d460"
MOBILE_APP_SCHEME = "com.lobehub.app://"


class StartupError(Exception):
    """Printed to stderr; the process exits 1 (as startServer.js does with process.exit(1))."""


def _set(env, keys):
    return [k for k in keys if env.get(k)]


# (name, vars found, message, doc url, formatter) - the order and texts of checkDeprecatedAuth.js
def deprecated_auth(env):
    """The first group of ACCESS_CODE-era / 1.x variables present, or None."""
    mapping_magic = {"ENABLE_MAGIC_LINK": "AUTH_ENABLE_MAGIC_LINK",
                     "NEXT_PUBLIC_AUTH_EMAIL_VERIFICATION": "AUTH_EMAIL_VERIFICATION",
                     "NEXT_PUBLIC_ENABLE_MAGIC_LINK": "AUTH_ENABLE_MAGIC_LINK"}
    mapping_azure = {"AUTH_AZURE_AD_ID": "AUTH_MICROSOFT_ID",
                     "AUTH_AZURE_AD_SECRET": "AUTH_MICROSOFT_SECRET",
                     "AUTH_AZURE_AD_TENANT_ID": "No longer needed",
                     "AZURE_AD_CLIENT_ID": "AUTH_MICROSOFT_ID",
                     "AZURE_AD_CLIENT_SECRET": "AUTH_MICROSOFT_SECRET",
                     "AZURE_AD_TENANT_ID": "No longer needed"}
    mapping_zitadel = {"ZITADEL_CLIENT_ID": "AUTH_ZITADEL_ID",
                       "ZITADEL_CLIENT_SECRET": "AUTH_ZITADEL_SECRET",
                       "ZITADEL_ISSUER": "AUTH_ZITADEL_ISSUER"}
    mapping_entra = {"AUTH_MICROSOFT_ENTRA_ID_BASE_URL": "No longer needed",
                     "AUTH_MICROSOFT_ENTRA_ID_ID": "AUTH_MICROSOFT_ID",
                     "AUTH_MICROSOFT_ENTRA_ID_SECRET": "AUTH_MICROSOFT_SECRET",
                     "AUTH_MICROSOFT_ENTRA_ID_TENANT_ID": "No longer needed"}
    checks = [
        ("NextAuth",
         # present at all, even empty: the real check filters Object.keys(process.env)
         [k for k in env if k.startswith("NEXT_AUTH") or k.startswith("NEXTAUTH")],
         "NextAuth has been removed from LobeChat. Please migrate to Better Auth.",
         f"{MIGRATION_DOC_BASE}/nextauth-to-betterauth", None),
        ("Clerk", _set(env, ["NEXT_PUBLIC_CLERK_PUBLISHABLE_KEY", "CLERK_SECRET_KEY",
                             "CLERK_WEBHOOK_SECRET"]),
         "Clerk has been removed from LobeChat. Please migrate to Better Auth.",
         f"{MIGRATION_DOC_BASE}/clerk-to-betterauth", None),
        ("Deprecated Auth", _set(env, list(mapping_magic)),
         "Please update to the new environment variable names.", None,
         lambda v: f"{v} → Please use {mapping_magic[v]} instead"),
        ("Service Mode", _set(env, ["NEXT_PUBLIC_SERVICE_MODE"]),
         "LobeChat 2.0 no longer supports client-side database mode. This environment variable "
         "is now obsolete and can be removed.", None, None),
        ("Access Code", _set(env, ["ACCESS_CODE"]),
         "ACCESS_CODE is no longer supported in LobeChat 2.0. Please use Better Auth "
         "authentication system instead.", None, None),
        ("Better Auth Flag", _set(env, ["NEXT_PUBLIC_ENABLE_BETTER_AUTH"]),
         "NEXT_PUBLIC_ENABLE_BETTER_AUTH is no longer needed. Better Auth is now automatically "
         "detected via AUTH_SECRET presence.", None, None),
        ("Auth URL", _set(env, ["NEXT_PUBLIC_AUTH_URL", "AUTH_URL"]),
         "AUTH_URL is no longer needed. The authentication URL is now automatically detected "
         "from request headers.", None, None),
        ("Azure AD", _set(env, list(mapping_azure)),
         "Azure AD provider has been renamed to Microsoft. Please update your environment "
         "variables.", f"{MIGRATION_DOC_BASE}/nextauth-to-betterauth",
         lambda v: f"{v} → {mapping_azure[v]}"),
        ("ZITADEL", _set(env, list(mapping_zitadel)),
         "ZITADEL environment variables have been renamed.", None,
         lambda v: f"{v} → Please use {mapping_zitadel[v]} instead"),
        ("OIDC JWKS", _set(env, ["OIDC_JWKS_KEY"]), "OIDC_JWKS_KEY has been renamed to JWKS_KEY.",
         None, lambda v: "OIDC_JWKS_KEY → Please use JWKS_KEY instead"),
        ("Microsoft Entra ID", _set(env, list(mapping_entra)),
         "Microsoft Entra ID provider has been renamed to Microsoft. Please update your "
         "environment variables.", f"{MIGRATION_DOC_BASE}/nextauth-to-betterauth",
         lambda v: f"{v} → {mapping_entra[v]}"),
    ]
    for name, found, message, doc, fmt in checks:
        if found:
            lines = ["", "═" * 70, f"❌ ERROR: {name} environment variables are deprecated!",
                     "═" * 70, "", "Detected deprecated environment variables:"]
            lines += [f"  • {fmt(v) if fmt else v}" for v in found]
            lines += ["", message]
            if doc:
                lines += ["", f"📖 Migration guide: {doc}"]
            lines += ["", "Please update your environment variables and restart.", "═" * 70, ""]
            return "\n".join(lines)
    return None


def gateway_warnings(env):
    """checkGatewayConfig.js: warnings only (the published example key, Gateway Mode gaps)."""
    def unset(value):
        return not value or value.startswith("YOUR_")

    issues = []
    kid = None
    if not unset(env.get("JWKS_KEY")):
        try:
            kid = (json.loads(env["JWKS_KEY"]).get("keys") or [{}])[0].get("kid")
        except (ValueError, AttributeError, IndexError):
            kid = False
    if kid == PUBLIC_EXAMPLE_JWKS_KID:
        issues.append("Public example JWKS_KEY: JWKS_KEY is the example key that was published "
                      "in .env.example. Anyone can forge tokens this server and its gateway "
                      "accept. Generate a new key and replace it in .env.")
    if env.get("ENABLE_AGENT_GATEWAY") == "1":
        missing = [k for k in ("AGENT_GATEWAY_URL", "AGENT_GATEWAY_SERVICE_TOKEN")
                   if unset(env.get(k))]
        if unset(env.get("JWKS_KEY")):
            missing.append("JWKS_KEY")
        elif kid is False:
            missing.append("JWKS_KEY (not valid JWKS JSON)")
        if missing:
            issues.append("Gateway Mode is not configured: " + ", ".join(missing))
    return issues


def normalize_origin(url):
    """utils/config.ts normalizeOrigin: custom schemes kept, https assumed, origin only."""
    if not url:
        return None
    if "://" in url and not url.startswith("http"):
        return url
    try:
        parts = urllib.parse.urlsplit(url if url.startswith("http") else "https://" + url)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    default = {"http": 80, "https": 443}.get(parts.scheme)
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def _origins(value):
    return [o for o in (normalize_origin(i.strip()) for i in (value or "").split(",")) if o]


class Settings:
    """Everything the server reads from the environment, checked once at start."""

    def __init__(self, env):
        self.env = env
        problem = deprecated_auth(env)
        if problem:
            raise StartupError(problem)
        # scripts/migrateServerDB/docker.cjs, run by startServer.js because the image sets
        # DATABASE_DRIVER=node: it throws, and startServer exits 1, without DATABASE_URL.
        self.database_url = env.get("DATABASE_URL", "")
        if not self.database_url:
            raise StartupError("DATABASE_URL is not set, please set it in your environment "
                               "variables.")
        if env.get("DATABASE_DRIVER", "node") != "node":
            raise StartupError(f"DATABASE_DRIVER={env.get('DATABASE_DRIVER')!r}: this stand-in "
                               "speaks to Postgres over TCP only (DATABASE_DRIVER=node, the "
                               "image's default)")
        # The real server starts without these and then fails every request that needs them
        # (README: "Not faithful"); the stand-in refuses at once, naming them.
        self.key_vaults_secret = env.get("KEY_VAULTS_SECRET", "")
        if not self.key_vaults_secret:
            raise StartupError("`KEY_VAULTS_SECRET` is not set, please set it in your environment "
                               "variables.\n\nIf you don't have it, please run `openssl rand "
                               "-base64 32` to create one.")
        self.auth_secret = env.get("AUTH_SECRET", "")
        if not self.auth_secret:
            raise StartupError("AUTH_SECRET is not set: Better Auth has no secret to sign "
                               "session cookies with (run `openssl rand -base64 32`).")
        self.warnings = gateway_warnings(env)
        try:
            raw = base64.b64decode(self.key_vaults_secret, validate=True)
            if len(raw) not in (16, 24, 32):
                raise ValueError
        except (binascii.Error, ValueError):
            self.warnings.append("KEY_VAULTS_SECRET is not the base64 of a 16, 24 or 32 byte "
                                 "AES key: saving provider keys (key vaults) will fail")
        if len(self.auth_secret) < 32:
            self.warnings.append("AUTH_SECRET is shorter than 32 characters")

        self.port = int(env.get("PORT") or 3210)
        self.hostname = env.get("HOSTNAME") or "0.0.0.0"
        # src/envs/app.ts: APP_URL defaults to http://localhost:$PORT (not required).
        self.app_url = env.get("APP_URL") or f"http://localhost:{self.port}"
        self.secure_cookies = self.app_url.startswith("https://")
        trusted = _origins(env.get("AUTH_TRUSTED_ORIGINS"))
        extra = _origins(env.get("AUTH_ADDITIONAL_TRUSTED_ORIGINS"))
        if not trusted:
            trusted = [o for o in (normalize_origin(self.app_url), MOBILE_APP_SCHEME) if o]
        self.trusted_origins = list(dict.fromkeys(trusted + extra))
        self.allowed_emails = [s.strip() for s in (env.get("AUTH_ALLOWED_EMAILS") or "").split(",")
                               if s.strip()]
        self.email_password = env.get("AUTH_DISABLE_EMAIL_PASSWORD") not in ("1", "true")
        self.email_verification = env.get("AUTH_EMAIL_VERIFICATION") == "1"
        self.redis_url = env.get("REDIS_URL", "")
        self.redis_prefix = env.get("REDIS_PREFIX") or "lobechat"
        self.ollama_proxy_url = (env.get("OLLAMA_PROXY_URL") or "").rstrip("/")
        self.ollama_enabled = env.get("ENABLED_OLLAMA", "1") != "0"
        self.ollama_models = parse_model_list(env.get("OLLAMA_MODEL_LIST", ""))
        self.ollama_enabled_models = enabled_models(env.get("OLLAMA_MODEL_LIST", ""))
        self.upload_to_server = bool(env.get("S3_SECRET_ACCESS_KEY"))
        self.jwks_key = env.get("JWKS_KEY", "")
        self.version = env.get("LOBEHUB_DOUBLE_VERSION", "0.0.0-lab")
        self.chat_timeout = float(env.get("LOBEHUB_DOUBLE_CHAT_TIMEOUT", "300"))


# ---- model list (src/utils/server/parseModels.ts semantics, for one provider) ----------------
# Stand-in for model-bank's built-in Ollama cards: what the list shows unless it starts with -all.
BUILTIN_OLLAMA_MODELS = ["llama3.1", "qwen2.5", "deepseek-r1", "gemma2", "mistral"]
ABILITIES = {"fc": "functionCall", "vision": "vision", "file": "files", "reasoning": "reasoning",
             "search": "search", "imageOutput": "imageOutput", "video": "video"}
_ITEM = re.compile(r"^(?P<id>[^=<]+?)\s*(?:=\s*(?P<name>[^<]*?))?\s*(?:<(?P<ext>[^>]*)>)?$")


def _card(model_id, display=None):
    return {"id": model_id, "displayName": display or model_id, "enabled": False,
            "type": "chat", "abilities": {}, "providerId": "ollama", "source": "builtin"}


def parse_model_list(spec):
    """OLLAMA_MODEL_LIST -> serverModelLists: -all, -id, +id, id=Display<tokens:fc:vision...>."""
    models = {m: _card(m) for m in BUILTIN_OLLAMA_MODELS}
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item:
            continue
        if item == "-all":
            models.clear()
            continue
        if item.startswith("-"):
            models.pop(item[1:].strip(), None)
            continue
        item = item.lstrip("+").strip()
        match = _ITEM.match(item)
        if not match:
            raise StartupError(f"OLLAMA_MODEL_LIST: cannot parse {raw!r}")
        model_id = match.group("id").strip()
        card = models.get(model_id) or _card(model_id)
        card = dict(card, enabled=True, abilities=dict(card["abilities"]))
        if (match.group("name") or "").strip():
            card["displayName"] = match.group("name").strip()
        ext = match.group("ext")
        if ext:
            parts = ext.split(":")
            if parts[0].strip():
                if not parts[0].strip().isdigit():
                    raise StartupError("OLLAMA_MODEL_LIST: token count must be a number in "
                                       f"{raw!r}")
                card["contextWindowTokens"] = int(parts[0])
            for cap in (p.strip() for p in parts[1:]):
                if cap not in ABILITIES:
                    raise StartupError(f"OLLAMA_MODEL_LIST: unknown ability {cap!r} in {raw!r}")
                card["abilities"][ABILITIES[cap]] = True
        models[model_id] = card
    return list(models.values())


def enabled_models(spec):
    """extractEnabledModels: the ids the list adds (None when it adds none)."""
    ids = []
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item or item.startswith("-"):
            continue
        match = _ITEM.match(item.lstrip("+").strip())
        if match:
            ids.append(match.group("id").strip())
    return ids or None
