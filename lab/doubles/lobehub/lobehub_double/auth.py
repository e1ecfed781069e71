"""Better Auth 1.6 (the version LobeHub 2.2.19 pins) as LobeHub configures it, mounted at /api/auth.

Sources: better-auth v1.6.22 packages/better-auth/src/api/routes/{sign-up,sign-in,sign-out,
session,ok}.ts, api/middlewares/origin-check.ts, api/rate-limiter/index.ts, cookies/index.ts,
packages/core/src/error/codes.ts, @better-auth/utils password (scrypt N=16384 r=16 p=1 dkLen=64,
`<hex salt>:<hex key>`), better-call's signCookieValue; lobehub src/libs/better-auth/
define-config.ts (email+password on unless AUTH_DISABLE_EMAIL_PASSWORD, 8-64 characters,
autoSignIn, cookie cache, storeSessionInDatabase, user model `users` with name -> full_name and
image -> avatar, ids), plugins/email-whitelist.ts (AUTH_ALLOWED_EMAILS), better-auth admin()
plugin (users.role 'user' on creation).
"""

import base64
import datetime
import fnmatch
import hashlib
import hmac
import ipaddress
import json
import os
import re
import threading
import time
import unicodedata
import urllib.parse

from . import util

SCRYPT = {"n": 16384, "r": 16, "p": 1, "dklen": 64, "maxmem": 64 * 1024 * 1024}
SESSION_SECONDS = 7 * 24 * 3600      # Better Auth session.expiresIn default
SHORT_SESSION_SECONDS = 24 * 3600    # rememberMe: false
COOKIE_CACHE_SECONDS = 10 * 60       # define-config.ts cookieCache.maxAge
EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")

ERRORS = {  # packages/core/src/error/codes.ts
    "INVALID_EMAIL": "Invalid email",
    "INVALID_PASSWORD": "Invalid password",
    "INVALID_EMAIL_OR_PASSWORD": "Invalid email or password",
    "PASSWORD_TOO_SHORT": "Password too short",
    "PASSWORD_TOO_LONG": "Password too long",
    "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL": "User already exists. Use another email.",
    "FAILED_TO_CREATE_USER": "Failed to create user",
    "FAILED_TO_CREATE_SESSION": "Failed to create session",
    "FAILED_TO_GET_SESSION": "Failed to get session",
    "INVALID_ORIGIN": "Invalid origin",
    "INVALID_CALLBACK_URL": "Invalid callbackURL",
    "MISSING_OR_NULL_ORIGIN": "Missing or null Origin",
    "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED":
        "Cross-site navigation login blocked. This request appears to be a CSRF attack.",
    "EMAIL_NOT_VERIFIED": "Email not verified",
}


class ApiError(Exception):
    """better-call's APIError: JSON {code, message} with the HTTP status."""

    def __init__(self, status, code, message=None):
        super().__init__(message or ERRORS.get(code, code))
        self.status, self.code = status, code
        self.message = message or ERRORS.get(code, code)


# ---- passwords, cookies ----------------------------------------------------------------------
def hash_password(password):
    salt = base64.b16encode(os.urandom(16)).decode().lower()
    key = hashlib.scrypt(unicodedata.normalize("NFKC", password).encode(), salt=salt.encode(),
                         **SCRYPT)
    return f"{salt}:{key.hex()}"


def verify_password(stored, password):
    if not stored or ":" not in stored:
        return False
    salt, key_hex = stored.split(":", 1)
    key = hashlib.scrypt(unicodedata.normalize("NFKC", password).encode(), salt=salt.encode(),
                         **SCRYPT)
    return hmac.compare_digest(key.hex(), key_hex)


def sign_cookie(value, secret):
    """better-call signCookieValue: encodeURIComponent(`${value}.${base64(HMAC-SHA256)}`)."""
    sig = base64.b64encode(hmac.new(secret.encode(), value.encode(), hashlib.sha256).digest())
    return urllib.parse.quote(f"{value}.{sig.decode()}", safe="-_.!~*'()")


def unsign_cookie(raw, secret):
    value = urllib.parse.unquote(raw)
    token, _, sig = value.rpartition(".")
    if not token or len(sig) != 44 or not sig.endswith("="):
        return None
    want = base64.b64encode(hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest())
    return token if hmac.compare_digest(want.decode(), sig) else None


def parse_cookies(header):
    out = {}
    for part in (header or "").split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in out:
            out[name] = value.strip().strip('"')
    return out


def client_ip(headers):
    """getIp: the first valid address in X-Forwarded-For (the default ipAddressHeaders)."""
    value = headers.get("X-Forwarded-For") or ""
    for item in value.split(","):
        try:
            return str(ipaddress.ip_address(item.strip()))
        except ValueError:
            continue
    return None


class RateLimiter:
    """Better Auth's memory rate limiter (on by default in production): 100 requests per 10 s per
    IP and path, 3 per 10 s on /sign-in*, /sign-up*, /change-password*, /change-email*."""

    def __init__(self):
        self._data = {}
        self._lock = threading.Lock()

    @staticmethod
    def rule(path):
        if path.startswith(("/sign-in", "/sign-up", "/change-password", "/change-email")):
            return 10, 3
        return 10, 100

    def consume(self, ip, path):
        """None when allowed, else the seconds to wait."""
        window, limit = self.rule(path)
        key = f"{ip or 'no-trusted-ip'}|{path}"
        now = time.time()
        with self._lock:
            count, last = self._data.get(key, (0, 0.0))
            if not count or now - last > window:
                self._data[key] = (1, now)
                return None
            if count >= limit:
                return max(1, int(last + window - now + 0.999))
            self._data[key] = (count + 1, now)
            return None


class Auth:
    def __init__(self, settings, pool, redis=None):
        self.s = settings
        self.pool = pool
        self.redis = redis
        self.limiter = RateLimiter()
        prefix = "__Secure-" if settings.secure_cookies else ""
        self.session_cookie = prefix + "better-auth.session_token"
        self.data_cookie = prefix + "better-auth.session_data"
        self.dont_remember_cookie = prefix + "better-auth.dont_remember"

    # ---- helpers -------------------------------------------------------------------------------
    def _cookie(self, name, value, max_age=None):
        parts = [f"{name}={value}"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        parts += ["Path=/", "HttpOnly"]
        if self.s.secure_cookies:
            parts.append("Secure")
        parts.append("SameSite=Lax")
        return "; ".join(parts)

    def is_trusted(self, url, allow_relative=False):
        if allow_relative and url.startswith("/") and not url.startswith("//"):
            return True
        from .config import normalize_origin
        origin = normalize_origin(url) if url.startswith("http") else url
        for pattern in self.s.trusted_origins:
            if "*" in pattern or "?" in pattern:
                if fnmatch.fnmatchcase(origin or "", pattern):
                    return True
            elif origin == pattern or (not url.startswith("http") and url.startswith(pattern)):
                return True
        return False

    def _validate_origin(self, req, force=False):
        if not (force or "Cookie" in req.headers):
            return
        origin = req.headers.get("Origin") or req.headers.get("Referer") or ""
        if not origin or origin == "null":
            raise ApiError(403, "MISSING_OR_NULL_ORIGIN")
        if not self.is_trusted(origin):
            raise ApiError(403, "INVALID_ORIGIN")

    def _form_csrf(self, req):
        """formCsrfMiddleware (sign-in/up): cookies -> origin check; Fetch Metadata -> block a
        cross-site navigation, else check; a bare Origin/Referer -> check; none -> allowed."""
        if "Cookie" in req.headers:
            return self._validate_origin(req)
        site, mode = req.headers.get("Sec-Fetch-Site"), req.headers.get("Sec-Fetch-Mode")
        if any((req.headers.get(h) or "").strip() for h in
               ("Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest")):
            if site == "cross-site" and mode == "navigate":
                raise ApiError(403, "CROSS_SITE_NAVIGATION_LOGIN_BLOCKED")
            return self._validate_origin(req, force=True)
        if req.headers.get("Origin") or req.headers.get("Referer"):
            self._validate_origin(req, force=True)

    @staticmethod
    def user_out(row):
        """parseUserOutput with LobeHub's field mapping (name <- full_name, image <- avatar)."""
        return {"id": row["id"], "name": row.get("full_name") or "", "email": row["email"],
                "emailVerified": bool(row["email_verified"]), "image": row.get("avatar"),
                "createdAt": row["created_at"], "updatedAt": row["updated_at"],
                "username": row.get("username"), "role": row.get("role"),
                "banned": row.get("banned"), "banReason": row.get("ban_reason"),
                "banExpires": row.get("ban_expires")}

    @staticmethod
    def session_out(row):
        utc = datetime.timezone.utc
        def aware(value):
            return value if value.tzinfo else value.replace(tzinfo=utc)
        return {"id": row["id"], "token": row["token"], "userId": row["user_id"],
                "expiresAt": aware(row["expires_at"]), "createdAt": aware(row["created_at"]),
                "updatedAt": aware(row["updated_at"]), "ipAddress": row.get("ip_address"),
                "userAgent": row.get("user_agent"), "impersonatedBy": row.get("impersonated_by")}

    def email_allowed(self, email):
        """plugins/email-whitelist.ts: full e-mails or domains; an empty list allows everyone."""
        if not self.s.allowed_emails:
            return True
        domain = email.split("@")[1] if "@" in email else ""
        return any(item == email if "@" in item else item == domain
                   for item in self.s.allowed_emails)

    # ---- sessions ------------------------------------------------------------------------------
    def _create_session(self, conn, user, req, dont_remember):
        seconds = SHORT_SESSION_SECONDS if dont_remember else SESSION_SECONDS
        now = util.now()
        row = conn.query(
            "INSERT INTO auth_sessions (id, token, user_id, expires_at, created_at, updated_at, "
            "ip_address, user_agent) VALUES ($1, $2, $3, $4, $5, $5, $6, $7) RETURNING *",
            [util.nanoid(12), util.better_auth_token(), user["id"],
             util.naive_utc(now + datetime.timedelta(seconds=seconds)), util.naive_utc(now),
             client_ip(req.headers) or "", req.headers.get("User-Agent") or ""])[0]
        session = self.session_out(row)
        if self.redis:
            self.redis.set(session["token"], util.dumps(
                {"session": session, "user": self.user_out(user)}).decode(), seconds)
        return session, seconds

    def _set_session_cookies(self, session, seconds, dont_remember):
        signed = sign_cookie(session["token"], self.s.auth_secret)
        cookies = [self._cookie(self.session_cookie, signed, None if dont_remember else seconds)]
        if dont_remember:
            cookies.append(self._cookie(self.dont_remember_cookie,
                                        sign_cookie("true", self.s.auth_secret)))
        return cookies

    def current(self, req):
        """(session, user) from the session cookie, or None (bad signature, unknown, expired)."""
        raw = parse_cookies(req.headers.get("Cookie")).get(self.session_cookie)
        token = unsign_cookie(raw, self.s.auth_secret) if raw else None
        if not token:
            return None
        if self.redis:
            cached = self.redis.get(token)
            if cached:
                data = json.loads(cached)
                row = self.pool.query("SELECT * FROM users WHERE id = $1",
                                      [data["session"]["userId"]])
                if row:
                    return data["session"], self.user_out(row[0])
        rows = self.pool.query(
            "SELECT s.*, u.id AS u_id FROM auth_sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token = $1 AND s.expires_at > (now() AT TIME ZONE 'utc')", [token])
        if not rows:
            return None
        user = self.pool.query("SELECT * FROM users WHERE id = $1", [rows[0]["user_id"]])[0]
        return self.session_out(rows[0]), self.user_out(user)

    # ---- endpoints -----------------------------------------------------------------------------
    def handle(self, req, sub):
        """sub: the path after /api/auth. Returns (status, body obj, extra headers)."""
        retry = self.limiter.consume(client_ip(req.headers), sub)
        if retry:
            return 429, {"message": "Too many requests. Please try again later."}, \
                [("X-Retry-After", str(retry))]
        try:
            if req.method == "POST":
                self._validate_origin(req)  # originCheckMiddleware: every POST with cookies
            route = {("GET", "/ok"): self.ok,
                     ("POST", "/sign-up/email"): self.sign_up,
                     ("POST", "/sign-in/email"): self.sign_in,
                     ("GET", "/get-session"): self.get_session,
                     ("POST", "/get-session"): self.get_session,
                     ("POST", "/sign-out"): self.sign_out}.get(
                         ("GET" if req.method == "HEAD" else req.method, sub))
            if route is None:
                known = {"/ok", "/sign-up/email", "/sign-in/email", "/get-session", "/sign-out"}
                if sub in known:
                    return 405, {"message": "Method Not Allowed"}, []
                return 404, None, []
            return route(req)
        except ApiError as err:
            return err.status, {"code": err.code, "message": err.message}, []

    def ok(self, req):
        return 200, {"ok": True}, []

    def _body(self, req):
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        try:
            if ctype == "application/x-www-form-urlencoded":
                body = dict(urllib.parse.parse_qsl(req.body.decode()))
            else:
                body = json.loads(req.body or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "VALIDATION_ERROR", "Invalid body") from None
        if not isinstance(body, dict):
            raise ApiError(400, "BODY_MUST_BE_AN_OBJECT", "Body must be an object")
        callback = body.get("callbackURL")
        if callback is not None and (not isinstance(callback, str) or
                                     not self.is_trusted(callback, allow_relative=True)):
            raise ApiError(403, "INVALID_CALLBACK_URL")
        return body

    def sign_up(self, req):
        self._form_csrf(req)
        body = self._body(req)
        for field in ("name", "email", "password"):
            if not isinstance(body.get(field), str):
                raise ApiError(400, "VALIDATION_ERROR", f"[body.{field}] Invalid input: "
                               "expected string")
        if not self.s.email_password:
            raise ApiError(400, "EMAIL_PASSWORD_SIGN_UP_DISABLED",
                           "Email and password sign up is not enabled")
        email, password = body["email"], body["password"]
        if not EMAIL_RE.match(email):
            raise ApiError(400, "INVALID_EMAIL")
        if not password:
            raise ApiError(400, "INVALID_PASSWORD")
        if len(password) < 8:
            raise ApiError(400, "PASSWORD_TOO_SHORT")
        if len(password) > 64:
            raise ApiError(400, "PASSWORD_TOO_LONG")
        email = email.lower()
        dont_remember = body.get("rememberMe") is False

        def work(conn):
            if conn.query("SELECT 1 FROM users WHERE email = $1", [email]):
                raise ApiError(422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL")
            hashed = hash_password(password)
            # databaseHooks.user.create.before (email-whitelist.ts) throws a plain Error, which
            # sign-up.ts turns into 422 FAILED_TO_CREATE_USER: no row is written.
            if not self.email_allowed(email):
                raise ApiError(422, "FAILED_TO_CREATE_USER")
            now = util.now()
            user = conn.query(
                "INSERT INTO users (id, email, normalized_email, full_name, avatar, username, "
                "email_verified, role, banned, created_at, updated_at, last_active_at) "
                "VALUES ($1, $2, $2, $3, $4, $5, false, 'user', false, $6, $6, $6) RETURNING *",
                [util.user_id(), email, body["name"], body.get("image"), body.get("username"),
                 now])[0]
            conn.query(
                "INSERT INTO accounts (id, account_id, provider_id, user_id, password, "
                "created_at, updated_at) VALUES ($1, $2, 'credential', $2, $3, $4, $4)",
                [util.nanoid(12), user["id"], hashed, util.naive_utc(now)])
            if self.s.email_verification:
                return user, None, 0
            session, seconds = self._create_session(conn, user, req, dont_remember)
            return user, session, seconds

        user, session, seconds = self.pool.run(work)
        if session is None:  # requireEmailVerification: no auto sign-in
            return 200, {"token": None, "user": self.user_out(user)}, []
        cookies = self._set_session_cookies(session, seconds, dont_remember)
        return 200, {"token": session["token"], "user": self.user_out(user)}, \
            [("Set-Cookie", c) for c in cookies]

    def sign_in(self, req):
        self._form_csrf(req)
        body = self._body(req)
        for field in ("email", "password"):
            if not isinstance(body.get(field), str):
                raise ApiError(400, "VALIDATION_ERROR", f"[body.{field}] Invalid input: "
                               "expected string")
        if not self.s.email_password:
            raise ApiError(400, "EMAIL_PASSWORD_DISABLED", "Email and password is not enabled")
        email, password = body["email"], body["password"]
        if not EMAIL_RE.match(email):
            raise ApiError(400, "INVALID_EMAIL")
        dont_remember = body.get("rememberMe") is False

        def work(conn):
            users = conn.query("SELECT * FROM users WHERE email = $1", [email.lower()])
            account = users and conn.query(
                "SELECT password FROM accounts WHERE user_id = $1 AND provider_id = 'credential'",
                [users[0]["id"]])
            if not users or not account or not account[0]["password"]:
                hash_password(password)  # the same time as a real check (sign-in.ts does this)
                raise ApiError(401, "INVALID_EMAIL_OR_PASSWORD")
            if not verify_password(account[0]["password"], password):
                raise ApiError(401, "INVALID_EMAIL_OR_PASSWORD")
            user = users[0]
            if self.s.email_verification and not user["email_verified"]:
                raise ApiError(403, "EMAIL_NOT_VERIFIED")
            session, seconds = self._create_session(conn, user, req, dont_remember)
            return user, session, seconds

        user, session, seconds = self.pool.run(work)
        headers = [("Set-Cookie", c) for c in self._set_session_cookies(session, seconds,
                                                                         dont_remember)]
        callback = body.get("callbackURL")
        if callback:
            headers.append(("Location", callback))
        return 200, {"redirect": bool(callback), "token": session["token"], "url": callback,
                     "user": self.user_out(user)}, headers

    def get_session(self, req):
        found = self.current(req)
        if not found:
            return 200, None, []
        session, user = found
        return 200, {"session": session, "user": user}, []

    def sign_out(self, req):
        raw = parse_cookies(req.headers.get("Cookie")).get(self.session_cookie)
        token = unsign_cookie(raw, self.s.auth_secret) if raw else None
        if token:
            self.pool.query("DELETE FROM auth_sessions WHERE token = $1", [token])
            if self.redis:
                self.redis.delete(token)
        expired = [self._cookie(name, "", 0) for name in
                   (self.session_cookie, self.data_cookie, self.dont_remember_cookie)]
        return 200, {"success": True}, [("Set-Cookie", c) for c in expired]
